//! Standard-exit timing and priority, exactly as the root contract computes them.
//!
//! `exitableAt = max(blockTimestamp + 2·MEP, now + MEP)` for an output of an operator block,
//! `max(blockTimestamp + MEP, now + MEP)` for a deposit output, where MEP is the contract's
//! minimum exit period. `priority = exitableAt << 128 | utxoPos`: older outputs of the same
//! exit time leave first, and the earliest exit time leaves first of all.

use alloy_primitives::U256;

use crate::utxo::UtxoPos;

/// When an exit of `pos`, started at `now`, may be processed. `block_timestamp` is the L1
/// timestamp of the output's block; `min_exit_period` the contract's MEP, in seconds.
pub fn exitable_at(pos: UtxoPos, block_timestamp: u64, now: u64, min_exit_period: u64) -> u64 {
    let periods = if pos.is_deposit() { 1 } else { 2 };
    let from_block = block_timestamp.saturating_add(min_exit_period.saturating_mul(periods));
    from_block.max(now.saturating_add(min_exit_period))
}

/// The exit's place in the queue of its token: lower leaves first.
pub fn priority(exitable_at: u64, pos: UtxoPos) -> U256 {
    (U256::from(exitable_at) << 128) | pos.to_u256()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEP: u64 = 7 * 24 * 3600;

    #[test]
    fn old_blocks_exit_after_one_period_fresh_blocks_after_two() {
        let child = UtxoPos::new(1000, 0, 0).unwrap();
        let deposit = UtxoPos::new(1001, 0, 0).unwrap();
        let t = 1_700_000_000;
        // Exit right after the block: two periods for a child block, one for a deposit.
        assert_eq!(exitable_at(child, t, t, MEP), t + 2 * MEP);
        assert_eq!(exitable_at(deposit, t, t, MEP), t + MEP);
        // Exit long after the block: one period from now, either way.
        let later = t + 10 * MEP;
        assert_eq!(exitable_at(child, t, later, MEP), later + MEP);
        assert_eq!(exitable_at(deposit, t, later, MEP), later + MEP);
        assert_eq!(exitable_at(child, u64::MAX, 0, MEP), u64::MAX);
    }

    #[test]
    fn priority_orders_by_time_then_position() {
        let a = UtxoPos::new(1000, 0, 0).unwrap();
        let b = UtxoPos::new(2000, 0, 0).unwrap();
        assert!(priority(5, a) < priority(5, b));
        assert!(priority(5, b) < priority(6, a));
        assert_eq!(priority(1, a) >> 128, U256::from(1));
        assert_eq!(priority(1, a) & U256::from(u128::MAX), a.to_u256());
    }
}
