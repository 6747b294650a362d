//! The watcher benchmark (`--watcher-bin`, `--watcher-dir`): once the wave is committed on L1,
//! the release `plasma` command line syncs a fresh store over the whole chain the run made
//! (the fan-out and the wave), against the same operator and L1, and is measured as a child
//! process.
//!
//! - `plasma sync` on the empty data folder: its wall time (process start → exit), the CPU
//!   time it used (user + system of the reaped child, from `/proc/self/stat`'s `cutime` and
//!   `cstime`, so nothing is missed between two readings), and its peak resident memory
//!   (`VmHWM` from `/proc/<pid>/status`, read every 100 ms while it runs; `VmHWM` never falls,
//!   so the last reading is the peak up to 100 ms before the exit).
//! - The store's size on disk right after: every file under the data folder, recursively.
//! - Restart: `plasma watch --rounds 1` on the synced store, from its start to the log line
//!   saying its first round is done (back to watching) and to its exit, then a second
//!   `plasma sync` that has nothing new to verify.
//!
//! `plasma` runs with `--json`, so its reports are one JSON object on stdout and it draws no
//! progress bar. A non-zero exit is an error carrying its stderr.

use std::ffi::OsString;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::api::{children_cpu_time, memory_mib};

/// How often the child's peak memory is read while it runs.
const POLL: Duration = Duration::from_millis(100);
/// What `plasma watch` logs once its first round is done: back to watching.
const FIRST_ROUND_DONE: &str = "first round done";
/// How much of a failed command's stderr an error keeps (its end).
const STDERR_KEPT: usize = 8_000;

/// Why the watcher benchmark failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WatcherError {
    /// The data folder given is not empty: the sync must start from nothing.
    #[error("the watcher's data folder {} is not empty: the benchmark syncs a fresh store", .0.display())]
    NotFresh(PathBuf),
    /// The `plasma` binary given is not a file.
    #[error("no plasma binary at {}", .0.display())]
    NoBinary(PathBuf),
    /// A file or folder could not be created or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// `plasma` could not be started or waited for.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The error.
        source: std::io::Error,
    },
    /// `plasma` exited with a failure.
    #[error("`{command}` failed ({status}); its stderr:\n{stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// The end of its stderr.
        stderr: String,
    },
    /// `plasma` succeeded but its report is not what it should be.
    #[error("`{command}`: {problem}; its stdout:\n{stdout}\nits stderr:\n{stderr}")]
    Report {
        /// The command line.
        command: String,
        /// What is wrong.
        problem: String,
        /// Its stdout.
        stdout: String,
        /// The end of its stderr.
        stderr: String,
    },
}

/// One finished run of `plasma`.
#[derive(Debug)]
pub(crate) struct Run {
    /// Process start → exit.
    pub(crate) wall: Duration,
    /// User + system CPU time of the process (all its threads).
    pub(crate) cpu: Option<Duration>,
    /// The last `VmHWM` read while it ran, in MiB (`None` if it ended before the first read).
    pub(crate) peak_mib: Option<f64>,
    /// Process start → the line saying its first round is done (`plasma watch` only).
    pub(crate) first_round: Option<Duration>,
    command: String,
    stdout: String,
    stderr: String,
}

impl Run {
    /// An error for a report that is not what it should be.
    fn wrong(&self, problem: &str) -> WatcherError {
        WatcherError::Report {
            command: self.command.clone(),
            problem: problem.to_owned(),
            stdout: self.stdout.clone(),
            stderr: tail(&self.stderr),
        }
    }

    /// What `plasma sync --json` reported.
    fn synced(&self) -> Result<Synced, WatcherError> {
        serde_json::from_str(self.stdout.trim())
            .map_err(|e| self.wrong(&format!("its report is not a sync report ({e})")))
    }
}

/// What `plasma sync --json` reports (the fields read here; the others are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct Synced {
    /// Blocks verified and applied.
    pub(crate) blocks: u64,
    /// Transactions verified.
    pub(crate) transactions: u64,
}

/// The figures of the watcher benchmark.
#[derive(Debug)]
pub(crate) struct Figures {
    /// The first sync, from an empty store.
    pub(crate) sync: Run,
    /// What it verified.
    pub(crate) synced: Synced,
    /// Bytes of every file under the data folder right after it.
    pub(crate) store_bytes: u64,
    /// `plasma watch --rounds 1` on the synced store.
    pub(crate) watch: Run,
    /// The events that round printed (none on an honest chain).
    pub(crate) watch_events: Vec<String>,
    /// A second sync, with nothing new.
    pub(crate) resync: Run,
    /// What it verified (nothing, unless the operator made a block meanwhile).
    pub(crate) resynced: Synced,
}

/// A `plasma` binary and the fresh data folder it syncs into, for one chain.
#[derive(Debug, Clone)]
pub(crate) struct Watcher {
    bin: PathBuf,
    dir: PathBuf,
    global: Vec<OsString>,
}

impl Watcher {
    /// Checks that `bin` is a file and that `dir` is empty or absent (and creates it). The
    /// other arguments are `plasma`'s global flags of the same names.
    pub(crate) fn new(
        bin: PathBuf,
        dir: PathBuf,
        operator: &str,
        l1_rpc: &str,
        root_chain: &str,
    ) -> Result<Self, WatcherError> {
        if !bin.is_file() {
            return Err(WatcherError::NoBinary(bin));
        }
        let io = |what: String| move |source| WatcherError::Io { what, source };
        if dir.exists() {
            let mut entries = std::fs::read_dir(&dir).map_err(io(format!(
                "reading the watcher's folder {}",
                dir.display()
            )))?;
            if entries.next().is_some() {
                return Err(WatcherError::NotFresh(dir));
            }
        }
        std::fs::create_dir_all(&dir).map_err(io(format!(
            "creating the watcher's folder {}",
            dir.display()
        )))?;
        let mut global: Vec<OsString> = vec!["--data-dir".into(), dir.clone().into_os_string()];
        for (flag, value) in [
            ("--operator", operator),
            ("--l1-rpc", l1_rpc),
            ("--root-chain", root_chain),
        ] {
            global.push(flag.into());
            global.push(value.into());
        }
        global.push("--json".into());
        Ok(Self { bin, dir, global })
    }

    /// Syncs the fresh store over the whole chain, measures the store, then the restart: one
    /// watcher round and a sync with nothing new. Blocking: run it off the async workers.
    pub(crate) fn bench(&self) -> Result<Figures, WatcherError> {
        let sync = self.run(&["sync"])?;
        let synced = sync.synced()?;
        let store_bytes = dir_bytes(&self.dir)?;
        let watch = self.run(&["watch", "--rounds", "1"])?;
        // The watcher logs a failed round and carries on (so `--rounds 1` exits 0 after one):
        // a round that failed measured no restart.
        if watch.stderr.contains("round failed") {
            return Err(watch.wrong("its round failed"));
        }
        let watch_events = watch
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        let resync = self.run(&["sync"])?;
        let resynced = resync.synced()?;
        Ok(Figures {
            sync,
            synced,
            store_bytes,
            watch,
            watch_events,
            resync,
            resynced,
        })
    }

    fn command_line(&self, args: &[&str]) -> String {
        let mut words = vec![self.bin.display().to_string()];
        words.extend(self.global.iter().map(|a| a.to_string_lossy().into_owned()));
        words.extend(args.iter().map(|a| (*a).to_owned()));
        words.join(" ")
    }

    /// Runs `plasma <global flags> <args>` to its end, reading its peak memory while it runs.
    fn run(&self, args: &[&str]) -> Result<Run, WatcherError> {
        let command = self.command_line(args);
        let spawn_error = |source| WatcherError::Spawn {
            command: command.clone(),
            source,
        };
        let cpu_before = children_cpu_time();
        let start = Instant::now();
        let mut child = Command::new(&self.bin)
            .args(&self.global)
            .args(args)
            // Only the flags given here: no settings file or key choice from the environment.
            .env_remove("PLASMA_CONFIG")
            .env_remove("PLASMA_FROM")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let pid = child.id();
        let stdout = drain(child.stdout.take(), None);
        let stderr = drain(child.stderr.take(), Some(FIRST_ROUND_DONE));
        // The wait happens on its own thread, so the exit is timed to the moment, not to the
        // next poll.
        let (done, exited) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = done.send(Instant::now());
            status
        });
        let mut peak_mib = None;
        let end = loop {
            // A zombie has no VmHWM: the reading before the exit stays.
            if let Some((hwm, _)) = memory_mib(pid) {
                peak_mib = Some(hwm);
            }
            match exited.recv_timeout(POLL) {
                Ok(at) => break at,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break Instant::now(),
            }
        };
        let status = waiter
            .join()
            .map_err(|_| spawn_error(std::io::Error::other("the waiting thread panicked")))?
            .map_err(spawn_error)?;
        let cpu = children_cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        let (stdout, _) = stdout.join().unwrap_or_default();
        let (stderr, marked) = stderr.join().unwrap_or_default();
        if !status.success() {
            return Err(WatcherError::Failed {
                command,
                status,
                stderr: match tail(&stderr) {
                    kept if kept.trim().is_empty() => "(nothing)".to_owned(),
                    kept => kept,
                },
            });
        }
        Ok(Run {
            wall: end.saturating_duration_since(start),
            cpu,
            peak_mib,
            first_round: marked.map(|at| at.saturating_duration_since(start)),
            command,
            stdout,
            stderr,
        })
    }
}

/// Reads a child's pipe line by line to its end on a thread (so the child never blocks on a
/// full pipe), noting when the first line containing `marker` arrived.
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    marker: Option<&'static str>,
) -> std::thread::JoinHandle<(String, Option<Instant>)> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut marked = None;
        if let Some(pipe) = pipe {
            let mut reader = std::io::BufReader::new(pipe);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let chunk = String::from_utf8_lossy(&line);
                if marked.is_none() && marker.is_some_and(|m| chunk.contains(m)) {
                    marked = Some(Instant::now());
                }
                text.push_str(&chunk);
                line.clear();
            }
        }
        (text, marked)
    })
}

/// The last `STDERR_KEPT` bytes of `text` (cut at a character boundary).
fn tail(text: &str) -> String {
    let mut from = text.len().saturating_sub(STDERR_KEPT);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    text[from..].to_owned()
}

/// The bytes of every file under `dir`, recursively (symbolic links not followed).
fn dir_bytes(dir: &Path) -> Result<u64, WatcherError> {
    let io = |what: &Path| {
        let what = format!("measuring {}", what.display());
        move |source| WatcherError::Io { what, source }
    };
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(io(&path))?;
        if meta.is_dir() {
            total += dir_bytes(&path)?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sync_report() {
        let report = r#"{"blocks":207,"transactions":2133334,"newCoins":0,"syncedBlknum":207000}"#;
        assert_eq!(
            serde_json::from_str::<Synced>(report).unwrap(),
            Synced {
                blocks: 207,
                transactions: 2_133_334
            }
        );
        assert!(serde_json::from_str::<Synced>(r#"{"blocks":"x","transactions":1}"#).is_err());
        assert!(serde_json::from_str::<Synced>(r#"{"blocks":3}"#).is_err());
    }

    #[test]
    fn keeps_the_end_of_stderr() {
        let long = "é".repeat(STDERR_KEPT);
        let kept = tail(&long);
        assert!(kept.len() <= STDERR_KEPT && kept.chars().all(|c| c == 'é'));
        assert_eq!(tail("short"), "short");
    }

    #[test]
    fn measures_a_folder_and_refuses_a_used_one() {
        let dir = std::env::temp_dir().join(format!("loadgen-watcher-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("one"), [0u8; 10]).unwrap();
        std::fs::write(dir.join("a/b/two"), [0u8; 32]).unwrap();
        assert_eq!(dir_bytes(&dir).unwrap(), 42);
        let bin = std::env::current_exe().unwrap();
        let used = Watcher::new(bin.clone(), dir.clone(), "o", "l", "r");
        assert!(matches!(used, Err(WatcherError::NotFresh(_))));
        let fresh = Watcher::new(bin, dir.join("fresh"), "o", "l", "r").unwrap();
        assert!(fresh.dir.is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
