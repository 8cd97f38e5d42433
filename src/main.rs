//! The `trailsight` binary: everything happens in [`trailsight::app::main`] (parse once, run,
//! map the result to the documented exit status).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trailsight::app::main()
}
