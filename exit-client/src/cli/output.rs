//! The output layer: results on stdout (JSON with `--json`, else text for people), warnings
//! and progress on stderr. Only this module prints.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the output layer: results on stdout, progress and warnings on stderr"
)]

use plasma_client::sync::Progress;

use super::settings::Settings;

/// Prints a result: `value` as JSON with `--json`, else the text `human` makes.
pub(crate) fn emit(settings: &Settings, value: serde_json::Value, human: impl FnOnce() -> String) {
    if settings.json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

/// Prints one JSON line on stdout (the watcher's events).
pub(crate) fn line(text: &str) {
    println!("{text}");
}

/// A warning for people, on stderr.
pub(crate) fn warn(text: &str) {
    eprintln!("warning: {text}");
}

/// A note for people about what is happening, on stderr.
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// The error that ended the command, on stderr.
pub(crate) fn error(error: &eyre::Report) {
    eprintln!("error: {error:#}");
}

/// How often a sync reports when stderr is not a terminal (a log file gets lines, not bars).
const PLAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A sync's progress on stderr: on a terminal, an indicatif bar with blocks, transactions,
/// rate and ETA; otherwise a plain line every few seconds (and one at the end), never a `\r`.
pub(crate) struct SyncProgress {
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
    last_line: Option<std::time::Instant>,
    started: std::time::Instant,
}

impl SyncProgress {
    /// A reporter for one sync.
    pub(crate) fn new() -> Self {
        use std::io::IsTerminal;
        Self {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
            last_line: None,
            started: std::time::Instant::now(),
        }
    }

    /// Reports `p`.
    pub(crate) fn report(&mut self, p: Progress) {
        let rate = self.rate(p.transactions);
        if self.terminal {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = indicatif::ProgressBar::new(p.total);
                let style = indicatif::ProgressStyle::with_template(
                    "syncing [{bar:30}] {pos}/{len} blocks, {msg}, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#>-");
                bar.set_style(style);
                bar
            });
            bar.set_position(p.done);
            bar.set_message(format!("{} transactions ({rate:.0} tx/s)", p.transactions));
            if p.done == p.total {
                bar.finish();
            }
            return;
        }
        let due = self.last_line.is_none_or(|at| at.elapsed() >= PLAIN_EVERY);
        if due || p.done == p.total {
            self.last_line = Some(std::time::Instant::now());
            eprintln!(
                "syncing: {}/{} blocks, {} transactions verified ({:.0} tx/s)",
                p.done, p.total, p.transactions, rate
            );
        }
    }

    fn rate(&self, transactions: u64) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            transactions as f64 / secs
        } else {
            0.0
        }
    }
}

/// How a state is named in the JSON output, for the text output.
pub(crate) use plasma_client::store::wire_name;
