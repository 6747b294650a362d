//! The pool that checks submitted transactions: one thread per core, at lower priority than
//! the block producer.

/// Batches at least this long are checked on all cores.
pub(super) const PARALLEL_CHECK_MIN: usize = 8;

/// The niceness of the threads that check submitted transactions: when they compete with the
/// block producer for the cores, the producer wins (a CPU share of about 3 to 1), so blocks
/// keep coming on time under any load and accepting slows down instead.
pub(super) const CHECKER_NICENESS: &str = "5";

/// The pool that checks submitted transactions, one thread per core, at lower priority (`None`
/// when its threads cannot be started: checks then run on the global pool).
pub(super) fn checker_pool() -> Option<rayon::ThreadPool> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tx-checker-{i}"))
        .start_handler(|_| {
            // Crossplatform priority 35 is niceness 5 on Linux (0..=99 maps onto 19..=-20).
            let lowered = thread_priority::ThreadPriorityValue::try_from(35u8)
                .map_err(|e| e.to_string())
                .and_then(|value| {
                    thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Crossplatform(value),
                    )
                    .map_err(|e| e.to_string())
                });
            if let Err(e) = lowered {
                tracing::warn!(target: "operator::mempool", error = %e, niceness = CHECKER_NICENESS, "could not lower the priority of a transaction-checking thread");
            }
        })
        .build()
        .inspect_err(|e| {
            tracing::warn!(target: "operator::mempool", error = %e, "no transaction-checking pool; checking on the global one");
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;
    use crate::chain::test_utils::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn transactions_are_checked_at_lower_priority_than_blocks_are_made() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        // The checking threads run at niceness 5 (field 19 of /proc/<tid>/stat), below this
        // thread, which makes blocks. (Under a niceness of 5 or more nothing can be lowered
        // without privileges: then there is nothing to check.)
        let niceness = |stat: &str| -> i64 {
            let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            fields[16].parse().unwrap()
        };
        let own = niceness(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
        let wanted: i64 = CHECKER_NICENESS.parse().unwrap();
        if own >= wanted {
            return;
        }
        // A pool thread lowers itself when it starts, which may be after the pool is built
        // and named: each is given until a deadline to get there (a race seen in CI-like
        // runs, not a speed requirement).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut checkers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.starts_with("tx-checker") {
                let read = || niceness(&std::fs::read_to_string(dir.join("stat")).unwrap());
                while read() != wanted && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                assert_eq!(read(), wanted, "{name}");
                checkers += 1;
            }
        }
        assert!(checkers >= 1, "no tx-checker thread");
    }
}
