// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {InFlightExitCore} from "./InFlightExitCore.sol";
import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title InFlightExitEntry
/// @notice The in-flight entry points `RootChain` runs in its own code: the start (with optional piggybacks) and the
///         response to a non-canonical challenge. Their gas targets (150,000 and 60,000) leave no room for the
///         ~4,300 gas of a delegatecall into `InFlightExitGame`, which runs the rest of the game.
abstract contract InFlightExitEntry is InFlightExitCore {
    using ExitHeap for ExitHeap.Heap;

    /// @dev The state of one `startInFlightExit` call (a struct: too many values for the stack).
    struct Start {
        bytes32 txHash;
        uint256 record;
        uint256 nIn;
        uint256 nOut;
        uint256 bound;
        uint256 youngest;
        uint256 exitableAt;
        address[SLOTS] tokens;
        uint256 firsts;
    }

    constructor(
        address operator_,
        uint256 minExitPeriod_,
        uint256 exitBond_,
        uint256 minDeposit_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_
    )
        InFlightExitCore(operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_)
    {}

    /// @dev `IRootChain.startInFlightExit`.
    function _startInFlightExit(
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures,
        uint256 piggybacks
    ) internal {
        Start memory s;
        (s.nIn, s.nOut) = PaymentTx.validate(txBytes);
        if (s.nIn == 0) revert IRootChain.InFlightTxHasNoInputs();
        _checkCount(s.nIn, inputTxs.length);
        _checkCount(s.nIn, inputProofs.length);
        _checkCount(s.nIn, signatures.length);
        s.txHash = keccak256(txBytes);
        s.record = _txRecords[s.txHash];
        if (s.record & ACTIVE != 0) revert IRootChain.InFlightExitAlreadyStarted(s.txHash);
        IRootChain.InFlightInput[] memory inputs = _proveInputs(s, txBytes, inputTxs, inputProofs, signatures);
        s.tokens = _outputTokens(txBytes, s.nIn, s.nOut);
        for (uint256 i; i < s.nIn; ++i) {
            s.tokens[i] = inputs[i].token;
        }
        s.firsts = _firstSlots(s.tokens, s.nIn, s.nOut);
        _checkAmounts(s, txBytes, inputs);
        _record(s, txBytes, inputs, piggybacks);
        emit IRootChain.InFlightExitStarted(
            s.txHash, msg.sender, txBytes, inputs, _concat(signatures), s.exitableAt
        );
        for (uint256 k; k < SLOTS; ++k) {
            if (piggybacks & (BIT << k) == 0) continue;
            if (k < MAX_INPUTS) emit IRootChain.InFlightExitInputPiggybacked(s.txHash, msg.sender, k);
            else emit IRootChain.InFlightExitOutputPiggybacked(s.txHash, msg.sender, k - MAX_INPUTS);
        }
    }

    /// @dev Check the start's piggybacks and bonds, write the exit's record and data hash, and queue one entry in
    ///      the queue of each token of its inputs and outputs.
    function _record(
        Start memory s,
        bytes calldata txBytes,
        IRootChain.InFlightInput[] memory inputs,
        uint256 piggybacks
    ) private {
        uint256 count;
        (s.record, count) = _startPiggybacks(s.record, s.txHash, txBytes, inputs, s.nOut, piggybacks);
        uint256 bonds = IN_FLIGHT_EXIT_BOND + count * PIGGYBACK_BOND;
        if (msg.value != bonds) revert IRootChain.InvalidBond(bonds, msg.value);
        s.exitableAt = _exitableAt(s.bound);
        _txRecords[s.txHash] = s.record | ACTIVE | (s.exitableAt << EXITABLE_SHIFT);
        _inFlightData[s.txHash] = keccak256(abi.encode(inputs, msg.sender));
        uint256 entry = (s.exitableAt << ENTRY_TIME_SHIFT) | (s.youngest << 1) | IN_FLIGHT_ENTRY;
        for (uint256 k; k < SLOTS; ++k) {
            if (s.firsts & (BIT << k) != 0) _queues[s.tokens[k]].insert(entry);
        }
    }

    /// @dev `IRootChain.respondToNonCanonicalChallenge`.
    function _respondToNonCanonicalChallenge(
        IRootChain.InFlightExit calldata ife,
        uint256 txPosition,
        bytes calldata inclusionProof
    ) internal {
        (bytes32 txHash, uint256 record) = _load(ife);
        _requireNotProcessing(txHash, record);
        if (record & NON_CANONICAL == 0) revert IRootChain.InFlightExitNotChallenged(txHash);
        _checkTxInclusion(txPosition, ife.txBytes, inclusionProof);
        uint256 recorded = (record >> COMPETITOR_SHIFT) & POSITION_MASK;
        if (txPosition >= recorded) revert IRootChain.ResponseNotOlder(txPosition, recorded);
        _txRecords[txHash] = _withCompetitor(record, txPosition) & ~NON_CANONICAL;
        _inFlightData[txHash] = keccak256(abi.encode(ife.inputs, msg.sender));
        emit IRootChain.InFlightExitChallengeResponded(txHash, msg.sender, txPosition);
    }

    /// @dev Prove every input (creating transaction included at its position, signed by its owner, distinct) and
    ///      return them; `s` gets the largest exit bound among them and the youngest (largest) input position.
    function _proveInputs(
        Start memory s,
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures
    ) private view returns (IRootChain.InFlightInput[] memory inputs) {
        bytes32 digest = _hashTypedDataV4(PaymentTx.structHash(txBytes, s.nIn, s.nOut));
        inputs = new IRootChain.InFlightInput[](s.nIn);
        for (uint256 i; i < s.nIn; ++i) {
            uint256 pos = PaymentTx.input(txBytes, i);
            for (uint256 k; k < i; ++k) {
                if (PaymentTx.input(txBytes, k) == pos) revert IRootChain.DuplicateInput(k, i);
            }
            uint256 bound;
            (inputs[i], bound) = _proveInput(pos, inputTxs[i], inputProofs[i]);
            if (inputs[i].txHash == s.txHash) revert IRootChain.InFlightTxSpendsItself(i);
            _checkSignature(digest, signatures[i], inputs[i].owner);
            if (bound > s.bound) s.bound = bound;
            if (pos > s.youngest) s.youngest = pos;
        }
    }

    /// @dev The output at `pos` as proved by its creating transaction `inputTx` and `proof`, and its exit bound.
    function _proveInput(uint256 pos, bytes calldata inputTx, bytes calldata proof)
        private
        view
        returns (IRootChain.InFlightInput memory input, uint256 bound)
    {
        uint256 blknum = pos / UtxoPos.BLOCK_OFFSET;
        uint256 record = _blockRecord(blknum);
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(inputTx);
        uint256 outputIndex = pos % UtxoPos.TX_OFFSET;
        if (outputIndex >= nOut) revert IRootChain.OutputIndexOutOfRange(outputIndex, nOut);
        (input.owner, input.token, input.amount) = PaymentTx.output(inputTx, nIn, outputIndex);
        _checkInclusion(pos, record, inputTx, proof);
        input.txHash = keccak256(inputTx);
        bound = _exitBound(record, blknum);
    }

    /// @dev Per token, the outputs must not exceed the inputs (an overflowing output sum is refused; an overflowing
    ///      input sum covers anything).
    function _checkAmounts(Start memory s, bytes calldata txBytes, IRootChain.InFlightInput[] memory inputs)
        private
        pure
    {
        for (uint256 k; k < SLOTS; ++k) {
            if ((s.firsts >> k) & 1 == 0) continue;
            address token = s.tokens[k];
            uint256 outputs;
            for (uint256 j; j < s.nOut; ++j) {
                if (s.tokens[MAX_INPUTS + j] != token) continue;
                (,, uint256 amount) = PaymentTx.output(txBytes, s.nIn, j);
                unchecked {
                    outputs += amount;
                }
                if (outputs < amount) revert IRootChain.OutputsExceedInputs(token);
            }
            if (outputs == 0) continue;
            uint256 sum;
            for (uint256 i; i < s.nIn; ++i) {
                if (s.tokens[i] != token) continue;
                unchecked {
                    uint256 next = sum + inputs[i].amount;
                    sum = next < sum ? type(uint256).max : next;
                }
            }
            if (outputs > sum) revert IRootChain.OutputsExceedInputs(token);
        }
    }

    /// @dev Check and count the caller's piggybacks at start (bit i input i, bit 4 + j output j).
    function _startPiggybacks(
        uint256 record,
        bytes32 txHash,
        bytes calldata txBytes,
        IRootChain.InFlightInput[] memory inputs,
        uint256 nOut,
        uint256 piggybacks
    ) private view returns (uint256, uint256 count) {
        uint256 nIn = inputs.length;
        for (uint256 k; piggybacks >> k != 0; ++k) {
            if ((piggybacks >> k) & 1 == 0) continue;
            address owner;
            uint256 amount;
            if (k < MAX_INPUTS) {
                if (k >= nIn) revert IRootChain.PiggybackIndexInvalid(k);
                (owner, amount) = (inputs[k].owner, inputs[k].amount);
            } else {
                if (k - MAX_INPUTS >= nOut) revert IRootChain.PiggybackIndexInvalid(k);
                (owner,, amount) = PaymentTx.output(txBytes, nIn, k - MAX_INPUTS);
            }
            record = _addPiggyback(record, txHash, k, owner, amount);
            ++count;
        }
        return (record, count);
    }

    /// @dev The signatures (65 bytes each: `_proveInputs` checked them) concatenated, for the start event.
    function _concat(bytes[] calldata signatures) private pure returns (bytes memory all) {
        all = new bytes(65 * signatures.length);
        for (uint256 i; i < signatures.length; ++i) {
            bytes calldata signature = signatures[i];
            assembly ("memory-safe") {
                calldatacopy(add(add(all, 32), mul(65, i)), signature.offset, 65)
            }
        }
    }

    function _checkCount(uint256 nIn, uint256 given) private pure {
        if (given != nIn) revert IRootChain.InputCountMismatch(nIn, given);
    }
}
