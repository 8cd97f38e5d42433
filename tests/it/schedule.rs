//! The shipped schedules (contrib/cron, contrib/systemd) and the README's copies of them:
//! the command lines parse as trailsight command lines, the cron fields are valid, and
//! systemd's own verifier accepts the units where it is installed.

use std::fs;
use std::path::Path;

use clap::Parser;
use trailsight::cli::{Cli, Command};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Parses a shipped command line (binary path first) as trailsight's CLI does.
fn parse_command(words: &[&str]) -> Cli {
    assert!(words[0].ends_with("/trailsight"), "{words:?}");
    Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

fn cron_field_ok(f: &str, lo: u32, hi: u32) -> bool {
    f.split(',').all(|part| {
        let (range, step) = part.split_once('/').unwrap_or((part, "1"));
        let step_ok = step.parse::<u32>().is_ok_and(|s| s >= 1);
        let range_ok = range == "*"
            || range
                .split_once('-')
                .map_or_else(
                    || range.parse::<u32>().ok().map(|v| (v, v)),
                    |(a, b)| Some((a.parse().ok()?, b.parse().ok()?)),
                )
                .is_some_and(|(a, b)| lo <= a && a <= b && b <= hi);
        step_ok && range_ok
    })
}

#[test]
fn the_cron_line_is_valid_and_runs_the_nightly_job() {
    let text = fs::read_to_string(root().join("contrib/cron/trailsight")).unwrap();
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.contains('='))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let words: Vec<&str> = jobs[0].split_whitespace().collect();
    let limits = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for (f, (lo, hi)) in words[..5].iter().zip(limits) {
        assert!(cron_field_ok(f, lo, hi), "bad cron field {f:?}");
    }
    // Field 6 is the user (cron.d format); the command ends before the redirection.
    let cmd: Vec<&str> = words[6..]
        .iter()
        .take_while(|w| !w.starts_with(">"))
        .copied()
        .collect();
    let cli = parse_command(&cmd);
    assert!(matches!(cli.command, Command::Run(ref a) if a.fail_on.is_some()));
    // The README shows the same line.
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(jobs[0]),
        "README's cron line differs from contrib/cron/trailsight"
    );
    // The checker itself refuses nonsense.
    assert!(
        !cron_field_ok("61", 0, 59) && !cron_field_ok("*/0", 0, 59) && !cron_field_ok("5-2", 0, 59)
    );
}

#[test]
fn the_systemd_units_parse_and_verify() {
    let unit = fs::read_to_string(root().join("contrib/systemd/trailsight.service")).unwrap();
    let timer = fs::read_to_string(root().join("contrib/systemd/trailsight.timer")).unwrap();
    for s in ["[Unit]", "[Service]", "ExecStart=", "Type=oneshot"] {
        assert!(unit.contains(s), "service lacks {s}");
    }
    for s in [
        "[Timer]",
        "OnCalendar=",
        "[Install]",
        "WantedBy=timers.target",
    ] {
        assert!(timer.contains(s), "timer lacks {s}");
    }
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert!(matches!(parse_command(&words).command, Command::Run(_)));

    // systemd's verifier, where installed, on the units pointing at the binary under test.
    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze not installed: verified by parsing only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("trailsight");
    let verify = |exec_bin: &str| {
        fs::write(
            dir.path().join("trailsight.service"),
            unit.replace("/usr/local/bin/trailsight", exec_bin),
        )
        .unwrap();
        fs::write(dir.path().join("trailsight.timer"), &timer).unwrap();
        std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(dir.path().join("trailsight.service"))
            .arg(dir.path().join("trailsight.timer"))
            .output()
            .unwrap()
    };
    let o = verify(bin.to_str().unwrap());
    assert!(
        o.status.success(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The verifier is not a rubber stamp: a missing binary fails it.
    assert!(!verify("/nonexistent/trailsight").status.success());
}
