//! The `trailsight` binary: parse the command line once, run, map the result to an exit code.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = trailsight::cli::Cli::parse();
    match trailsight::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trailsight: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
