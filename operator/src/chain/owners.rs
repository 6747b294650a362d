//! The owner index of the UTXO set, in memory: which positions each address owns.
//!
//! It is derived data (every entry follows from [`Column::Utxos`](crate::store::Column)), so it
//! is rebuilt from the store when the operator starts and never written: a block's writes stay
//! its UTXO changes alone, keyed by position, which RocksDB takes in order. An entry costs about
//! 50 bytes of memory per unspent output.

use std::collections::BTreeSet;

use alloy::primitives::Address;
use plasma_core::UtxoPos;

/// One change of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `owner` now holds `pos`.
    Insert(Address, UtxoPos),
    /// `owner` no longer holds `pos`.
    Remove(Address, UtxoPos),
}

/// The positions each owner holds, in ascending order.
#[derive(Debug, Default)]
pub(crate) struct OwnerIndex {
    entries: BTreeSet<(Address, u64)>,
}

impl OwnerIndex {
    /// Records that `owner` holds `pos`.
    pub(crate) fn insert(&mut self, owner: Address, pos: UtxoPos) {
        self.entries.insert((owner, pos.as_u64()));
    }

    /// Records that `owner` no longer holds `pos`.
    pub(crate) fn remove(&mut self, owner: Address, pos: UtxoPos) {
        self.entries.remove(&(owner, pos.as_u64()));
    }

    /// Applies `changes` in order.
    pub(crate) fn apply(&mut self, changes: &[Change]) {
        for change in changes {
            match *change {
                Change::Insert(owner, pos) => self.insert(owner, pos),
                Change::Remove(owner, pos) => self.remove(owner, pos),
            }
        }
    }

    /// Undoes [`apply`](Self::apply) of the same `changes`.
    pub(crate) fn revert(&mut self, changes: &[Change]) {
        for change in changes.iter().rev() {
            match *change {
                Change::Insert(owner, pos) => self.remove(owner, pos),
                Change::Remove(owner, pos) => self.insert(owner, pos),
            }
        }
    }

    /// Up to `limit` positions of `owner` from `from` on, ascending.
    pub(crate) fn of(&self, owner: Address, from: u64, limit: usize) -> Vec<UtxoPos> {
        self.entries
            .range((owner, from)..=(owner, u64::MAX))
            .take(limit)
            .filter_map(|(_, pos)| UtxoPos::from_u64(*pos).ok())
            .collect()
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_per_owner_in_order() {
        let (alice, bob) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let pos = |b, t, o| UtxoPos::new(b, t, o).unwrap();
        let mut index = OwnerIndex::default();
        index.insert(alice, pos(2000, 0, 1));
        index.insert(alice, pos(1000, 3, 0));
        index.insert(bob, pos(1000, 1, 0));
        index.insert(alice, pos(5, 0, 0));
        assert_eq!(
            index.of(alice, 0, 10),
            [pos(5, 0, 0), pos(1000, 3, 0), pos(2000, 0, 1)]
        );
        assert_eq!(index.of(alice, 0, 1), [pos(5, 0, 0)]);
        assert_eq!(
            index.of(alice, pos(1000, 3, 0).as_u64(), 10),
            [pos(1000, 3, 0), pos(2000, 0, 1)]
        );
        index.remove(alice, pos(1000, 3, 0));
        index.remove(alice, pos(7, 0, 0)); // not held: nothing happens
        assert_eq!(index.of(alice, 0, 10), [pos(5, 0, 0), pos(2000, 0, 1)]);
        assert_eq!(index.of(bob, 0, 10), [pos(1000, 1, 0)]);
        assert_eq!(index.of(Address::ZERO, 0, 10), []);
        assert_eq!(index.len(), 3);

        // A block's changes, and their undoing when its write fails.
        let changes = [
            Change::Remove(alice, pos(5, 0, 0)),
            Change::Insert(bob, pos(3000, 0, 0)),
            Change::Insert(alice, pos(3000, 0, 1)),
        ];
        index.apply(&changes);
        assert_eq!(index.of(alice, 0, 10), [pos(2000, 0, 1), pos(3000, 0, 1)]);
        assert_eq!(index.of(bob, 0, 10), [pos(1000, 1, 0), pos(3000, 0, 0)]);
        index.revert(&changes);
        assert_eq!(index.of(alice, 0, 10), [pos(5, 0, 0), pos(2000, 0, 1)]);
        assert_eq!(index.of(bob, 0, 10), [pos(1000, 1, 0)]);
    }
}
