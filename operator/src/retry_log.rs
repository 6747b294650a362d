//! Warnings of a retry loop, said once per cause: the first failure is a warning, the same
//! failure again only a debug line (with how many times it repeated), a different failure a new
//! warning, and the recovery one info line. A loop that retries every second while L1 is down
//! writes two lines, not one a second.

use std::fmt::Display;

/// The state of one retry loop's log.
#[derive(Debug)]
pub(crate) struct RetryLog {
    /// What the loop does, for the log lines ("L1 follower step").
    what: &'static str,
    /// The failure warned about last, while it lasts.
    last: Option<String>,
    /// How many failures in a row since the loop last succeeded.
    failures: u64,
}

impl RetryLog {
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            last: None,
            failures: 0,
        }
    }

    /// A failure: warned about unless it is the one warned about last. Returns whether it was
    /// warned about.
    pub(crate) fn failed(&mut self, error: &dyn Display) -> bool {
        let error = error.to_string();
        self.failures += 1;
        let repeated = self.last.as_deref() == Some(error.as_str());
        if repeated {
            tracing::debug!(task = self.what, %error, failures = self.failures, "still failing; retrying");
        } else {
            tracing::warn!(task = self.what, %error, "{} failed; retrying (the same failure again is logged at debug level)", self.what);
            self.last = Some(error);
        }
        !repeated
    }

    /// A success: after failures, one line saying the loop recovered.
    pub(crate) fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                task = self.what,
                failures = self.failures,
                "{} works again",
                self.what
            );
        }
        self.failures = 0;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_failure_is_warned_about_once_until_it_changes_or_clears() {
        let mut log = RetryLog::new("test step");
        assert!(log.failed(&"connection refused"));
        assert!(!log.failed(&"connection refused"));
        assert!(!log.failed(&"connection refused"));
        assert_eq!(log.failures, 3);
        // Another cause is news.
        assert!(log.failed(&"timed out"));
        assert!(!log.failed(&"timed out"));
        // Recovery resets: the first failure after it is warned about again.
        log.succeeded();
        assert_eq!(log.failures, 0);
        assert!(log.failed(&"timed out"));
    }
}
