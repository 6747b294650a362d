//! The command line of `plasma-loadgen`: help that explains, and clear errors for bad settings
//! before anything is sent. (The whole run is tested end to end in `integration/`.)

use std::process::Command;

fn loadgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plasma-loadgen"))
        .args(args)
        .env_remove("PLASMA_LOADGEN_KEY")
        .output()
        .expect("plasma-loadgen runs")
}

#[test]
fn help_names_every_setting() {
    let output = loadgen(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--l1-rpc",
        "--root-chain",
        "--operator",
        "--funder-key",
        "--txs",
        "--accounts",
        "--concurrency",
        "--batch",
        "--operator-pid",
        "--anvil-pid",
        "--watcher-bin",
        "--watcher-dir",
        "--soak",
        "--soak-rate",
        "--calibrate",
        "--rate-fraction",
        "--coins",
        "--rss-every",
        "--soak-outputs",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn bad_settings_fail_with_a_message() {
    let root = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let key = "11".repeat(32);
    for (args, expected) in [
        (vec!["--root-chain", root], "--funder-key"),
        (
            vec!["--root-chain", root, "--funder-key", "0x1234"],
            "--funder-key",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &"11".repeat(32),
                "--txs",
                "0",
            ],
            "--txs",
        ),
        (
            vec!["--root-chain", "0x12", "--funder-key", &"11".repeat(32)],
            "root-chain",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &"11".repeat(32),
                "--watcher-bin",
                "/nonexistent/plasma",
            ],
            "--watcher-dir",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &"11".repeat(32),
                "--accounts",
                "1",
                "--watcher-bin",
                "/nonexistent/plasma",
                "--watcher-dir",
                "/nonexistent/watcher",
            ],
            "no plasma binary at /nonexistent/plasma",
        ),
        (
            vec!["--root-chain", root, "--funder-key", &key, "--soak", "0s"],
            "more than zero",
        ),
        (
            vec!["--root-chain", root, "--funder-key", &key, "--soak", "ten"],
            "--soak",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &key,
                "--soak",
                "10m",
                "--rate-fraction",
                "1.5",
            ],
            "--rate-fraction",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &key,
                "--soak",
                "10m",
                "--soak-rate",
                "0",
            ],
            "--soak-rate",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &key,
                "--soak",
                "10m",
                "--coins",
                "1",
            ],
            "--coins",
        ),
        (
            vec![
                "--root-chain",
                root,
                "--funder-key",
                &key,
                "--soak-rate",
                "100",
            ],
            "--soak",
        ),
    ] {
        let output = loadgen(&args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
