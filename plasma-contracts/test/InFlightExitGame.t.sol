// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {InFlightExitGame} from "../src/InFlightExitGame.sol";
import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {Merkle} from "../src/libraries/Merkle.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {InFlightFixture} from "./utils/InFlightFixture.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {TxLib} from "./utils/TxLib.sol";
import {Vm, vm} from "./utils/Vm.sol";

/// @notice Every entry point and every revert of the in-flight exit game (start, piggybacks, canonicity, piggyback
///         challenges, deletion), with reverts checked by selector and arguments. Processing, the interplay with
///         standard exits and the lessons of earlier Plasma chains are in InFlightExitGame.process.t.sol.
contract InFlightExitGameTest is InFlightFixture {
    // =============================================================== startInFlightExit

    function test_startInFlightExit_recordsExitAndQueuesEntry() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitStarted(f.txHash, bob, f.txBytes, f.inputs, f.sigs[0], START_TIME + MEP);
        startIfe(f, bob, 0);
        (
            uint256 exitableAt,
            uint256 piggybacks,
            bool canonical,
            uint256 competitor,
            bool processing,
            bytes32 data
        ) = chain.getInFlightExit(f.txHash);
        assertEq(exitableAt, START_TIME + MEP, "a deposit input: max(ts + MEP, now + MEP)");
        assertEq(piggybacks, 0);
        assertTrue(canonical, "canonical until challenged");
        assertEq(competitor, 0);
        assertFalse(processing);
        assertEq(data, keccak256(abi.encode(f.inputs, bob)), "data hash: inputs and bond owner");
        (uint256 at, uint256 position, bool inFlight) = chain.exitQueueTop(address(0));
        assertEq(at, START_TIME + MEP);
        assertEq(position, input.pos, "ordered by its youngest input");
        assertTrue(inFlight);
        assertEq(chain.nextExit(address(0)), priorityOf(START_TIME + MEP, input.pos));
        assertEq(chain.exitQueueLength(address(0)), 1);
        assertEq(address(chain).balance, 1 ether + IFE_BOND);
    }

    function test_startInFlightExit_piggybacksInTheSameCall() public {
        (InFlight memory f,) = alicePaysBob();
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitStarted(f.txHash, alice, f.txBytes, f.inputs, f.sigs[0], START_TIME + MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputPiggybacked(f.txHash, alice, 0);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputPiggybacked(f.txHash, alice, 1);
        startIfe(f, alice, (1 << 0) | (1 << 5)); // her input and her change
        assertEq(piggybacksOf(f.txHash), (1 << 0) | (1 << 5));
        assertEq(address(chain).balance, 1 ether + IFE_BOND + 2 * PIGGYBACK_BOND);
    }

    function test_startInFlightExit_youngestOperatorBlockInputWaitsTwoPeriods() public {
        Coin memory dep = ethCoin(alicePk, 1 ether);
        (Coin memory paid,) = spendCoin(dep, bobPk, 0.4 ether); // operator block 1000 at START_TIME
        InFlight memory f = payment(coins1(paid), outputs1(carol, address(0), 0.4 ether), bytes32(0));
        vm.warp(START_TIME + 1 hours);
        startIfe(f, bob, 0);
        assertEq(exitableAtOf(f.txHash), START_TIME + 2 * MEP, "max(ts + 2 MEP, now + MEP)");
    }

    function test_startInFlightExit_oldInputsWaitOnePeriodFromNow() public {
        (InFlight memory f,) = alicePaysBob();
        vm.warp(START_TIME + 30 days);
        startIfe(f, bob, 0);
        assertEq(exitableAtOf(f.txHash), START_TIME + 30 days + MEP);
    }

    /// @notice Each input keeps its own bound: a fresh deposit cannot pull an exit ahead of an operator-block input.
    function test_startInFlightExit_exitableAtIsTheLargestInputBound() public {
        Coin memory dep = ethCoin(alicePk, 1 ether);
        (, Coin memory change) = spendCoin(dep, bobPk, 0.4 ether); // block 1000 at START_TIME: bound START + 2 MEP
        vm.warp(START_TIME + 1 hours);
        Coin memory fresh = ethCoin(alicePk, 1 ether); // deposit 1001: bound START + 1h + MEP, the youngest input
        InFlight memory f =
            payment(coins2(change, fresh), outputs1(bob, address(0), 1.6 ether), keccak256("two inputs"));
        startIfe(f, bob, 0);
        assertEq(exitableAtOf(f.txHash), START_TIME + 2 * MEP);
        (, uint256 position,) = chain.exitQueueTop(address(0));
        assertEq(position, fresh.pos, "position: the youngest input");
    }

    function test_startInFlightExit_queuesOneEntryPerToken() public {
        Coin memory eth = ethCoin(alicePk, 1 ether);
        Coin memory tkn = tokenCoin(alicePk, 500);
        PaymentTx.Output[] memory outs = new PaymentTx.Output[](2);
        outs[0] = TxLib.output(bob, address(token), 500);
        outs[1] = TxLib.output(alice, address(0), 0.99 ether);
        InFlight memory f = payment(coins2(eth, tkn), outs, bytes32(0));
        startIfe(f, bob, 0);
        assertEq(chain.exitQueueLength(address(0)), 1, "ETH queue");
        assertEq(chain.exitQueueLength(address(token)), 1, "token queue");
        (,, bool inFlight) = chain.exitQueueTop(address(token));
        assertTrue(inFlight);
    }

    function test_startInFlightExit_revertsIfNoInputs() public {
        InFlight memory f = payment(new Coin[](0), outputs1(bob, address(0), 1), bytes32(0));
        vm.expectRevert(IRootChain.InFlightTxHasNoInputs.selector);
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfArraysDoNotMatchInputs() public {
        (InFlight memory f,) = alicePaysBob();
        bytes[] memory none = new bytes[](0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputCountMismatch.selector, 1, 0));
        chain.startInFlightExit{value: IFE_BOND}(f.txBytes, none, f.proofs, f.sigs, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputCountMismatch.selector, 1, 0));
        chain.startInFlightExit{value: IFE_BOND}(f.txBytes, f.inputTxs, none, f.sigs, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputCountMismatch.selector, 1, 0));
        chain.startInFlightExit{value: IFE_BOND}(f.txBytes, f.inputTxs, f.proofs, none, 0);
    }

    /// @notice Audit finding of OMG's contracts: duplicate exit ids from non-canonical encodings. Only the canonical
    ///         bytes start an exit, so a transaction has one exit id.
    function test_startInFlightExit_revertsIfEncodingNotCanonical() public {
        (InFlight memory f,) = alicePaysBob();
        f.txBytes[31] = 0x40; // head offset
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 0));
        startIfe(f, bob, 0);
        (f,) = alicePaysBob();
        f.txBytes = bytes.concat(f.txBytes, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, f.txBytes.length));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfInputsNotDistinct() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        InFlight memory f = payment(coins2(c, c), outputs1(bob, address(0), 1 ether), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.DuplicateInput.selector, 0, 1));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfInputBlockMissing() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        c.pos = UtxoPos.encode(5000, 0, 0);
        InFlight memory f = payment(coins1(c), outputs1(bob, address(0), 1), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.BlockNotFound.selector, 5000));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfInputOutputIndexOutOfRange() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        c.pos += 1; // the deposit has one output
        InFlight memory f = payment(coins1(c), outputs1(bob, address(0), 1), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputIndexOutOfRange.selector, 1, 1));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfInputTxNotCanonical() public {
        (InFlight memory f,) = alicePaysBob();
        f.inputTxs[0] = bytes.concat(f.inputTxs[0], bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, f.inputTxs[0].length));
        startIfe(f, bob, 0);
    }

    /// @notice OMG's audit found one Merkle proof verifying at several indices: here a proof holds at its index only.
    function test_startInFlightExit_revertsIfInclusionProofWrong() public {
        Coin memory dep = ethCoin(alicePk, 1 ether);
        (Coin memory paid,) = spendCoin(dep, bobPk, 0.4 ether); // at index 7 of block 1000
        Coin memory wrongIndex =
            Coin(UtxoPos.encode(1000, 6, 0), paid.txBytes, paid.proof, bob, bobPk, address(0), 0.4 ether);
        InFlight memory f = payment(coins1(wrongIndex), outputs1(carol, address(0), 1), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, wrongIndex.pos));
        startIfe(f, bob, 0);
        f = payment(coins1(paid), outputs1(carol, address(0), 1), bytes32(0));
        f.proofs[0][100] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, paid.pos));
        startIfe(f, bob, 0);
        f.proofs[0] = new bytes(480);
        vm.expectRevert(abi.encodeWithSelector(Merkle.InvalidProofLength.selector, 480));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfNotSignedByInputOwner() public {
        (InFlight memory f,) = alicePaysBob();
        f.sigs[0] = TxLib.sign(f.transaction, address(chain), bobPk);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, bob, alice));
        startIfe(f, bob, 0);
        f.sigs[0] = new bytes(64);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, address(0), alice));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfSignedForAnotherRootChain() public {
        (InFlight memory f,) = alicePaysBob();
        f.sigs[0] = TxLib.sign(f.transaction, address(0xBEEF), alicePk);
        vm.expectRevert();
        startIfe(f, bob, 0);
    }

    /// @notice The operator can commit a transaction whose input is its own output 0: it cannot exit in flight.
    function test_startInFlightExit_revertsIfTxSpendsItself() public {
        uint256 self = UtxoPos.encode(chain.nextChildBlock(), 3, 0);
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = self;
        PaymentTx.Transaction memory t =
            TxLib.payment(inputs, outputs1(alice, address(0), 1 ether), bytes32(0));
        Included memory inc = includeTx(t, 3);
        Coin memory c = Coin(self, inc.txBytes, inc.proof, alice, alicePk, address(0), 1 ether);
        InFlight memory f = payment(coins1(c), t.outputs, bytes32(0));
        assertEq(f.txHash, keccak256(inc.txBytes));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightTxSpendsItself.selector, 0));
        startIfe(f, alice, 0);
    }

    function test_startInFlightExit_revertsIfOutputsExceedInputs() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        InFlight memory f = payment(coins1(c), outputs2(bob, 0.5 ether, alice, 0.5 ether + 1, address(0)), 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputsExceedInputs.selector, address(0)));
        startIfe(f, bob, 0);
        // Per token: ETH inputs do not cover token outputs.
        f = payment(coins1(c), outputs1(bob, address(token), 1), 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputsExceedInputs.selector, address(token)));
        startIfe(f, bob, 0);
        // An output sum that overflows is refused, not wrapped.
        f = payment(coins1(c), outputs2(bob, type(uint256).max, alice, 2, address(0)), 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputsExceedInputs.selector, address(0)));
        startIfe(f, bob, 0);
    }

    function test_startInFlightExit_revertsIfAlreadyStarted() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitAlreadyStarted.selector, f.txHash));
        startIfe(f, alice, 0);
    }

    function test_startInFlightExit_revertsIfBondWrong() public {
        (InFlight memory f,) = alicePaysBob();
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidBond.selector, IFE_BOND, 0));
        chain.startInFlightExit(f.txBytes, f.inputTxs, f.proofs, f.sigs, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.InvalidBond.selector, IFE_BOND + PIGGYBACK_BOND, IFE_BOND)
        );
        vm.prank(alice);
        chain.startInFlightExit{value: IFE_BOND}(f.txBytes, f.inputTxs, f.proofs, f.sigs, 1);
    }

    function test_startInFlightExit_revertsIfPiggybackIndexInvalid() public {
        (InFlight memory f,) = alicePaysBob();
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackIndexInvalid.selector, 1)); // input 1
        startIfe(f, alice, 1 << 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackIndexInvalid.selector, 6)); // output 2
        startIfe(f, alice, 1 << 6);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackIndexInvalid.selector, 9));
        startIfe(f, alice, 1 << 9);
    }

    function test_startInFlightExit_revertsIfPiggybackNotOwn() public {
        (InFlight memory f,) = alicePaysBob();
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotPiggybackOwner.selector, bob, alice));
        startIfe(f, bob, 1 << 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotPiggybackOwner.selector, alice, bob));
        startIfe(f, alice, 1 << 4);
    }

    function test_startInFlightExit_revertsIfPiggybackZeroAmount() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        InFlight memory f = payment(coins1(c), outputs2(bob, 0, alice, 1 ether, address(0)), 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ZeroAmountPiggyback.selector, 4));
        startIfe(f, bob, 1 << 4);
    }

    // =============================================================== piggybacks

    function test_piggybackInFlightExitOnInput_recordsPiggyback() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputPiggybacked(f.txHash, alice, 0);
        piggybackInput(f, bob, 0);
        assertEq(piggybacksOf(f.txHash), 1);
        assertEq(address(chain).balance, 1 ether + IFE_BOND + PIGGYBACK_BOND);
    }

    function test_piggybackInFlightExitOnOutput_recordsPiggyback() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputPiggybacked(f.txHash, bob, 0);
        piggybackOutput(f, 0);
        assertEq(piggybacksOf(f.txHash), 1 << 4);
    }

    function test_piggyback_revertsAfterFirstHalf() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        uint256 end = firstHalfEnd(f.txHash);
        assertEq(end, START_TIME + MEP - MEP / 2);
        vm.warp(end - 1);
        piggybackOutput(f, 0); // still open
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.FirstHalfOver.selector, f.txHash, end));
        piggybackOutput(f, 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.FirstHalfOver.selector, f.txHash, end));
        piggybackInput(f, bob, 0);
    }

    function test_piggyback_revertsIfBondWrong() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidBond.selector, PIGGYBACK_BOND, 0));
        vm.prank(bob);
        chain.piggybackInFlightExitOnOutput(f.txBytes, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidBond.selector, PIGGYBACK_BOND, 1));
        vm.prank(alice);
        chain.piggybackInFlightExitOnInput{value: 1}(ifeData(f, bob), 0);
    }

    function test_piggyback_revertsIfIndexOutOfRange() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputIndexOutOfRange.selector, 2, 2));
        vm.prank(bob);
        chain.piggybackInFlightExitOnOutput{value: PIGGYBACK_BOND}(f.txBytes, 2);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputIndexOutOfRange.selector, 1, 1));
        vm.prank(alice);
        chain.piggybackInFlightExitOnInput{value: PIGGYBACK_BOND}(ifeData(f, bob), 1);
    }

    function test_piggyback_revertsIfNotOwner() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotPiggybackOwner.selector, alice, bob));
        vm.prank(alice);
        chain.piggybackInFlightExitOnOutput{value: PIGGYBACK_BOND}(f.txBytes, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotPiggybackOwner.selector, bob, alice));
        vm.prank(bob);
        chain.piggybackInFlightExitOnInput{value: PIGGYBACK_BOND}(ifeData(f, bob), 0);
    }

    function test_piggyback_revertsIfAlreadyPiggybacked() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, alice, 1 | (1 << 5));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.AlreadyPiggybacked.selector, f.txHash, 5));
        piggybackOutput(f, 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.AlreadyPiggybacked.selector, f.txHash, 0));
        piggybackInput(f, alice, 0);
    }

    function test_piggybackInFlightExitOnOutput_revertsIfZeroAmount() public {
        Coin memory c = ethCoin(alicePk, 1 ether);
        InFlight memory f = payment(coins1(c), outputs2(bob, 0, alice, 1 ether, address(0)), 0);
        startIfe(f, alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ZeroAmountPiggyback.selector, 4));
        piggybackOutput(f, 0);
    }

    /// @notice An output with a standard exit (at any position) cannot be piggybacked: it exits once.
    function test_piggybackInFlightExitOnOutput_revertsIfOutputHasStandardExit() public {
        (InFlight memory f,) = alicePaysBob();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 9); // the operator includes it and withholds
        startExit(bob, txPos, f.txBytes, proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, f.txHash, 0));
        startIfe(f, bob, 1 << 4);
        startIfe(f, alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, f.txHash, 0));
        piggybackOutput(f, 0);
        piggybackOutput(f, 1); // Alice's change has no exit
    }

    function test_piggyback_revertsIfNoExitOrDataWrong() public {
        (InFlight memory f,) = alicePaysBob();
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotFound.selector, f.txHash));
        piggybackOutput(f, 0);
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitDataMismatch.selector, f.txHash));
        piggybackInput(f, alice, 0); // the bond owner is Bob
        f.inputs[0].amount += 1;
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitDataMismatch.selector, f.txHash));
        piggybackInput(f, bob, 0);
    }

    // =============================================================== non-canonical challenge and response

    function test_challengeInFlightExitNotCanonical_withUnincludedCompetitor() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1 ether, "double spend");
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitChallenged(f.txHash, dave, 0, keccak256(TxLib.encode(t)), 0);
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
        (,, bool canonical, uint256 recorded,, bytes32 data) = chain.getInFlightExit(f.txHash);
        assertFalse(canonical);
        assertEq(recorded, type(uint64).max, "unincluded: the youngest possible");
        assertEq(data, keccak256(abi.encode(f.inputs, dave)), "the challenger owns the bond");
    }

    function test_challengeInFlightExitNotCanonical_olderCompetitorReplacesRecord() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        (, IRootChain.Spend memory unincluded) = spendOf(input.pos, alicePk, carol, 1, "a");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, unincluded, 0, "");
        (PaymentTx.Transaction memory t, IRootChain.Spend memory included) =
            spendOf(input.pos, alicePk, carol, 2, "b");
        Included memory inc = includeTx(t, 12);
        uint256 pos = UtxoPos.encode(inc.blknum, 12, 0);
        vm.prank(carol);
        chain.challengeInFlightExitNotCanonical(ifeData(f, dave), 0, included, pos, inc.proof);
        (,, bool canonical, uint256 recorded,, bytes32 data) = chain.getInFlightExit(f.txHash);
        assertFalse(canonical);
        assertEq(recorded, pos);
        assertEq(data, keccak256(abi.encode(f.inputs, carol)));
    }

    function test_challengeInFlightExitNotCanonical_revertsIfCompetitorNotOlder() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory included) =
            spendOf(input.pos, alicePk, carol, 1, "a");
        Included memory inc = includeTx(t, 12);
        uint256 pos = UtxoPos.encode(inc.blknum, 12, 0);
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, included, pos, inc.proof);
        (, IRootChain.Spend memory unincluded) = spendOf(input.pos, alicePk, carol, 1, "b");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.CompetitorNotOlder.selector, type(uint64).max, pos));
        chain.challengeInFlightExitNotCanonical(ifeData(f, dave), 0, unincluded, 0, "");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.CompetitorNotOlder.selector, pos, pos));
        chain.challengeInFlightExitNotCanonical(ifeData(f, dave), 0, included, pos, inc.proof);
    }

    function test_challengeInFlightExitNotCanonical_revertsAfterFirstHalf() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "a");
        uint256 end = firstHalfEnd(f.txHash);
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.FirstHalfOver.selector, f.txHash, end));
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, 0, "");
    }

    function test_challengeInFlightExitNotCanonical_revertsIfCompetitorInvalid() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        IRootChain.InFlightExit memory data = ifeData(f, bob);
        (, IRootChain.Spend memory competitor) = spendOf(input.pos, alicePk, carol, 1, "a");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputIndexOutOfRange.selector, 1, 1));
        chain.challengeInFlightExitNotCanonical(data, 1, competitor, 0, "");
        // The in-flight transaction is not its own competitor, in any encoding.
        IRootChain.Spend memory itself = IRootChain.Spend(f.txBytes, 0, f.sigs[0]);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.SpendIsInFlightTx.selector, f.txHash));
        chain.challengeInFlightExitNotCanonical(data, 0, itself, 0, "");
        itself.txBytes = bytes.concat(f.txBytes, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, itself.txBytes.length));
        chain.challengeInFlightExitNotCanonical(data, 0, itself, 0, "");
        // It must spend the shared input, be signed by its owner.
        (, IRootChain.Spend memory other) = spendOf(input.pos + 1e9, alicePk, carol, 1, "a");
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.InputDoesNotSpendExit.selector, input.pos + 1e9, input.pos)
        );
        chain.challengeInFlightExitNotCanonical(data, 0, other, 0, "");
        (, IRootChain.Spend memory bobSigned) = spendOf(input.pos, bobPk, carol, 1, "a");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, bob, alice));
        chain.challengeInFlightExitNotCanonical(data, 0, bobSigned, 0, "");
        competitor.inputIndex = 1;
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputIndexOutOfRange.selector, 1, 1));
        chain.challengeInFlightExitNotCanonical(data, 0, competitor, 0, "");
    }

    function test_challengeInFlightExitNotCanonical_revertsIfCompetitorInclusionWrong() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        IRootChain.InFlightExit memory data = ifeData(f, bob);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1, "a");
        Included memory inc = includeTx(t, 12);
        uint256 pos = UtxoPos.encode(inc.blknum, 12, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidTxPosition.selector, pos + 1));
        chain.challengeInFlightExitNotCanonical(data, 0, competitor, pos + 1, inc.proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.BlockNotFound.selector, 9000));
        chain.challengeInFlightExitNotCanonical(data, 0, competitor, UtxoPos.encode(9000, 12, 0), inc.proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, pos - 1e4));
        chain.challengeInFlightExitNotCanonical(data, 0, competitor, pos - 1e4, inc.proof);
    }

    function test_respondToNonCanonicalChallenge_restoresCanonicity() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 4); // block 1000
        startIfe(f, bob, 0);
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1, "a");
        Included memory inc = includeTx(t, 12); // block 2000: younger
        uint256 pos = UtxoPos.encode(inc.blknum, 12, 0);
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, pos, inc.proof);
        vm.warp(firstHalfEnd(f.txHash) + 1); // a response is open until processing
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitChallengeResponded(f.txHash, carol, txPos);
        vm.prank(carol);
        chain.respondToNonCanonicalChallenge(ifeData(f, dave), txPos, proof);
        (,, bool canonical, uint256 recorded,, bytes32 data) = chain.getInFlightExit(f.txHash);
        assertTrue(canonical);
        assertEq(recorded, txPos, "the transaction's own position is the record now");
        assertEq(data, keccak256(abi.encode(f.inputs, carol)), "the responder owns the bond");
    }

    function test_respondToNonCanonicalChallenge_reverts() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotChallenged.selector, f.txHash));
        chain.respondToNonCanonicalChallenge(ifeData(f, bob), 1e12, "");
        (PaymentTx.Transaction memory t, IRootChain.Spend memory competitor) =
            spendOf(input.pos, alicePk, carol, 1, "a");
        Included memory inc = includeTx(t, 12); // block 1000: older than the inclusion below
        uint256 pos = UtxoPos.encode(inc.blknum, 12, 0);
        chain.challengeInFlightExitNotCanonical(ifeData(f, bob), 0, competitor, pos, inc.proof);
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 4); // block 2000
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ResponseNotOlder.selector, txPos, pos));
        chain.respondToNonCanonicalChallenge(ifeData(f, address(this)), txPos, proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, txPos + 1e4));
        chain.respondToNonCanonicalChallenge(ifeData(f, address(this)), txPos + 1e4, proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidTxPosition.selector, txPos + 2));
        chain.respondToNonCanonicalChallenge(ifeData(f, address(this)), txPos + 2, proof);
    }

    /// @notice Once the first of an exit's queue entries is processed, canonicity is final for all its tokens.
    function test_respondToNonCanonicalChallenge_revertsOnceProcessingBegan() public {
        Coin memory eth = ethCoin(alicePk, 1 ether);
        InFlight memory g =
            payment(coins2(eth, tokenCoin(alicePk, 10)), tokenAndChange(bob, 10, alice), bytes32(0));
        (uint256 txPos, bytes memory proof) = includeInFlight(g, 4);
        startIfe(g, alice, 1);
        (, IRootChain.Spend memory competitor) = spendOf(eth.pos, alicePk, carol, 1, "a");
        vm.prank(dave);
        chain.challengeInFlightExitNotCanonical(ifeData(g, alice), 0, competitor, 0, "");
        vm.warp(START_TIME + MEP);
        processIfe(g, dave, address(0)); // ETH entry: not canonical, Alice's ETH input paid
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitAlreadyProcessing.selector, g.txHash));
        chain.respondToNonCanonicalChallenge(ifeData(g, dave), txPos, proof);
    }

    // =============================================================== piggyback challenges

    function test_challengeInFlightExitInputSpent_removesPiggybackAndPaysBond() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, alice, 1);
        (, IRootChain.Spend memory spend) = spendOf(input.pos, alicePk, carol, 1, "elsewhere");
        uint256 before = dave.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitInputBlocked(f.txHash, dave, 0);
        vm.prank(dave);
        chain.challengeInFlightExitInputSpent(ifeData(f, alice), 0, spend);
        assertEq(dave.balance, before + PIGGYBACK_BOND);
        assertEq(piggybacksOf(f.txHash), 0);
    }

    /// @notice OMG #593: the input-spent challenge used the wrong index. Here the exit's input index and the spend's
    ///         input index are separate, and each is checked against its own transaction.
    function test_challengeInFlightExitInputSpent_usesTheRightIndices() public {
        Coin memory a = ethCoin(alicePk, 1 ether);
        Coin memory b = ethCoin(bobPk, 1 ether);
        InFlight memory f = payment(coins2(a, b), outputs1(carol, address(0), 2 ether), bytes32(0));
        startIfe(f, bob, 1 << 1); // Bob piggybacks input 1
        IRootChain.InFlightExit memory data = ifeData(f, bob);
        // A spend of input 1 at the spend's index 1.
        uint256[] memory ins = new uint256[](2);
        ins[0] = UtxoPos.encode(3000, 0, 0);
        ins[1] = b.pos;
        PaymentTx.Transaction memory t = TxLib.payment(ins, outputs1(dave, address(0), 1), "spend");
        IRootChain.Spend memory spend =
            IRootChain.Spend(TxLib.encode(t), 1, TxLib.sign(t, address(chain), bobPk));
        // Against input 0 (not piggybacked) it is refused; against input 1 with the spend's index 0 too.
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackNotActive.selector, f.txHash, 0));
        chain.challengeInFlightExitInputSpent(data, 0, spend);
        spend.inputIndex = 0;
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputDoesNotSpendExit.selector, ins[0], b.pos));
        chain.challengeInFlightExitInputSpent(data, 1, spend);
        spend.inputIndex = 1;
        chain.challengeInFlightExitInputSpent(data, 1, spend);
        assertEq(piggybacksOf(f.txHash), 0);
    }

    function test_challengeInFlightExitInputSpent_reverts() public {
        (InFlight memory f, Coin memory input) = alicePaysBob();
        startIfe(f, alice, 1);
        IRootChain.InFlightExit memory data = ifeData(f, alice);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackNotActive.selector, f.txHash, 4));
        chain.challengeInFlightExitInputSpent(data, 4, IRootChain.Spend("", 0, ""));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.SpendIsInFlightTx.selector, f.txHash));
        chain.challengeInFlightExitInputSpent(data, 0, IRootChain.Spend(f.txBytes, 0, f.sigs[0]));
        (, IRootChain.Spend memory bobSigned) = spendOf(input.pos, bobPk, carol, 1, "x");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, bob, alice));
        chain.challengeInFlightExitInputSpent(data, 0, bobSigned);
    }

    function test_challengeInFlightExitOutputSpent_removesPiggybackAndPaysBond() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 21);
        (, IRootChain.Spend memory spend) = spendOf(txPos, bobPk, carol, 1, "bob spent it");
        uint256 before = dave.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputBlocked(f.txHash, dave, 0);
        vm.prank(dave);
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 0, spend);
        assertEq(dave.balance, before + PIGGYBACK_BOND);
        assertEq(piggybacksOf(f.txHash), 0);
    }

    function test_challengeInFlightExitOutputSpent_reverts() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 1 << 4);
        (uint256 txPos, bytes memory proof) = includeInFlight(f, 21);
        (, IRootChain.Spend memory spend) = spendOf(txPos, bobPk, carol, 1, "x");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackNotActive.selector, f.txHash, 5));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 1, spend);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.PiggybackNotActive.selector, f.txHash, 4));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 4, spend);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, txPos + 1e4));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos + 1e4, proof, 0, spend);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidTxPosition.selector, txPos + 1));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos + 1, proof, 0, spend);
        (, IRootChain.Spend memory aliceSigned) = spendOf(txPos, alicePk, carol, 1, "x");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, alice, bob));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 0, aliceSigned);
        (, IRootChain.Spend memory ofChange) = spendOf(txPos + 1, bobPk, carol, 1, "x");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputDoesNotSpendExit.selector, txPos + 1, txPos));
        chain.challengeInFlightExitOutputSpent(f.txBytes, txPos, proof, 0, ofChange);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.InFlightExitNotFound.selector, keccak256(spend.txBytes))
        );
        chain.challengeInFlightExitOutputSpent(spend.txBytes, txPos, proof, 0, spend);
    }

    // =============================================================== deletion

    function test_deleteInFlightExit_returnsBondAfterFirstHalf() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        vm.warp(firstHalfEnd(f.txHash));
        uint256 before = bob.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitDeleted(f.txHash, bob);
        vm.prank(carol);
        chain.deleteInFlightExit(ifeData(f, bob));
        assertEq(bob.balance, before + IFE_BOND, "bond back to its owner, whoever calls");
        // Its queue entry is popped without payouts, and then the transaction may exit in flight again.
        vm.warp(START_TIME + MEP);
        vm.recordLogs();
        processIfe(f, bob, address(0));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only InFlightExitProcessed");
        assertEq(chain.exitQueueLength(address(0)), 0);
        assertEq(address(chain).balance, 1 ether, "only Alice's deposit is left");
        startIfe(f, bob, 0);
    }

    function test_deleteInFlightExit_reverts() public {
        (InFlight memory f,) = alicePaysBob();
        startIfe(f, bob, 0);
        uint256 end = firstHalfEnd(f.txHash);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.FirstHalfNotOver.selector, f.txHash, end));
        chain.deleteInFlightExit(ifeData(f, bob));
        piggybackOutput(f, 0);
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitHasPiggybacks.selector, f.txHash));
        chain.deleteInFlightExit(ifeData(f, bob));
    }

    function test_deleteInFlightExit_revertsIfDeletedOrProcessing() public {
        (InFlight memory f,) = alicePaysBob();
        Coin memory tkn = tokenCoin(alicePk, 10);
        InFlight memory g =
            payment(coins2(ethCoin(alicePk, 1 ether), tkn), outputs1(bob, address(token), 10), 0);
        startIfe(f, bob, 0);
        startIfe(g, bob, 0);
        vm.warp(firstHalfEnd(f.txHash));
        chain.deleteInFlightExit(ifeData(f, bob));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitDeletedAlready.selector, f.txHash));
        chain.deleteInFlightExit(ifeData(f, bob));
        // g has two entries: after its first, its game is over.
        vm.warp(START_TIME + MEP);
        processIfe(f, bob, address(0));
        processIfe(g, bob, address(0));
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitAlreadyProcessing.selector, g.txHash));
        chain.deleteInFlightExit(ifeData(g, bob));
    }

    /// @notice Outputs of a token payment: `amount` of the test token to `to`, 0.9 ETH of change to `changeTo`.
    function tokenAndChange(address to, uint256 amount, address changeTo)
        internal
        view
        returns (PaymentTx.Output[] memory outs)
    {
        outs = new PaymentTx.Output[](2);
        outs[0] = TxLib.output(to, address(token), amount);
        outs[1] = TxLib.output(changeTo, address(0), 0.9 ether);
    }

    // =============================================================== the game's code runs only in the root chain

    function test_inFlightExitGame_revertsIfCalledDirectly() public {
        (InFlight memory f,) = alicePaysBob();
        InFlightExitGame game =
            new InFlightExitGame(operator, MEP, BOND, MIN_DEPOSIT, IFE_BOND, PIGGYBACK_BOND);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotRootChain.selector, address(game)));
        vm.prank(bob);
        game.piggybackInFlightExitOnOutput{value: PIGGYBACK_BOND}(f.txBytes, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotRootChain.selector, address(game)));
        game.processInFlightExit(address(0), ifeData(f, bob));
    }

    function test_views_bondsAndEmptyState() public view {
        assertEq(chain.inFlightExitBond(), IFE_BOND);
        assertEq(chain.piggybackBond(), PIGGYBACK_BOND);
        (uint256 exitableAt,,,,, bytes32 data) = chain.getInFlightExit(keccak256("none"));
        assertEq(exitableAt, 0);
        assertEq(data, bytes32(0));
        (bool se, bool exited) = chain.outputExits(keccak256("none"), 9);
        assertFalse(se);
        assertFalse(exited);
        (uint256 at, uint256 position, bool inFlight) = chain.exitQueueTop(address(0));
        assertEq(at + position, 0);
        assertFalse(inFlight);
    }
}
