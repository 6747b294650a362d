// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {InFlightFixture} from "./utils/InFlightFixture.sol";
import {TxLib} from "./utils/TxLib.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The six rows of the gas table (issue 3), one contract each so that `setUp` (a transaction of its own)
///         leaves every storage slot cold for the measured call. Gas metering is paused for everything but the
///         measured call, so the figure in `.gas-snapshot` is that call's execution gas (plus ~140 for the CALL,
///         and 6,700 for a value transfer). Each test warms only what a real transaction has warm (the contract
///         and the sender) and asserts the receipt-equivalent cost (see `_measure`) against the target.
abstract contract GasTest is InFlightFixture {
    uint256 internal constant TARGET_SUBMIT_BLOCK = 55_000;
    uint256 internal constant TARGET_DEPOSIT_ETH = 70_000;
    uint256 internal constant TARGET_START_EXIT = 120_000;
    uint256 internal constant TARGET_CHALLENGE = 60_000;
    uint256 internal constant TARGET_PROCESS_1 = 45_000;
    uint256 internal constant TARGET_PROCESS_10_PER_EXIT = 25_000;

    /// @dev Gas the measuring CALL itself adds: warm account access and opcode setup; a value transfer adds
    ///      9000 minus the 2300 stipend handed back. A real transaction pays for these in its 21000.
    uint256 internal constant CALL_COST = 100 + 40;
    uint256 internal constant VALUE_COST = 9000 - 2300;

    /// @dev ds-test style log event: forge prints it with `-vv`.
    event log_named_uint(string key, uint256 val);

    address internal sender;
    uint256 internal value;
    bytes internal data;

    /// @dev Measure the prepared call and return its receipt-equivalent gas: intrinsic 21000 + calldata
    ///      (EIP-2028) + execution, minus the EIP-3529 refund of 4800 per storage slot the call clears
    ///      (`clearedSlots`, known exactly for each scenario) capped at a fifth, and at least the EIP-7623 floor.
    function _measure(uint256 clearedSlots) internal returns (uint256 txGas) {
        vm.pauseGasMetering();
        address from = sender;
        uint256 v = value;
        bytes memory d = data;
        // Warm exactly what the transaction's sender and target would be: the accounts, not storage.
        chain.exitBond();
        from.balance;
        vm.prank(from);
        vm.resumeGasMetering();
        uint256 g = gasleft();
        (bool ok, bytes memory ret) = address(chain).call{value: v}(d);
        uint256 used = g - gasleft();
        vm.pauseGasMetering();
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        uint256 execution = used - CALL_COST - (v > 0 ? VALUE_COST : 0);
        uint256 tokens;
        for (uint256 i; i < d.length; ++i) {
            tokens += d[i] == 0 ? 1 : 4;
        }
        uint256 total = 21_000 + 4 * tokens + execution;
        uint256 refund = 4800 * clearedSlots;
        if (refund > total / 5) refund = total / 5;
        uint256 floor = 21_000 + 10 * tokens;
        txGas = total - refund > floor ? total - refund : floor;
        emit log_named_uint("execution gas", execution);
        emit log_named_uint("transaction gas before refund", total);
        emit log_named_uint("refund", refund);
    }

    function _report(string memory what, uint256 txGas, uint256 target) internal {
        emit log_named_uint(string.concat(what, ": receipt gas"), txGas);
        assertLe(txGas, target, what);
    }

    function _prepare(address from, uint256 v, bytes memory d) internal {
        sender = from;
        value = v;
        data = d;
    }

    /// @dev A 1-in/2-out payment in operator block 1000 at index 7; returns the start-exit calldata for output 0.
    function _blockWith1in2out() internal returns (bytes memory) {
        uint256 dep = depositEth(alice, 1 ether);
        Included memory inc =
            spendInBlock(UtxoPos.encode(dep, 0, 0), alice, bob, address(0), 0.25 ether, 0.75 ether);
        return abi.encodeCall(
            IRootChain.startStandardExit, (UtxoPos.encode(inc.blknum, inc.txIndex, 0), inc.txBytes, inc.proof)
        );
    }

    /// @dev `n` ETH exits by distinct owners, all exitable now.
    function _exits(uint256 n) internal {
        for (uint256 i; i < n; ++i) {
            address owner = address(uint160(0x1000 + i));
            vm.deal(owner, 1 ether);
            uint256 dep = depositEth(owner, 0.1 ether);
            (uint256 pos, bytes memory txBytes, bytes memory proof) =
                depositExit(owner, address(0), 0.1 ether, dep);
            startExit(owner, pos, txBytes, proof);
        }
        vm.warp(START_TIME + MEP);
    }
}

contract SubmitBlockGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        vm.prank(operator);
        chain.submitBlock(keccak256("previous"));
        depositEth(alice, 1 ether);
        _prepare(operator, 0, abi.encodeCall(IRootChain.submitBlock, (keccak256("next"))));
    }

    function test_gas_submitBlock() public {
        _report("submitBlock", _measure(0), TARGET_SUBMIT_BLOCK);
    }
}

contract DepositGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        depositEth(bob, 1 ether);
        _prepare(alice, 1 ether, abi.encodeCall(IRootChain.deposit, ()));
    }

    function test_gas_depositEth() public {
        _report("deposit", _measure(0), TARGET_DEPOSIT_ETH);
    }
}

/// @notice Typical case: the token's queue already holds an exit.
contract StartExitGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        uint256 other = depositEth(carol, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(carol, address(0), 1 ether, other);
        startExit(carol, pos, txBytes, proof);
        _prepare(bob, BOND, _blockWith1in2out());
    }

    function test_gas_startStandardExit_1in2out() public {
        _report("startStandardExit 1-in/2-out", _measure(0), TARGET_START_EXIT);
    }
}

/// @notice Worst case: the first exit of a token (queue length and first node written from zero).
contract StartExitEmptyQueueGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        _prepare(bob, BOND, _blockWith1in2out());
    }

    function test_gas_startStandardExit_1in2out_emptyQueue() public {
        _report("startStandardExit 1-in/2-out, empty queue", _measure(0), TARGET_START_EXIT);
    }
}

contract ChallengeGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        uint256 dep = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(0), 1 ether, dep);
        startExit(alice, pos, txBytes, proof);
        PaymentTx.Transaction memory spend = TxLib.oneInTwoOut(
            pos, TxLib.output(bob, address(0), 0.25 ether), TxLib.output(alice, address(0), 0.75 ether)
        );
        bytes memory sig = TxLib.sign(spend, address(chain), alicePk);
        _prepare(
            carol, 0, abi.encodeCall(IRootChain.challengeStandardExit, (pos, TxLib.encode(spend), 0, sig))
        );
    }

    function test_gas_challengeStandardExit() public {
        _report("challengeStandardExit", _measure(0), TARGET_CHALLENGE);
    }
}

contract ProcessOneGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        _exits(1);
        _prepare(carol, 0, abi.encodeCall(IRootChain.processExits, (address(0), 1)));
    }

    function test_gas_processExits_1() public {
        // Cleared: the queue header, which held the only entry and the length (the reserve of credits is zero).
        _report("processExits, 1 exit", _measure(1), TARGET_PROCESS_1);
    }
}

contract ProcessTenGasTest is GasTest {
    function setUp() public override {
        super.setUp();
        _exits(10);
        _prepare(carol, 0, abi.encodeCall(IRootChain.processExits, (address(0), 10)));
    }

    function test_gas_processExits_10() public {
        // Cleared: the last node of each of the first 9 pops (nodes 10 down to 2) and, at the last pop, the header
        // (which holds the top entry and the length).
        uint256 txGas = _measure(10);
        assertEq(chain.exitQueueLength(address(0)), 0);
        _report("processExits, 10 exits, per exit", txGas / 10, TARGET_PROCESS_10_PER_EXIT);
    }
}
