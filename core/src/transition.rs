//! What a block does to the UTXO set, once for everyone who replays it (the operator making a
//! block, a client verifying one, a load generator tracking its coins): the outputs its
//! transactions create, at their positions, and the inputs they spend. A deposit block is the
//! same with its one input-less transaction ([`Deposit::transaction`](crate::Deposit)).
//!
//! Validity is not checked here ([`crate::validate`] does that); this is only the bookkeeping
//! that follows from a block's transactions in index order.

use crate::transaction::{Output, Transaction};
use crate::utxo::{UtxoPos, UtxoPosError};

/// An output a block creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created<'a> {
    /// The index of the creating transaction in its block.
    pub tx_index: usize,
    /// Where the output lives.
    pub pos: UtxoPos,
    /// The output.
    pub output: &'a Output,
}

/// An input a block spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    /// The index of the spending transaction in its block.
    pub tx_index: usize,
    /// Which of its inputs spends the output.
    pub input_index: usize,
    /// The output spent.
    pub pos: UtxoPos,
}

/// The outputs transaction `tx` creates as transaction `tx_index` of block `blknum`, in output
/// order. An error only for a position that cannot exist (a block number too large, an index
/// past a block's 65,536 transactions).
pub fn outputs_at(
    blknum: u64,
    tx_index: usize,
    tx: &Transaction,
) -> impl Iterator<Item = Result<Created<'_>, UtxoPosError>> {
    tx.outputs
        .iter()
        .zip(0u64..)
        .map(move |(output, output_index)| {
            let index = u64::try_from(tx_index).map_err(|_| UtxoPosError::TooLarge)?;
            Ok(Created {
                tx_index,
                pos: UtxoPos::new(blknum, index, output_index)?,
                output,
            })
        })
}

/// Every output the transactions of block `blknum` create, in order of transaction and
/// output index.
pub fn created<'a, I>(
    blknum: u64,
    txs: I,
) -> impl Iterator<Item = Result<Created<'a>, UtxoPosError>>
where
    I: IntoIterator<Item = &'a Transaction>,
{
    txs.into_iter()
        .enumerate()
        .flat_map(move |(tx_index, tx)| outputs_at(blknum, tx_index, tx))
}

/// Every input the transactions spend, in order of transaction and input index.
pub fn spent<'a, I>(txs: I) -> impl Iterator<Item = Spent>
where
    I: IntoIterator<Item = &'a Transaction>,
{
    txs.into_iter().enumerate().flat_map(|(tx_index, tx)| {
        tx.inputs
            .iter()
            .enumerate()
            .map(move |(input_index, &pos)| Spent {
                tx_index,
                input_index,
                pos,
            })
    })
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};

    use super::*;
    use crate::{Deposit, ETH};

    fn out(n: u8) -> Output {
        Output::new(Address::repeat_byte(n), ETH, U256::from(n))
    }

    #[test]
    fn a_block_creates_at_its_positions_and_spends_its_inputs() {
        let a = UtxoPos::new(1, 0, 0).unwrap();
        let b = UtxoPos::new(2, 0, 0).unwrap();
        let txs = [
            Transaction::payment(vec![a], vec![out(1), out(2)]),
            Transaction::payment(vec![b, UtxoPos::new(1000, 0, 1).unwrap()], vec![out(3)]),
        ];
        let created: Vec<(usize, u64, Output)> = created(2000, &txs)
            .map(|c| c.map(|c| (c.tx_index, c.pos.as_u64(), *c.output)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            created,
            [
                (0, 2_000_000_000_000, out(1)),
                (0, 2_000_000_000_001, out(2)),
                (1, 2_000_000_010_000, out(3)),
            ]
        );
        let spent: Vec<(usize, usize, UtxoPos)> = spent(&txs)
            .map(|s| (s.tx_index, s.input_index, s.pos))
            .collect();
        assert_eq!(
            spent,
            [
                (0, 0, a),
                (1, 0, b),
                (1, 1, UtxoPos::new(1000, 0, 1).unwrap())
            ]
        );
    }

    #[test]
    fn a_deposit_block_creates_its_one_output() {
        let deposit = Deposit {
            blknum: 1001,
            owner: Address::repeat_byte(7),
            token: ETH,
            amount: U256::from(9),
        };
        let tx = deposit.transaction();
        let created: Vec<Created<'_>> = created(deposit.blknum, [&tx])
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(created.len(), 1);
        assert_eq!(Ok(created[0].pos), deposit.utxo_pos());
        assert_eq!(spent([&tx]).count(), 0);
    }

    #[test]
    fn impossible_positions_are_errors() {
        let tx = Transaction::payment(vec![], vec![out(1)]);
        assert!(outputs_at(u64::MAX, 0, &tx).all(|c| c.is_err()));
        assert!(outputs_at(1000, 65_536, &tx).all(|c| c.is_err()));
    }
}
