// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {InFlightExitEntry} from "./InFlightExitEntry.sol";
import {InFlightExitGame} from "./InFlightExitGame.sol";
import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {Merkle} from "./libraries/Merkle.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title RootChain
/// @notice Plasma (MVP / MoreVP) root chain: block commitments, ETH/ERC20 deposits, the standard exit game and the
///         in-flight exit game, with one queue per token for both kinds of exit.
/// @dev Storage is kept to one slot per block, one slot per standard exit plus the record of its transaction, and
///      two slots per in-flight exit (see `ExitGameBase` and docs/CONTRACTS.md). The in-flight start and response run
///      here (`InFlightExitEntry`); the other in-flight entry points run in the `InFlightExitGame` contract that the
///      constructor deploys, by delegatecall: in this contract's storage, with its balance and address, so this is
///      the one address users, the operator and watchers talk to (one contract would exceed the code size limit).
contract RootChain is IRootChain, InFlightExitEntry {
    using ExitHeap for ExitHeap.Heap;
    using SafeERC20 for IERC20;

    /// @param operator_ The only address allowed to submit blocks.
    /// @param minExitPeriod_ The minimum exit period (MEP) in seconds, in [1, 2^32).
    /// @param exitBond_ The exact bond in wei for `startStandardExit`; it should cover the cost of
    ///        processing (and challenging) an exit, so that exit-queue spam does not pay.
    /// @param minDeposit_ The smallest ETH deposit in wei: filling the 999 deposit slots between two operator blocks
    ///        then locks 999 times it (see docs/CONTRACTS.md).
    /// @param inFlightExitBond_ The exact bond in wei for `startInFlightExit`; it pays a non-canonical challenger
    ///        (or a responder) and the processing of the exit's entries.
    /// @param piggybackBond_ The exact bond in wei of each piggyback; it pays an input- or output-spent challenger
    ///        and the processing of the piggyback.
    constructor(
        address operator_,
        uint256 minExitPeriod_,
        uint256 exitBond_,
        uint256 minDeposit_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_
    )
        InFlightExitEntry(
            operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_
        )
    {
        _nextChildBlock = 1000;
        _nextDepositOffset = 1;
        IN_FLIGHT_EXIT_GAME = address(
            new InFlightExitGame(
                operator_, minExitPeriod_, exitBond_, minDeposit_, inFlightExitBond_, piggybackBond_
            )
        );
    }

    /// @dev The in-flight exit game's code, run by delegatecall (see the contract's notice).
    address private immutable IN_FLIGHT_EXIT_GAME;

    // ---------------------------------------------------------------------------------------------
    // Blocks and deposits
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IRootChain
    function submitBlock(bytes32 root) external {
        if (msg.sender != OPERATOR) revert NotOperator(msg.sender);
        uint256 timestamp = _timestamp();
        uint256 blknum = _nextChildBlock;
        if (blknum > UtxoPos.MAX_BLKNUM) revert BlockNumberOverflow(blknum);
        _blocks[blknum] = (uint256(root) & ROOT_MASK) | timestamp;
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) blknum <= MAX_BLKNUM < 2^35
            _nextChildBlock = uint128(blknum + CHILD_BLOCK_INTERVAL);
        }
        _nextDepositOffset = 1;
        emit BlockSubmitted(blknum, root, timestamp);
    }

    /// @inheritdoc IRootChain
    function deposit() external payable {
        if (msg.value == 0) revert ZeroDeposit();
        if (msg.value < MIN_DEPOSIT) revert DepositTooSmall(msg.value, MIN_DEPOSIT);
        _deposit(msg.sender, address(0), msg.value);
    }

    /// @inheritdoc IRootChain
    function depositToken(address token, uint256 amount) external nonReentrant {
        if (token == address(0) || token.code.length == 0) revert InvalidToken(token);
        if (amount == 0) revert ZeroDeposit();
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert DepositAmountMismatch(amount, received);
        _deposit(msg.sender, token, amount);
    }

    function _deposit(address owner, address token, uint256 amount) private {
        uint256 timestamp = _timestamp();
        uint256 nextChild = _nextChildBlock;
        uint256 offset = _nextDepositOffset;
        if (offset == CHILD_BLOCK_INTERVAL) revert TooManyDeposits(nextChild);
        uint256 blknum;
        unchecked {
            blknum = nextChild - CHILD_BLOCK_INTERVAL + offset;
            // forge-lint: disable-next-line(unsafe-typecast) offset < 1000
            _nextDepositOffset = uint128(offset + 1);
        }
        if (blknum > UtxoPos.MAX_BLKNUM) revert BlockNumberOverflow(blknum);
        bytes32 root = Merkle.singleLeafRoot(PaymentTx.depositLeafHash(owner, token, amount, blknum));
        _blocks[blknum] = (uint256(root) & ROOT_MASK) | timestamp;
        emit DepositCreated(owner, token, blknum, amount);
    }

    function _timestamp() private view returns (uint256 timestamp) {
        timestamp = block.timestamp;
        if (timestamp > type(uint32).max) revert TimestampOverflow(timestamp);
    }

    // ---------------------------------------------------------------------------------------------
    // Standard exit game
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IRootChain
    function startStandardExit(uint256 utxoPos, bytes calldata txBytes, bytes calldata inclusionProof)
        external
        payable
    {
        if (msg.value != EXIT_BOND) revert InvalidBond(EXIT_BOND, msg.value);
        (address owner, address token, uint256 amount, uint256 exitableAt) =
            _verifyOutput(utxoPos, txBytes, inclusionProof);

        uint256 packedAmount = amount;
        if (amount >= LARGE_AMOUNT) {
            packedAmount = LARGE_AMOUNT;
            _largeExitAmounts[utxoPos] = amount;
        }
        _exits[utxoPos] = (packedAmount << AMOUNT_SHIFT) | uint160(owner);
        _queues[token].insert((exitableAt << ENTRY_TIME_SHIFT) | (utxoPos << 1));
        emit ExitStarted(utxoPos, owner, token, amount, exitableAt);
    }

    /// @dev Check that the caller may exit the output at `utxoPos`, record it in its transaction's record (so that
    ///      no in-flight exit pays it, and no standard exit at another position of the same output exists), and
    ///      compute its `exitableAt`.
    function _verifyOutput(uint256 utxoPos, bytes calldata txBytes, bytes calldata inclusionProof)
        private
        returns (address owner, address token, uint256 amount, uint256 exitableAt)
    {
        if (!UtxoPos.isValid(utxoPos)) revert InvalidUtxoPos(utxoPos);
        if (_exits[utxoPos] != 0) revert ExitAlreadyStarted(utxoPos);
        uint256 blknum = utxoPos / UtxoPos.BLOCK_OFFSET;
        uint256 record = _blockRecord(blknum);
        (owner, token, amount) = _readOutput(utxoPos, txBytes);
        _checkInclusion(utxoPos, record, txBytes, inclusionProof);
        bytes32 txHash = keccak256(txBytes);
        uint256 outputIndex = utxoPos % UtxoPos.TX_OFFSET;
        uint256 txRecord = _txRecords[txHash];
        if (txRecord & ((SE_STARTED | EXITED) << outputIndex) != 0) {
            revert OutputAlreadyExited(txHash, outputIndex);
        }
        _txRecords[txHash] = txRecord | (SE_STARTED << outputIndex);
        exitableAt = _exitableAt(_exitBound(record, blknum));
    }

    /// @dev Decode `txBytes` canonically and return output `outputIndex(utxoPos)`, owned by the caller.
    function _readOutput(uint256 utxoPos, bytes calldata txBytes)
        private
        view
        returns (address owner, address token, uint256 amount)
    {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(txBytes);
        uint256 outputIndex = utxoPos % UtxoPos.TX_OFFSET;
        if (outputIndex >= nOut) revert OutputIndexOutOfRange(outputIndex, nOut);
        (owner, token, amount) = PaymentTx.output(txBytes, nIn, outputIndex);
        if (owner != msg.sender) revert NotOutputOwner(msg.sender, owner);
        if (amount == 0) revert ZeroAmountExit(utxoPos);
    }

    /// @inheritdoc IRootChain
    function challengeStandardExit(
        uint256 utxoPos,
        bytes calldata spendingTxBytes,
        uint256 inputIndex,
        bytes calldata signature
    ) external nonReentrant {
        uint256 packed = _exits[utxoPos];
        if (_amountField(packed) == 0) revert ExitNotActive(utxoPos);
        _checkSpend(utxoPos, spendingTxBytes, inputIndex, signature, _ownerOf(packed));
        _closeChallenged(utxoPos, packed, msg.sender);
        _payEth(msg.sender, EXIT_BOND);
    }

    /// @inheritdoc IRootChain
    function processExits(address token, uint256 maxExits) external nonReentrant returns (uint256 processed) {
        ExitHeap.Heap storage queue = _queues[token];
        while (processed < maxExits && queue.length() != 0) {
            uint256 entry = queue.top();
            // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
            if (entry >> ENTRY_TIME_SHIFT > block.timestamp || entry & IN_FLIGHT_ENTRY != 0) break;
            queue.pop();
            unchecked {
                ++processed;
            }
            _processOne(token, (entry >> 1) & POSITION_MASK);
        }
    }

    function _processOne(address token, uint256 utxoPos) private {
        uint256 packed = _exits[utxoPos];
        uint256 amount = _amountField(packed);
        if (amount == 0) return; // challenged, or closed by an in-flight exit: its bond went to the challenger
        address owner = _ownerOf(packed);
        _exits[utxoPos] = uint160(owner);
        if (amount == LARGE_AMOUNT) {
            amount = _largeExitAmounts[utxoPos];
            delete _largeExitAmounts[utxoPos];
        }
        PiggybackOutcome outcome = _payWithBond(owner, token, amount, EXIT_BOND);
        if (outcome == PiggybackOutcome.Unfunded) emit ExitUnfunded(utxoPos, owner, token, amount);
        else emit ExitFinalized(utxoPos, owner, token, amount, outcome == PiggybackOutcome.Paid);
    }

    // ---------------------------------------------------------------------------------------------
    // In-flight exits: the start and the response run here (`InFlightExitEntry`); the rest is forwarded to the game's
    // code, which runs here by delegatecall (checks, state and events in `InFlightExitGame`)
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IRootChain
    function startInFlightExit(
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures,
        uint256 piggybacks
    ) external payable {
        _startInFlightExit(txBytes, inputTxs, inputProofs, signatures, piggybacks);
    }

    /// @inheritdoc IRootChain
    function respondToNonCanonicalChallenge(
        InFlightExit calldata ife,
        uint256 txPosition,
        bytes calldata inclusionProof
    ) external {
        _respondToNonCanonicalChallenge(ife, txPosition, inclusionProof);
    }

    /// @inheritdoc IRootChain
    function piggybackInFlightExitOnInput(InFlightExit calldata, uint256) external payable {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function piggybackInFlightExitOnOutput(bytes calldata, uint256) external payable {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function challengeInFlightExitNotCanonical(
        InFlightExit calldata,
        uint256,
        Spend calldata,
        uint256,
        bytes calldata
    ) external {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function challengeInFlightExitInputSpent(InFlightExit calldata, uint256, Spend calldata) external {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function challengeInFlightExitOutputSpent(
        bytes calldata,
        uint256,
        bytes calldata,
        uint256,
        Spend calldata
    ) external {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function deleteInFlightExit(InFlightExit calldata) external {
        _inFlightExitGame();
    }

    /// @inheritdoc IRootChain
    function processInFlightExit(address, InFlightExit calldata) external {
        _inFlightExitGame();
    }

    /// @dev Run the current call in the in-flight exit game's code and return (or revert) with its result.
    function _inFlightExitGame() private {
        address game = IN_FLIGHT_EXIT_GAME;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), game, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Withdrawals
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IRootChain
    function withdraw(address token) external nonReentrant {
        _withdraw(token, msg.sender);
    }

    /// @inheritdoc IRootChain
    function withdrawTo(address token, address to) external nonReentrant {
        if (to == address(0)) revert InvalidRecipient(to);
        _withdraw(token, to);
    }

    function _withdraw(address token, address to) private {
        uint256 amount = _withdrawable[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(msg.sender, token);
        delete _withdrawable[msg.sender][token];
        ExitHeap.Heap storage queue = _queues[token];
        unchecked {
            queue.setExtra(queue.extra() - amount); // every credit is part of the reserve
        }
        emit Withdrawn(msg.sender, token, amount);
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IRootChain
    function operator() external view returns (address) {
        return OPERATOR;
    }

    /// @inheritdoc IRootChain
    function minExitPeriod() external view returns (uint256) {
        return MIN_EXIT_PERIOD;
    }

    /// @inheritdoc IRootChain
    function exitBond() external view returns (uint256) {
        return EXIT_BOND;
    }

    /// @inheritdoc IRootChain
    function minDeposit() external view returns (uint256) {
        return MIN_DEPOSIT;
    }

    /// @inheritdoc IRootChain
    function nextChildBlock() external view returns (uint256) {
        return _nextChildBlock;
    }

    /// @inheritdoc IRootChain
    function nextDepositBlock() external view returns (uint256) {
        uint256 offset = _nextDepositOffset;
        // While full, the next deposit block is the first one after the operator's next block.
        if (offset == CHILD_BLOCK_INTERVAL) offset = CHILD_BLOCK_INTERVAL + 1;
        return _nextChildBlock - CHILD_BLOCK_INTERVAL + offset;
    }

    /// @inheritdoc IRootChain
    function getBlock(uint256 blknum) external view returns (bytes32 rootPrefix, uint256 timestamp) {
        uint256 record = _blocks[blknum];
        return (bytes32(record & ROOT_MASK), record & TIME_MASK);
    }

    /// @inheritdoc IRootChain
    function isBlockRoot(uint256 blknum, bytes32 root) external view returns (bool) {
        uint256 record = _blocks[blknum];
        return record != 0 && (uint256(root) ^ record) >> 32 == 0;
    }

    /// @inheritdoc IRootChain
    function getExit(uint256 utxoPos)
        external
        view
        returns (ExitStatus status, address owner, uint256 amount)
    {
        uint256 packed = _exits[utxoPos];
        if (packed == 0) return (ExitStatus.None, address(0), 0);
        owner = _ownerOf(packed);
        amount = _amountField(packed);
        if (amount == 0) return (ExitStatus.Closed, owner, 0);
        if (amount == LARGE_AMOUNT) amount = _largeExitAmounts[utxoPos];
        status = ExitStatus.Active;
    }

    /// @inheritdoc IRootChain
    function exitQueueLength(address token) external view returns (uint256) {
        return _queues[token].length();
    }

    /// @inheritdoc IRootChain
    function nextExit(address token) external view returns (uint256 priority) {
        uint256 entry = _queues[token].top();
        return ((entry >> ENTRY_TIME_SHIFT) << 128) | ((entry >> 1) & POSITION_MASK);
    }

    /// @inheritdoc IRootChain
    function exitQueueTop(address token)
        external
        view
        returns (uint256 exitableAt, uint256 position, bool inFlight)
    {
        uint256 entry = _queues[token].top();
        return (entry >> ENTRY_TIME_SHIFT, (entry >> 1) & POSITION_MASK, entry & IN_FLIGHT_ENTRY != 0);
    }

    /// @inheritdoc IRootChain
    function inFlightExitBond() external view returns (uint256) {
        return IN_FLIGHT_EXIT_BOND;
    }

    /// @inheritdoc IRootChain
    function piggybackBond() external view returns (uint256) {
        return PIGGYBACK_BOND;
    }

    /// @inheritdoc IRootChain
    function getInFlightExit(bytes32 txHash)
        external
        view
        returns (
            uint256 exitableAt,
            uint256 piggybacks,
            bool canonical,
            uint256 competitorPosition,
            bool processing,
            bytes32 dataHash
        )
    {
        uint256 record = _txRecords[txHash];
        if (record & IFE_ACTIVE == 0) return (0, 0, false, 0, false, bytes32(0));
        exitableAt = (record >> EXITABLE_SHIFT) & EXITABLE_MASK;
        piggybacks = (record >> PIGGYBACK_SHIFT) & 0xff;
        canonical = record & NON_CANONICAL == 0;
        competitorPosition = (record >> COMPETITOR_SHIFT) & POSITION_MASK;
        processing = record & PROCESSING != 0;
        dataHash = _inFlightData[txHash];
    }

    /// @inheritdoc IRootChain
    function outputExits(bytes32 txHash, uint256 outputIndex)
        external
        view
        returns (bool standardExitStarted, bool exitedInFlight)
    {
        if (outputIndex >= 4) return (false, false);
        uint256 record = _txRecords[txHash];
        return (record & (SE_STARTED << outputIndex) != 0, record & (EXITED << outputIndex) != 0);
    }

    /// @inheritdoc IRootChain
    function withdrawable(address owner, address token) external view returns (uint256) {
        return _withdrawable[owner][token];
    }

    /// @inheritdoc IRootChain
    function txDigest(bytes calldata txBytes) external view returns (bytes32) {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(txBytes);
        return _hashTypedDataV4(PaymentTx.structHash(txBytes, nIn, nOut));
    }
}
