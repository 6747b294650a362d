//! The owner index of the UTXO set, in memory: which positions each address owns.
//!
//! It is derived data (every entry follows from [`Column::Utxos`](crate::store::Column)), so it
//! is rebuilt from the store when the operator starts and never written: a block's writes stay
//! its UTXO changes alone, keyed by position, which RocksDB takes in order. Each owner keeps an
//! ordered set of 8-byte positions: about 17 bytes per unspent output, plus about 100 per
//! owner (a single set of `(owner, position)` pairs took about 60 per output).

use std::collections::BTreeSet;

use alloy::primitives::Address;
use alloy::primitives::map::HashMap;
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
    owners: HashMap<Address, BTreeSet<u64>>,
    len: usize,
}

impl OwnerIndex {
    /// Records that `owner` holds `pos`.
    pub(crate) fn insert(&mut self, owner: Address, pos: UtxoPos) {
        if self.owners.entry(owner).or_default().insert(pos.as_u64()) {
            self.len += 1;
        }
    }

    /// Records that `owner` no longer holds `pos`.
    pub(crate) fn remove(&mut self, owner: Address, pos: UtxoPos) {
        if let Some(held) = self.owners.get_mut(&owner)
            && held.remove(&pos.as_u64())
        {
            self.len -= 1;
            if held.is_empty() {
                self.owners.remove(&owner);
            }
        }
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
        self.owners.get(&owner).map_or_else(Vec::new, |held| {
            held.range(from..)
                .take(limit)
                .filter_map(|pos| UtxoPos::from_u64(*pos).ok())
                .collect()
        })
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len
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
        assert_eq!(index.len(), 4);
        index.revert(&changes);
        assert_eq!(index.of(alice, 0, 10), [pos(5, 0, 0), pos(2000, 0, 1)]);
        assert_eq!(index.of(bob, 0, 10), [pos(1000, 1, 0)]);
        assert_eq!(index.len(), 3);
        // An owner whose last output leaves takes no room.
        index.remove(bob, pos(1000, 1, 0));
        assert_eq!(index.of(bob, 0, 10), []);
        assert!(!index.owners.contains_key(&bob));
        assert_eq!(index.len(), 2);
    }
}
