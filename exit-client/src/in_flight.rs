//! In-flight exits from the user's side (MoreVP): starting one from the data the client kept
//! when it signed the payment, piggybacking what the user's keys own, and processing one when it
//! reaches the top of its queue — all from L1 and the local store, with no help from the
//! operator.
//!
//! The contract keeps only a hash of an in-flight exit; its data comes back from the
//! `InFlightExitStarted` event (and the bond's owner from the challenge and response events),
//! which [`L1::in_flight_exit`] reads.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;
use plasma_contracts::events::{InFlightEvent, RootChainEvent};
use plasma_contracts::{IRootChain, RootChain};
use plasma_core::{Transaction, UtxoPos};

use crate::l1::{L1, Result};
use crate::store::{ClientStore, InFlightExitRecord, InFlightPayment, SpendRecord, StoreError};

/// Bit of input `i` in the contract's piggyback bitmaps.
pub fn input_bit(i: usize) -> u64 {
    1 << i
}

/// Bit of output `j` in the contract's piggyback bitmaps.
pub fn output_bit(j: usize) -> u64 {
    1 << (4 + j)
}

/// An in-flight exit as L1 knows it: the data every call on it passes back, and its state.
#[derive(Debug, Clone)]
pub struct InFlightExit {
    /// The in-flight transaction's hash (the exit's id).
    pub tx_hash: B256,
    /// Its canonical bytes.
    pub tx_bytes: Bytes,
    /// The transaction.
    pub tx: Transaction,
    /// Its inputs as the start proved them.
    pub inputs: Vec<IRootChain::InFlightInput>,
    /// Who holds the in-flight exit bond now.
    pub bond_owner: Address,
    /// The piggyback bitmap now (bit `i`: input `i`, bit `4 + j`: output `j`).
    pub piggybacks: u64,
    /// When it may be processed.
    pub exitable_at: u64,
}

impl InFlightExit {
    /// The data the contract's calls take back.
    pub fn call_data(&self) -> IRootChain::InFlightExit {
        IRootChain::InFlightExit {
            txBytes: self.tx_bytes.clone(),
            inputs: self.inputs.clone(),
            bondOwner: self.bond_owner,
        }
    }

    /// The exit as the store's record of its L1 events has it (`None` if its bytes do not
    /// decode, which the contract never accepts).
    pub fn from_record(record: &InFlightExitRecord) -> Option<Self> {
        Some(Self {
            tx_hash: record.tx_hash,
            tx_bytes: record.tx_bytes.clone(),
            tx: Transaction::decode(&record.tx_bytes).ok()?,
            inputs: record
                .inputs
                .iter()
                .map(|i| IRootChain::InFlightInput {
                    txHash: i.tx_hash,
                    owner: i.owner,
                    token: i.token,
                    amount: i.amount,
                })
                .collect(),
            bond_owner: record.bond_owner,
            piggybacks: record.piggybacks,
            exitable_at: record.exitable_at,
        })
    }

    /// The piggybacks `owner` could still add: its inputs and outputs not piggybacked yet, as
    /// a bitmap.
    pub fn open_for(&self, owner: Address) -> u64 {
        owned_bits(self.inputs.iter().map(|i| i.owner), &self.tx, owner) & !self.piggybacks
    }
}

/// One claim (piggyback) on an in-flight exit: which input or output, whose, how much.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// Which side of the transaction.
    pub side: crate::watch::Side,
    /// The input's or output's index.
    pub index: u64,
    /// Its owner (who is paid).
    pub owner: Address,
    /// Its token.
    pub token: Address,
    /// Its amount, in the token's base unit (decimal).
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
}

/// An in-flight exit as `plasma exits` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightView {
    /// The in-flight transaction's hash (the exit's id).
    pub tx_hash: B256,
    /// `canonical` (its outputs are paid), `non_canonical` (a competitor is on record: its
    /// inputs are paid back), or `processed` (paid out, or deleted).
    pub state: &'static str,
    /// The claims made, each paid at processing as the state says.
    pub claims: Vec<Claim>,
    /// Until when (L1 time) claims and non-canonical challenges are taken.
    pub claims_close_at: u64,
    /// When it may be processed.
    pub exitable_at: u64,
    /// Who holds the exit bond now.
    pub bond_owner: Address,
}

impl InFlightView {
    /// The view of `record`, on a contract whose minimum exit period is `min_exit_period`
    /// (`None` if its bytes do not decode, which the contract never accepts).
    pub fn of(record: &InFlightExitRecord, min_exit_period: u64) -> Option<Self> {
        let tx = Transaction::decode(&record.tx_bytes).ok()?;
        let inputs = record.inputs.iter().enumerate().map(|(i, input)| Claim {
            side: crate::watch::Side::Input,
            index: i as u64,
            owner: input.owner,
            token: input.token,
            amount: input.amount,
        });
        let outputs = tx.outputs.iter().enumerate().map(|(j, output)| Claim {
            side: crate::watch::Side::Output,
            index: j as u64,
            owner: output.owner,
            token: output.token,
            amount: output.amount,
        });
        let claims = inputs
            .zip(0..)
            .map(|(c, i)| (c, input_bit(i)))
            .chain(outputs.zip(0..).map(|(c, j)| (c, output_bit(j))))
            .filter(|(_, bit)| record.piggybacks & bit != 0)
            .map(|(c, _)| c)
            .collect();
        let state = if record.closed {
            "processed"
        } else if record.canonical {
            "canonical"
        } else {
            "non_canonical"
        };
        Some(Self {
            tx_hash: record.tx_hash,
            state,
            claims,
            claims_close_at: record.exitable_at.saturating_sub(min_exit_period / 2),
            exitable_at: record.exitable_at,
            bond_owner: record.bond_owner,
        })
    }
}

/// Where the verified chain in `store` includes the transaction `tx` (hash `tx_hash`): the
/// spend of its first input, if that spend is `tx` itself.
pub fn included_at(
    store: &ClientStore,
    tx_hash: B256,
    tx: &Transaction,
) -> Result<Option<SpendRecord>, StoreError> {
    let Some(&first) = tx.inputs.first() else {
        return Ok(None);
    };
    Ok(store
        .spend_of(first)?
        .filter(|spend| alloy::primitives::keccak256(&spend.tx_bytes) == tx_hash))
}

/// The open in-flight exit that claims, or may pay out, the value of coin `pos`: one of whose
/// inputs it is (its owner signed the in-flight transaction, so a standard exit of it can be
/// challenged), or one of whose claimed outputs it is. A standard exit of such a coin would be
/// challenged or refused, its bond lost.
pub fn in_flight_claim_on(store: &ClientStore, pos: UtxoPos) -> Result<Option<B256>, StoreError> {
    for record in store.in_flight_exits()? {
        if record.closed {
            continue;
        }
        let Ok(tx) = Transaction::decode(&record.tx_bytes) else {
            continue;
        };
        if tx.inputs.contains(&pos) {
            return Ok(Some(record.tx_hash));
        }
        let claimed_output = match included_at(store, record.tx_hash, &tx)? {
            Some(spend) => {
                let first = spend.position();
                (first..first + tx.outputs.len() as u64)
                    .position(|p| p == pos.as_u64())
                    .is_some_and(|j| record.piggybacks & output_bit(j) != 0)
            }
            None => false,
        };
        if claimed_output {
            return Ok(Some(record.tx_hash));
        }
    }
    Ok(None)
}

/// `bits` (claims on the in-flight exit of `tx`, hash `tx_hash`) without those whose output
/// has an active standard exit in `store`: the contract refuses those claims (the standard
/// exit owns the output). Returns the kept bits and the positions dropped.
pub fn without_standard_exits(
    store: &ClientStore,
    tx_hash: B256,
    tx: &Transaction,
    bits: u64,
) -> Result<(u64, Vec<UtxoPos>), StoreError> {
    let exiting = |pos: UtxoPos| -> Result<bool, StoreError> {
        Ok(store.exit(pos)?.is_some_and(|e| e.status.is_active()))
    };
    let mut kept = bits;
    let mut dropped = Vec::new();
    for (i, &pos) in tx.inputs.iter().enumerate() {
        if bits & input_bit(i) != 0 && exiting(pos)? {
            kept &= !input_bit(i);
            dropped.push(pos);
        }
    }
    if let Some(spend) = included_at(store, tx_hash, tx)? {
        for j in 0..tx.outputs.len() {
            let Ok(pos) = UtxoPos::from_u64(spend.position() + j as u64) else {
                continue;
            };
            if bits & output_bit(j) != 0 && exiting(pos)? {
                kept &= !output_bit(j);
                dropped.push(pos);
            }
        }
    }
    Ok((kept, dropped))
}

/// Whether `owner` owns an input or an output of the in-flight exit `record`.
pub fn involves(record: &InFlightExitRecord, owner: Address) -> bool {
    record.inputs.iter().any(|i| i.owner == owner)
        || Transaction::decode(&record.tx_bytes)
            .is_ok_and(|tx| tx.outputs.iter().any(|o| o.owner == owner))
}

/// The piggybacks `owner` can make on the payment it signed (its inputs and its outputs).
pub fn own_piggybacks(payment: &InFlightPayment, tx: &Transaction, owner: Address) -> u64 {
    owned_bits(payment.inputs.iter().map(|c| c.output.owner), tx, owner)
}

/// The bitmap of the inputs (whose owners are `input_owners`) and outputs of `tx` that `owner`
/// owns.
fn owned_bits(
    input_owners: impl Iterator<Item = Address>,
    tx: &Transaction,
    owner: Address,
) -> u64 {
    let inputs = input_owners
        .enumerate()
        .filter(|(_, o)| *o == owner)
        .map(|(i, _)| input_bit(i));
    let outputs = tx
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, output)| output.owner == owner)
        .map(|(j, _)| output_bit(j));
    inputs.chain(outputs).fold(0, |bits, bit| bits | bit)
}

/// A signed spend of an output, as the contract's challenges take it.
#[derive(Debug, Clone)]
pub struct Spend {
    /// The spending transaction's canonical bytes.
    pub tx_bytes: Bytes,
    /// The index in its inputs of the spent output.
    pub input_index: u64,
    /// The spent output's owner's signature over it.
    pub signature: plasma_core::TxSignature,
}

impl From<&crate::store::SpendRecord> for Spend {
    fn from(spend: &crate::store::SpendRecord) -> Self {
        Self {
            tx_bytes: spend.tx_bytes.clone(),
            input_index: spend.input_index,
            signature: spend.signature,
        }
    }
}

impl Spend {
    fn call_data(&self) -> IRootChain::Spend {
        IRootChain::Spend {
            txBytes: self.tx_bytes.clone(),
            inputIndex: U256::from(self.input_index),
            signature: Bytes::copy_from_slice(self.signature.as_bytes()),
        }
    }
}

/// Where a transaction is included: its position (`blknum * 1e9 + index * 1e4`) and inclusion
/// proof.
#[derive(Debug, Clone)]
pub struct Inclusion {
    /// The position.
    pub position: u64,
    /// The Merkle proof against its block's root.
    pub proof: Bytes,
}

impl L1 {
    /// Shows `competitor`, another spend of input `input_index` of `exit`, included where
    /// `inclusion` says (or not included, `None`): the exit becomes non-canonical and `from`
    /// its bond owner.
    pub async fn challenge_in_flight_not_canonical(
        &self,
        from: Address,
        exit: &InFlightExit,
        input_index: usize,
        competitor: &Spend,
        inclusion: Option<&Inclusion>,
    ) -> Result<TransactionReceipt> {
        let (position, proof) =
            inclusion.map_or((0, Bytes::new()), |i| (i.position, i.proof.clone()));
        let call = self
            .contract()
            .challengeInFlightExitNotCanonical(
                exit.call_data(),
                U256::from(input_index),
                competitor.call_data(),
                U256::from(position),
                proof,
            )
            .from(from);
        self.send_with_margin("challengeInFlightExitNotCanonical", call)
            .await
    }

    /// Answers a non-canonical challenge of `exit` with the transaction's own inclusion, older
    /// than the competitor on record: the exit is canonical again and `from` its bond owner.
    pub async fn respond_to_non_canonical_challenge(
        &self,
        from: Address,
        exit: &InFlightExit,
        inclusion: &Inclusion,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract()
            .respondToNonCanonicalChallenge(
                exit.call_data(),
                U256::from(inclusion.position),
                inclusion.proof.clone(),
            )
            .from(from);
        self.send_with_margin("respondToNonCanonicalChallenge", call)
            .await
    }

    /// Removes the piggyback on input `input_index` of `exit` with `spend`, another spend of
    /// that input; the piggyback bond goes to `from`.
    pub async fn challenge_in_flight_input_spent(
        &self,
        from: Address,
        exit: &InFlightExit,
        input_index: usize,
        spend: &Spend,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract()
            .challengeInFlightExitInputSpent(
                exit.call_data(),
                U256::from(input_index),
                spend.call_data(),
            )
            .from(from);
        self.send_with_margin("challengeInFlightExitInputSpent", call)
            .await
    }

    /// Removes the piggyback on output `output_index` of `exit`, whose transaction is included
    /// where `inclusion` says, with `spend` of that output; the piggyback bond goes to `from`.
    pub async fn challenge_in_flight_output_spent(
        &self,
        from: Address,
        exit: &InFlightExit,
        inclusion: &Inclusion,
        output_index: usize,
        spend: &Spend,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract()
            .challengeInFlightExitOutputSpent(
                exit.tx_bytes.clone(),
                U256::from(inclusion.position),
                inclusion.proof.clone(),
                U256::from(output_index),
                spend.call_data(),
            )
            .from(from);
        self.send_with_margin("challengeInFlightExitOutputSpent", call)
            .await
    }

    /// The in-flight exit bond and the piggyback bond, in wei.
    pub async fn in_flight_bonds(&self) -> Result<(U256, U256)> {
        let contract = self.contract();
        let bond = contract
            .inFlightExitBond()
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        let piggyback = contract
            .piggybackBond()
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        Ok((bond, piggyback))
    }

    /// The in-flight exit of `tx_hash` as L1's events tell it (`None` if none was started):
    /// its data from `InFlightExitStarted`, the bond's owner after challenges and responses,
    /// and its piggybacks from the contract.
    pub async fn in_flight_exit(&self, tx_hash: B256) -> Result<Option<InFlightExit>> {
        let latest = self.latest_block().await?;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.address())
            .from_block(0)
            .to_block(latest)
            .event_signature(vec![
                RootChain::InFlightExitStarted::SIGNATURE_HASH,
                RootChain::InFlightExitChallenged::SIGNATURE_HASH,
                RootChain::InFlightExitChallengeResponded::SIGNATURE_HASH,
            ])
            .topic1(tx_hash);
        let logs = self.logs(&filter).await?;
        let mut exit: Option<InFlightExit> = None;
        for log in logs {
            let RootChainEvent::InFlight(event) = log.event else {
                continue;
            };
            match event {
                InFlightEvent::Started {
                    tx_hash,
                    starter,
                    tx_bytes,
                    inputs,
                    exitable_at,
                    ..
                } => {
                    let Ok(tx) = Transaction::decode(&tx_bytes) else {
                        continue; // the contract accepts only canonical bytes
                    };
                    exit = Some(InFlightExit {
                        tx_hash,
                        tx_bytes,
                        tx,
                        inputs: inputs
                            .iter()
                            .map(|i| IRootChain::InFlightInput {
                                txHash: i.tx_hash,
                                owner: i.owner,
                                token: i.token,
                                amount: i.amount,
                            })
                            .collect(),
                        bond_owner: starter,
                        piggybacks: 0,
                        exitable_at,
                    });
                }
                InFlightEvent::Challenged { challenger, .. } => {
                    if let Some(exit) = &mut exit {
                        exit.bond_owner = challenger;
                    }
                }
                InFlightEvent::ChallengeResponded { responder, .. } => {
                    if let Some(exit) = &mut exit {
                        exit.bond_owner = responder;
                    }
                }
                _ => {}
            }
        }
        if let Some(exit) = &mut exit {
            let state = self
                .contract()
                .getInFlightExit(tx_hash)
                .call()
                .await
                .map_err(|e| self.rpc(e))?;
            exit.piggybacks = state.piggybacks.saturating_to();
        }
        Ok(exit)
    }

    /// The in-flight exit whose queue entry is `(exitable_at, youngest)`: the one started with
    /// that exit time whose youngest input is at `youngest` (several competing exits may share
    /// an entry's value; any of them is the entry's).
    pub async fn in_flight_exit_at(
        &self,
        exitable_at: u64,
        youngest: u64,
    ) -> Result<Option<InFlightExit>> {
        let latest = self.latest_block().await?;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.address())
            .from_block(0)
            .to_block(latest)
            .event_signature(RootChain::InFlightExitStarted::SIGNATURE_HASH);
        for log in self.logs(&filter).await? {
            let RootChainEvent::InFlight(InFlightEvent::Started {
                tx_hash,
                tx_bytes,
                exitable_at: at,
                ..
            }) = log.event
            else {
                continue;
            };
            let Ok(tx) = Transaction::decode(&tx_bytes) else {
                continue;
            };
            let young = tx.inputs.iter().map(|p| p.as_u64()).max().unwrap_or(0);
            if at == exitable_at && young == youngest {
                let exit = self.in_flight_exit(tx_hash).await?;
                if exit.as_ref().is_some_and(|e| e.exitable_at == exitable_at) {
                    return Ok(exit);
                }
            }
        }
        Ok(None)
    }

    /// Starts the in-flight exit of `payment` from `from`, piggybacking `piggybacks` (a bitmap)
    /// in the same call; posts the in-flight exit bond and one piggyback bond each.
    pub async fn start_in_flight_exit(
        &self,
        from: Address,
        payment: &InFlightPayment,
        piggybacks: u64,
    ) -> Result<TransactionReceipt> {
        let (bond, piggyback_bond) = self.in_flight_bonds().await?;
        let value = bond + piggyback_bond * U256::from(piggybacks.count_ones());
        let call = self
            .contract()
            .startInFlightExit(
                payment.tx_bytes.clone(),
                payment.inputs.iter().map(|c| c.tx_bytes.clone()).collect(),
                payment.inputs.iter().map(|c| c.proof.clone()).collect(),
                payment
                    .signatures
                    .iter()
                    .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                    .collect(),
                U256::from(piggybacks),
            )
            .value(value)
            .from(from);
        self.send_with_margin("startInFlightExit", call).await
    }

    /// Piggybacks, from `from` (the owner), every input and output of `exit` in `piggybacks`
    /// (a bitmap); returns the receipts.
    pub async fn piggyback(
        &self,
        from: Address,
        exit: &InFlightExit,
        piggybacks: u64,
    ) -> Result<Vec<TransactionReceipt>> {
        let (_, bond) = self.in_flight_bonds().await?;
        let mut receipts = Vec::new();
        for index in 0..4 {
            if piggybacks & input_bit(index) != 0 {
                let call = self
                    .contract()
                    .piggybackInFlightExitOnInput(exit.call_data(), U256::from(index))
                    .value(bond)
                    .from(from);
                receipts.push(
                    self.confirm("piggybackInFlightExitOnInput", call.send().await)
                        .await?,
                );
            }
            if piggybacks & output_bit(index) != 0 {
                let call = self
                    .contract()
                    .piggybackInFlightExitOnOutput(exit.tx_bytes.clone(), U256::from(index))
                    .value(bond)
                    .from(from);
                receipts.push(
                    self.confirm("piggybackInFlightExitOnOutput", call.send().await)
                        .await?,
                );
            }
        }
        Ok(receipts)
    }

    /// Processes `exit`'s entry at the top of the queue of `token`, from `from`.
    pub async fn process_in_flight_exit(
        &self,
        from: Address,
        token: Address,
        exit: &InFlightExit,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract()
            .processInFlightExit(token, exit.call_data())
            .from(from);
        // Each piggyback's payout is reserved as the contract requires, on top of the estimate.
        let floor = 150_000u64 + 80_000 * u64::from(exit.piggybacks.count_ones());
        let gas = self
            .gas_with_margin("processInFlightExit", &call)
            .await?
            .max(floor);
        self.confirm("processInFlightExit", call.gas(gas).send().await)
            .await
    }

    /// The top of the queue of `token`: `(exitableAt, position, in_flight)`, or `None` when the
    /// queue is empty.
    pub async fn queue_top(&self, token: Address) -> Result<Option<(u64, u64, bool)>> {
        let top = self
            .contract()
            .exitQueueTop(token)
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        if top.exitableAt.is_zero() {
            return Ok(None);
        }
        Ok(Some((
            top.exitableAt.saturating_to(),
            top.position.saturating_to(),
            top.inFlight,
        )))
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use plasma_core::{ETH, Output, UtxoPos};

    use super::*;

    #[test]
    fn an_owner_claims_its_inputs_and_outputs_in_the_contracts_bit_layout() {
        let (alice, bob) = (Address::repeat_byte(0xa1), Address::repeat_byte(0xb0));
        let tx = Transaction::payment(
            vec![
                UtxoPos::new(1, 0, 0).unwrap(),
                UtxoPos::new(2, 0, 0).unwrap(),
            ],
            vec![
                Output::new(bob, ETH, U256::from(6)),
                Output::new(alice, ETH, U256::from(4)),
            ],
        );
        let owners = [alice, bob];
        // Alice: input 0 and output 1; Bob: input 1 and output 0.
        assert_eq!(owned_bits(owners.into_iter(), &tx, alice), 0b1 | 0b10_0000);
        assert_eq!(owned_bits(owners.into_iter(), &tx, bob), 0b10 | 0b1_0000);
        assert_eq!(owned_bits(owners.into_iter(), &tx, Address::ZERO), 0);
    }
}
