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

/// A progress bar of a sync, on stderr.
pub(crate) fn draw_progress(p: Progress) {
    const WIDTH: u64 = 30;
    let filled = (p.done * WIDTH).checked_div(p.total).unwrap_or(WIDTH);
    eprint!(
        "\rsyncing [{}{}] {}/{} blocks",
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize),
        p.done,
        p.total
    );
    if p.done == p.total {
        eprintln!();
    }
}

/// How a state is named in the JSON output (`unspent`, `started`, …), for the text output.
pub(crate) fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
