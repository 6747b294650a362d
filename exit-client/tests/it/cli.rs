//! The `plasma` binary with bad input: clear errors, a non-zero exit code, nothing written.

use std::path::Path;
use std::process::{Command, Output};

fn plasma(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plasma"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("PLASMA_PASSWORD")
        .env_remove("PLASMA_ROOT_CHAIN")
        .env_remove("PLASMA_FROM");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file under `dir`, for "nothing written" checks.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn wallet_new_list_and_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let pw = [("PLASMA_PASSWORD", "correct horse")];
    let made = plasma(
        dir.path(),
        &["--json", "wallet", "new", "--name", "alice"],
        &pw,
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let key: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(key["name"], "alice");
    let listed = plasma(dir.path(), &["wallet", "list"], &[]);
    let address = key["address"].as_str().unwrap().to_lowercase();
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .to_lowercase()
            .contains(&address)
    );

    // A wrong password: a clear error, exit code 1, no file written.
    let before = files(dir.path());
    let wrong = plasma(
        dir.path(),
        &[
            "--root-chain",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "--l1-rpc",
            "http://127.0.0.1:9",
            "deposit",
            "1eth",
        ],
        &[("PLASMA_PASSWORD", "wrong")],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("wrong password for key 'alice'"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(files(dir.path()), before);

    // No password at all.
    let none = plasma(dir.path(), &["wallet", "new", "--name", "bob"], &[]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("PLASMA_PASSWORD"),
        "{}",
        stderr(&none)
    );
    assert_eq!(files(dir.path()), before);
}

#[test]
fn bad_addresses_and_amounts_are_refused_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let pw = [("PLASMA_PASSWORD", "pw")];
    assert!(plasma(dir.path(), &["wallet", "new"], &pw).status.success());
    let before = files(dir.path());
    let chain = [
        "--root-chain",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "--l1-rpc",
        "http://127.0.0.1:9",
    ];

    let bad_root = plasma(dir.path(), &["--root-chain", "0x1234", "sync"], &[]);
    assert_eq!(bad_root.status.code(), Some(2), "{}", stderr(&bad_root));
    assert!(
        stderr(&bad_root).contains("--root-chain"),
        "{}",
        stderr(&bad_root)
    );

    let mut args = chain.to_vec();
    args.extend(["send", "0xnot-an-address", "1eth"]);
    let bad_to = plasma(dir.path(), &args, &pw);
    assert_eq!(bad_to.status.code(), Some(1));
    assert!(
        stderr(&bad_to).contains("is not an address"),
        "{}",
        stderr(&bad_to)
    );

    // A mixed-case address must carry its EIP-55 checksum: one letter's case flipped is a typo.
    let flipped = "0x5FbDB2315678afecb367f032d93F642f64180aA3";
    let bad_root = plasma(dir.path(), &["--root-chain", flipped, "sync"], &[]);
    assert_eq!(bad_root.status.code(), Some(2), "{}", stderr(&bad_root));
    assert!(
        stderr(&bad_root).contains("EIP-55"),
        "{}",
        stderr(&bad_root)
    );
    let mut args = chain.to_vec();
    args.extend(["deposit", "--token", flipped, "1"]);
    let bad_token = plasma(dir.path(), &args, &pw);
    assert_eq!(bad_token.status.code(), Some(2), "{}", stderr(&bad_token));
    assert!(
        stderr(&bad_token).contains("EIP-55"),
        "{}",
        stderr(&bad_token)
    );
    for (to, complaint) in [
        ("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d35A", "EIP-55"),
        ("0x0000000000000000000000000000000000000000", "zero address"),
    ] {
        let mut args = chain.to_vec();
        args.extend(["send", to, "1eth"]);
        let refused = plasma(dir.path(), &args, &pw);
        assert_eq!(refused.status.code(), Some(1), "{to}");
        assert!(
            stderr(&refused).contains(complaint),
            "{to}: {}",
            stderr(&refused)
        );
    }
    // All lower case skips the check (nothing to check it against) and is read.
    let lower = plasma(
        dir.path(),
        &[
            "--root-chain",
            &flipped.to_lowercase(),
            "--l1-rpc",
            "http://127.0.0.1:9",
            "sync",
        ],
        &[],
    );
    assert!(
        stderr(&lower).contains("L1 RPC at http://127.0.0.1:9 failed"),
        "{}",
        stderr(&lower)
    );

    // Amounts are checked before anything connects.
    for (amount, complaint) in [
        (
            "0.0000000000000000001eth",
            "has 19 decimals, but the unit allows at most 18",
        ),
        ("1.5wei", "has 1 decimals, but the unit allows at most 0"),
        ("12btc", "unknown unit 'btc'"),
        ("0eth", "greater than zero"),
    ] {
        let mut args = chain.to_vec();
        args.extend(["deposit", amount]);
        let bad_amount = plasma(dir.path(), &args, &pw);
        assert_eq!(bad_amount.status.code(), Some(1), "{amount}");
        assert!(
            stderr(&bad_amount).contains(complaint),
            "{amount}: {}",
            stderr(&bad_amount)
        );
    }
    assert_eq!(files(dir.path()), before);
}

#[test]
fn an_unreachable_l1_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = plasma(
        dir.path(),
        &[
            "--root-chain",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "--l1-rpc",
            "http://127.0.0.1:9",
            "sync",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("L1 RPC at http://127.0.0.1:9 failed"),
        "{}",
        stderr(&out)
    );
    assert!(files(dir.path()).is_empty());
}

#[test]
fn help_explains_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = plasma(dir.path(), &["--help"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    for command in [
        "wallet",
        "deposit",
        "balance",
        "utxos",
        "send",
        "sync",
        "exit",
        "exits",
        "challenge",
        "process-exits",
        "status",
    ] {
        assert!(text.contains(command), "--help lacks {command}");
    }
}

/// A `--root-chain` address that holds no contract on the L1 asked (a typo, another chain, a
/// node restarted empty) is an error, not an empty chain with a balance of 0; no folder is made
/// for it.
#[test]
fn a_root_chain_without_the_contract_is_an_error() {
    let anvil = plasma_contracts::test_utils::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let nowhere = "0x00000000000000000000000000000000000000c0";
    let output = plasma(
        dir.path(),
        &[
            "--l1-rpc",
            &anvil.endpoint(),
            "--root-chain",
            nowhere,
            "--json",
            "status",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stderr(&output);
    assert!(
        text.contains("no contract at") && text.contains("--root-chain"),
        "{text}"
    );
    assert_eq!(files(dir.path()), Vec::<String>::new());
}
