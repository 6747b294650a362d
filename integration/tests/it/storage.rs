//! The operator's disk fills up: its database lives on a small tmpfs, which a filler file fills
//! to the last byte, then frees again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use plasma_integration::{Devnet, eth, poll};

use crate::client::EXIT_PERIOD;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts `size` at `at`; `None` where this process may not mount (not root).
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Self(at.to_path_buf()))
    }

    /// Keeps the file system full, as another program writing a file would: whatever space
    /// appears (the database frees some when it is reopened) is taken again within 20 ms,
    /// until the returned filler is freed.
    fn keep_full(&self) -> Filler {
        let path = self.0.join("filler");
        let stop = Arc::new(AtomicBool::new(false));
        let mut file = std::fs::File::create(&path).expect("the filler file");
        let zeros = vec![0u8; 64 << 10];
        let filled = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (stop, filled) = (stop.clone(), filled.clone());
            move || {
                while !stop.load(Ordering::SeqCst) {
                    // Fails with "No space left on device" once full: that is the point.
                    while file.write_all(&zeros).is_ok() {}
                    for len in [4096, 512, 1] {
                        while file.write_all(&zeros[..len]).is_ok() {}
                    }
                    filled.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        while !filled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Filler {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

/// A file that keeps its file system full until freed.
struct Filler {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Filler {
    /// Stops filling and deletes the file: the space is back.
    fn free(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::fs::remove_file(&self.path).expect("the filler goes");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::print_stderr, reason = "the test says why it was skipped")]
async fn a_full_disk_refuses_payments_with_503_keeps_the_acknowledged_ones_and_resumes() {
    let mount_dir = tempfile::tempdir().expect("a folder");
    let Some(disk) = Tmpfs::mount(mount_dir.path(), "64m") else {
        eprintln!("SKIPPED: this test mounts a tmpfs, which needs root");
        return;
    };
    let db = disk.0.join("operator-db").display().to_string();
    // Blocks every 15 s (the first at start): a payment is acknowledged well before its block
    // is written.
    let net = Devnet::start_with(EXIT_PERIOD, &["--db", &db, "--block-interval", "15s"]).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("2")).await;
    let blocks_before = net.operator.status().await.latest_block;

    // Acknowledged (stored, pending), then the disk fills before its block is written.
    alice.ok(&["send", &bob.address().to_string(), "0.1eth", "--no-wait"]);
    let filler = disk.keep_full();

    // The block cannot be written: no block is made or served, and the payment stays pending.
    let start = std::time::Instant::now();
    loop {
        let log = std::fs::read_to_string(&net.operator.log).unwrap_or_default();
        if log.contains("block production failed") {
            break;
        }
        assert!(
            start.elapsed() < plasma_integration::TIMEOUT,
            "the producer never tried the block:\n{}",
            net.operator.log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let status = net.operator.status().await;
    assert_eq!(
        status.latest_block, blocks_before,
        "no block while the disk is full"
    );
    assert_eq!(status.mempool_size, 1, "the acknowledged payment is kept");
    assert_eq!(
        net.operator.api().block(1000).await.expect("block 1000"),
        None
    );

    // A new payment is refused with a clear code, and nothing of it is kept.
    let refused = alice.fails(&["send", &bob.address().to_string(), "0.2eth", "--no-wait"]);
    assert!(
        refused.contains("store_unavailable") && refused.contains("retry later"),
        "{refused}"
    );
    assert!(net.operator.counter("store_write_errors").await >= 1);
    assert_eq!(net.operator.status().await.mempool_size, 1);

    // Space is back: the operator writes again by itself — the pending payment's block, then
    // a new payment.
    filler.free();
    bob.wait_balance(eth("0.1")).await;
    alice.ok(&["send", &bob.address().to_string(), "0.2eth"]);
    bob.wait_balance(eth("0.3")).await;
    let log = std::fs::read_to_string(&net.operator.log).expect("operator log");
    assert!(log.contains("store write failed"), "the failure is logged");
    assert!(log.contains("store writable again"), "so is the recovery");
    poll("the payments to be committed on L1", || async {
        let status = net.operator.status().await;
        (status.last_committed_block >= 2000).then_some(())
    })
    .await;
}
