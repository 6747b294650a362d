// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {GasTest} from "./RootChain.gas.t.sol";
import {TxLib} from "./utils/TxLib.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The in-flight rows of the gas table (issue 14), one contract per operation so that `setUp` leaves every
///         slot cold, measured and modelled like the standard-exit rows (`GasTest._measure`: receipt gas = 21,000 +
///         calldata + execution - refunds). The calls include the delegatecall into the game's code (a cold
///         account), as a real transaction does. The in-flight payment is Alice's 1-in/2-out payment to Bob (0.1 to
///         Bob, 0.3 back) of an input committed in an operator block, the expensive case (its creating transaction
///         is a 1-in/2-out payment too, 480 bytes, where a deposit's is 352).
abstract contract InFlightGasTest is GasTest {
    uint256 internal constant TARGET_IFE_START = 150_000;
    uint256 internal constant TARGET_IFE_PIGGYBACK = 60_000;
    uint256 internal constant TARGET_IFE_CHALLENGE = 100_000;
    uint256 internal constant TARGET_IFE_RESPONSE = 60_000;
    uint256 internal constant TARGET_IFE_SPENT_CHALLENGE = 90_000;
    uint256 internal constant TARGET_IFE_PROCESS = 150_000;

    InFlight internal f;
    Coin internal input;

    /// @dev Alice's input (0.4 ether at index 7 of operator block 1000) and her payment of it.
    function _payment() internal {
        Coin memory dep = ethCoin(alicePk, 1 ether);
        (Coin memory paid,) = spendCoin(dep, alicePk, 0.4 ether);
        input = paid;
        InFlight memory p =
            payment(coins1(paid), outputs2(bob, 0.1 ether, alice, 0.3 ether, address(0)), bytes32(0));
        _store(p);
    }

    /// @dev Keep `p` in storage (memory structs do not survive setUp).
    function _store(InFlight memory p) internal {
        f.transaction.txType = p.transaction.txType;
        f.transaction.inputs = p.transaction.inputs;
        f.transaction.metadata = p.transaction.metadata;
        delete f.transaction.outputs;
        for (uint256 i; i < p.transaction.outputs.length; ++i) {
            f.transaction.outputs.push(p.transaction.outputs[i]);
        }
        f.txBytes = p.txBytes;
        f.txHash = p.txHash;
        f.inputTxs = p.inputTxs;
        f.proofs = p.proofs;
        f.sigs = p.sigs;
        delete f.inputs;
        for (uint256 i; i < p.inputs.length; ++i) {
            f.inputs.push(p.inputs[i]);
        }
    }

    /// @dev Carol's standard exit, so that the queue is not empty (the typical case).
    function _queueOther() internal {
        uint256 blknum = depositEth(carol, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(carol, address(0), 1 ether, blknum);
        startExit(carol, pos, txBytes, proof);
    }
}

contract StartInFlightExitGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _queueOther();
        _payment();
        _prepare(
            bob,
            IFE_BOND,
            abi.encodeCall(
                IRootChain.startInFlightExit, (f.txBytes, f.inputTxs, f.proofs, f.sigs, uint256(0))
            )
        );
    }

    function test_gas_startInFlightExit_1in2out() public {
        _report("startInFlightExit 1-in/2-out", _measure(0), TARGET_IFE_START);
    }
}

contract StartInFlightExitEmptyQueueGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        _prepare(
            bob,
            IFE_BOND,
            abi.encodeCall(
                IRootChain.startInFlightExit, (f.txBytes, f.inputTxs, f.proofs, f.sigs, uint256(0))
            )
        );
    }

    function test_gas_startInFlightExit_1in2out_emptyQueue() public {
        _report("startInFlightExit 1-in/2-out, empty queue", _measure(0), TARGET_IFE_START);
    }
}

contract StartInFlightExitWithPiggybackGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _queueOther();
        _payment();
        _prepare(
            bob,
            IFE_BOND + PIGGYBACK_BOND,
            abi.encodeCall(
                IRootChain.startInFlightExit, (f.txBytes, f.inputTxs, f.proofs, f.sigs, uint256(1 << 4))
            )
        );
    }

    function test_gas_startInFlightExit_1in2out_withPiggyback() public {
        _report("startInFlightExit 1-in/2-out + piggyback", _measure(0), TARGET_IFE_START);
    }
}

contract PiggybackOutputGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, alice, 0);
        _prepare(
            bob, PIGGYBACK_BOND, abi.encodeCall(IRootChain.piggybackInFlightExitOnOutput, (f.txBytes, 0))
        );
    }

    function test_gas_piggybackInFlightExitOnOutput() public {
        _report("piggybackInFlightExitOnOutput", _measure(0), TARGET_IFE_PIGGYBACK);
    }
}

contract PiggybackInputGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 0);
        _prepare(
            alice,
            PIGGYBACK_BOND,
            abi.encodeCall(IRootChain.piggybackInFlightExitOnInput, (ifeData(f, bob), 0))
        );
    }

    function test_gas_piggybackInFlightExitOnInput() public {
        _report("piggybackInFlightExitOnInput", _measure(0), TARGET_IFE_PIGGYBACK);
    }
}

/// @notice The expensive competitor: included, so its position and inclusion proof are checked.
contract ChallengeNotCanonicalGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 0);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 0.4 ether, "double spend");
        Included memory inc = includeTx(t, 12);
        _prepare(
            dave,
            0,
            abi.encodeCall(
                IRootChain.challengeInFlightExitNotCanonical,
                (ifeData(f, bob), 0, competitor, UtxoPos.encode(inc.blknum, 12, 0), inc.proof)
            )
        );
    }

    function test_gas_challengeInFlightExitNotCanonical_included() public {
        _report("challengeInFlightExitNotCanonical, included competitor", _measure(0), TARGET_IFE_CHALLENGE);
    }
}

contract ChallengeNotCanonicalUnincludedGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 0);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 0.4 ether, "double spend");
        _prepare(
            dave,
            0,
            abi.encodeCall(
                IRootChain.challengeInFlightExitNotCanonical, (ifeData(f, bob), 0, competitor, uint256(0), "")
            )
        );
    }

    function test_gas_challengeInFlightExitNotCanonical_unincluded() public {
        _report("challengeInFlightExitNotCanonical, unincluded competitor", _measure(0), TARGET_IFE_CHALLENGE);
    }
}

contract RespondGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 4);
        startIfe(f, bob, 0);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 0.4 ether, "double spend");
        Included memory inc = includeTx(t, 12);
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(
            ifeData(f, bob), 0, competitor, UtxoPos.encode(inc.blknum, 12, 0), inc.proof
        );
        _prepare(
            carol,
            0,
            abi.encodeCall(IRootChain.respondToNonCanonicalChallenge, (ifeData(f, dave), txPos, proof))
        );
    }

    function test_gas_respondToNonCanonicalChallenge() public {
        _report("respondToNonCanonicalChallenge", _measure(0), TARGET_IFE_RESPONSE);
    }
}

contract InputSpentGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, alice, 1);
        (, IRootChain.Spend memory spend) = spendOf(input.pos, alicePk, carol, 0.4 ether, "elsewhere");
        _prepare(
            dave, 0, abi.encodeCall(IRootChain.challengeInFlightExitInputSpent, (ifeData(f, alice), 0, spend))
        );
    }

    function test_gas_challengeInFlightExitInputSpent() public {
        _report("challengeInFlightExitInputSpent", _measure(0), TARGET_IFE_SPENT_CHALLENGE);
    }
}

contract OutputSpentGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 1 << 4);
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 4);
        (, IRootChain.Spend memory spend) = spendOf(txPos, bobPk, carol, 0.1 ether, "bob spent it");
        _prepare(
            dave,
            0,
            abi.encodeCall(IRootChain.challengeInFlightExitOutputSpent, (f.txBytes, txPos, proof, 0, spend))
        );
    }

    function test_gas_challengeInFlightExitOutputSpent() public {
        _report("challengeInFlightExitOutputSpent", _measure(0), TARGET_IFE_SPENT_CHALLENGE);
    }
}

/// @notice The target row: one canonical exit with two piggybacked outputs (Bob's payment and Alice's change), the
///         only entry of its queue.
contract ProcessInFlightExitGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 1 << 4);
        piggybackOutput(f, 1);
        vm.warp(exitableAtOf(f.txHash));
        _prepare(carol, 0, abi.encodeCall(IRootChain.processInFlightExit, (address(0), ifeData(f, bob))));
    }

    function test_gas_processInFlightExit_twoPiggybacks() public {
        // Cleared: the queue header (its only entry) and the exit's data hash. The transaction record keeps the
        // outputs' exit bits; the input's record gets its exited bit (a fresh slot).
        _report("processInFlightExit, canonical, two piggybacks", _measure(2), TARGET_IFE_PROCESS);
    }
}

/// @notice The other side: a non-canonical exit paying a piggybacked input, with a piggybacked output not paid.
contract ProcessNonCanonicalGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 1 << 4);
        piggybackInput(f, bob, 0);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 0.4 ether, "double spend");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
        vm.warp(exitableAtOf(f.txHash));
        _prepare(carol, 0, abi.encodeCall(IRootChain.processInFlightExit, (address(0), ifeData(f, dave))));
    }

    function test_gas_processInFlightExit_nonCanonical() public {
        _report("processInFlightExit, non-canonical, two piggybacks", _measure(2), TARGET_IFE_PROCESS);
    }
}

contract DeleteInFlightExitGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 0);
        vm.warp(firstHalfEnd(f.txHash));
        _prepare(carol, 0, abi.encodeCall(IRootChain.deleteInFlightExit, (ifeData(f, bob))));
    }

    function test_gas_deleteInFlightExit() public {
        _report("deleteInFlightExit", _measure(0), TARGET_IFE_PROCESS);
    }
}

/// @notice For the bond sizing: processing an entry with one piggyback (the marginal cost of a piggyback payout is
///         the difference with two).
contract ProcessOnePiggybackGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 1 << 4);
        vm.warp(exitableAtOf(f.txHash));
        _prepare(carol, 0, abi.encodeCall(IRootChain.processInFlightExit, (address(0), ifeData(f, bob))));
    }

    function test_gas_processInFlightExit_onePiggyback() public {
        _report("processInFlightExit, canonical, one piggyback", _measure(2), TARGET_IFE_PROCESS);
    }
}

/// @notice For the bond sizing: popping the entry of an exit with nothing piggybacked (deleted), what spam costs the
///         processor.
contract ProcessDeletedInFlightExitGasTest is InFlightGasTest {
    function setUp() public override {
        super.setUp();
        _payment();
        startIfe(f, bob, 0);
        vm.warp(firstHalfEnd(f.txHash));
        chain.deleteInFlightExit(ifeData(f, bob));
        vm.warp(exitableAtOf(f.txHash));
        _prepare(carol, 0, abi.encodeCall(IRootChain.processInFlightExit, (address(0), ifeData(f, bob))));
    }

    function test_gas_processInFlightExit_deleted() public {
        // Cleared: the queue header and the data hash; the record of the transaction is zero again (no output bits).
        _report("processInFlightExit, deleted (nothing to pay)", _measure(3), TARGET_IFE_PROCESS);
    }
}
