// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {RootChain} from "../src/RootChain.sol";
import {Merkle} from "../src/libraries/Merkle.sol";
import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {BlacklistToken, FeeOnTransferToken, GasBurningToken, MockERC20} from "./mocks/Tokens.sol";
import {GasBurningReceiver, RevertingReceiver, TogglingReceiver} from "./mocks/Receivers.sol";
import {ReenteringReceiver} from "./mocks/ReenteringReceiver.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {RootChainFixture} from "./utils/RootChainFixture.sol";
import {TxLib} from "./utils/TxLib.sol";
import {Vm, vm} from "./utils/Vm.sol";

contract RootChainTest is RootChainFixture {
    // =============================================================== constructor

    function test_constructor_setsConfig() public view {
        assertEq(chain.operator(), operator);
        assertEq(chain.minExitPeriod(), MEP);
        assertEq(chain.exitBond(), BOND);
        assertEq(chain.minDeposit(), MIN_DEPOSIT);
        assertEq(chain.nextChildBlock(), 1000);
        assertEq(chain.nextDepositBlock(), 1);
    }

    function test_constructor_revertsIfOperatorZero() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidOperator.selector, address(0)));
        new RootChain(address(0), MEP, BOND, MIN_DEPOSIT, IFE_BOND, PIGGYBACK_BOND);
    }

    function test_constructor_revertsIfMinExitPeriodOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidMinExitPeriod.selector, 0));
        new RootChain(operator, 0, BOND, MIN_DEPOSIT, IFE_BOND, PIGGYBACK_BOND);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidMinExitPeriod.selector, 1 << 32));
        new RootChain(operator, 1 << 32, BOND, MIN_DEPOSIT, IFE_BOND, PIGGYBACK_BOND);
    }

    function test_eip712Domain_isPlasmaV1() public view {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            chain.eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("Plasma"));
        assertEq(keccak256(bytes(version)), keccak256("1"));
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(chain));
    }

    function test_txDigest_matchesReferenceEip712() public view {
        PaymentTx.Transaction memory t = TxLib.oneInTwoOut(
            UtxoPos.encode(1000, 3, 1),
            TxLib.output(bob, address(0), 5),
            TxLib.output(alice, address(token), 7)
        );
        t.metadata = keccak256("memo");
        assertEq(chain.txDigest(TxLib.encode(t)), TxLib.digest(t, address(chain)));
    }

    function test_txDigest_revertsIfNotCanonical() public {
        bytes memory b = bytes.concat(TxLib.encode(TxLib.depositTx(alice, address(0), 1, 1)), hex"00");
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, b.length));
        chain.txDigest(b);
    }

    // =============================================================== submitBlock

    function test_submitBlock_storesRootAndTimestamp() public {
        bytes32 root = keccak256("root");
        vm.expectEmit(address(chain));
        emit IRootChain.BlockSubmitted(1000, root, START_TIME);
        vm.prank(operator);
        chain.submitBlock(root);
        (bytes32 prefix, uint256 ts) = chain.getBlock(1000);
        assertEq(prefix, root & ~bytes32(uint256(0xffffffff)));
        assertEq(ts, START_TIME);
        assertTrue(chain.isBlockRoot(1000, root));
        assertFalse(chain.isBlockRoot(1000, keccak256("other")));
        assertEq(chain.nextChildBlock(), 2000);
        assertEq(chain.nextDepositBlock(), 1001);
    }

    function test_submitBlock_numbersBlocksByThousands() public {
        vm.startPrank(operator);
        for (uint256 i = 1; i <= 3; ++i) {
            chain.submitBlock(bytes32(i));
            assertTrue(chain.isBlockRoot(i * 1000, bytes32(i)));
        }
        vm.stopPrank();
        assertEq(chain.nextChildBlock(), 4000);
    }

    function test_submitBlock_revertsIfNotOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotOperator.selector, alice));
        vm.prank(alice);
        chain.submitBlock(bytes32(uint256(1)));
    }

    function test_submitBlock_revertsIfTimestampOverflows() public {
        vm.warp(1 << 32);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.TimestampOverflow.selector, 1 << 32));
        vm.prank(operator);
        chain.submitBlock(bytes32(uint256(1)));
    }

    function test_submitBlock_resetsDepositCounter() public {
        depositEth(alice, MIN_DEPOSIT);
        depositEth(alice, MIN_DEPOSIT);
        assertEq(chain.nextDepositBlock(), 3);
        vm.prank(operator);
        chain.submitBlock(bytes32(uint256(1)));
        assertEq(chain.nextDepositBlock(), 1001);
        assertEq(depositEth(alice, MIN_DEPOSIT), 1001);
    }

    function test_getBlock_isZeroForMissingBlock() public view {
        (bytes32 prefix, uint256 ts) = chain.getBlock(5000);
        assertEq(prefix, bytes32(0));
        assertEq(ts, 0);
        assertFalse(chain.isBlockRoot(5000, bytes32(0)));
    }

    // =============================================================== deposits

    function test_deposit_createsDepositBlock() public {
        vm.expectEmit(address(chain));
        emit IRootChain.DepositCreated(alice, address(0), 1, 1 ether);
        uint256 blknum = depositEth(alice, 1 ether);
        assertEq(blknum, 1);
        assertEq(chain.nextDepositBlock(), 2);
        assertEq(address(chain).balance, 1 ether);
        bytes memory txBytes = TxLib.encode(TxLib.depositTx(alice, address(0), 1 ether, 1));
        (bytes32 root,) = MerkleTree.single(MerkleTree.leaf(txBytes), 0);
        assertTrue(chain.isBlockRoot(1, root), "deposit root");
        (, uint256 ts) = chain.getBlock(1);
        assertEq(ts, START_TIME);
    }

    function test_deposit_revertsIfZero() public {
        vm.expectRevert(IRootChain.ZeroDeposit.selector);
        vm.prank(alice);
        chain.deposit();
    }

    function test_deposit_revertsIfTimestampOverflows() public {
        vm.warp(1 << 32);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.TimestampOverflow.selector, 1 << 32));
        vm.prank(alice);
        chain.deposit{value: MIN_DEPOSIT}();
    }

    function test_deposit_revertsAfter999DepositsUntilNextBlock() public {
        vm.prank(operator);
        chain.submitBlock(bytes32(uint256(1)));
        vm.startPrank(alice);
        for (uint256 i = 1; i <= 999; ++i) {
            chain.deposit{value: MIN_DEPOSIT}();
        }
        assertTrue(
            chain.isBlockRoot(1999, _depositRoot(alice, address(0), MIN_DEPOSIT, 1999)), "last deposit block"
        );
        vm.expectRevert(abi.encodeWithSelector(IRootChain.TooManyDeposits.selector, 2000));
        chain.deposit{value: MIN_DEPOSIT}();
        vm.stopPrank();
        vm.prank(operator);
        chain.submitBlock(bytes32(uint256(2)));
        assertEq(depositEth(alice, MIN_DEPOSIT), 2001);
    }

    function test_depositToken_createsDepositBlock() public {
        token.mint(alice, 500);
        vm.prank(alice);
        token.approve(address(chain), 500);
        vm.expectEmit(address(chain));
        emit IRootChain.DepositCreated(alice, address(token), 1, 500);
        vm.prank(alice);
        chain.depositToken(address(token), 500);
        assertEq(token.balanceOf(address(chain)), 500);
        assertTrue(chain.isBlockRoot(1, _depositRoot(alice, address(token), 500, 1)));
    }

    function test_depositToken_revertsIfTokenIsZeroOrNotContract() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidToken.selector, address(0)));
        vm.prank(alice);
        chain.depositToken(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidToken.selector, bob));
        vm.prank(alice);
        chain.depositToken(bob, 1);
    }

    function test_depositToken_revertsIfZero() public {
        vm.expectRevert(IRootChain.ZeroDeposit.selector);
        vm.prank(alice);
        chain.depositToken(address(token), 0);
    }

    function test_depositToken_revertsIfFeeOnTransfer() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        fee.mint(alice, 1000);
        vm.prank(alice);
        fee.approve(address(chain), 1000);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.DepositAmountMismatch.selector, 1000, 990));
        vm.prank(alice);
        chain.depositToken(address(fee), 1000);
    }

    function test_depositToken_revertsWithoutAllowance() public {
        token.mint(alice, 10);
        vm.expectRevert();
        vm.prank(alice);
        chain.depositToken(address(token), 10);
    }

    function _depositRoot(address owner, address tkn, uint256 amount, uint256 blknum)
        internal
        pure
        returns (bytes32 r)
    {
        (r,) = MerkleTree.single(
            MerkleTree.leaf(TxLib.encode(TxLib.depositTx(owner, tkn, amount, blknum))), 0
        );
    }

    // =============================================================== startStandardExit

    function test_startStandardExit_depositOutput() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        uint256 exitableAt = START_TIME + MEP; // max(ts + MEP, now + MEP)
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(pos, alice, address(0), 1 ether, exitableAt);
        startExit(alice, pos, txBytes, proof);
        (IRootChain.ExitStatus status, address owner, uint256 amount) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Active));
        assertEq(owner, alice);
        assertEq(amount, 1 ether);
        assertEq(chain.exitQueueLength(address(0)), 1);
        assertEq(chain.nextExit(address(0)), priorityOf(exitableAt, pos));
        assertEq(address(chain).balance, 1 ether + BOND);
    }

    function test_startStandardExit_freshOperatorBlockWaitsTwoPeriods() public {
        uint256 dep = depositEth(alice, 1 ether);
        Included memory inc =
            spendInBlock(UtxoPos.encode(dep, 0, 0), alice, bob, address(0), 0.4 ether, 0.6 ether);
        vm.warp(START_TIME + 1 hours);
        uint256 pos = UtxoPos.encode(inc.blknum, inc.txIndex, 0);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(pos, bob, address(0), 0.4 ether, START_TIME + 2 * MEP);
        startExit(bob, pos, inc.txBytes, inc.proof);
    }

    function test_startStandardExit_oldBlockWaitsOnePeriodFromNow() public {
        uint256 dep = depositEth(alice, 1 ether);
        Included memory inc =
            spendInBlock(UtxoPos.encode(dep, 0, 0), alice, bob, address(0), 0.4 ether, 0.6 ether);
        vm.warp(START_TIME + 30 days);
        uint256 pos = UtxoPos.encode(inc.blknum, inc.txIndex, 1);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitStarted(pos, alice, address(0), 0.6 ether, START_TIME + 30 days + MEP);
        startExit(alice, pos, inc.txBytes, inc.proof);
    }

    function test_startStandardExit_oldDepositWaitsOnePeriodFromNow() public {
        uint256 blknum = depositEth(alice, 1 ether);
        vm.warp(START_TIME + 12 hours);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        startExit(alice, pos, txBytes, proof);
        assertEq(chain.nextExit(address(0)) >> 128, START_TIME + 12 hours + MEP);
    }

    function test_startStandardExit_atLastTxIndex() public {
        PaymentTx.Transaction memory t = TxLib.oneInTwoOut(
            UtxoPos.encode(1, 0, 0), TxLib.output(bob, address(0), 1), TxLib.output(alice, address(0), 2)
        );
        Included memory inc = includeTx(t, 65_535);
        uint256 pos = UtxoPos.encode(inc.blknum, 65_535, 1);
        startExit(alice, pos, inc.txBytes, inc.proof);
        (IRootChain.ExitStatus status,,) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Active));
    }

    function test_startStandardExit_revertsIfBondWrong() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidBond.selector, BOND, 0));
        vm.prank(alice);
        chain.startStandardExit(pos, txBytes, proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidBond.selector, BOND, BOND + 1));
        vm.prank(alice);
        chain.startStandardExit{value: BOND + 1}(pos, txBytes, proof);
    }

    function test_startStandardExit_revertsIfUtxoPosInvalid() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(0), 1 ether, blknum);
        uint256[4] memory bad = [uint256(4), 1e9 + 65_536 * 1e4, 1e9 + 4, 1 << 64];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidUtxoPos.selector, bad[i]));
            vm.prank(alice);
            chain.startStandardExit{value: BOND}(bad[i], txBytes, proof);
        }
    }

    function test_startStandardExit_revertsIfBlockNotFound() public {
        (uint256 pos, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(0), 1 ether, 7);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.BlockNotFound.selector, 7));
        startExit(alice, pos, txBytes, proof);
    }

    function test_startStandardExit_revertsIfTxNotCanonical() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        bytes memory bad = bytes.concat(txBytes, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, bad.length));
        startExit(alice, pos, bad, proof);
    }

    function test_startStandardExit_revertsIfOutputIndexOutOfRange() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.OutputIndexOutOfRange.selector, 1, 1));
        startExit(alice, pos + 1, txBytes, proof);
    }

    function test_startStandardExit_revertsIfNotOwner() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NotOutputOwner.selector, bob, alice));
        startExit(bob, pos, txBytes, proof);
    }

    function test_startStandardExit_revertsIfZeroAmount() public {
        PaymentTx.Transaction memory t = TxLib.oneInTwoOut(
            UtxoPos.encode(1, 0, 0), TxLib.output(bob, address(0), 0), TxLib.output(alice, address(0), 2)
        );
        Included memory inc = includeTx(t, 3);
        uint256 pos = UtxoPos.encode(inc.blknum, 3, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ZeroAmountExit.selector, pos));
        startExit(bob, pos, inc.txBytes, inc.proof);
    }

    function test_startStandardExit_revertsIfProofInvalid() public {
        PaymentTx.Transaction memory t = TxLib.oneInTwoOut(
            UtxoPos.encode(1, 0, 0), TxLib.output(bob, address(0), 1), TxLib.output(alice, address(0), 2)
        );
        Included memory inc = includeTx(t, 5);
        // Wrong position in the block.
        uint256 wrongPos = UtxoPos.encode(inc.blknum, 4, 0);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, wrongPos));
        startExit(bob, wrongPos, inc.txBytes, inc.proof);
        // Tampered sibling.
        uint256 pos = UtxoPos.encode(inc.blknum, 5, 0);
        bytes memory proof = bytes.concat(inc.proof);
        proof[100] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, pos));
        startExit(bob, pos, inc.txBytes, proof);
        // A transaction that is not in the block.
        t.metadata = bytes32(uint256(1));
        bytes memory other = TxLib.encode(t);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidInclusionProof.selector, pos));
        startExit(bob, pos, other, inc.proof);
    }

    function test_startStandardExit_revertsIfProofLengthWrong() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes,) = depositExit(alice, address(0), 1 ether, blknum);
        vm.expectRevert(abi.encodeWithSelector(Merkle.InvalidProofLength.selector, 0));
        startExit(alice, pos, txBytes, "");
    }

    function test_startStandardExit_revertsIfAlreadyStarted() public {
        uint256 blknum = depositEth(alice, 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, blknum);
        startExit(alice, pos, txBytes, proof);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, pos));
        startExit(alice, pos, txBytes, proof);
    }

    function test_startStandardExit_revertsAfterExitProcessed() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        (, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(0), 1 ether, pos / 1e9);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, pos));
        startExit(alice, pos, txBytes, proof);
    }

    function test_startStandardExit_revertsAfterExitChallenged() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        _challenge(pos, alicePk, carol);
        (, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(0), 1 ether, pos / 1e9);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitAlreadyStarted.selector, pos));
        startExit(alice, pos, txBytes, proof);
    }

    function test_startStandardExit_largeAmountIsPaidInFull() public {
        uint256 amount = uint256(type(uint96).max) * 5 + 3;
        uint256 blknum = depositTkn(alice, amount);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(token), amount, blknum);
        startExit(alice, pos, txBytes, proof);
        (,, uint256 shown) = chain.getExit(pos);
        assertEq(shown, amount);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(token), 1);
        assertEq(token.balanceOf(alice), amount);
        (IRootChain.ExitStatus status,, uint256 after_) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
        assertEq(after_, 0);
    }

    // =============================================================== challengeStandardExit

    function test_challengeStandardExit_deletesExitAndPaysBond() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        uint256 before = carol.balance;
        PaymentTx.Transaction memory spend = TxLib.oneInTwoOut(
            pos, TxLib.output(bob, address(0), 0.5 ether), TxLib.output(alice, address(0), 0.5 ether)
        );
        bytes memory sig = TxLib.sign(spend, address(chain), alicePk);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitChallenged(pos, carol);
        vm.prank(carol);
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, sig);
        assertEq(carol.balance, before + BOND);
        (IRootChain.ExitStatus status, address owner, uint256 amount) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
        assertEq(owner, alice);
        assertEq(amount, 0);
    }

    function test_challengeStandardExit_acceptsSpendAtAnyInputIndex() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        uint256[] memory inputs = new uint256[](3);
        inputs[0] = UtxoPos.encode(1000, 0, 0);
        inputs[1] = UtxoPos.encode(2000, 1, 1);
        inputs[2] = pos;
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
        outputs[0] = TxLib.output(bob, address(0), 1 ether);
        PaymentTx.Transaction memory spend = TxLib.payment(inputs, outputs, keccak256("m"));
        vm.prank(carol);
        chain.challengeStandardExit(pos, TxLib.encode(spend), 2, TxLib.sign(spend, address(chain), alicePk));
        (IRootChain.ExitStatus status,,) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
    }

    function test_challengeStandardExit_revertsIfExitNotActive() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitNotActive.selector, 1e9));
        chain.challengeStandardExit(1e9, "", 0, "");
        uint256 pos = _depositAndExit(alice, 1 ether);
        _challenge(pos, alicePk, carol);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitNotActive.selector, pos));
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, TxLib.sign(spend, address(chain), alicePk));
    }

    function test_challengeStandardExit_revertsAfterExitProcessed() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.ExitNotActive.selector, pos));
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, TxLib.sign(spend, address(chain), alicePk));
    }

    function test_challengeStandardExit_revertsIfSpendNotCanonical() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        bytes memory b = TxLib.encode(spend);
        b[0] = 0x01; // head offset
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 0));
        chain.challengeStandardExit(pos, b, 0, TxLib.sign(spend, address(chain), alicePk));
    }

    function test_challengeStandardExit_revertsIfInputIndexOutOfRange() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputIndexOutOfRange.selector, 1, 1));
        chain.challengeStandardExit(pos, TxLib.encode(spend), 1, TxLib.sign(spend, address(chain), alicePk));
    }

    function test_challengeStandardExit_revertsIfInputDoesNotSpendExit() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos + 1);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InputDoesNotSpendExit.selector, pos + 1, pos));
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, TxLib.sign(spend, address(chain), alicePk));
    }

    function test_challengeStandardExit_revertsIfSignerIsNotOwner() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, bob, alice));
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, TxLib.sign(spend, address(chain), bobPk));
    }

    function test_challengeStandardExit_revertsIfSignatureOverOtherTx() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        bytes memory sig = TxLib.sign(spend, address(chain), alicePk);
        spend.metadata = bytes32(uint256(1));
        vm.expectRevert();
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, sig);
    }

    function test_challengeStandardExit_revertsIfSignatureMalformed() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        PaymentTx.Transaction memory spend = _spendOf(pos);
        bytes memory spendBytes = TxLib.encode(spend);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(alicePk, TxLib.digest(spend, address(chain)));
        // 64 bytes, v = 29, and the high-s twin: all rejected.
        bytes[3] memory bad = [
            abi.encodePacked(r, s),
            abi.encodePacked(r, s, uint8(29)),
            abi.encodePacked(
                r,
                bytes32(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - uint256(s)),
                v == 27 ? uint8(28) : uint8(27)
            )
        ];
        for (uint256 i; i < 3; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidSignature.selector, address(0), alice));
            chain.challengeStandardExit(pos, spendBytes, 0, bad[i]);
        }
    }

    function test_challengeStandardExit_creditsBondIfChallengerRejectsEth() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        RevertingReceiver challenger = new RevertingReceiver();
        _challenge(pos, alicePk, address(challenger));
        assertEq(chain.withdrawable(address(challenger), address(0)), BOND);
    }

    // =============================================================== processExits

    function test_processExits_paysEthExitWithBond() public {
        uint256 pos = _depositAndExit(alice, 1 ether);
        uint256 before = alice.balance;
        vm.warp(START_TIME + MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(pos, alice, address(0), 1 ether, true);
        vm.prank(carol);
        assertEq(chain.processExits(address(0), 10), 1);
        assertEq(alice.balance, before + 1 ether + BOND);
        assertEq(address(chain).balance, 0);
        assertEq(chain.exitQueueLength(address(0)), 0);
        assertEq(chain.nextExit(address(0)), 0);
        (IRootChain.ExitStatus status,,) = chain.getExit(pos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
    }

    function test_processExits_waitsForExitableAt() public {
        _depositAndExit(alice, 1 ether);
        vm.warp(START_TIME + MEP - 1);
        assertEq(chain.processExits(address(0), 10), 0);
        assertEq(chain.exitQueueLength(address(0)), 1);
    }

    function test_processExits_emptyQueueDoesNothing() public {
        assertEq(chain.processExits(address(0), 10), 0);
        assertEq(chain.processExits(address(token), 0), 0);
    }

    function test_processExits_paysInPriorityOrder() public {
        // Deposits at different times, exits started in a scrambled order.
        uint256[] memory pos = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            vm.warp(START_TIME + i * 1 hours);
            pos[i] = UtxoPos.encode(depositEth(i % 2 == 0 ? alice : bob, (i + 1) * 1 ether), 0, 0);
        }
        // An operator block whose output exits last (2 MEP after its block).
        uint256 order = 0;
        uint256[4] memory startOrder = [uint256(3), 0, 2, 1];
        for (uint256 j; j < 4; ++j) {
            uint256 i = startOrder[j];
            (, bytes memory txBytes, bytes memory proof) =
                depositExit(i % 2 == 0 ? alice : bob, address(0), (i + 1) * 1 ether, pos[i] / 1e9);
            startExit(i % 2 == 0 ? alice : bob, pos[i], txBytes, proof);
        }
        vm.warp(START_TIME + 10 days);
        vm.recordLogs();
        chain.processExits(address(0), 10);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].topics[0] != IRootChain.ExitFinalized.selector) continue;
            // All exits have exitableAt = now(at start) + MEP = START_TIME + 3h + MEP: ties break on utxoPos.
            assertEq(uint256(logs[k].topics[1]), pos[order++], "payout order");
        }
        assertEq(order, 4);
    }

    function test_processExits_earlierBlockFirstDespiteLaterStart() public {
        uint256 dep = depositEth(alice, 1 ether);
        Included memory inc =
            spendInBlock(UtxoPos.encode(dep, 0, 0), alice, bob, address(0), 0.4 ether, 0.6 ether);
        // Bob exits the fresh block output first: exitableAt = ts + 2 MEP.
        uint256 bobPos = UtxoPos.encode(inc.blknum, inc.txIndex, 0);
        startExit(bob, bobPos, inc.txBytes, inc.proof);
        // A deposit made later but exited sooner: exitableAt = ts' + MEP < ts + 2 MEP.
        vm.warp(START_TIME + 1 hours);
        uint256 carolDep = depositEth(carol, 2 ether);
        (uint256 carolPos, bytes memory tb, bytes memory pr) =
            depositExit(carol, address(0), 2 ether, carolDep);
        startExit(carol, carolPos, tb, pr);
        assertEq(chain.nextExit(address(0)), priorityOf(START_TIME + 1 hours + MEP, carolPos));
        vm.warp(START_TIME + 3 days);
        vm.recordLogs();
        chain.processExits(address(0), 2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(logs[0].topics[1]), carolPos);
    }

    function test_processExits_boundedByMaxExits() public {
        for (uint256 i; i < 5; ++i) {
            _depositAndExit(alice, 1 ether);
        }
        vm.warp(START_TIME + MEP);
        assertEq(chain.processExits(address(0), 2), 2);
        assertEq(chain.exitQueueLength(address(0)), 3);
        assertEq(chain.processExits(address(0), 10), 3);
        assertEq(chain.exitQueueLength(address(0)), 0);
    }

    function test_processExits_skipsChallengedExitsAndCountsThem() public {
        uint256 a = _depositAndExit(alice, 1 ether);
        uint256 b = _depositAndExit(bob, 2 ether);
        _challenge(a, alicePk, carol);
        uint256 before = bob.balance;
        vm.warp(START_TIME + MEP);
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(uint256(logs[0].topics[1]), b);
        assertEq(bob.balance, before + 2 ether + BOND);
        // Alice's 1 ether stays (she spent it on the child chain); the challenger got her bond.
        assertEq(address(chain).balance, 1 ether);
    }

    function test_processExits_paysTokenExitAndEthBond() public {
        uint256 blknum = depositTkn(alice, 700);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(token), 700, blknum);
        startExit(alice, pos, txBytes, proof);
        uint256 ethBefore = alice.balance;
        vm.warp(START_TIME + MEP);
        assertEq(chain.processExits(address(0), 10), 0, "ETH queue is separate");
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(pos, alice, address(token), 700, true);
        assertEq(chain.processExits(address(token), 10), 1);
        assertEq(token.balanceOf(alice), 700);
        assertEq(alice.balance, ethBefore + BOND);
    }

    function test_processExits_creditsRevertingReceiverAndContinues() public {
        RevertingReceiver bad = new RevertingReceiver();
        _checkCreditedEthReceiver(address(bad));
    }

    function test_processExits_creditsGasBurningReceiverAndContinues() public {
        GasBurningReceiver bad = new GasBurningReceiver();
        _checkCreditedEthReceiver(address(bad));
    }

    function test_processExits_creditsReenteringReceiver() public {
        ReenteringReceiver bad = new ReenteringReceiver(chain);
        _checkCreditedEthReceiver(address(bad));
    }

    function _checkCreditedEthReceiver(address bad) internal {
        vm.deal(bad, 10 ether);
        uint256 badPos = _depositAndExit(bad, 1 ether);
        uint256 goodPos = _depositAndExit(alice, 2 ether);
        uint256 before = alice.balance;
        vm.warp(START_TIME + MEP);
        // The failed payout is credited, then reported (paid = false).
        vm.expectEmit(address(chain));
        emit IRootChain.WithdrawalCredited(bad, address(0), 1 ether + BOND);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(badPos, bad, address(0), 1 ether, false);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(goodPos, alice, address(0), 2 ether, true);
        assertEq(chain.processExits{gas: 1_000_000}(address(0), 10), 2);
        assertEq(alice.balance, before + 2 ether + BOND, "next exit paid");
        assertEq(chain.withdrawable(bad, address(0)), 1 ether + BOND);
        assertEq(address(chain).balance, 1 ether + BOND);
    }

    function test_processExits_creditsBlacklistedTokenReceiverThenWithdraws() public {
        BlacklistToken blk = new BlacklistToken();
        uint256 badPos = _tokenDepositAndExit(blk, bob, 300);
        uint256 goodPos = _tokenDepositAndExit(blk, alice, 400);
        blk.setBlacklisted(bob, true);
        vm.warp(START_TIME + MEP);
        vm.expectEmit(address(chain));
        emit IRootChain.WithdrawalCredited(bob, address(blk), 300);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(badPos, bob, address(blk), 300, false);
        vm.expectEmit(address(chain));
        emit IRootChain.ExitFinalized(goodPos, alice, address(blk), 400, true);
        assertEq(chain.processExits(address(blk), 10), 2);
        assertEq(blk.balanceOf(alice), 400);
        assertEq(chain.withdrawable(bob, address(blk)), 300);
        // While blacklisted, the pull reverts; once cleared it succeeds.
        vm.expectRevert(abi.encodeWithSelector(BlacklistToken.Blacklisted.selector, bob));
        vm.prank(bob);
        chain.withdraw(address(blk));
        blk.setBlacklisted(bob, false);
        vm.expectEmit(address(chain));
        emit IRootChain.Withdrawn(bob, address(blk), 300);
        vm.prank(bob);
        chain.withdraw(address(blk));
        assertEq(blk.balanceOf(bob), 300);
        assertEq(chain.withdrawable(bob, address(blk)), 0);
    }

    function test_processExits_creditsGasBurningTokenTransfer() public {
        GasBurningToken burn = new GasBurningToken();
        uint256 badPos = _tokenDepositAndExit(burn, bob, 300);
        _tokenDepositAndExit(burn, alice, 400);
        burn.setVictim(bob);
        vm.warp(START_TIME + MEP);
        assertEq(chain.processExits{gas: 2_000_000}(address(burn), 10), 2);
        assertEq(burn.balanceOf(alice), 400);
        assertEq(chain.withdrawable(bob, address(burn)), 300);
        (IRootChain.ExitStatus status,,) = chain.getExit(badPos);
        assertEq(uint8(status), uint8(IRootChain.ExitStatus.Closed));
    }

    function test_processExits_creditsBondIfTokenExitOwnerRejectsEth() public {
        RevertingReceiver bad = new RevertingReceiver();
        vm.deal(address(bad), 1 ether);
        _tokenDepositAndExit(token, address(bad), 50);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(token), 1);
        assertEq(token.balanceOf(address(bad)), 50);
        assertEq(chain.withdrawable(address(bad), address(0)), BOND);
    }

    function test_processExits_revertsIfGasTooLowForFullPayoutAllowance() public {
        _depositAndExit(alice, 1 ether);
        vm.warp(START_TIME + MEP);
        // The arguments (gas left, gas required) depend on the call; match the selector.
        try chain.processExits{gas: 60_000}(address(0), 1) {
            fail("processed with too little gas");
        } catch (bytes memory reason) {
            assertEq(bytes4(reason), IRootChain.InsufficientGas.selector, "error");
        }
        assertEq(chain.exitQueueLength(address(0)), 1, "nothing popped");
    }

    // =============================================================== withdraw

    function test_withdraw_paysCreditedEth() public {
        TogglingReceiver r = new TogglingReceiver();
        vm.deal(address(r), 1 ether);
        _depositAndExit(address(r), 0.5 ether);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        assertEq(chain.withdrawable(address(r), address(0)), 0.5 ether + BOND);
        r.setOpen(true);
        uint256 before = address(r).balance;
        vm.expectEmit(address(chain));
        emit IRootChain.Withdrawn(address(r), address(0), 0.5 ether + BOND);
        vm.prank(address(r));
        chain.withdraw(address(0));
        assertEq(address(r).balance, before + 0.5 ether + BOND);
        assertEq(chain.withdrawable(address(r), address(0)), 0);
    }

    function test_withdraw_revertsIfNothingToWithdraw() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NothingToWithdraw.selector, alice, address(0)));
        vm.prank(alice);
        chain.withdraw(address(0));
    }

    function test_withdraw_revertsIfEthTransferFails() public {
        TogglingReceiver r = new TogglingReceiver();
        vm.deal(address(r), 1 ether);
        _depositAndExit(address(r), 0.5 ether);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.EthTransferFailed.selector, address(r), 0.5 ether + BOND)
        );
        vm.prank(address(r));
        chain.withdraw(address(0));
    }

    function test_withdrawTo_paysCreditedTokensToAnotherAddress() public {
        BlacklistToken blk = new BlacklistToken();
        _tokenDepositAndExit(blk, bob, 300);
        blk.setBlacklisted(bob, true);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(blk), 1);
        assertEq(chain.withdrawable(bob, address(blk)), 300);
        vm.expectEmit(address(chain));
        emit IRootChain.Withdrawn(bob, address(blk), 300);
        vm.prank(bob);
        chain.withdrawTo(address(blk), carol);
        assertEq(blk.balanceOf(carol), 300);
        assertEq(chain.withdrawable(bob, address(blk)), 0);
    }

    function test_withdrawTo_revertsIfRecipientZero() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.InvalidRecipient.selector, address(0)));
        vm.prank(alice);
        chain.withdrawTo(address(0), address(0));
    }

    function test_withdrawTo_revertsIfNothingToWithdraw() public {
        vm.expectRevert(abi.encodeWithSelector(IRootChain.NothingToWithdraw.selector, alice, address(0)));
        vm.prank(alice);
        chain.withdrawTo(address(0), bob);
    }

    function test_withdrawTo_revertsIfRecipientRejectsEth() public {
        TogglingReceiver r = new TogglingReceiver();
        vm.deal(address(r), 1 ether);
        _depositAndExit(address(r), 0.5 ether);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(0), 1);
        RevertingReceiver sink = new RevertingReceiver();
        vm.expectRevert(
            abi.encodeWithSelector(IRootChain.EthTransferFailed.selector, address(sink), 0.5 ether + BOND)
        );
        vm.prank(address(r));
        chain.withdrawTo(address(0), address(sink));
        assertEq(chain.withdrawable(address(r), address(0)), 0.5 ether + BOND, "credit kept");
    }

    // =============================================================== helpers

    function _depositAndExit(address who, uint256 amount) internal returns (uint256 pos) {
        uint256 blknum = depositEth(who, amount);
        bytes memory txBytes;
        bytes memory proof;
        (pos, txBytes, proof) = depositExit(who, address(0), amount, blknum);
        startExit(who, pos, txBytes, proof);
    }

    function _tokenDepositAndExit(MockERC20 tkn, address who, uint256 amount) internal returns (uint256 pos) {
        tkn.mint(who, amount);
        vm.prank(who);
        tkn.approve(address(chain), amount);
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.depositToken(address(tkn), amount);
        bytes memory txBytes;
        bytes memory proof;
        (pos, txBytes, proof) = depositExit(who, address(tkn), amount, blknum);
        startExit(who, pos, txBytes, proof);
    }

    function _spendOf(uint256 pos) internal view returns (PaymentTx.Transaction memory) {
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = pos;
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
        outputs[0] = TxLib.output(bob, address(0), 1);
        return TxLib.payment(inputs, outputs, bytes32(block.timestamp));
    }

    function _challenge(uint256 pos, uint256 ownerPk, address challenger) internal {
        PaymentTx.Transaction memory spend = _spendOf(pos);
        bytes memory sig = TxLib.sign(spend, address(chain), ownerPk);
        vm.prank(challenger);
        chain.challengeStandardExit(pos, TxLib.encode(spend), 0, sig);
    }
}
