// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {Merkle} from "./libraries/Merkle.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title RootChain
/// @notice Plasma (MVP family) root chain: block commitments, ETH/ERC20 deposits and the standard exit game.
/// @dev Storage is kept to one slot per block and one slot per exit (see docs/CONTRACTS.md):
///      - block `blknum`: `uint256(root) & ~0xffffffff | timestamp` (high 224 bits of the root, uint32 time);
///      - exit `utxoPos` (the exit id): `amount96 << 160 | owner`; `amount96 == 0` with a non-zero slot means
///        the exit is closed (paid, credited or challenged) and the output can never exit again. Amounts of
///        2^96 - 1 or more store the sentinel `2^96 - 1` and the full amount in `_largeExitAmounts`;
///      - one min-heap per token of entries `exitableAt << 65 | utxoPos << 1` (`nextExit` shows them in the
///        interface's `exitableAt << 128 | utxoPos` form); its header slot also holds the token's reserve of credits.
contract RootChain is IRootChain, EIP712, ReentrancyGuardTransient {
    using ExitHeap for ExitHeap.Heap;
    using SafeERC20 for IERC20;

    /// @notice Operator blocks are numbered 1000, 2000, …; deposit blocks fill the gaps.
    uint256 public constant CHILD_BLOCK_INTERVAL = 1000;
    /// @notice Gas given to an ETH payout in `processExits` (and to the challenger's bond).
    uint256 public constant PAYOUT_GAS_ETH = 30_000;
    /// @notice Gas given to an ERC20 `transfer` in `processExits`.
    uint256 public constant PAYOUT_GAS_TOKEN = 100_000;

    /// @dev Gas kept besides a capped call: the call's own cost (value, cold account, new account) and slack.
    uint256 private constant CALL_OVERHEAD = 40_000;
    uint256 private constant TIME_MASK = 0xffffffff;
    uint256 private constant ROOT_MASK = ~TIME_MASK;
    uint256 private constant LARGE_AMOUNT = type(uint96).max;
    /// @dev Queue entries: `exitableAt << 65 | position << 1 | kind` (kind 0: standard exit).
    uint256 private constant ENTRY_TIME_SHIFT = 65;
    uint256 private constant POSITION_MASK = type(uint64).max;
    /// @dev The largest reserve of credits a token's queue header holds (its 125-bit extra field).
    uint256 private constant MAX_RESERVE = (1 << ExitHeap.EXTRA_BITS) - 1;

    address private immutable OPERATOR;
    uint256 private immutable MIN_EXIT_PERIOD;
    uint256 private immutable EXIT_BOND;
    uint256 private immutable MIN_DEPOSIT;

    /// @dev One slot: the next operator block number and the next deposit block's offset from the last one.
    uint128 private _nextChildBlock;
    uint128 private _nextDepositOffset;
    mapping(uint256 blknum => uint256 record) private _blocks;
    mapping(uint256 utxoPos => uint256 packed) private _exits;
    mapping(uint256 utxoPos => uint256 amount) private _largeExitAmounts;
    mapping(address token => ExitHeap.Heap) private _queues;
    mapping(address owner => mapping(address token => uint256)) private _withdrawable;

    /// @param operator_ The only address allowed to submit blocks.
    /// @param minExitPeriod_ The minimum exit period (MEP) in seconds, in [1, 2^32).
    /// @param exitBond_ The exact bond in wei for `startStandardExit`; it should cover the cost of
    ///        processing (and challenging) an exit, so that exit-queue spam does not pay.
    /// @param minDeposit_ The smallest ETH deposit in wei: filling the 999 deposit slots between two operator blocks
    ///        then locks 999 times it (see docs/CONTRACTS.md).
    constructor(address operator_, uint256 minExitPeriod_, uint256 exitBond_, uint256 minDeposit_)
        EIP712("Plasma", "1")
    {
        if (operator_ == address(0)) revert InvalidOperator(operator_);
        if (minExitPeriod_ == 0 || minExitPeriod_ > type(uint32).max) {
            revert InvalidMinExitPeriod(minExitPeriod_);
        }
        OPERATOR = operator_;
        MIN_EXIT_PERIOD = minExitPeriod_;
        EXIT_BOND = exitBond_;
        MIN_DEPOSIT = minDeposit_;
        _nextChildBlock = 1000;
        _nextDepositOffset = 1;
    }

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
    // Exit game
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
        _exits[utxoPos] = (packedAmount << 160) | uint160(owner);
        _queues[token].insert((exitableAt << ENTRY_TIME_SHIFT) | (utxoPos << 1));
        emit ExitStarted(utxoPos, owner, token, amount, exitableAt);
    }

    /// @dev Check that the caller may exit the output at `utxoPos` and compute its `exitableAt`.
    function _verifyOutput(uint256 utxoPos, bytes calldata txBytes, bytes calldata inclusionProof)
        private
        view
        returns (address owner, address token, uint256 amount, uint256 exitableAt)
    {
        if (!UtxoPos.isValid(utxoPos)) revert InvalidUtxoPos(utxoPos);
        if (_exits[utxoPos] != 0) revert ExitAlreadyStarted(utxoPos);
        uint256 blknum = utxoPos / UtxoPos.BLOCK_OFFSET;
        uint256 record = _blocks[blknum];
        if (record == 0) revert BlockNotFound(blknum);
        (owner, token, amount) = _readOutput(utxoPos, txBytes);
        _checkInclusion(utxoPos, record, txBytes, inclusionProof);
        unchecked {
            // All terms are below 2^33, so neither sum overflows.
            exitableAt = (record & TIME_MASK)
                + (blknum % CHILD_BLOCK_INTERVAL == 0 ? 2 * MIN_EXIT_PERIOD : MIN_EXIT_PERIOD);
            uint256 earliest = block.timestamp + MIN_EXIT_PERIOD;
            if (exitableAt < earliest) exitableAt = earliest;
        }
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

    /// @dev Revert unless `txBytes` is leaf `txIndex(utxoPos)` of the block whose record is `record`.
    function _checkInclusion(uint256 utxoPos, uint256 record, bytes calldata txBytes, bytes calldata proof)
        private
        pure
    {
        uint256 txIndex = (utxoPos / UtxoPos.TX_OFFSET) % 100_000;
        bytes32 root = Merkle.computeRoot(Merkle.leafHash(txBytes), txIndex, proof);
        if ((uint256(root) ^ record) >> 32 != 0) revert InvalidInclusionProof(utxoPos);
    }

    /// @inheritdoc IRootChain
    function challengeStandardExit(
        uint256 utxoPos,
        bytes calldata spendingTxBytes,
        uint256 inputIndex,
        bytes calldata signature
    ) external nonReentrant {
        uint256 packed = _exits[utxoPos];
        if (packed >> 160 == 0) revert ExitNotActive(utxoPos);
        address owner = _ownerOf(packed);

        bytes32 digest = _spendDigest(utxoPos, spendingTxBytes, inputIndex);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != owner) revert InvalidSignature(signer, owner);

        _exits[utxoPos] = uint160(owner);
        if (packed >> 160 == LARGE_AMOUNT) delete _largeExitAmounts[utxoPos];
        emit ExitChallenged(utxoPos, msg.sender);
        _payEth(msg.sender, EXIT_BOND);
    }

    /// @dev The EIP-712 digest of `spendingTxBytes` after checking that its input `inputIndex` is `utxoPos`.
    function _spendDigest(uint256 utxoPos, bytes calldata spendingTxBytes, uint256 inputIndex)
        private
        view
        returns (bytes32)
    {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(spendingTxBytes);
        if (inputIndex >= nIn) revert InputIndexOutOfRange(inputIndex, nIn);
        uint256 spent = PaymentTx.input(spendingTxBytes, inputIndex);
        if (spent != utxoPos) revert InputDoesNotSpendExit(spent, utxoPos);
        return _hashTypedDataV4(PaymentTx.structHash(spendingTxBytes, nIn, nOut));
    }

    /// @inheritdoc IRootChain
    function processExits(address token, uint256 maxExits) external nonReentrant returns (uint256 processed) {
        ExitHeap.Heap storage queue = _queues[token];
        while (processed < maxExits && queue.length() != 0) {
            uint256 entry = queue.top();
            // forge-lint: disable-next-line(block-timestamp) exit periods are days; seconds of drift are harmless
            if (entry >> ENTRY_TIME_SHIFT > block.timestamp) break;
            queue.pop();
            unchecked {
                ++processed;
            }
            _processOne(token, (entry >> 1) & POSITION_MASK);
        }
    }

    function _processOne(address token, uint256 utxoPos) private {
        uint256 packed = _exits[utxoPos];
        uint256 amount = packed >> 160;
        if (amount == 0) return; // challenged: its bond already went to the challenger
        address owner = _ownerOf(packed);
        _exits[utxoPos] = uint160(owner);
        if (amount == LARGE_AMOUNT) {
            amount = _largeExitAmounts[utxoPos];
            delete _largeExitAmounts[utxoPos];
        }
        _finalize(utxoPos, owner, token, amount);
    }

    function _finalize(uint256 utxoPos, address owner, address token, uint256 amount) private {
        if (token == address(0)) {
            _requireGas(PAYOUT_GAS_ETH);
            uint256 available = _available(address(0));
            // amount + bond, checked without overflow: a poisoned amount is simply unfunded.
            if (available >= EXIT_BOND && amount <= available - EXIT_BOND) {
                uint256 total = amount + EXIT_BOND;
                bool paid = _sendEth(owner, total);
                emit ExitFinalized(utxoPos, owner, token, amount, paid);
                if (!paid) _credit(owner, address(0), total);
                return;
            }
            emit ExitUnfunded(utxoPos, owner, token, amount);
        } else {
            _requireGas(PAYOUT_GAS_TOKEN);
            if (amount <= _available(token)) {
                _requireGas(PAYOUT_GAS_TOKEN + PAYOUT_GAS_ETH + CALL_OVERHEAD);
                bool paid = _sendToken(token, owner, amount);
                emit ExitFinalized(utxoPos, owner, token, amount, paid);
                if (!paid) _credit(owner, token, amount);
            } else {
                emit ExitUnfunded(utxoPos, owner, token, amount);
            }
        }
        _payEth(owner, EXIT_BOND);
    }

    /// @dev Push `amount` wei to `to` if the contract can fund it: credited if the receiver fails, dropped (never
    ///      credited) if the balance not owed to credits cannot cover it.
    function _payEth(address to, uint256 amount) private {
        if (amount == 0) return;
        _requireGas(PAYOUT_GAS_ETH);
        if (amount > _available(address(0))) return;
        if (!_sendEth(to, amount)) _credit(to, address(0), amount);
    }

    /// @dev The contract's balance of `token` less the credits it owes in it (and never more than the reserve field
    ///      can still take). A token whose `balanceOf` fails (or answers malformed data) has nothing available. Every
    ///      credit is checked against this first, so the credits never exceed the balance and cannot overflow.
    function _available(address token) private view returns (uint256 available) {
        uint256 held;
        if (token == address(0)) {
            held = address(this).balance;
        } else {
            assembly ("memory-safe") {
                mstore(0, shl(224, 0x70a08231)) // balanceOf(address)
                mstore(4, address())
                let ok := staticcall(PAYOUT_GAS_TOKEN, token, 0, 36, 0, 32)
                if and(ok, gt(returndatasize(), 31)) { held := mload(0) }
            }
        }
        uint256 owed = _queues[token].extra();
        unchecked {
            available = held > owed ? held - owed : 0;
            if (available > MAX_RESERVE - owed) available = MAX_RESERVE - owed;
        }
    }

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

    /// @dev Only called for an amount checked against `_available(token)`, so neither sum can overflow.
    function _credit(address owner, address token, uint256 amount) private {
        ExitHeap.Heap storage queue = _queues[token];
        unchecked {
            queue.setExtra(queue.extra() + amount);
            _withdrawable[owner][token] += amount;
        }
        emit WithdrawalCredited(owner, token, amount);
    }

    /// @dev The owner in the low 160 bits of an exit slot.
    function _ownerOf(uint256 packed) private pure returns (address) {
        // forge-lint: disable-next-line(unsafe-typecast) the truncation is the point: owner is the low 160 bits
        return address(uint160(packed));
    }

    /// @dev Revert unless a capped call of `cap` gas would get all of it (EIP-150 keeps 1/64 back), so the
    ///      processor cannot starve an honest receiver into the credit path by sending too little gas.
    function _requireGas(uint256 cap) private view {
        uint256 required = cap + cap / 63 + CALL_OVERHEAD;
        if (gasleft() < required) revert InsufficientGas(gasleft(), required);
    }

    /// @dev ETH transfer with at most `PAYOUT_GAS_ETH` gas; returndata is never copied.
    function _sendEth(address to, uint256 value) private returns (bool ok) {
        assembly ("memory-safe") {
            ok := call(PAYOUT_GAS_ETH, shr(96, shl(96, to)), value, 0, 0, 0, 0)
        }
    }

    /// @dev ERC20 `transfer` with at most `PAYOUT_GAS_TOKEN` gas; success as in OpenZeppelin SafeERC20
    ///      (no return data from a contract, or exactly `true`). At most 32 bytes of return data are copied.
    function _sendToken(address token, address to, uint256 amount) private returns (bool ok) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(224, 0xa9059cbb))
            mstore(add(m, 4), shr(96, shl(96, to))) // clean: `to` may carry the exit slot's amount bits
            mstore(add(m, 36), amount)
            mstore(0, 0)
            ok := call(PAYOUT_GAS_TOKEN, token, 0, m, 68, 0, 32)
            if ok {
                switch returndatasize()
                case 0 { ok := gt(extcodesize(token), 0) }
                default { ok := and(gt(returndatasize(), 31), eq(mload(0), 1)) }
            }
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
    function nextChildBlock() external view returns (uint256) {
        return _nextChildBlock;
    }

    /// @inheritdoc IRootChain
    function minDeposit() external view returns (uint256) {
        return MIN_DEPOSIT;
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
        amount = packed >> 160;
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
    function withdrawable(address owner, address token) external view returns (uint256) {
        return _withdrawable[owner][token];
    }

    /// @inheritdoc IRootChain
    function txDigest(bytes calldata txBytes) external view returns (bytes32) {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(txBytes);
        return _hashTypedDataV4(PaymentTx.structHash(txBytes, nIn, nOut));
    }
}
