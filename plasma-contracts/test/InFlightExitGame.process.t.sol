// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {InFlightFixture} from "./utils/InFlightFixture.sol";
import {TxLib} from "./utils/TxLib.sol";
import {Vm, vm} from "./utils/Vm.sol";

/// @notice Processing of in-flight exits: payouts and bonds, the shared queue, one exited record per output across
///         both kinds of exit, and a test for each MoreVP bug of earlier Plasma chains (OMG #102/#104, #470, PR #591,
///         #584/#440) and the issue's own hostile scenario.
contract InFlightExitProcessTest is InFlightFixture {
    using TxLib for PaymentTx.Transaction;

    IRootChain.PiggybackOutcome internal constant PAID = IRootChain.PiggybackOutcome.Paid;
    IRootChain.PiggybackOutcome internal constant NOT_PAID = IRootChain.PiggybackOutcome.NotPaid;
    IRootChain.PiggybackOutcome internal constant ALREADY = IRootChain.PiggybackOutcome.AlreadyExited;

    // =============================================================== payouts

    function test_processInFlightExit_canonicalPaysOutputsAndReturnsBonds() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 1 << 4); // Bob starts and piggybacks his output
        piggybackOutput(f, 1); // Alice her change
        piggybackInput(f, bob, 0); // and, hedging, her input
        uint256 aliceBefore = alice.balance;
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + MEP);
        assertEq(chain.processExits(address(0), 10), 0, "processExits stops at an in-flight entry");
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(0), true, true);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputWithdrawn(f.txHash, 0, alice, address(0), 1 ether, NOT_PAID);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 0, bob, address(0), 0.25 ether, PAID);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 1, alice, address(0), 0.75 ether, PAID);
        vm.prank(carol);
        processIfe(f, bob, address(0));
        assertEq(
            bob.balance, bobBefore + 0.25 ether + PIGGYBACK_BOND + IFE_BOND, "output, its bond, the exit bond"
        );
        assertEq(alice.balance, aliceBefore + 0.75 ether + 2 * PIGGYBACK_BOND, "change and both bonds");
        assertEq(address(chain).balance, 0, "nothing stranded");
        assertEq(chain.exitQueueLength(address(0)), 0);
        (uint256 exitableAt,,,,,) = chain.getInFlightExit(f.txHash);
        assertEq(exitableAt, 0, "finished");
        _assertExited(f.txHash, 0);
        _assertExited(f.txHash, 1);
        // A canonical exit that paid outputs spent its inputs: Alice cannot exit hers again.
        _assertExited(f.inputs[0].txHash, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, f.inputs[0].txHash, 0)
        );
        startExit(alice, input.pos, input.txBytes, input.proof);
    }

    function test_processInFlightExit_nonCanonicalPaysInputsAndTheChallenger() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        piggybackInput(f, bob, 0);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1 ether, "double spend");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
        uint256 aliceBefore = alice.balance;
        uint256 bobBefore = bob.balance;
        uint256 daveBefore = dave.balance;
        vm.warp(START_TIME + MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(0), false, true);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputWithdrawn(f.txHash, 0, alice, address(0), 1 ether, PAID);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 0, bob, address(0), 0.25 ether, NOT_PAID);
        processIfe(f, dave, address(0));
        assertEq(alice.balance, aliceBefore + 1 ether + PIGGYBACK_BOND, "input paid");
        assertEq(bob.balance, bobBefore + PIGGYBACK_BOND, "output not paid, bond back");
        assertEq(dave.balance, daveBefore + IFE_BOND, "the challenger takes the exit bond");
        assertEq(address(chain).balance, 0);
        _assertExited(f.inputs[0].txHash, 0);
        (bool se, bool exited) = chain.outputExits(f.txHash, 0);
        assertFalse(se || exited, "outputs of a non-canonical exit stay unexited");
    }

    function test_processInFlightExit_responderTakesTheBond() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 3);
        startIfe(f, bob, 1 << 4);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1, "x");
        Included memory inc = includeTx(t, 5);
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(
            ifeData(f, bob), 0, competitor, UtxoPos.encode(inc.blknum, 5, 0), inc.proof
        );
        vm.prank(carol);
        chain.respondToNonCanonicalChallenge(ifeData(f, dave), txPos, proof);
        uint256 carolBefore = carol.balance;
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + MEP);
        processIfe(f, carol, address(0));
        assertEq(carol.balance, carolBefore + IFE_BOND);
        assertEq(bob.balance, bobBefore + 0.25 ether + PIGGYBACK_BOND);
    }

    function test_processInFlightExit_eachTokenInItsOwnQueue() public {
        Coin memory eth = ethCoin(alicePk, 1 ether);
        Coin memory tkn = tokenCoin(alicePk, 500);
        PaymentTx.Output[] memory outs = new PaymentTx.Output[](2);
        outs[0] = TxLib.output(bob, address(token), 500);
        outs[1] = TxLib.output(alice, address(0), 0.99 ether);
        InFlight memory f = payment(coins2(eth, tkn), outs, bytes32(0));
        startIfe(f, bob, 1 << 4);
        piggybackOutput(f, 1);
        vm.warp(START_TIME + MEP);
        uint256 aliceBefore = alice.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(0), true, false);
        processIfe(f, bob, address(0));
        assertEq(
            alice.balance, aliceBefore + 0.99 ether + PIGGYBACK_BOND, "ETH change paid from the ETH queue"
        );
        assertEq(token.balanceOf(bob), 0, "the token output waits for the token queue");
        (uint256 exitableAt,,,, bool processing,) = chain.getInFlightExit(f.txHash);
        assertTrue(exitableAt != 0 && processing, "still active, canonicity final");
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.NotInFlightExitToken.selector, f.txHash, address(0))
        );
        processIfe(f, bob, address(0));
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(token), true, true);
        processIfe(f, bob, address(token));
        assertEq(token.balanceOf(bob), 500);
        assertEq(token.balanceOf(address(chain)), 0);
        assertEq(address(chain).balance, 0.01 ether, "the fee stays, owned by nobody on L1");
    }

    function test_processInFlightExit_tokenOutputAndEthBond() public {
        Coin memory eth = ethCoin(alicePk, 1 ether);
        Coin memory tkn = tokenCoin(alicePk, 500);
        PaymentTx.Output[] memory outs = new PaymentTx.Output[](1);
        outs[0] = TxLib.output(bob, address(token), 500);
        InFlight memory f = payment(coins2(eth, tkn), outs, bytes32(0));
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP);
        processIfe(f, bob, address(0));
        uint256 bobBefore = bob.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 0, bob, address(token), 500, PAID);
        processIfe(f, bob, address(token));
        assertEq(token.balanceOf(bob), 500);
        assertEq(bob.balance, bobBefore + PIGGYBACK_BOND, "the piggyback bond is ETH");
    }

    // =============================================================== the queue

    function test_processExits_stopsAtInFlightEntryUntilItIsPopped() public {
        uint256 first = _depositExit(carol, 1 ether); // deposit 1
        (InFlight memory f,) = alicePaysBob(); // input: deposit 2
        startIfe(f, bob, 1 << 4);
        uint256 last = _depositExit(dave, 1 ether); // deposit 3
        vm.warp(START_TIME + MEP);
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 1, "the exit ahead of it");
        assertEq(_finalized(vm.getRecordedLogs()), first);
        (, uint256 position, bool inFlight) = chain.exitQueueTop(address(0));
        assertTrue(inFlight);
        assertEq(position, f.transaction.inputs[0]);
        assertEq(chain.processExits(address(0), 10), 0, "stuck until someone pops it");
        processIfe(f, bob, address(0));
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 1);
        assertEq(_finalized(vm.getRecordedLogs()), last);
    }

    function test_processInFlightExit_revertsIfNotNext() public {
        _depositExit(carol, 1 ether);
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP - 1);
        chain.processExits(address(0), 10);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotNext.selector, f.txHash, address(0)));
        processIfe(f, bob, address(0)); // a standard exit is ahead
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        processIfe(f, bob, address(0));
    }

    function test_processInFlightExit_revertsBeforeExitable() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP - 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotNext.selector, f.txHash, address(0)));
        processIfe(f, bob, address(0));
    }

    function test_processInFlightExit_revertsIfTokenNotInExit() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.NotInFlightExitToken.selector, f.txHash, address(token))
        );
        processIfe(f, bob, address(token));
    }

    /// @notice Competing exits started together share an entry's value; each pops one entry, in any order.
    function test_processInFlightExit_identicalEntriesOfCompetitors() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        InFlight memory g = payment(coins1(input), outputs1(carol, address(0), 1 ether), "competitor");
        startIfe(f, bob, 1 << 4);
        startIfe(g, alice, 0);
        vm.warp(START_TIME + MEP);
        processIfe(g, alice, address(0)); // either may go first
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotFound.selector, g.txHash));
        processIfe(g, alice, address(0));
        processIfe(f, bob, address(0));
        assertEq(chain.exitQueueLength(address(0)), 0);
    }

    // =============================================================== one exited record across both kinds of exit

    /// @notice Piggyback first, standard exit second: the standard exit owns the output; the piggyback is skipped.
    function test_outputPaidOnce_standardExitStartedAfterPiggyback() public {
        (InFlight memory f,) = alicePaysBob();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 9);
        startIfe(f, bob, 1 << 4);
        startExit(bob, txPos, f.txBytes, proof); // allowed: the standard exit takes the output
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 0, bob, address(0), 0.25 ether, ALREADY);
        processIfe(f, bob, address(0));
        chain.processExits(address(0), 10);
        assertEq(bob.balance, bobBefore + 0.25 ether + BOND + PIGGYBACK_BOND + IFE_BOND, "0.25 paid once");
    }

    function test_outputPaidOnce_inFlightPaidOutputCannotStandardExit() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP);
        processIfe(f, bob, address(0));
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 9); // included later, at any position
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, f.txHash, 0));
        startExit(bob, txPos, f.txBytes, proof);
    }

    /// @notice The same transaction included twice is still one output: one standard exit, at either position.
    function test_outputPaidOnce_doubleInclusionHasOneStandardExit() public {
        (InFlight memory f,) = alicePaysBob();
        (uint256 a, bytes memory proofA) = includeInFlight(f, 9);
        (uint256 b, bytes memory proofB) = includeInFlight(f, 10);
        startExit(bob, a, f.txBytes, proofA);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, f.txHash, 0));
        startExit(bob, b, f.txBytes, proofB);
    }

    /// @notice An active standard exit of an input that the in-flight exit pays is closed (its bond to the processor).
    function test_inputPaidOnce_activeStandardExitIsClosedByInFlightPayout() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, alice, 1);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "x");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, alice), 0, competitor, 0, "");
        vm.warp(START_TIME + 1 hours);
        startExit(alice, input.pos, input.txBytes, input.proof); // queued behind the in-flight exit
        uint256 aliceBefore = alice.balance;
        uint256 carolBefore = carol.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitChallenged(input.pos, carol);
        vm.prank(carol);
        processIfe(f, dave, address(0));
        assertEq(carol.balance, carolBefore + BOND, "the processor takes the closed exit's bond");
        assertEq(chain.processExits(address(0), 10), 1, "its entry is popped and skipped");
        assertEq(alice.balance, aliceBefore + 1 ether + PIGGYBACK_BOND, "1 ether paid once");
        (IRootChain.ExitStatus status,,) = chain.getExit(input.pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
    }

    function test_inputPaidOnce_paidStandardExitBlocksInFlightPayout() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startExit(alice, input.pos, input.txBytes, input.proof); // ahead of the in-flight exit
        vm.warp(START_TIME + 1);
        startIfe(f, alice, 1);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "x");
        chain.challengeInFlightExitNotCanonical(ifeData(f, alice), 0, competitor, 0, "");
        vm.warp(START_TIME + MEP + 1);
        chain.processExits(address(0), 1);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputWithdrawn(f.txHash, 0, alice, address(0), 1 ether, ALREADY);
        processIfe(f, address(this), address(0));
    }

    /// @notice The issue's hostile scenario: Alice signs a payment, the operator commits it and publishes only the
    ///         root, then challenges Alice's exit of her input with her own signature. The in-flight exit pays
    ///         everyone: Bob his output, Alice her change.
    function test_issueScenario_withheldPaymentExitsInFlight() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        includeInFlight(f, 0); // the operator commits it and withholds the block
        startExit(alice, input.pos, input.txBytes, input.proof);
        vm.prank(operator);
        chain.challengeStandardExit(input.pos, f.txBytes, 0, f.sigs[0]); // her own signature
        startIfe(f, alice, 1 << 5); // Alice piggybacks her change
        piggybackOutput(f, 0); // Bob his payment
        uint256 aliceBefore = alice.balance;
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + MEP);
        assertEq(
            chain.processExits(address(0), 10),
            1,
            "pops the challenged exit's entry, ahead of the in-flight one"
        );
        processIfe(f, alice, address(0));
        assertEq(alice.balance, aliceBefore + 0.75 ether + PIGGYBACK_BOND + IFE_BOND);
        assertEq(bob.balance, bobBefore + 0.25 ether + PIGGYBACK_BOND);
        assertEq(address(chain).balance, 0, "nothing locked");
    }

    /// @notice ... and if the payment turns out non-canonical (Alice signed a competitor too), her challenged
    ///         standard exit does not stop her input from exiting in flight.
    function test_issueScenario_challengedInputStillExitsInFlight() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startExit(alice, input.pos, input.txBytes, input.proof);
        vm.prank(operator);
        chain.challengeStandardExit(input.pos, f.txBytes, 0, f.sigs[0]);
        startIfe(f, alice, 1);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "x");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, alice), 0, competitor, 0, "");
        uint256 aliceBefore = alice.balance;
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 10);
        processIfe(f, dave, address(0));
        assertEq(alice.balance, aliceBefore + 1 ether + PIGGYBACK_BOND);
    }

    /// @notice A canonical exit that pays outputs closes a dishonest standard exit of its input: the signed payment
    ///         is proof that the input was spent.
    function test_canonicalPayoutClosesActiveStandardExitOfInput() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + 1 hours);
        startExit(alice, input.pos, input.txBytes, input.proof); // Alice tries to take her input back
        uint256 aliceBefore = alice.balance;
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitChallenged(input.pos, bob);
        vm.prank(bob);
        processIfe(f, bob, address(0));
        chain.processExits(address(0), 10);
        assertEq(
            bob.balance, bobBefore + 0.25 ether + PIGGYBACK_BOND + IFE_BOND + BOND, "Bob also takes her bond"
        );
        assertEq(alice.balance, aliceBefore, "nothing for the double dip");
    }

    /// @notice If Alice's standard exit of the input is paid first, the payment can no longer be canonical: Bob's
    ///         watcher must challenge her exit with the payment (a signed spend) within its exit period.
    function test_standardExitPaidInputMakesExitNonCanonical() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startExit(alice, input.pos, input.txBytes, input.proof);
        vm.warp(START_TIME + 1);
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + MEP + 1);
        chain.processExits(address(0), 1);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(0), false, true);
        processIfe(f, bob, address(0));
    }

    // =============================================================== lessons of OMG's MoreVP contracts

    /// @notice OMG #102/#104: canonicity gamed under withholding. Alice signs T to Bob and T' to herself; T is
    ///         canonical and pays Bob, so all of T's inputs are marked exited and T' cannot pay her the input again.
    function test_lesson102_canonicalPayoutMarksAllInputs() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        InFlight memory g = payment(coins1(input), outputs1(alice, address(0), 1 ether), "to herself");
        startIfe(f, bob, 1 << 4);
        vm.warp(START_TIME + 1);
        startIfe(g, alice, 1); // later: queued behind T
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(
            ifeData(g, alice), 0, IRootChain.Spend(f.txBytes, 0, f.sigs[0]), 0, ""
        );
        vm.warp(START_TIME + MEP + 1);
        processIfe(f, bob, address(0));
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputWithdrawn(g.txHash, 0, alice, address(0), 1 ether, ALREADY);
        processIfe(g, dave, address(0));
        assertEq(address(chain).balance, 0.75 ether, "Alice's unclaimed change of T, nothing paid twice");
    }

    /// @notice OMG #470: competing exits stranded an honest input. Alice and Bob pay Carol together (T); Alice also
    ///         signs T' spending only her input. T is non-canonical, T' canonical: Bob's input is still paid.
    function test_lesson470_competingExitsDoNotStrandAnHonestInput() public {
        Coin memory a = ethCoin(alicePk, 1 ether);
        Coin memory b = ethCoin(bobPk, 2 ether);
        InFlight memory t = payment(coins2(a, b), outputs1(carol, address(0), 3 ether), "together");
        InFlight memory t2 = payment(coins1(a), outputs1(dave, address(0), 1 ether), "alone");
        startIfe(t, bob, 1 << 1); // Bob piggybacks his input
        startIfe(t2, dave, 1 << 4);
        chain.challengeInFlightExitNotCanonical(
            ifeData(t, bob), 0, IRootChain.Spend(t2.txBytes, 0, t2.sigs[0]), 0, ""
        );
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + MEP);
        processIfe(t2, dave, address(0)); // its youngest input is older: first in the queue; canonical, pays Dave
        processIfe(t, address(this), address(0));
        assertEq(bob.balance, bobBefore + 2 ether + PIGGYBACK_BOND, "Bob's own input");
        assertEq(dave.balance, 100 ether - IFE_BOND - PIGGYBACK_BOND + 1 ether + PIGGYBACK_BOND + IFE_BOND);
    }

    /// @notice OMG PR #591: a per-token canonicity check let one shared input be paid twice. Here the first processed
    ///         entry fixes canonicity for every token, and no response can change it afterwards.
    function test_lesson591_canonicityIsFixedAcrossTokens() public {
        Coin memory eth = ethCoin(alicePk, 1 ether);
        Coin memory tkn = tokenCoin(alicePk, 500);
        PaymentTx.Output[] memory outs = new PaymentTx.Output[](2);
        outs[0] = TxLib.output(bob, address(token), 500);
        outs[1] = TxLib.output(bob, address(0), 0.99 ether);
        InFlight memory f = payment(coins2(eth, tkn), outs, bytes32(0));
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 2);
        startIfe(f, bob, (1 << 4) | (1 << 5));
        piggybackInput(f, bob, 0);
        piggybackInput(f, bob, 1);
        (, IRootChain.Spend memory competitor) = spendOf(eth.pos, alicePk, carol, 1, "x");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
        vm.warp(START_TIME + MEP);
        processIfe(f, dave, address(0)); // ETH: not canonical, Alice's ETH input paid, Bob's ETH output not
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitAlreadyProcessing.selector, f.txHash));
        chain.respondToNonCanonicalChallenge(ifeData(f, dave), txPos, proof);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitProcessed(f.txHash, address(token), false, true);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputWithdrawn(f.txHash, 1, alice, address(token), 500, PAID);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(f.txHash, 0, bob, address(token), 500, NOT_PAID);
        processIfe(f, dave, address(token));
        assertEq(token.balanceOf(address(chain)), 0);
        assertEq(address(chain).balance, 0, "every input paid once, no output paid");
    }

    /// @notice OMG #584 / #440: bonds of the losing side and of exits with nothing piggybacked were stranded. Every
    ///         bond here goes back to its owner or to whoever won it, and the contract ends empty.
    function test_lesson584_noBondIsStranded() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        piggybackInput(f, bob, 0); // losing side if canonical
        piggybackOutput(f, 1);
        (, IRootChain.Spend memory spend) = spendOf(input.pos, alicePk, carol, 1, "x");
        vm.prank(dave);
        chain.challengeInFlightExitInputSpent(ifeData(f, bob), 0, spend); // input piggyback removed: bond to Dave
        (InFlight memory g,) = alicePaysBob();
        startIfe(g, carol, 0); // nothing piggybacked: deleted
        vm.warp(firstHalfEnd(g.txHash));
        chain.deleteInFlightExit(ifeData(g, carol));
        vm.warp(START_TIME + MEP);
        processIfe(f, bob, address(0));
        processIfe(g, carol, address(0));
        assertEq(
            address(chain).balance, 1 ether, "only g's unexited deposit is left: every bond was paid out"
        );
        assertEq(dave.balance, 100 ether + PIGGYBACK_BOND);
        assertEq(carol.balance, 100 ether, "the deleted exit's bond came back");
    }

    /// @notice No exit, whatever its data, stops the queue: an in-flight payment of a forged 2^256 - 1 output is
    ///         unfunded at processing (bond returned) and the exit behind it is paid.
    function test_processInFlightExit_poisonedAmountDoesNotJam() public {
        Included memory inc =
            includeTx(TxLib.payment(new uint256[](0), outputs1(bob, address(0), type(uint256).max), "x"), 0);
        Coin memory forged = Coin(
            UtxoPos.encode(inc.blknum, 0, 0),
            inc.txBytes,
            inc.proof,
            bob,
            bobPk,
            address(0),
            type(uint256).max
        );
        InFlight memory f = payment(coins1(forged), outputs1(bob, address(0), type(uint256).max), bytes32(0));
        startIfe(f, bob, 1 << 4); // exitable at START + 2 MEP (an operator-block input)
        vm.warp(START_TIME + MEP + 1);
        uint256 honest = _depositExit(carol, 1 ether); // behind it
        vm.warp(START_TIME + 3 * MEP);
        uint256 bobBefore = bob.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(
            f.txHash, 0, bob, address(0), type(uint256).max, IRootChain.PiggybackOutcome.Unfunded
        );
        processIfe(f, bob, address(0));
        assertEq(bob.balance, bobBefore + PIGGYBACK_BOND + IFE_BOND);
        vm.recordLogs();
        chain.processExits(address(0), 10);
        assertEq(_finalized(vm.getRecordedLogs()), honest);
    }

    // =============================================================== fuzz: proofs at every position

    /// @notice An input committed at any index of its block starts an exit, with its proof at that index only.
    function testFuzz_startInFlightExit_inputAtAnyPosition(uint256 txIndex, uint256 otherIndex) public {
        txIndex = bound(txIndex, 0, 65_535);
        otherIndex = bound(otherIndex, 0, 65_535);
        Coin memory dep = ethCoin(alicePk, 1 ether);
        PaymentTx.Transaction memory t = TxLib.oneInTwoOut(
            dep.pos, TxLib.output(bob, address(0), 0.4 ether), TxLib.output(alice, address(0), 0.6 ether)
        );
        Included memory inc = includeTx(t, txIndex);
        Coin memory paid = Coin(
            UtxoPos.encode(inc.blknum, txIndex, 0), inc.txBytes, inc.proof, bob, bobPk, address(0), 0.4 ether
        );
        if (otherIndex != txIndex) {
            Coin memory moved = Coin(
                UtxoPos.encode(inc.blknum, otherIndex, 0),
                inc.txBytes,
                inc.proof,
                bob,
                bobPk,
                address(0),
                0.4 ether
            );
            InFlight memory wrong = payment(coins1(moved), outputs1(carol, address(0), 0.4 ether), bytes32(0));
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, moved.pos));
            startIfe(wrong, bob, 0);
        }
        InFlight memory f = payment(coins1(paid), outputs1(carol, address(0), 0.4 ether), bytes32(0));
        startIfe(f, bob, 1);
        (, uint256 position,) = chain.exitQueueTop(address(0));
        assertEq(position, paid.pos);
    }

    /// @notice A response holds for the in-flight transaction at any index of its block, and at that index only.
    function testFuzz_respondToNonCanonicalChallenge_atAnyPosition(uint256 txIndex, uint256 otherIndex)
        public
    {
        txIndex = bound(txIndex, 0, 65_535);
        otherIndex = bound(otherIndex, 0, 65_535);
        (InFlight memory f, Coin memory input) = alicePaysBob();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, txIndex);
        startIfe(f, bob, 1 << 4);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "x");
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
        if (otherIndex != txIndex) {
            uint256 moved = UtxoPos.encode(txPos / 1e9, otherIndex, 0);
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, moved));
            chain.respondToNonCanonicalChallenge(ifeData(f, address(this)), moved, proof);
        }
        chain.respondToNonCanonicalChallenge(ifeData(f, address(this)), txPos, proof);
        (,, bool canonical, uint256 recorded,,) = chain.getInFlightExit(f.txHash);
        assertTrue(canonical);
        assertEq(recorded, txPos);
    }

    /// @notice An included competitor at any index of its block challenges, with its proof at that index only.
    function testFuzz_challengeInFlightExitNotCanonical_competitorAtAnyPosition(
        uint256 txIndex,
        uint256 otherIndex
    ) public {
        txIndex = bound(txIndex, 0, 65_535);
        otherIndex = bound(otherIndex, 0, 65_535);
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1, "x");
        Included memory inc = includeTx(t, txIndex);
        uint256 pos = UtxoPos.encode(inc.blknum, txIndex, 0);
        if (otherIndex != txIndex) {
            uint256 moved = UtxoPos.encode(inc.blknum, otherIndex, 0);
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, moved));
            chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, moved, inc.proof);
        }
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, pos, inc.proof);
        (,, bool canonical, uint256 recorded,,) = chain.getInFlightExit(f.txHash);
        assertFalse(canonical);
        assertEq(recorded, pos);
    }

    /// @notice The output-spent challenge holds for the in-flight transaction at any index, and at that index only.
    function testFuzz_challengeInFlightExitOutputSpent_atAnyPosition(uint256 txIndex, uint256 otherIndex)
        public
    {
        txIndex = bound(txIndex, 0, 65_535);
        otherIndex = bound(otherIndex, 0, 65_535);
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        (uint256 txPos, bytes memory proof) = includeInFlight(f, txIndex);
        (, IRootChain.Spend memory spend) = spendOf(txPos, bobPk, carol, 1, "spent");
        if (otherIndex != txIndex) {
            uint256 moved = UtxoPos.encode(txPos / 1e9, otherIndex, 0);
            (, IRootChain.Spend memory movedSpend) = spendOf(moved, bobPk, carol, 1, "spent");
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, moved));
            chain.challengeInFlightExitOutputSpent(f.txBytes, moved, proof, 0, movedSpend);
        }
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 0, spend);
        assertEq(piggybacksOf(f.txHash), 0);
    }

    /// @notice Any change to the data passed back (an input field or the bond owner) is refused.
    function testFuzz_inFlightExitData_anyChangeIsRefused(uint256 field, uint256 delta) public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        delta = bound(delta, 1, type(uint160).max);
        IRootChain.InFlightExit memory data = ifeData(f, bob);
        field %= 5;
        if (field == 0) data.inputs[0].txHash = bytes32(uint256(data.inputs[0].txHash) ^ delta);
        if (field == 1) data.inputs[0].owner = address(uint160(data.inputs[0].owner) ^ uint160(delta));
        if (field == 2) data.inputs[0].token = address(uint160(delta));
        if (field == 3) data.inputs[0].amount ^= delta;
        if (field == 4) data.bondOwner = address(uint160(bob) ^ uint160(delta));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitDataMismatch.selector, f.txHash));
        vm.prank(alice);
        chain.piggybackInFlightExitOnInput{value: PIGGYBACK_BOND}(data, 0);
    }

    // =============================================================== helpers

    function _depositExit(address who, uint256 amount) internal returns (uint256 pos) {
        uint256 blknum = depositEth(who, amount);
        bytes memory txBytes;
        bytes memory proof;
        (pos, txBytes, proof) = depositExit(who, address(0), amount, blknum);
        startExit(who, pos, txBytes, proof);
    }

    function _finalized(Vm.Log[] memory logs) internal pure returns (uint256 pos) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IRootChain.ExitFinalized.selector) return uint256(logs[i].topics[1]);
        }
    }

    function _assertExited(bytes32 txHash, uint256 outputIndex) internal view {
        (, bool exited) = chain.outputExits(txHash, outputIndex);
        assertTrue(exited, "exited in flight");
    }
}
