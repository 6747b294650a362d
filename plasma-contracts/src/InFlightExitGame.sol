// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {InFlightExitCore} from "./InFlightExitCore.sol";
import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title InFlightExitGame
/// @notice The MoreVP in-flight exit game of the root chain: start (with optional piggybacks), piggybacks on inputs
///         and outputs, non-canonical challenge and response, input- and output-spent challenges, deletion, and
///         processing in the per-token queues beside standard exits. docs/CONTRACTS.md has the rules and the
///         priority argument.
/// @dev `RootChain` runs the start and the response itself (`InFlightExitEntry`), deploys this contract in its
///      constructor and forwards the other in-flight entry points to it by delegatecall, so it runs in `RootChain`'s storage, balance and address (its EIP-712 domain is `RootChain`'s:
///      OpenZeppelin's EIP712 rebuilds the separator for `address(this)`). Called directly, it refuses.
///      Storage and data of an exit: see `InFlightExitCore`.
contract InFlightExitGame is InFlightExitCore {
    using ExitHeap for ExitHeap.Heap;

    /// @dev What processing does with a piggyback (two bits per slot in `Processing.plan`).
    uint256 private constant PAY = 1;
    uint256 private constant ALREADY_EXITED = 2;
    uint256 private constant NOT_PAID = 3;

    /// @dev The root chain that deployed this contract and delegates to it.
    address private immutable ROOT_CHAIN;

    /// @dev Only by delegatecall from the root chain: called directly, this contract has no state worth changing.
    modifier onlyRootChain() {
        if (address(this) != ROOT_CHAIN) revert IRootChain.NotRootChain(address(this));
        _;
    }

    /// @dev The same deploy-time parameters as the root chain (immutables live in the code that runs).
    constructor(
        address operator_,
        uint256 minExitPeriod_,
        uint256 exitBond_,
        uint256 minDeposit_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_
    ) InFlightExitCore(operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_) {
        ROOT_CHAIN = msg.sender;
    }

    /// @dev The state of one `processInFlightExit` call.
    struct Processing {
        bytes32 txHash;
        uint256 record;
        uint256 nIn;
        uint256 nOut;
        address token;
        uint256 plan;
        uint256 closedExits;
        bool payBond;
    }

    /// @notice `IRootChain.piggybackInFlightExitOnInput`, run by delegatecall from the root chain.
    function piggybackInFlightExitOnInput(IRootChain.InFlightExit calldata ife, uint256 inputIndex)
        external
        payable
        onlyRootChain
    {
        (bytes32 txHash, uint256 record) = _load(ife);
        _requireFirstHalf(txHash, record);
        if (msg.value != PIGGYBACK_BOND) revert IRootChain.InvalidBond(PIGGYBACK_BOND, msg.value);
        if (inputIndex >= ife.inputs.length) {
            revert IRootChain.InputIndexOutOfRange(inputIndex, ife.inputs.length);
        }
        IRootChain.InFlightInput calldata input = ife.inputs[inputIndex];
        _txRecords[txHash] = _addPiggyback(record, txHash, inputIndex, input.owner, input.amount);
        emit IRootChain.InFlightExitInputPiggybacked(txHash, msg.sender, inputIndex);
    }

    /// @notice `IRootChain.piggybackInFlightExitOnOutput`, run by delegatecall from the root chain.
    function piggybackInFlightExitOnOutput(bytes calldata txBytes, uint256 outputIndex)
        external
        payable
        onlyRootChain
    {
        (bytes32 txHash, uint256 record) = _loadTx(txBytes);
        _requireFirstHalf(txHash, record);
        if (msg.value != PIGGYBACK_BOND) revert IRootChain.InvalidBond(PIGGYBACK_BOND, msg.value);
        (uint256 nIn, uint256 nOut) = PaymentTx.counts(txBytes);
        if (outputIndex >= nOut) revert IRootChain.OutputIndexOutOfRange(outputIndex, nOut);
        (address owner,, uint256 amount) = PaymentTx.output(txBytes, nIn, outputIndex);
        _txRecords[txHash] = _addPiggyback(record, txHash, MAX_INPUTS + outputIndex, owner, amount);
        emit IRootChain.InFlightExitOutputPiggybacked(txHash, msg.sender, outputIndex);
    }

    /// @notice `IRootChain.challengeInFlightExitNotCanonical`, run by delegatecall from the root chain.
    function challengeInFlightExitNotCanonical(
        IRootChain.InFlightExit calldata ife,
        uint256 inputIndex,
        IRootChain.Spend calldata competitor,
        uint256 competitorPosition,
        bytes calldata competitorProof
    ) external onlyRootChain {
        (bytes32 txHash, uint256 record) = _load(ife);
        _requireFirstHalf(txHash, record);
        if (inputIndex >= ife.inputs.length) {
            revert IRootChain.InputIndexOutOfRange(inputIndex, ife.inputs.length);
        }
        bytes32 competitorHash = _checkOtherSpend(
            txHash, PaymentTx.input(ife.txBytes, inputIndex), competitor, ife.inputs[inputIndex].owner
        );
        uint256 position = UNINCLUDED;
        if (competitorPosition != 0) {
            _checkTxInclusion(competitorPosition, competitor.txBytes, competitorProof);
            position = competitorPosition;
        }
        uint256 recorded = (record >> COMPETITOR_SHIFT) & POSITION_MASK;
        if (recorded != 0 && position >= recorded) revert IRootChain.CompetitorNotOlder(position, recorded);
        _txRecords[txHash] = _withCompetitor(record, position) | NON_CANONICAL;
        _inFlightData[txHash] = keccak256(abi.encode(ife.inputs, msg.sender));
        emit IRootChain.InFlightExitChallenged(
            txHash, msg.sender, inputIndex, competitorHash, competitorPosition
        );
    }

    /// @notice `IRootChain.challengeInFlightExitInputSpent`, run by delegatecall from the root chain.
    function challengeInFlightExitInputSpent(
        IRootChain.InFlightExit calldata ife,
        uint256 inputIndex,
        IRootChain.Spend calldata spend
    ) external onlyRootChain nonReentrant {
        (bytes32 txHash, uint256 record) = _load(ife);
        if (inputIndex >= MAX_INPUTS) revert IRootChain.PiggybackNotActive(txHash, inputIndex);
        uint256 bit = _activePiggyback(txHash, record, inputIndex);
        _checkOtherSpend(
            txHash, PaymentTx.input(ife.txBytes, inputIndex), spend, ife.inputs[inputIndex].owner
        );
        _txRecords[txHash] = record & ~bit;
        emit IRootChain.InFlightExitInputBlocked(txHash, msg.sender, inputIndex);
        _payEth(msg.sender, PIGGYBACK_BOND);
    }

    /// @notice `IRootChain.challengeInFlightExitOutputSpent`, run by delegatecall from the root chain.
    function challengeInFlightExitOutputSpent(
        bytes calldata txBytes,
        uint256 txPosition,
        bytes calldata inclusionProof,
        uint256 outputIndex,
        IRootChain.Spend calldata spend
    ) external onlyRootChain nonReentrant {
        (bytes32 txHash, uint256 record) = _loadTx(txBytes);
        if (outputIndex >= MAX_INPUTS) revert IRootChain.PiggybackNotActive(txHash, outputIndex);
        uint256 bit = _activePiggyback(txHash, record, MAX_INPUTS + outputIndex);
        _checkTxInclusion(txPosition, txBytes, inclusionProof);
        (uint256 nIn,) = PaymentTx.counts(txBytes);
        (address owner,,) = PaymentTx.output(txBytes, nIn, outputIndex);
        _checkOtherSpend(txHash, txPosition + outputIndex, spend, owner);
        _txRecords[txHash] = record & ~bit;
        emit IRootChain.InFlightExitOutputBlocked(txHash, msg.sender, outputIndex);
        _payEth(msg.sender, PIGGYBACK_BOND);
    }

    /// @notice `IRootChain.deleteInFlightExit`, run by delegatecall from the root chain.
    function deleteInFlightExit(IRootChain.InFlightExit calldata ife) external onlyRootChain nonReentrant {
        (bytes32 txHash, uint256 record) = _load(ife);
        uint256 end = _firstHalfEnd(record);
        // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
        if (block.timestamp < end) revert IRootChain.FirstHalfNotOver(txHash, end);
        if (record & PIGGYBACKS != 0) revert IRootChain.InFlightExitHasPiggybacks(txHash);
        _requireNotProcessing(txHash, record);
        _txRecords[txHash] = record | BOND_PAID;
        emit IRootChain.InFlightExitDeleted(txHash, ife.bondOwner);
        _payEth(ife.bondOwner, IN_FLIGHT_EXIT_BOND);
    }

    /// @notice `IRootChain.processInFlightExit`, run by delegatecall from the root chain.
    function processInFlightExit(address token, IRootChain.InFlightExit calldata ife)
        external
        onlyRootChain
        nonReentrant
    {
        Processing memory p;
        (p.txHash, p.record) = _load(ife);
        (p.nIn, p.nOut) = PaymentTx.counts(ife.txBytes);
        p.token = token;
        address[SLOTS] memory tokens = _outputTokens(ife.txBytes, p.nIn, p.nOut);
        for (uint256 i; i < p.nIn; ++i) {
            tokens[i] = ife.inputs[i].token;
        }
        uint256 firsts = _firstSlots(tokens, p.nIn, p.nOut);
        uint256 slot = _slotOf(tokens, firsts, token);
        if (slot == SLOTS || p.record & (DONE << slot) != 0) {
            revert IRootChain.NotInFlightExitToken(p.txHash, token);
        }
        _popEntry(p, ife.txBytes);

        if (p.record & PROCESSING == 0) _decide(p, ife);
        _resolve(p, ife, tokens);
        p.record |= DONE << slot;
        bool finished = (p.record >> DONE_SHIFT) & firsts == firsts;
        if (finished) {
            _txRecords[p.txHash] = p.record & OUTPUT_RECORD_MASK;
            delete _inFlightData[p.txHash];
        } else {
            _txRecords[p.txHash] = p.record;
        }
        emit IRootChain.InFlightExitProcessed(p.txHash, token, p.record & PAYS_OUTPUTS != 0, finished);
        _settle(p, ife);
    }

    /// @dev Pop the exit's entry, which must be at the top of the queue of `p.token` and exitable.
    function _popEntry(Processing memory p, bytes calldata txBytes) private {
        uint256 exitableAt = (p.record >> EXITABLE_SHIFT) & EXITABLE_MASK;
        uint256 youngest;
        for (uint256 i; i < p.nIn; ++i) {
            uint256 pos = PaymentTx.input(txBytes, i);
            if (pos > youngest) youngest = pos;
        }
        ExitHeap.Heap storage queue = _queues[p.token];
        // Competing exits started at once may share an entry's value: each has its own entry, and each exit's entry
        // is processed once (its done bit), so identical entries are interchangeable.
        uint256 entry = (exitableAt << ENTRY_TIME_SHIFT) | (youngest << 1) | IN_FLIGHT_ENTRY;
        // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
        bool early = exitableAt > block.timestamp;
        if (queue.top() != entry || early) revert IRootChain.InFlightExitNotNext(p.txHash, p.token);
        queue.pop();
    }

    /// @dev The first processed entry fixes canonicity for every token (a later response could otherwise pay one
    ///      input twice, PR #591 of OMG's contracts): canonical iff no competitor stands and no input exited
    ///      elsewhere. A canonical exit that pays outputs marks all its inputs exited (OMG #102/#104), closing any
    ///      standard exit of them (the exit proves a signed spend; their bonds go to the caller).
    function _decide(Processing memory p, IRootChain.InFlightExit calldata ife) private {
        bool canonical = p.record & NON_CANONICAL == 0;
        for (uint256 i; canonical && i < p.nIn; ++i) {
            if (_inputExited(ife, i)) canonical = false;
        }
        p.payBond = p.record & BOND_PAID == 0;
        p.record |= PROCESSING | BOND_PAID;
        if (!canonical) return;
        p.record |= PAYS_OUTPUTS;
        if (p.record & OUTPUT_PIGGYBACKS == 0) return;
        for (uint256 i; i < p.nIn; ++i) {
            p.closedExits += _consumeInput(ife, i);
        }
    }

    /// @dev Decide, and record before any transfer, what happens to each piggyback of `p.token`.
    function _resolve(Processing memory p, IRootChain.InFlightExit calldata ife, address[SLOTS] memory tokens)
        private
    {
        bool paysOutputs = p.record & PAYS_OUTPUTS != 0;
        for (uint256 k; k < SLOTS; ++k) {
            uint256 bit = PIGGYBACK << k;
            if (p.record & bit == 0 || tokens[k] != p.token) continue;
            p.record &= ~bit;
            uint256 action;
            if (k < MAX_INPUTS) {
                if (paysOutputs) {
                    action = NOT_PAID;
                } else if (_inputExited(ife, k)) {
                    action = ALREADY_EXITED;
                } else {
                    action = PAY;
                    p.closedExits += _consumeInput(ife, k);
                }
            } else {
                uint256 j = k - MAX_INPUTS;
                if (!paysOutputs) {
                    action = NOT_PAID;
                } else if (p.record & ((SE_STARTED | EXITED) << j) != 0) {
                    action = ALREADY_EXITED; // a standard exit (at some position) owns it, or it exited in flight
                } else {
                    action = PAY;
                    p.record |= EXITED << j;
                }
            }
            p.plan |= action << (2 * k);
        }
    }

    /// @dev The transfers, after every state write: the resolved piggybacks (amount and bond), the exit bond to its
    ///      owner at the first processed entry, and the bonds of closed standard exits to the caller.
    function _settle(Processing memory p, IRootChain.InFlightExit calldata ife) private {
        for (uint256 k; k < SLOTS; ++k) {
            uint256 action = (p.plan >> (2 * k)) & 3;
            if (action == 0) continue;
            address owner;
            uint256 amount;
            if (k < MAX_INPUTS) {
                (owner, amount) = (ife.inputs[k].owner, ife.inputs[k].amount);
            } else {
                (owner,, amount) = PaymentTx.output(ife.txBytes, p.nIn, k - MAX_INPUTS);
            }
            IRootChain.PiggybackOutcome outcome;
            if (action == PAY) {
                outcome = _payWithBond(owner, p.token, amount, PIGGYBACK_BOND);
            } else {
                outcome = action == ALREADY_EXITED
                    ? IRootChain.PiggybackOutcome.AlreadyExited
                    : IRootChain.PiggybackOutcome.NotPaid;
                _payEth(owner, PIGGYBACK_BOND);
            }
            if (k < MAX_INPUTS) {
                emit IRootChain.InFlightExitInputWithdrawn(p.txHash, k, owner, p.token, amount, outcome);
            } else {
                emit IRootChain.InFlightExitOutputWithdrawn(
                    p.txHash, k - MAX_INPUTS, owner, p.token, amount, outcome
                );
            }
        }
        if (p.payBond) _payEth(ife.bondOwner, IN_FLIGHT_EXIT_BOND);
        if (p.closedExits != 0) _payEth(msg.sender, p.closedExits * EXIT_BOND);
    }

    /// @dev Whether input `i` was already exited by another exit: paid or spent in flight (its exited bit), paid by
    ///      its standard exit (closed, not challenged), or standard-exited at another position of the same output.
    ///      An active standard exit does not count (processing closes it); a challenged one left the output free.
    function _inputExited(IRootChain.InFlightExit calldata ife, uint256 i) private view returns (bool) {
        uint256 pos = PaymentTx.input(ife.txBytes, i);
        uint256 j = pos % UtxoPos.TX_OFFSET;
        uint256 outputRecord = _txRecords[ife.inputs[i].txHash];
        if (outputRecord & (EXITED << j) != 0) return true;
        uint256 packed = _exits[pos];
        if (packed != 0) return packed & CHALLENGED == 0 && _amountField(packed) == 0;
        return outputRecord & (SE_STARTED << j) != 0;
    }

    /// @dev Mark input `i` exited and close its active standard exit, if any; returns the number closed (0 or 1).
    function _consumeInput(IRootChain.InFlightExit calldata ife, uint256 i) private returns (uint256 closed) {
        uint256 pos = PaymentTx.input(ife.txBytes, i);
        _txRecords[ife.inputs[i].txHash] |= EXITED << (pos % UtxoPos.TX_OFFSET);
        uint256 packed = _exits[pos];
        if (_amountField(packed) != 0) {
            _closeChallenged(pos, packed, msg.sender);
            closed = 1;
        }
    }

    /// @dev The piggyback bit of index `k < 8` (bit i input i, 4 + j output j), which must be set.
    function _activePiggyback(bytes32 txHash, uint256 record, uint256 k) private pure returns (uint256 bit) {
        bit = PIGGYBACK << k;
        if (record & bit == 0) revert IRootChain.PiggybackNotActive(txHash, k);
    }

    /// @dev The first slot of `token`, or `SLOTS` if it is none of the exit's tokens.
    function _slotOf(address[SLOTS] memory tokens, uint256 firsts, address token)
        private
        pure
        returns (uint256 k)
    {
        for (; k < SLOTS; ++k) {
            if (firsts & (BIT << k) != 0 && tokens[k] == token) return k;
        }
    }
}
