// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ExitGameBase} from "./ExitGameBase.sol";
import {IRootChain} from "./interfaces/IRootChain.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";

/// @title InFlightExitCore
/// @notice What both halves of the in-flight exit game share: the layout of an exit's record, loading an exit from
///         the data passed back, the phases, piggyback checks, spends, and the per-token slots of its queue entries.
/// @dev Each exit keeps two slots: the record of its transaction (`_txRecords[txHash]`, shared with the outputs' exit
///      bits; layout in `ExitGameBase`) and the hash of its data (`_inFlightData[txHash] =
///      keccak256(abi.encode(inputs, bondOwner))`); every call takes the data back in calldata. Two contracts run the
///      game: `RootChain` itself (through `InFlightExitEntry`: the start and the response, whose gas targets leave no
///      room for a delegatecall) and `InFlightExitGame` (the rest, by delegatecall in `RootChain`'s storage).
abstract contract InFlightExitCore is ExitGameBase {
    uint256 internal constant ACTIVE = IFE_ACTIVE;
    uint256 internal constant PIGGYBACKS = 0xff << 9;
    uint256 internal constant OUTPUT_PIGGYBACKS = 0xf0 << 9;
    uint256 internal constant DONE_SHIFT = 17;
    uint256 internal constant PIGGYBACK = 1 << 9;
    uint256 internal constant DONE = 1 << 17;
    /// @dev Bit `k` of a bitmap is `BIT << k`.
    uint256 internal constant BIT = 1;
    uint256 internal constant PAYS_OUTPUTS = 1 << 27;
    uint256 internal constant BOND_PAID = 1 << 28;
    uint256 internal constant UNINCLUDED = type(uint64).max;
    uint256 internal constant MAX_INPUTS = 4;
    uint256 internal constant SLOTS = 8;

    constructor(
        address operator_,
        uint256 minExitPeriod_,
        uint256 exitBond_,
        uint256 minDeposit_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_
    ) ExitGameBase(operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_) {}

    /// @dev Revert unless `spend` spends `utxoPos`, is signed by `owner` and is not the in-flight transaction.
    function _checkOtherSpend(bytes32 txHash, uint256 utxoPos, IRootChain.Spend calldata spend, address owner)
        internal
        view
        returns (bytes32 spendHash)
    {
        spendHash = keccak256(spend.txBytes);
        if (spendHash == txHash) revert IRootChain.SpendIsInFlightTx(txHash);
        _checkSpend(utxoPos, spend.txBytes, spend.inputIndex, spend.signature, owner);
    }

    /// @dev The record of the active exit of `ife.txBytes`, after checking `ife`'s data against its hash.
    function _load(IRootChain.InFlightExit calldata ife)
        internal
        view
        returns (bytes32 txHash, uint256 record)
    {
        (txHash, record) = _loadTx(ife.txBytes);
        if (_inFlightData[txHash] != keccak256(abi.encode(ife.inputs, ife.bondOwner))) {
            revert IRootChain.InFlightExitDataMismatch(txHash);
        }
    }

    /// @dev The record of the active exit of `txBytes` (whose hash matching it means they are the validated bytes).
    function _loadTx(bytes calldata txBytes) internal view returns (bytes32 txHash, uint256 record) {
        txHash = keccak256(txBytes);
        record = _txRecords[txHash];
        if (record & ACTIVE == 0) revert IRootChain.InFlightExitNotFound(txHash);
    }

    function _requireFirstHalf(bytes32 txHash, uint256 record) internal view {
        uint256 end = _firstHalfEnd(record);
        // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
        if (block.timestamp >= end) revert IRootChain.FirstHalfOver(txHash, end);
    }

    function _requireNotProcessing(bytes32 txHash, uint256 record) internal pure {
        if (record & PROCESSING != 0) revert IRootChain.InFlightExitAlreadyProcessing(txHash);
        if (record & BOND_PAID != 0) revert IRootChain.InFlightExitDeletedAlready(txHash);
    }

    /// @dev The first half (piggybacks, non-canonical challenges) ends half a period before `exitableAt`, which is
    ///      at least a period after the start: every counter-move keeps half a period.
    function _firstHalfEnd(uint256 record) internal view returns (uint256) {
        return ((record >> EXITABLE_SHIFT) & EXITABLE_MASK) - MIN_EXIT_PERIOD / 2;
    }

    function _withCompetitor(uint256 record, uint256 position) internal pure returns (uint256) {
        return (record & ~(POSITION_MASK << COMPETITOR_SHIFT)) | (position << COMPETITOR_SHIFT);
    }

    /// @dev `record` with piggyback `k` added, after checking it (caller is the owner, non-zero amount, not yet
    ///      piggybacked, and for an output: no standard exit and not exited).
    function _addPiggyback(uint256 record, bytes32 txHash, uint256 k, address owner, uint256 amount)
        internal
        view
        returns (uint256)
    {
        uint256 bit = PIGGYBACK << k;
        if (record & bit != 0) revert IRootChain.AlreadyPiggybacked(txHash, k);
        if (owner != msg.sender) revert IRootChain.NotPiggybackOwner(msg.sender, owner);
        if (amount == 0) revert IRootChain.ZeroAmountPiggyback(k);
        if (k >= MAX_INPUTS && record & ((SE_STARTED | EXITED) << (k - MAX_INPUTS)) != 0) {
            revert IRootChain.OutputAlreadyExited(txHash, k - MAX_INPUTS);
        }
        return record | bit;
    }

    /// @dev The tokens of the outputs at slots 4 + j (input slots are filled by the caller).
    function _outputTokens(bytes calldata txBytes, uint256 nIn, uint256 nOut)
        internal
        pure
        returns (address[SLOTS] memory tokens)
    {
        assembly ("memory-safe") {
            // Output j's token is word 9 + nIn + 4j of a validated transaction.
            let p := add(txBytes.offset, shl(5, add(9, nIn)))
            for { let j := 0 } lt(j, nOut) { j := add(j, 1) } {
                mstore(add(tokens, shl(5, add(MAX_INPUTS, j))), calldataload(add(p, shl(7, j))))
            }
        }
    }

    /// @dev Bitmap of the present slots (inputs 0..nIn-1, outputs 4..4+nOut-1) whose token is in no earlier slot: one
    ///      queue entry each.
    function _firstSlots(address[SLOTS] memory tokens, uint256 nIn, uint256 nOut)
        internal
        pure
        returns (uint256 firsts)
    {
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, SLOTS) { k := add(k, 1) } {
                let present := lt(k, nIn)
                if iszero(lt(k, MAX_INPUTS)) { present := lt(sub(k, MAX_INPUTS), nOut) }
                if present {
                    let t := mload(add(tokens, shl(5, k)))
                    let seen := 0
                    for { let m := 0 } lt(m, k) { m := add(m, 1) } {
                        if and(shr(m, firsts), eq(mload(add(tokens, shl(5, m))), t)) {
                            seen := 1
                            break
                        }
                    }
                    if iszero(seen) { firsts := or(firsts, shl(k, 1)) }
                }
            }
        }
    }
}
