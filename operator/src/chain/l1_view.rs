//! What L1 says about the chain, kept for people to look at (the explorer): each block's
//! committed root and the L1 transaction that committed it, and the exits started on L1 with
//! their state. The chain's own rules never read these records; the follower writes them in the
//! same batch as the events' effects, so they survive restarts and are never applied twice.

use alloy::primitives::{Address, B256, U256};
use plasma_core::UtxoPos;
use serde::{Deserialize, Serialize};

use crate::store::{Batch, Column, Db, StoreError};

const COMMITMENT: &[u8] = b"view/commit/";
const EXIT: &[u8] = b"view/exit/";
const IN_FLIGHT: &[u8] = b"view/ife/";

/// A block root committed on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commitment {
    /// The root L1 holds.
    pub root: B256,
    /// The L1 transaction that committed it.
    pub l1_tx: B256,
}

/// Where a standard exit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitState {
    /// In the queue, challengeable.
    Started,
    /// Challenged: deleted, its bond taken.
    Challenged,
    /// Paid (or credited).
    Finalized,
    /// Closed unpaid: the contract lacked the funds.
    Unfunded,
}

/// A standard exit as L1 told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitView {
    /// The exiting output.
    pub utxo_pos: UtxoPos,
    /// Who started it.
    pub owner: Address,
    /// Its token.
    pub token: Address,
    /// Its amount, in the token's base unit.
    pub amount: U256,
    /// When it can be processed (unix time).
    pub exitable_at: u64,
    /// Its state now.
    pub state: ExitState,
}

/// An in-flight exit as L1 told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightView {
    /// The in-flight transaction.
    pub tx_hash: B256,
    /// Its inputs.
    pub inputs: Vec<UtxoPos>,
    /// When it can be processed (unix time).
    pub exitable_at: u64,
    /// Claims (piggybacks) made on it.
    pub claims: u32,
    /// Whether a competitor was shown and not answered.
    pub challenged: bool,
    /// Processed or deleted.
    pub closed: bool,
}

/// One fact of L1 to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L1Record {
    /// Block `blknum` committed.
    Committed {
        /// The block.
        blknum: u64,
        /// What L1 holds.
        commitment: Commitment,
    },
    /// A standard exit started.
    ExitStarted(ExitView),
    /// A standard exit moved to `state`.
    ExitEnded {
        /// The exit.
        utxo_pos: UtxoPos,
        /// Its new state.
        state: ExitState,
    },
    /// An in-flight exit started.
    InFlightStarted(InFlightView),
    /// Something happened to in-flight exit `tx_hash`.
    InFlightChanged {
        /// The exit.
        tx_hash: B256,
        /// What.
        change: InFlightChange,
    },
}

/// A change of an in-flight exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlightChange {
    /// A claim was added.
    Claimed,
    /// A claim was removed by a challenge.
    ClaimRemoved,
    /// A competitor was shown.
    Challenged,
    /// The challenge was answered.
    Responded,
    /// Processed or deleted.
    Closed,
}

fn key(prefix: &[u8], id: &[u8]) -> Vec<u8> {
    [prefix, id].concat()
}

impl Db {
    fn view<T: for<'de> Deserialize<'de>>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.raw_get(Column::Meta, key)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        column: Column::Meta.name(),
                        what: format!("view record: {e}"),
                    })
            }
        }
    }

    fn views<T: for<'de> Deserialize<'de>>(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        self.raw_scan(Column::Meta, prefix, prefix, limit)?
            .into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    column: Column::Meta.name(),
                    what: format!("view record: {e}"),
                })
            })
            .collect()
    }

    fn staged_view<T: for<'de> Deserialize<'de>>(
        &self,
        staged: &std::collections::HashMap<Vec<u8>, Vec<u8>>,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match staged.get(key) {
            Some(bytes) => Ok(serde_json::from_slice(bytes).ok()),
            None => self.view(key),
        }
    }

    /// What L1 holds for block `blknum`, if the follower saw it committed.
    pub fn l1_commitment(&self, blknum: u64) -> Result<Option<Commitment>, StoreError> {
        self.view(&key(COMMITMENT, &blknum.to_be_bytes()))
    }

    /// The standard exits seen on L1, by position (at most `limit`).
    pub fn exit_views(&self, limit: usize) -> Result<Vec<ExitView>, StoreError> {
        self.views(EXIT, limit)
    }

    /// The in-flight exits seen on L1 (at most `limit`).
    pub fn in_flight_views(&self, limit: usize) -> Result<Vec<InFlightView>, StoreError> {
        self.views(IN_FLIGHT, limit)
    }

    /// Writes `record` into `batch`; `staged` holds the records written earlier in the same
    /// batch (an exit started and ended in one L1 range ends ended).
    pub(crate) fn put_l1_record(
        &self,
        batch: &mut Batch,
        staged: &mut std::collections::HashMap<Vec<u8>, Vec<u8>>,
        record: &L1Record,
    ) -> Result<(), StoreError> {
        let (k, value) = match record {
            L1Record::Committed { blknum, commitment } => (
                key(COMMITMENT, &blknum.to_be_bytes()),
                serde_json::to_vec(commitment),
            ),
            L1Record::ExitStarted(exit) => (
                key(EXIT, &exit.utxo_pos.as_u64().to_be_bytes()),
                serde_json::to_vec(exit),
            ),
            L1Record::ExitEnded { utxo_pos, state } => {
                let k = key(EXIT, &utxo_pos.as_u64().to_be_bytes());
                let Some(mut exit) = self.staged_view::<ExitView>(staged, &k)? else {
                    return Ok(());
                };
                exit.state = *state;
                (k, serde_json::to_vec(&exit))
            }
            L1Record::InFlightStarted(exit) => (
                key(IN_FLIGHT, exit.tx_hash.as_slice()),
                serde_json::to_vec(exit),
            ),
            L1Record::InFlightChanged { tx_hash, change } => {
                let k = key(IN_FLIGHT, tx_hash.as_slice());
                let Some(mut exit) = self.staged_view::<InFlightView>(staged, &k)? else {
                    return Ok(());
                };
                match change {
                    InFlightChange::Claimed => exit.claims += 1,
                    InFlightChange::ClaimRemoved => exit.claims = exit.claims.saturating_sub(1),
                    InFlightChange::Challenged => exit.challenged = true,
                    InFlightChange::Responded => exit.challenged = false,
                    InFlightChange::Closed => exit.closed = true,
                }
                (k, serde_json::to_vec(&exit))
            }
        };
        // These plain records always serialize.
        let value = value.expect("view records serialize");
        batch.put(Column::Meta, &k, &value);
        staged.insert(k, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;

    fn exit(pos: UtxoPos) -> ExitView {
        ExitView {
            utxo_pos: pos,
            owner: Address::repeat_byte(1),
            token: Address::ZERO,
            amount: U256::from(5),
            exitable_at: 77,
            state: ExitState::Started,
        }
    }

    #[test]
    fn records_read_what_earlier_records_of_the_same_batch_wrote() {
        let db = Db::new(Arc::new(MemoryStore::new()));
        let (a, b) = (
            UtxoPos::new(1, 0, 0).unwrap(),
            UtxoPos::new(2, 0, 0).unwrap(),
        );
        let hash = B256::repeat_byte(9);
        let mut batch = Batch::new();
        let mut staged = HashMap::new();
        for record in [
            L1Record::ExitStarted(exit(a)),
            L1Record::ExitStarted(exit(b)),
            // Ended in the same L1 range as it started.
            L1Record::ExitEnded {
                utxo_pos: a,
                state: ExitState::Finalized,
            },
            // The end of an exit never seen started is ignored.
            L1Record::ExitEnded {
                utxo_pos: UtxoPos::new(3, 0, 0).unwrap(),
                state: ExitState::Challenged,
            },
            L1Record::InFlightStarted(InFlightView {
                tx_hash: hash,
                inputs: vec![a],
                exitable_at: 99,
                claims: 0,
                challenged: false,
                closed: false,
            }),
            L1Record::InFlightChanged {
                tx_hash: hash,
                change: InFlightChange::Claimed,
            },
            L1Record::InFlightChanged {
                tx_hash: hash,
                change: InFlightChange::Challenged,
            },
            L1Record::Committed {
                blknum: 1000,
                commitment: Commitment {
                    root: B256::repeat_byte(3),
                    l1_tx: B256::repeat_byte(4),
                },
            },
        ] {
            db.put_l1_record(&mut batch, &mut staged, &record).unwrap();
        }
        db.write(batch).unwrap();
        let exits = db.exit_views(10).unwrap();
        assert_eq!(
            exits
                .iter()
                .map(|e| (e.utxo_pos, e.state))
                .collect::<Vec<_>>(),
            vec![(a, ExitState::Finalized), (b, ExitState::Started)]
        );
        let flights = db.in_flight_views(10).unwrap();
        assert_eq!(flights.len(), 1);
        assert_eq!((flights[0].claims, flights[0].challenged), (1, true));
        assert_eq!(
            db.l1_commitment(1000).unwrap().map(|c| c.l1_tx),
            Some(B256::repeat_byte(4))
        );
        assert_eq!(db.l1_commitment(2000).unwrap(), None);
    }
}
