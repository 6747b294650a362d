// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRootChain} from "./interfaces/IRootChain.sol";
import {ExitHeap} from "./libraries/ExitHeap.sol";
import {Merkle} from "./libraries/Merkle.sol";
import {PaymentTx} from "./libraries/PaymentTx.sol";
import {UtxoPos} from "./libraries/UtxoPos.sol";

/// @title ExitGameBase
/// @notice What both exit games share: the storage of the root chain, the per-transaction record through which a
///         standard exit and an in-flight exit see each other, inclusion and spend checks, and the capped payouts.
///         `RootChain` inherits it, and so does `InFlightExitGame`, which `RootChain` deploys and runs by delegatecall
///         in its own storage (one contract would exceed the 24,576-byte code limit). Errors, events and types are
///         those of `IRootChain`.
/// @dev Storage (docs/CONTRACTS.md has the full table), after EIP712's two fallback strings (slots 0 and 1):
///      - slot 2: `_nextChildBlock` (low 128 bits) and `_nextDepositOffset`;
///      - block `blknum`: `uint256(root) & ~0xffffffff | timestamp`;
///      - standard exit `utxoPos`: `challenged << 255 | amount95 << 160 | owner`; `amount95 == 0` with a non-zero
///        slot means closed (paid, credited, unfunded or challenged; bit 255 says challenged), kept forever. Amounts
///        of 2^95 - 1 or more store that sentinel and the full amount in `_largeExitAmounts`;
///      - one queue per token (`ExitHeap`) of entries `exitableAt << 65 | position << 1 | inFlight`, whose header
///        also holds the token's reserve of credits;
///      - the record of transaction `txHash` (`_txRecords`): bits 0-3 "output j has a standard exit", bits 4-7
///        "output j exited in flight", and above them the state of the transaction's in-flight exit, if any;
///      - the hash of an in-flight exit's data (`_inFlightData`).
abstract contract ExitGameBase is EIP712, ReentrancyGuardTransient {
    using ExitHeap for ExitHeap.Heap;

    /// @notice Operator blocks are numbered 1000, 2000, …; deposit blocks fill the gaps.
    uint256 public constant CHILD_BLOCK_INTERVAL = 1000;
    /// @notice Gas given to an ETH payout in `processExits` (and to the challenger's bond).
    uint256 public constant PAYOUT_GAS_ETH = 30_000;
    /// @notice Gas given to an ERC20 `transfer` in `processExits`.
    uint256 public constant PAYOUT_GAS_TOKEN = 100_000;

    /// @dev Gas kept besides a capped call: the call's own cost (value, cold account, new account) and slack.
    uint256 internal constant CALL_OVERHEAD = 40_000;
    uint256 internal constant TIME_MASK = 0xffffffff;
    uint256 internal constant ROOT_MASK = ~TIME_MASK;

    /// @dev Standard exit slots: `amount95 << 160 | owner`, bit 255 set once challenged.
    uint256 internal constant AMOUNT_SHIFT = 160;
    uint256 internal constant LARGE_AMOUNT = (1 << 95) - 1;
    uint256 internal constant CHALLENGED = 1 << 255;

    /// @dev Queue entries: `exitableAt << 65 | position << 1 | kind`, kind 1 for an in-flight exit.
    uint256 internal constant ENTRY_TIME_SHIFT = 65;
    uint256 internal constant POSITION_MASK = type(uint64).max;
    uint256 internal constant IN_FLIGHT_ENTRY = 1;
    /// @dev The largest reserve of credits a token's queue header holds (its 125-bit extra field).
    uint256 internal constant MAX_RESERVE = type(uint256).max >> (256 - ExitHeap.EXTRA_BITS);

    /// @dev Transaction records: `SE_STARTED << j` — output j has (had) a standard exit, at some position;
    ///      `EXITED << j` — output j was paid by an in-flight exit (as its output or input) or spent by a canonical
    ///      in-flight exit that paid outputs. Neither bit is ever cleared; together they are the one "exited" record
    ///      of an output that both kinds of exit read and write.
    uint256 internal constant SE_STARTED = 1;
    uint256 internal constant EXITED = 1 << 4;
    uint256 internal constant OUTPUT_RECORD_MASK = 0xff;

    /// @dev The in-flight exit fields of a transaction record, above the outputs' exit bits (0-7):
    ///      8 active · 9-16 piggybacks (9 + i for input i, 13 + j for output j) · 17-24 queue entries processed (17 + k
    ///      for the token first seen at slot k: inputs 0-3, outputs 4-7) · 25 non-canonical · 26 processing
    ///      (canonicity final) · 27 pays outputs · 28 bond paid · 32-71 exitableAt · 72-135 competitor position
    ///      (0 none, 2^64 - 1 not included; after a response, the transaction's own position).
    uint256 internal constant IFE_ACTIVE = 1 << 8;
    uint256 internal constant PIGGYBACK_SHIFT = 9;
    uint256 internal constant NON_CANONICAL = 1 << 25;
    uint256 internal constant PROCESSING = 1 << 26;
    uint256 internal constant EXITABLE_SHIFT = 32;
    uint256 internal constant EXITABLE_MASK = (1 << 40) - 1;
    uint256 internal constant COMPETITOR_SHIFT = 72;

    address internal immutable OPERATOR;
    uint256 internal immutable MIN_EXIT_PERIOD;
    uint256 internal immutable EXIT_BOND;
    uint256 internal immutable MIN_DEPOSIT;
    uint256 internal immutable IN_FLIGHT_EXIT_BOND;
    uint256 internal immutable PIGGYBACK_BOND;

    /// @dev One slot: the next operator block number and the next deposit block's offset from the last one.
    uint128 internal _nextChildBlock;
    uint128 internal _nextDepositOffset;
    mapping(uint256 blknum => uint256 record) internal _blocks;
    mapping(uint256 utxoPos => uint256 packed) internal _exits;
    mapping(uint256 utxoPos => uint256 amount) internal _largeExitAmounts;
    mapping(address token => ExitHeap.Heap) internal _queues;
    mapping(address owner => mapping(address token => uint256)) internal _withdrawable;
    mapping(bytes32 txHash => uint256 record) internal _txRecords;
    mapping(bytes32 txHash => bytes32 dataHash) internal _inFlightData;

    constructor(
        address operator_,
        uint256 minExitPeriod_,
        uint256 exitBond_,
        uint256 minDeposit_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_
    ) EIP712("Plasma", "1") {
        if (operator_ == address(0)) revert IRootChain.InvalidOperator(operator_);
        if (minExitPeriod_ == 0 || minExitPeriod_ > type(uint32).max) {
            revert IRootChain.InvalidMinExitPeriod(minExitPeriod_);
        }
        OPERATOR = operator_;
        MIN_EXIT_PERIOD = minExitPeriod_;
        EXIT_BOND = exitBond_;
        MIN_DEPOSIT = minDeposit_;
        IN_FLIGHT_EXIT_BOND = inFlightExitBond_;
        PIGGYBACK_BOND = piggybackBond_;
    }

    // ---------------------------------------------------------------------------------------------
    // Blocks, exit times and queue entries
    // ---------------------------------------------------------------------------------------------

    /// @dev The record of block `blknum`; reverts if there is none.
    function _blockRecord(uint256 blknum) internal view returns (uint256 record) {
        record = _blocks[blknum];
        if (record == 0) revert IRootChain.BlockNotFound(blknum);
    }

    /// @dev The earliest time an output of block `blknum` (whose record is `record`) may exit: its block time plus
    ///      two periods for an operator block, plus one for a deposit block. Below 2^34.
    function _exitBound(uint256 record, uint256 blknum) internal view returns (uint256) {
        unchecked {
            return (record & TIME_MASK)
                + (blknum % CHILD_BLOCK_INTERVAL == 0 ? 2 * MIN_EXIT_PERIOD : MIN_EXIT_PERIOD);
        }
    }

    /// @dev `max(bound, now + MEP)`: every exit waits at least one period from its start.
    function _exitableAt(uint256 bound) internal view returns (uint256) {
        unchecked {
            uint256 earliest = block.timestamp + MIN_EXIT_PERIOD;
            return bound > earliest ? bound : earliest;
        }
    }

    /// @dev Revert unless `txBytes` is leaf `txIndex(utxoPos)` of the block whose record is `record`.
    function _checkInclusion(uint256 utxoPos, uint256 record, bytes calldata txBytes, bytes calldata proof)
        internal
        pure
    {
        uint256 txIndex = (utxoPos / UtxoPos.TX_OFFSET) % 100_000;
        bytes32 root = Merkle.computeRoot(Merkle.leafHash(txBytes), txIndex, proof);
        if ((uint256(root) ^ record) >> 32 != 0) revert IRootChain.InvalidInclusionProof(utxoPos);
    }

    /// @dev Revert unless `txBytes` is included at the transaction position `txPosition` (`blknum * 1e9 + txIndex *
    ///      1e4`): a well-formed position of output 0, in a committed block, with a valid proof.
    function _checkTxInclusion(uint256 txPosition, bytes calldata txBytes, bytes calldata proof)
        internal
        view
    {
        if (!UtxoPos.isValid(txPosition) || txPosition % UtxoPos.TX_OFFSET != 0) {
            revert IRootChain.InvalidTxPosition(txPosition);
        }
        _checkInclusion(txPosition, _blockRecord(txPosition / UtxoPos.BLOCK_OFFSET), txBytes, proof);
    }

    // ---------------------------------------------------------------------------------------------
    // Signed spends
    // ---------------------------------------------------------------------------------------------

    /// @dev Revert unless `spendingTxBytes` is canonical, its input `inputIndex` is `utxoPos`, and `signature` is
    ///      `owner`'s EIP-712 signature over it.
    function _checkSpend(
        uint256 utxoPos,
        bytes calldata spendingTxBytes,
        uint256 inputIndex,
        bytes calldata signature,
        address owner
    ) internal view {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(spendingTxBytes);
        if (inputIndex >= nIn) revert IRootChain.InputIndexOutOfRange(inputIndex, nIn);
        uint256 spent = PaymentTx.input(spendingTxBytes, inputIndex);
        if (spent != utxoPos) revert IRootChain.InputDoesNotSpendExit(spent, utxoPos);
        _checkSignature(_hashTypedDataV4(PaymentTx.structHash(spendingTxBytes, nIn, nOut)), signature, owner);
    }

    /// @dev Revert unless `signature` (65 bytes, low s, v in {27, 28}) recovers to `owner` from `digest`.
    function _checkSignature(bytes32 digest, bytes calldata signature, address owner) internal pure {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != owner) {
            revert IRootChain.InvalidSignature(signer, owner);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Standard exit slots
    // ---------------------------------------------------------------------------------------------

    /// @dev The owner in the low 160 bits of an exit slot.
    function _ownerOf(uint256 packed) internal pure returns (address) {
        // forge-lint: disable-next-line(unsafe-typecast) the truncation is the point: owner is the low 160 bits
        return address(uint160(packed));
    }

    /// @dev The 95-bit amount field of an exit slot: zero once the exit is closed.
    function _amountField(uint256 packed) internal pure returns (uint256) {
        return (packed >> AMOUNT_SHIFT) & LARGE_AMOUNT;
    }

    /// @dev Close the active standard exit `utxoPos` as challenged (its output was spent by a signed transaction):
    ///      the caller must pay its bond to `challenger` after its other state writes.
    function _closeChallenged(uint256 utxoPos, uint256 packed, address challenger) internal {
        // forge-lint: disable-next-line(unsafe-typecast) the truncation is the point: keep the owner, drop the amount
        _exits[utxoPos] = CHALLENGED | uint160(packed);
        if (_amountField(packed) == LARGE_AMOUNT) delete _largeExitAmounts[utxoPos];
        emit IRootChain.ExitChallenged(utxoPos, challenger);
    }

    // ---------------------------------------------------------------------------------------------
    // Payouts: capped pushes, credits for receivers that fail, nothing for what the contract cannot fund
    // ---------------------------------------------------------------------------------------------

    /// @dev Pay `amount` of `token` and a bond of `bond` wei to `owner`. Returns Paid, Credited (the receiver failed:
    ///      the unpaid part was credited) or Unfunded (the contract's balance less its credits cannot cover
    ///      `amount`: nothing of it is paid or owed). The bond is returned whenever it can be funded.
    function _payWithBond(address owner, address token, uint256 amount, uint256 bond)
        internal
        returns (IRootChain.PiggybackOutcome outcome)
    {
        if (token == address(0)) {
            _requireGas(PAYOUT_GAS_ETH);
            uint256 available = _available(address(0));
            // amount + bond, checked without overflow: a poisoned amount is simply unfunded.
            if (available >= bond && amount <= available - bond) {
                uint256 total = amount + bond;
                if (_sendEth(owner, total)) return IRootChain.PiggybackOutcome.Paid;
                _credit(owner, address(0), total);
                return IRootChain.PiggybackOutcome.Credited;
            }
            outcome = IRootChain.PiggybackOutcome.Unfunded;
        } else {
            _requireGas(PAYOUT_GAS_TOKEN);
            if (amount <= _available(token)) {
                _requireGas(PAYOUT_GAS_TOKEN + PAYOUT_GAS_ETH + CALL_OVERHEAD);
                if (_sendToken(token, owner, amount)) {
                    outcome = IRootChain.PiggybackOutcome.Paid;
                } else {
                    _credit(owner, token, amount);
                    outcome = IRootChain.PiggybackOutcome.Credited;
                }
            } else {
                outcome = IRootChain.PiggybackOutcome.Unfunded;
            }
        }
        _payEth(owner, bond);
    }

    /// @dev Push `amount` wei to `to` if the contract can fund it: credited if the receiver fails, dropped (never
    ///      credited) if the balance not owed to credits cannot cover it.
    function _payEth(address to, uint256 amount) internal {
        if (amount == 0) return;
        _requireGas(PAYOUT_GAS_ETH);
        if (amount > _available(address(0))) return;
        if (!_sendEth(to, amount)) _credit(to, address(0), amount);
    }

    /// @dev The contract's balance of `token` less the credits it owes in it (and never more than the reserve field
    ///      can still take). A token whose `balanceOf` fails (or answers malformed data) has nothing available. Every
    ///      credit is checked against this first, so the credits never exceed the balance and cannot overflow.
    function _available(address token) internal view returns (uint256 available) {
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

    /// @dev Only called for an amount checked against `_available(token)`, so neither sum can overflow.
    function _credit(address owner, address token, uint256 amount) internal {
        ExitHeap.Heap storage queue = _queues[token];
        unchecked {
            queue.setExtra(queue.extra() + amount);
            _withdrawable[owner][token] += amount;
        }
        emit IRootChain.WithdrawalCredited(owner, token, amount);
    }

    /// @dev Revert unless a capped call of `cap` gas would get all of it (EIP-150 keeps 1/64 back), so the
    ///      processor cannot starve an honest receiver into the credit path by sending too little gas.
    function _requireGas(uint256 cap) internal view {
        uint256 required = cap + cap / 63 + CALL_OVERHEAD;
        if (gasleft() < required) revert IRootChain.InsufficientGas(gasleft(), required);
    }

    /// @dev ETH transfer with at most `PAYOUT_GAS_ETH` gas; returndata is never copied.
    function _sendEth(address to, uint256 value) internal returns (bool ok) {
        assembly ("memory-safe") {
            ok := call(PAYOUT_GAS_ETH, shr(96, shl(96, to)), value, 0, 0, 0, 0)
        }
    }

    /// @dev ERC20 `transfer` with at most `PAYOUT_GAS_TOKEN` gas; success as in OpenZeppelin SafeERC20
    ///      (no return data from a contract, or exactly `true`). At most 32 bytes of return data are copied.
    function _sendToken(address token, address to, uint256 amount) internal returns (bool ok) {
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
}
