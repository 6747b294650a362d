// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ExitGameBase} from "./ExitGameBase.sol";
import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title InFlightExitGame
/// @notice The MoreVP in-flight exit game of the root chain: start (with optional piggybacks), piggybacks on inputs
///         and outputs, non-canonical challenge and response, input- and output-spent challenges, deletion, and
///         processing in the per-token queues beside standard exits. docs/CONTRACTS.md has the rules and the
///         priority argument.
/// @dev `RootChain` deploys this contract in its constructor and forwards the in-flight entry points to it by
///      delegatecall, so it runs in `RootChain`'s storage, balance and address (its EIP-712 domain is `RootChain`'s:
///      OpenZeppelin's EIP712 rebuilds the separator for `address(this)`). Called directly, it refuses.
///      Each exit keeps two slots: the record of its transaction (`_txRecords[txHash]`, shared with the outputs'
///      exit bits; layout in `ExitGameBase`) and the hash of its data (`_inFlightData[txHash] =
///      keccak256(abi.encode(inputs, bondOwner))`); every call takes the data back in calldata.
contract InFlightExitGame is ExitGameBase {
    using ExitHeap for ExitHeap.Heap;

    uint256 private constant ACTIVE = IFE_ACTIVE;
    uint256 private constant PIGGYBACKS = 0xff << 9;
    uint256 private constant OUTPUT_PIGGYBACKS = 0xf0 << 9;
    uint256 private constant DONE_SHIFT = 17;
    uint256 private constant PIGGYBACK = 1 << 9;
    uint256 private constant DONE = 1 << 17;
    /// @dev Bit `k` of a bitmap is `BIT << k`.
    uint256 private constant BIT = 1;
    uint256 private constant PAYS_OUTPUTS = 1 << 27;
    uint256 private constant BOND_PAID = 1 << 28;
    uint256 private constant UNINCLUDED = type(uint64).max;
    uint256 private constant MAX_INPUTS = 4;
    uint256 private constant SLOTS = 8;

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
    ) ExitGameBase(operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_) {
        ROOT_CHAIN = msg.sender;
    }

    /// @dev The state of one `startInFlightExit` call (a struct: too many values for the stack).
    struct Start {
        bytes32 txHash;
        uint256 record;
        uint256 nIn;
        uint256 nOut;
        uint256 bound;
        uint256 youngest;
        uint256 exitableAt;
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

    // ---------------------------------------------------------------------------------------------
    // Start and piggybacks
    // ---------------------------------------------------------------------------------------------

    /// @notice `IRootChain.startInFlightExit`, run by delegatecall from the root chain.
    function startInFlightExit(
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures,
        uint256 piggybacks
    ) external payable onlyRootChain {
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
        _checkAmounts(txBytes, inputs, s.nOut);
        _record(s, txBytes, inputs, piggybacks);
        emit IRootChain.InFlightExitStarted(s.txHash, msg.sender, txBytes, inputs, signatures, s.exitableAt);
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
        address[SLOTS] memory tokens = _outputTokens(txBytes, s.nIn, s.nOut);
        for (uint256 i; i < s.nIn; ++i) {
            tokens[i] = inputs[i].token;
        }
        uint256 firsts = _firstSlots(tokens, s.nIn, s.nOut);
        uint256 entry = (s.exitableAt << ENTRY_TIME_SHIFT) | (s.youngest << 1) | IN_FLIGHT_ENTRY;
        for (uint256 k; k < SLOTS; ++k) {
            if (firsts & (BIT << k) != 0) _queues[tokens[k]].insert(entry);
        }
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

    // ---------------------------------------------------------------------------------------------
    // Canonicity: challenge and response
    // ---------------------------------------------------------------------------------------------

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

    /// @notice `IRootChain.respondToNonCanonicalChallenge`, run by delegatecall from the root chain.
    function respondToNonCanonicalChallenge(
        IRootChain.InFlightExit calldata ife,
        uint256 txPosition,
        bytes calldata inclusionProof
    ) external onlyRootChain {
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

    // ---------------------------------------------------------------------------------------------
    // Piggyback challenges and deletion
    // ---------------------------------------------------------------------------------------------

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

    // ---------------------------------------------------------------------------------------------
    // Processing
    // ---------------------------------------------------------------------------------------------

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

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

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
    function _checkAmounts(bytes calldata txBytes, IRootChain.InFlightInput[] memory inputs, uint256 nOut)
        private
        pure
    {
        uint256 nIn = inputs.length;
        for (uint256 k; k < nOut; ++k) {
            (, address token,) = PaymentTx.output(txBytes, nIn, k);
            uint256 outputs;
            for (uint256 m; m < nOut; ++m) {
                (, address t, uint256 amount) = PaymentTx.output(txBytes, nIn, m);
                if (t != token) continue;
                if (m < k) break; // this token was summed at its first output
                unchecked {
                    outputs += amount;
                }
                if (outputs < amount) revert IRootChain.OutputsExceedInputs(token);
            }
            uint256 sum;
            for (uint256 i; i < nIn; ++i) {
                if (inputs[i].token != token) continue;
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

    /// @dev `record` with piggyback `k` added, after checking it (caller is the owner, non-zero amount, not yet
    ///      piggybacked, and for an output: no standard exit and not exited).
    function _addPiggyback(uint256 record, bytes32 txHash, uint256 k, address owner, uint256 amount)
        private
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

    /// @dev The piggyback bit of index `k < 8` (bit i input i, 4 + j output j), which must be set.
    function _activePiggyback(bytes32 txHash, uint256 record, uint256 k) private pure returns (uint256 bit) {
        bit = PIGGYBACK << k;
        if (record & bit == 0) revert IRootChain.PiggybackNotActive(txHash, k);
    }

    /// @dev Revert unless `spend` spends `utxoPos`, is signed by `owner` and is not the in-flight transaction.
    function _checkOtherSpend(bytes32 txHash, uint256 utxoPos, IRootChain.Spend calldata spend, address owner)
        private
        view
        returns (bytes32 spendHash)
    {
        spendHash = keccak256(spend.txBytes);
        if (spendHash == txHash) revert IRootChain.SpendIsInFlightTx(txHash);
        _checkSpend(utxoPos, spend.txBytes, spend.inputIndex, spend.signature, owner);
    }

    /// @dev The record of the active exit of `ife.txBytes`, after checking `ife`'s data against its hash.
    function _load(IRootChain.InFlightExit calldata ife)
        private
        view
        returns (bytes32 txHash, uint256 record)
    {
        (txHash, record) = _loadTx(ife.txBytes);
        if (_inFlightData[txHash] != keccak256(abi.encode(ife.inputs, ife.bondOwner))) {
            revert IRootChain.InFlightExitDataMismatch(txHash);
        }
    }

    /// @dev The record of the active exit of `txBytes` (whose hash matching it means they are the validated bytes).
    function _loadTx(bytes calldata txBytes) private view returns (bytes32 txHash, uint256 record) {
        txHash = keccak256(txBytes);
        record = _txRecords[txHash];
        if (record & ACTIVE == 0) revert IRootChain.InFlightExitNotFound(txHash);
    }

    function _requireFirstHalf(bytes32 txHash, uint256 record) private view {
        uint256 end = _firstHalfEnd(record);
        // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
        if (block.timestamp >= end) revert IRootChain.FirstHalfOver(txHash, end);
    }

    function _requireNotProcessing(bytes32 txHash, uint256 record) private pure {
        if (record & PROCESSING != 0) revert IRootChain.InFlightExitAlreadyProcessing(txHash);
        if (record & BOND_PAID != 0) revert IRootChain.InFlightExitDeletedAlready(txHash);
    }

    /// @dev The first half (piggybacks, non-canonical challenges) ends half a period before `exitableAt`, which is
    ///      at least a period after the start: every counter-move keeps half a period.
    function _firstHalfEnd(uint256 record) private view returns (uint256) {
        return ((record >> EXITABLE_SHIFT) & EXITABLE_MASK) - MIN_EXIT_PERIOD / 2;
    }

    function _withCompetitor(uint256 record, uint256 position) private pure returns (uint256) {
        return (record & ~(POSITION_MASK << COMPETITOR_SHIFT)) | (position << COMPETITOR_SHIFT);
    }

    function _checkCount(uint256 nIn, uint256 given) private pure {
        if (given != nIn) revert IRootChain.InputCountMismatch(nIn, given);
    }

    /// @dev The tokens of the outputs at slots 4 + j (input slots are filled by the caller).
    function _outputTokens(bytes calldata txBytes, uint256 nIn, uint256 nOut)
        private
        pure
        returns (address[SLOTS] memory tokens)
    {
        for (uint256 j; j < nOut; ++j) {
            (, tokens[MAX_INPUTS + j],) = PaymentTx.output(txBytes, nIn, j);
        }
    }

    /// @dev Bitmap of the slots whose token is not in an earlier slot: one queue entry each.
    function _firstSlots(address[SLOTS] memory tokens, uint256 nIn, uint256 nOut)
        private
        pure
        returns (uint256 firsts)
    {
        uint256 present = ((BIT << nIn) - 1) | (((BIT << nOut) - 1) << MAX_INPUTS);
        for (uint256 k; k < SLOTS; ++k) {
            if (present & (BIT << k) == 0) continue;
            bool seen;
            for (uint256 m; m < k; ++m) {
                if (firsts & (BIT << m) != 0 && tokens[m] == tokens[k]) seen = true;
            }
            if (!seen) firsts |= BIT << k;
        }
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
