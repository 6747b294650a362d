// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {InFlightFixture} from "./utils/InFlightFixture.sol";
import {TxLib} from "./utils/TxLib.sol";
import {Vm, vm} from "./utils/Vm.sol";

/// @notice The operator's fee claim (docs/PROTOCOL.md): an operator block may end with one transaction without
///         inputs or signatures, one ETH output to the operator's fee address of at most the fees the block's other
///         transactions paid (Σ ETH inputs − Σ ETH outputs), and the block number as metadata. The contract checks
///         nothing new: the claim's output is exited by an ordinary standard exit, spent and challenged like any
///         output, and refused as an in-flight exit (it has no inputs).
contract RootChainFeeClaimTest is InFlightFixture {
    uint256 internal constant FEE_A = 0.01 ether + 7;
    uint256 internal constant FEE_B = 0.005 ether + 11;

    uint256 internal feePk = 0xFEE5;
    address internal feeAddress;

    /// @notice A committed operator block: its transactions at leaves 0 … n − 1 (the fee claim, if any, last) and the
    ///         proof of each.
    struct FeeBlock {
        uint256 blknum;
        bytes[] txBytes;
        bytes[] proofs;
    }

    function setUp() public override {
        super.setUp();
        feeAddress = vm.addr(feePk);
        vm.label(feeAddress, "fee address");
    }

    // =============================================================== exit of the fees

    /// @notice Two users pay fees in one block (a token payment beside them pays none); the block ends with a claim
    ///         of exactly the fees; the fee address exits it and is paid exactly the fees; every other output exits
    ///         too, and the contract is left with the unrelated deposit alone, to the wei.
    function test_feeClaim_exitPaysTheFeeAddressExactlyTheBlocksFees() public {
        (FeeBlock memory blk, uint256 fees) = _threePaymentsBlock();
        assertEq(fees, FEE_A + FEE_B, "the block's fees: ETH in minus ETH out, the token payment pays none");
        Coin memory claim = claimCoin(blk, fees);
        assertEq(claim.pos, UtxoPos.encode(1000, 3, 0), "the claim is the block's last transaction");
        assertEq(claim.txBytes, TxLib.encode(feeClaimTx(fees, 1000)), "claim bytes");
        assertEq(address(chain).balance, 6 ether, "deposits");

        vm.deal(feeAddress, BOND);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(claim.pos, feeAddress, address(0), fees, START_TIME + 2 * MEP);
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);
        assertEq(feeAddress.balance, 0, "the bond is all the fee address had");
        (IRootChain.ExitStatus status, address owner, uint256 amount) = chain.getExit(claim.pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Active));
        assertEq(owner, feeAddress);
        assertEq(amount, fees);
        (bool standardExit, bool inFlight) = chain.outputExits(keccak256(claim.txBytes), 0);
        assertTrue(standardExit && !inFlight, "the claim's record");

        // Every other output of the block exits too.
        uint256[4] memory before = [alice.balance, bob.balance, carol.balance, dave.balance];
        startExit(bob, UtxoPos.encode(1000, 0, 0), blk.txBytes[0], blk.proofs[0]);
        startExit(alice, UtxoPos.encode(1000, 0, 1), blk.txBytes[0], blk.proofs[0]);
        startExit(carol, UtxoPos.encode(1000, 1, 0), blk.txBytes[1], blk.proofs[1]);
        startExit(bob, UtxoPos.encode(1000, 1, 1), blk.txBytes[1], blk.proofs[1]);
        startExit(alice, UtxoPos.encode(1000, 2, 0), blk.txBytes[2], blk.proofs[2]);
        startExit(dave, UtxoPos.encode(1000, 2, 1), blk.txBytes[2], blk.proofs[2]);
        assertEq(address(chain).balance, 6 ether + 7 * BOND, "seven bonds");

        vm.warp(START_TIME + 2 * MEP - 1);
        assertEq(chain.processExits(address(0), 10), 0, "not before the exit period");
        vm.warp(START_TIME + 2 * MEP);
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 5);
        assertEq(chain.processExits(address(token), 10), 2);
        assertFinalized(vm.getRecordedLogs(), claim.pos, feeAddress, address(0), fees);

        assertEq(feeAddress.balance, fees + BOND, "the fee address is paid the fees and its bond");
        assertEq(alice.balance, before[0] + 0.7 ether - FEE_A, "alice: her change, her two bonds back");
        assertEq(bob.balance, before[1] + 0.3 ether + 0.5 ether - FEE_B, "bob: two outputs, two bonds back");
        assertEq(carol.balance, before[2] + 1.5 ether, "carol");
        assertEq(dave.balance, before[3], "dave: his bond back");
        assertEq(token.balanceOf(alice), 200);
        assertEq(token.balanceOf(dave), 300);
        assertEq(address(chain).balance, 3 ether, "only carol's unrelated deposit is left");
        assertEq(token.balanceOf(address(chain)), 0, "no token is left");
        (status,, amount) = chain.getExit(claim.pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
        assertEq(amount, 0);
    }

    /// @notice Block 1000: Alice pays Bob and herself (fee FEE_A), Bob pays Carol and himself (fee FEE_B), Dave pays
    ///         tokens to Alice and himself (no fee: tokens balance exactly), then the claim of the block's fees.
    ///         Carol's 3 ETH deposit beside them is never touched.
    function _threePaymentsBlock() internal returns (FeeBlock memory blk, uint256 fees) {
        Coin[] memory ins = new Coin[](3);
        ins[0] = ethCoin(alicePk, 1 ether);
        ins[1] = ethCoin(bobPk, 2 ether);
        ins[2] = tokenCoin(davePk, 500);
        depositEth(carol, 3 ether);
        InFlight[] memory pays = new InFlight[](3);
        pays[0] = payment(coins1(ins[0]), outputs2(bob, 0.3 ether, alice, 0.7 ether - FEE_A, address(0)), 0);
        pays[1] = payment(coins1(ins[1]), outputs2(carol, 1.5 ether, bob, 0.5 ether - FEE_B, address(0)), 0);
        pays[2] = payment(coins1(ins[2]), outputs2(alice, 200, dave, 300, address(token)), 0);
        fees = blockFees(pays, ins);
        blk = commit(pays, fees);
    }

    /// @notice A claim below the fees (allowed: at most the fees) is paid exactly; the rest of the fees belongs to
    ///         no output and stays in the contract.
    function test_feeClaim_belowTheFeesIsPaidExactlyAndTheRestStaysLocked() public {
        uint256 fee = 0.02 ether;
        uint256 claimed = fee - 5;
        (FeeBlock memory blk, Coin memory claim) = aliceFeeBlock(fee, claimed);
        vm.deal(feeAddress, BOND);
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);
        startExit(bob, UtxoPos.encode(blk.blknum, 0, 0), blk.txBytes[0], blk.proofs[0]);
        vm.warp(START_TIME + 2 * MEP);
        assertEq(chain.processExits(address(0), 10), 2);
        assertEq(feeAddress.balance, claimed + BOND, "paid what it claimed, not the fees");
        assertEq(address(chain).balance, 5, "the 5 wei not claimed are nobody's");
    }

    // =============================================================== spent fee outputs

    /// @notice The fee address spends its fee output on the chain (its payment pays a fee too, claimed at the end of
    ///         the next block); an exit of the spent fee output is challenged with that spend like any output's; the
    ///         outputs downstream of it still exit, and nothing is left over.
    function test_feeClaim_exitOfSpentFeeOutputIsChallengedWithTheSpend() public {
        uint256 fee = 0.02 ether + 3;
        (FeeBlock memory blk1, Coin memory claim1) = aliceFeeBlock(fee, fee);
        InFlight[] memory pays = new InFlight[](1);

        vm.warp(START_TIME + 1 hours);
        uint256 fee2 = 1000;
        pays[0] = payment(coins1(claim1), outputs1(carol, address(0), fee - fee2), 0);
        InFlight memory spend = pays[0];
        FeeBlock memory blk2 = commit(pays, fee2);
        Coin memory claim2 = claimCoin(blk2, fee2);
        assertEq(blk2.blknum, 2000);

        // The fee address exits the fee output it spent; a watcher challenges with its signed spend.
        vm.deal(feeAddress, BOND);
        startExit(feeAddress, claim1.pos, claim1.txBytes, claim1.proof);
        uint256 daveBefore = dave.balance;
        vm.expectEmit(address(chain));
        emit IRootChain.ExitChallenged(claim1.pos, dave);
        vm.prank(dave);
        chain.challengeStandardExit(claim1.pos, spend.txBytes, 0, spend.sigs[0]);
        assertEq(dave.balance, daveBefore + BOND, "the challenger takes the bond");
        (IRootChain.ExitStatus status,, uint256 amount) = chain.getExit(claim1.pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
        assertEq(amount, 0);
        vm.deal(feeAddress, BOND);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, claim1.pos));
        startExit(feeAddress, claim1.pos, claim1.txBytes, claim1.proof);

        // Bob's output, the spend's output and the next block's claim exit.
        uint256 bobBefore = bob.balance;
        uint256 carolBefore = carol.balance;
        startExit(bob, UtxoPos.encode(1000, 0, 0), blk1.txBytes[0], blk1.proofs[0]);
        startExit(carol, UtxoPos.encode(2000, 0, 0), blk2.txBytes[0], blk2.proofs[0]);
        startExit(feeAddress, claim2.pos, claim2.txBytes, claim2.proof);
        vm.warp(START_TIME + 1 hours + 2 * MEP);
        assertEq(chain.processExits(address(0), 10), 4, "three payouts and the challenged entry");
        assertEq(bob.balance, bobBefore + 1 ether - fee);
        assertEq(carol.balance, carolBefore + fee - fee2);
        assertEq(feeAddress.balance, fee2 + BOND, "the second claim; the first bond went to the challenger");
        assertEq(address(chain).balance, 0, "nothing left over");
    }

    /// @notice A payment spending a fee output exits in flight like any payment (the claim is its input's creating
    ///         transaction); the in-flight payout spends the fee output, so its standard exit is then refused.
    function test_feeClaim_feeOutputSpentInFlightExitsAsAnInput() public {
        uint256 fee = 0.01 ether;
        (, Coin memory claim) = aliceFeeBlock(fee, fee);

        InFlight memory f = payment(coins1(claim), outputs1(carol, address(0), fee), "withheld");
        assertEq(f.inputs[0].txHash, keccak256(claim.txBytes));
        vm.deal(carol, carol.balance + IFE_BOND + PIGGYBACK_BOND);
        startIfe(f, carol, 1 << 4); // carol starts and piggybacks her output
        uint256 carolBefore = carol.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.InFlightExitOutputWithdrawn(
            f.txHash, 0, carol, address(0), fee, IRootChain.PiggybackOutcome.Paid
        );
        processIfe(f, carol, address(0));
        assertEq(carol.balance, carolBefore + fee + PIGGYBACK_BOND + IFE_BOND, "the fee, both bonds");
        (, bool exitedInFlight) = chain.outputExits(keccak256(claim.txBytes), 0);
        assertTrue(exitedInFlight, "the fee output is spent by the canonical payout");
        vm.deal(feeAddress, BOND);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, keccak256(claim.txBytes), 0)
        );
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);
        assertEq(address(chain).balance, 1 ether - fee, "bob's output alone is left");
    }

    // =============================================================== in-flight exits and hashes

    /// @notice A fee claim has no inputs, so it cannot be exited in flight, whatever data is passed with it, and its
    ///         output cannot be piggybacked; nothing is recorded or queued. Its standard exit still works.
    function test_feeClaim_cannotStartAnInFlightExit() public {
        uint256 fee = 0.01 ether;
        (FeeBlock memory blk, Coin memory claim) = aliceFeeBlock(fee, fee);
        bytes32 claimHash = keccak256(claim.txBytes);
        vm.deal(feeAddress, IFE_BOND + PIGGYBACK_BOND + BOND);

        vm.expectRevert(IRootChain.InFlightTxHasNoInputs.selector);
        vm.prank(feeAddress);
        chain.startInFlightExit{value: IFE_BOND}(
            claim.txBytes, new bytes[](0), new bytes[](0), new bytes[](0), 0
        );

        // Nor with one made-up input (the claim itself, signed by the fee address) and a piggyback of its output.
        bytes[] memory one = new bytes[](1);
        one[0] = claim.txBytes;
        bytes[] memory proofs = new bytes[](1);
        proofs[0] = claim.proof;
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = TxLib.sign(feeClaimTx(fee, blk.blknum), address(chain), feePk);
        vm.expectRevert(IRootChain.InFlightTxHasNoInputs.selector);
        vm.prank(feeAddress);
        chain.startInFlightExit{value: IFE_BOND + PIGGYBACK_BOND}(claim.txBytes, one, proofs, sigs, 1 << 4);

        vm.expectRevert(abi.encodeWithSelector(IRootChain.InFlightExitNotFound.selector, claimHash));
        vm.prank(feeAddress);
        chain.piggybackInFlightExitOnOutput{value: PIGGYBACK_BOND}(claim.txBytes, 0);

        (uint256 exitableAt,,,,,) = chain.getInFlightExit(claimHash);
        assertEq(exitableAt, 0, "no in-flight exit");
        (bool standardExit, bool exitedInFlight) = chain.outputExits(claimHash, 0);
        assertTrue(!standardExit && !exitedInFlight, "nothing recorded");
        assertEq(chain.exitQueueLength(address(0)), 0, "nothing queued");
        assertEq(address(chain).balance, 1 ether, "no bond kept");

        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);
        vm.warp(START_TIME + 2 * MEP);
        assertEq(chain.processExits(address(0), 1), 1);
        assertEq(feeAddress.balance, IFE_BOND + PIGGYBACK_BOND + fee + BOND, "the standard exit pays");
    }

    /// @notice Claims of equal amounts in two blocks differ only in their metadata (the block number): different
    ///         bytes, different hashes, different transaction records, so both exit.
    function test_feeClaim_equalClaimsInTwoBlocksHaveDifferentHashesAndBothExit() public {
        uint256 fee = 0.01 ether;
        (FeeBlock memory blk1, FeeBlock memory blk2) = _twoBlocksPayingFee(fee, true);
        Coin memory claim1 = claimCoin(blk1, fee);
        Coin memory claim2 = claimCoin(blk2, fee);
        bytes32 hash1 = keccak256(claim1.txBytes);
        bytes32 hash2 = keccak256(claim2.txBytes);
        assertTrue(hash1 != hash2, "different hashes");
        // The two encodings differ exactly in word 4, the metadata: 1000 and 2000.
        assertEq(claim1.txBytes.length, claim2.txBytes.length, "same length");
        assertEq(_word(claim1.txBytes, 4), 1000, "metadata of block 1000");
        assertEq(_word(claim2.txBytes, 4), 2000, "metadata of block 2000");
        bytes memory rewritten = bytes.concat(claim1.txBytes);
        _setWord(rewritten, 4, 2000);
        assertEq(rewritten, claim2.txBytes, "nothing else differs");

        vm.deal(feeAddress, 2 * BOND);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(claim1.pos, feeAddress, address(0), fee, START_TIME + 2 * MEP);
        startExit(feeAddress, claim1.pos, claim1.txBytes, claim1.proof);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(claim2.pos, feeAddress, address(0), fee, START_TIME + 1 hours + 2 * MEP);
        startExit(feeAddress, claim2.pos, claim2.txBytes, claim2.proof);
        (bool se1,) = chain.outputExits(hash1, 0);
        (bool se2,) = chain.outputExits(hash2, 0);
        assertTrue(se1 && se2, "one record each");
        vm.warp(START_TIME + 1 hours + 2 * MEP);
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertFinalized(logs, claim1.pos, feeAddress, address(0), fee);
        assertFinalized(logs, claim2.pos, feeAddress, address(0), fee);
        assertEq(feeAddress.balance, 2 * fee + 2 * BOND, "both claims paid");
        assertEq(address(chain).balance, 2 * (1 ether - fee), "the payments' outputs are left");
    }

    /// @notice Why the metadata rule: claims of equal amounts without the block number in their metadata would be the
    ///         same bytes, one transaction record, and the second could never exit (an operator that breaks the rule
    ///         loses its second claim; watchers flag the block anyway).
    function test_feeClaim_withoutBlockNumberMetadataEqualClaimsShareOneRecord() public {
        uint256 fee = 0.01 ether;
        (FeeBlock memory blk1, FeeBlock memory blk2) = _twoBlocksPayingFee(fee, false);
        Coin memory claim1 = claimCoin(blk1, fee);
        Coin memory claim2 = claimCoin(blk2, fee);
        assertEq(claim1.txBytes, claim2.txBytes, "the same bytes");
        vm.deal(feeAddress, 2 * BOND);
        startExit(feeAddress, claim1.pos, claim1.txBytes, claim1.proof);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, keccak256(claim1.txBytes), 0)
        );
        startExit(feeAddress, claim2.pos, claim2.txBytes, claim2.proof);
    }

    // =============================================================== once, ever

    /// @notice A fee claim's output exits once, ever, by its owner only, like any output: a second start reverts
    ///         before and after processing, and so does a start at another position where the operator committed the
    ///         same claim again.
    function test_feeClaim_exitsOnlyOnce() public {
        uint256 fee = 0.01 ether;
        (, Coin memory claim) = aliceFeeBlock(fee, fee);
        vm.deal(feeAddress, 3 * BOND);

        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotOutputOwner.selector, bob, feeAddress));
        startExit(bob, claim.pos, claim.txBytes, claim.proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputIndexOutOfRange.selector, 1, 1));
        startExit(feeAddress, claim.pos + 1, claim.txBytes, claim.proof);

        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, claim.pos));
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);

        vm.warp(START_TIME + 2 * MEP);
        assertEq(chain.processExits(address(0), 10), 1);
        assertEq(feeAddress.balance, 2 * BOND + fee + BOND, "paid once");
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, claim.pos));
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof);

        // The operator commits the same claim bytes again, alone in a later block.
        (bytes32 root, bytes memory proof) = MerkleTree.single(MerkleTree.leaf(claim.txBytes), 0);
        uint256 again = chain.nextChildBlock();
        vm.prank(operator);
        chain.submitBlock(root);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.OutputAlreadyExited.selector, keccak256(claim.txBytes), 0)
        );
        startExit(feeAddress, UtxoPos.encode(again, 0, 0), claim.txBytes, proof);
        assertEq(chain.exitQueueLength(address(0)), 0);
        assertEq(address(chain).balance, 1 ether - fee, "bob's output alone is left");
    }

    // =============================================================== what the contract does not check

    /// @notice The amount rule is the watchers' (an over-claim makes the block invalid); the contract accepts the exit
    ///         of an over-claim as it would any output's. The claim being the block's last transaction, it sorts after
    ///         every other output of its block at the same exit time, and after every older output exited in time:
    ///         they are paid first, and the over-claim finds the contract unable to fund it.
    function test_feeClaim_overClaimIsNotCheckedOnChainAndSortsLastInItsBlock() public {
        uint256 carolPos = UtxoPos.encode(depositEth(carol, 2 ether), 0, 0);
        uint256 fee = 0.01 ether;
        uint256 overClaim = 2.5 ether; // more than the 0.01 ether of fees
        (FeeBlock memory blk, Coin memory claim) = aliceFeeBlock(fee, overClaim);

        vm.deal(feeAddress, BOND);
        startExit(feeAddress, claim.pos, claim.txBytes, claim.proof); // accepted: the contract checks no amount
        (, bytes memory carolTx, bytes memory carolProof) =
            depositExit(carol, address(0), 2 ether, carolPos / 1e9);
        startExit(carol, carolPos, carolTx, carolProof);
        uint256 bobPos = UtxoPos.encode(blk.blknum, 0, 0);
        startExit(bob, bobPos, blk.txBytes[0], blk.proofs[0]);
        assertLt(
            chain.nextExit(address(0)), priorityOf(START_TIME + 2 * MEP, bobPos), "carol's deposit first"
        );

        uint256 bobBefore = bob.balance;
        uint256 carolBefore = carol.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(carolPos, carol, address(0), 2 ether, true);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(bobPos, bob, address(0), 1 ether - fee, true);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitUnfunded(claim.pos, feeAddress, address(0), overClaim);
        assertEq(chain.processExits(address(0), 10), 3);
        assertEq(carol.balance, carolBefore + 2 ether + BOND);
        assertEq(bob.balance, bobBefore + 1 ether - fee + BOND);
        assertEq(feeAddress.balance, BOND, "only its bond back");
        assertEq(address(chain).balance, fee, "the real fee, unclaimed, is left");
    }

    // =============================================================== helpers

    /// @notice The fee claim of block `blknum`: no inputs, one ETH output of `amount` to the fee address, the block
    ///         number as metadata.
    function feeClaimTx(uint256 amount, uint256 blknum) internal view returns (PaymentTx.Transaction memory) {
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
        outputs[0] = TxLib.output(feeAddress, address(0), amount);
        return TxLib.payment(new uint256[](0), outputs, bytes32(blknum));
    }

    /// @notice The fees of a block's payments: Σ ETH inputs − Σ ETH outputs (`ins[i]` is the one input of `pays[i]`).
    function blockFees(InFlight[] memory pays, Coin[] memory ins) internal pure returns (uint256 fees) {
        int256 sum;
        for (uint256 i; i < pays.length; ++i) {
            if (ins[i].token == address(0)) sum += int256(ins[i].amount);
            PaymentTx.Output[] memory outs = pays[i].transaction.outputs;
            for (uint256 j; j < outs.length; ++j) {
                if (outs[j].token == address(0)) sum -= int256(outs[j].amount);
            }
        }
        require(sum >= 0, "outputs exceed inputs");
        return uint256(sum);
    }

    /// @notice Commit the next operator block: `pays` at leaves 0 … n − 1, then (if `claim` != 0) the fee claim of
    ///         `claim` wei at leaf n.
    /// @notice Commits a block of one payment, Alice's fresh 1 ether coin to Bob paying `fee`, ended by a claim of
    ///         `claimed`; returns the block and the claim's coin.
    function aliceFeeBlock(uint256 fee, uint256 claimed)
        internal
        returns (FeeBlock memory blk, Coin memory claim)
    {
        Coin memory a = ethCoin(alicePk, 1 ether);
        InFlight[] memory pays = new InFlight[](1);
        pays[0] = payment(coins1(a), outputs1(bob, address(0), 1 ether - fee), 0);
        blk = commit(pays, claimed);
        claim = claimCoin(blk, claimed);
    }

    function commit(InFlight[] memory pays, uint256 claim) internal returns (FeeBlock memory blk) {
        blk = _commit(pays, claim, true);
    }

    function _commit(InFlight[] memory pays, uint256 claim, bool blknumMetadata)
        internal
        returns (FeeBlock memory blk)
    {
        blk.blknum = chain.nextChildBlock();
        uint256 n = pays.length + (claim != 0 ? 1 : 0);
        blk.txBytes = new bytes[](n);
        blk.proofs = new bytes[](n);
        uint256[] memory indices = new uint256[](n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i; i < pays.length; ++i) {
            blk.txBytes[i] = pays[i].txBytes;
        }
        if (claim != 0) {
            blk.txBytes[n - 1] = TxLib.encode(feeClaimTx(claim, blknumMetadata ? blk.blknum : 0));
        }
        for (uint256 i; i < n; ++i) {
            indices[i] = i;
            leaves[i] = MerkleTree.leaf(blk.txBytes[i]);
        }
        bytes32 root;
        for (uint256 i; i < n; ++i) {
            (root, blk.proofs[i]) = MerkleTree.rootAndProof(indices, leaves, i);
        }
        vm.prank(operator);
        chain.submitBlock(root);
    }

    /// @notice The fee claim's output (the block's last transaction) as a coin of the fee address.
    function claimCoin(FeeBlock memory blk, uint256 amount) internal view returns (Coin memory c) {
        uint256 last = blk.txBytes.length - 1;
        return Coin(
            UtxoPos.encode(blk.blknum, last, 0),
            blk.txBytes[last],
            blk.proofs[last],
            feeAddress,
            feePk,
            address(0),
            amount
        );
    }

    /// @notice Blocks 1000 (at START_TIME) and 2000 (an hour later), each of one payment paying `fee`, each ending
    ///         with a claim of `fee` (metadata the block number, or zero).
    function _twoBlocksPayingFee(uint256 fee, bool blknumMetadata)
        internal
        returns (FeeBlock memory blk1, FeeBlock memory blk2)
    {
        Coin memory a = ethCoin(alicePk, 1 ether);
        Coin memory b = ethCoin(bobPk, 1 ether);
        InFlight[] memory pays = new InFlight[](1);
        pays[0] = payment(coins1(a), outputs1(carol, address(0), 1 ether - fee), 0);
        blk1 = _commit(pays, fee, blknumMetadata);
        vm.warp(START_TIME + 1 hours);
        pays[0] = payment(coins1(b), outputs1(carol, address(0), 1 ether - fee), 0);
        blk2 = _commit(pays, fee, blknumMetadata);
    }

    /// @notice `ExitFinalized(pos, owner, tkn, amount, paid = true)` is among `logs`.
    function assertFinalized(Vm.Log[] memory logs, uint256 pos, address owner, address tkn, uint256 amount)
        internal
        view
    {
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(chain) || logs[k].topics[0] != IRootChain.ExitFinalized.selector) {
                continue;
            }
            if (uint256(logs[k].topics[1]) != pos) continue;
            (address o, address t, uint256 a, bool paid) =
                abi.decode(logs[k].data, (address, address, uint256, bool));
            assertEq(o, owner, "payout owner");
            assertEq(t, tkn, "payout token");
            assertEq(a, amount, "payout amount");
            assertTrue(paid, "paid");
            return;
        }
        fail(string.concat("no ExitFinalized for ", vm.toString(pos)));
    }

    function _word(bytes memory b, uint256 i) internal pure returns (uint256 w) {
        assembly {
            w := mload(add(add(b, 32), mul(i, 32)))
        }
    }

    function _setWord(bytes memory b, uint256 i, uint256 w) internal pure {
        assembly {
            mstore(add(add(b, 32), mul(i, 32)), w)
        }
    }
}
