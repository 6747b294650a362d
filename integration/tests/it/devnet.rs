//! `scripts/devnet` as a new user meets it: it starts, prints commands, the commands work
//! exactly as printed, and stopping it stops everything.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plasma_integration::{TIMEOUT, free_port};

/// The running `scripts/devnet`: sent SIGTERM (its Ctrl-C path) when dropped, so a failing
/// test does not leave anvil and the operator behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }
}

/// Whether something listens on local `port`.
fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_devnet_starts_its_printed_commands_work_and_it_stops_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = tempfile::tempdir().unwrap();
    let (l1_port, api_port) = (free_port(), free_port());
    let mut devnet = Running(
        Command::new(root.join("scripts/devnet"))
            .current_dir(&root)
            // The binaries are the ones this test was built with (cargo holds the build lock now).
            .env("PLASMA_DEVNET_SKIP_BUILD", "1")
            .env("PLASMA_DEVNET_DIR", data.path())
            .env("PLASMA_DEVNET_L1_PORT", l1_port.to_string())
            .env("PLASMA_DEVNET_API_PORT", api_port.to_string())
            .env("PLASMA_DEVNET_EXIT_PERIOD", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("scripts/devnet starts"),
    );

    // Read the banner up to the end of the command list.
    let mut lines = BufReader::new(devnet.0.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let mut commands = Vec::new();
    let mut in_commands = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push(line.clone());
        if line.starts_with("Try it") {
            in_commands = true;
        } else if in_commands && !line.trim().is_empty() {
            commands.push(line.trim().to_owned());
        } else if in_commands && !commands.is_empty() {
            break;
        }
    }
    let banner = banner.join("\n");
    assert!(
        banner.contains(&format!("http://127.0.0.1:{api_port}")),
        "{banner}"
    );
    assert!(commands.len() >= 8, "{banner}");
    assert!(listening(l1_port) && listening(api_port));

    // The commands, run as printed, from the repository root, one after the other.
    let script = format!("set -euo pipefail\n{}\n", commands.join("\n"));
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&root)
        .env_remove("PLASMA_DATA_DIR")
        .env_remove("PLASMA_OPERATOR")
        .env_remove("PLASMA_ROOT_CHAIN")
        .env_remove("PLASMA_L1_RPC")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "1 ETH",
        "0.25 ETH",
        "1 exit(s) started",
        "paid 1 exit(s) of ETH",
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in:\n{stdout}");
    }

    // SIGTERM (as Ctrl-C) stops the devnet, anvil and the operator.
    let pid = devnet.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = devnet.0.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < TIMEOUT, "scripts/devnet did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(
        !listening(l1_port) && !listening(api_port),
        "everything stopped"
    );
}
