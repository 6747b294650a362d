// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PaymentTx} from "../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../src/libraries/UtxoPos.sol";
import {RevertingReceiver} from "./mocks/Receivers.sol";
import {BlacklistToken} from "./mocks/Tokens.sol";
import {RootChainFixture} from "./utils/RootChainFixture.sol";
import {TxLib} from "./utils/TxLib.sol";
import {Vm, vm} from "./utils/Vm.sol";

/// @notice The audit findings of issue 14, each as the hostile scenario that broke the contract before its fix.
///         The tests only use the interface that existed before the fixes, so each one ran (and failed) on the
///         code it was written against; the commit that fixes a finding says so.
contract RootChainAuditTest is RootChainFixture {
    bytes32 internal constant EXIT_UNFUNDED = keccak256("ExitUnfunded(uint256,address,address,uint256)");

    // =============================================================== 1. a poisoned exit jams a queue

    /// @notice The operator commits an input-less output of 2^256 - 1 wei and exits it: `amount + bond` overflowed
    ///         and every exit queued behind it could never be processed.
    function test_processExits_poisonedEthExitDoesNotJamQueue() public {
        uint256 forged = _forgedExit(bob, address(0), type(uint256).max);
        uint256 honest = _lateDepositExit(alice, 1 ether);
        uint256 before = alice.balance;
        vm.warp(START_TIME + 3 * MEP);
        vm.recordLogs();
        assertEq(chain.processExits(address(0), 10), 2, "both entries popped");
        assertTrue(_unfundedLogged(forged), "poisoned exit reported unfunded");
        assertEq(alice.balance, before + 1 ether + BOND, "honest exit behind it paid");
        assertEq(chain.withdrawable(bob, address(0)), 0, "no credit for the poisoned exit");
        assertEq(chain.exitQueueLength(address(0)), 0);
        (, address owner,) = chain.getExit(honest);
        assertEq(owner, alice);
    }

    /// @notice Two failed token payouts of 2^255 to one owner overflowed the credit sum and jammed the token queue.
    function test_processExits_tokenCreditSumCannotOverflow() public {
        BlacklistToken blk = new BlacklistToken();
        _forgedExit(bob, address(blk), 1 << 255);
        _forgedExit(bob, address(blk), 1 << 255);
        blk.setBlacklisted(bob, true);
        // An honest token exit queued behind the two forged ones.
        blk.mint(alice, 100);
        vm.prank(alice);
        blk.approve(address(chain), 100);
        uint256 dep = chain.nextDepositBlock();
        vm.prank(alice);
        chain.depositToken(address(blk), 100);
        (uint256 pos, bytes memory txBytes, bytes memory proof) = depositExit(alice, address(blk), 100, dep);
        vm.warp(START_TIME + MEP + 1);
        startExit(alice, pos, txBytes, proof);
        vm.warp(START_TIME + 3 * MEP);
        assertEq(chain.processExits(address(blk), 10), 3);
        assertEq(blk.balanceOf(alice), 100, "honest token exit paid");
        assertEq(chain.withdrawable(bob, address(blk)), 0, "unfundable payouts are not credited");
    }

    // =============================================================== 2. unbacked credits bypass the queue

    /// @notice A payout that failed because the contract lacked the funds became a credit, which `withdraw` then
    ///         paid out of later deposits.
    function test_processExits_unfundedPayoutIsNotCredited() public {
        depositEth(alice, 1 ether);
        uint256 forged = _forgedExit(bob, address(0), 5 ether);
        uint256 bobBefore = bob.balance;
        vm.warp(START_TIME + 2 * MEP);
        vm.recordLogs();
        chain.processExits(address(0), 1);
        assertTrue(_unfundedLogged(forged), "reported unfunded");
        assertEq(chain.withdrawable(bob, address(0)), 0, "not credited");
        assertEq(bob.balance, bobBefore + BOND, "the bond it posted is returned");
        // Later deposits cannot be pulled through a credit.
        depositEth(carol, 10 ether);
        assertEq(chain.withdrawable(bob, address(0)), 0);
    }

    /// @notice A credit is money owed: a later payout must not spend it.
    function test_processExits_laterExitCannotSpendCreditedFunds() public {
        RevertingReceiver r = new RevertingReceiver();
        vm.deal(address(r), 10 ether);
        uint256 blknum = depositEth(address(r), 1 ether);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(address(r), address(0), 1 ether, blknum);
        startExit(address(r), pos, txBytes, proof); // exitable at START + MEP: first
        _forgedExit(bob, address(0), 1 ether); // exitable at START + 2 MEP
        vm.warp(START_TIME + 2 * MEP);
        chain.processExits(address(0), 2);
        assertEq(chain.withdrawable(address(r), address(0)), 1 ether + BOND, "receiver credited");
        assertEq(chain.withdrawable(bob, address(0)), 0, "forged exit not credited");
        assertGe(address(chain).balance, 1 ether + BOND, "the credit is still backed");
    }

    // =============================================================== 3. deposits past the largest encodable position

    /// @notice The last block whose every position fits 64 bits is 18,446,744,073; deposits after operator block
    ///         18,446,744,000 were numbered past it, accepted, and could never exit.
    function test_deposit_revertsPastLargestEncodablePosition() public {
        _setCounters(LAST_OPERATOR_BLOCK + 1000, 73);
        uint256 last = depositEth(alice, 1 ether);
        assertEq(last, MAX_BLKNUM, "the last encodable deposit block is accepted");
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(alice, address(0), 1 ether, last);
        startExit(alice, pos, txBytes, proof); // and its output can exit
        vm.expectRevert(abi.encodeWithSelector(BLOCK_NUMBER_OVERFLOW, MAX_BLKNUM + 1));
        vm.prank(alice);
        chain.deposit{value: 1 ether}();
    }

    /// @notice The operator could submit blocks numbered past the largest encodable position.
    function test_submitBlock_revertsPastLargestEncodablePosition() public {
        _setCounters(LAST_OPERATOR_BLOCK, 1);
        vm.prank(operator);
        chain.submitBlock(keccak256("last"));
        assertEq(chain.nextChildBlock(), LAST_OPERATOR_BLOCK + 1000);
        vm.expectRevert(abi.encodeWithSelector(BLOCK_NUMBER_OVERFLOW, LAST_OPERATOR_BLOCK + 1000));
        vm.prank(operator);
        chain.submitBlock(keccak256("past"));
    }

    // =============================================================== 4. 999 dust deposits fill every slot

    /// @notice 999 one-wei deposits filled every deposit slot until the next operator block. With a deploy-time
    ///         minimum deposit, filling them locks 999 times that minimum (and still costs ~1000 times the gas of the
    ///         operator's next block, which frees them).
    function test_deposit_revertsBelowMinimumDeposit() public {
        vm.expectRevert(abi.encodeWithSelector(DEPOSIT_TOO_SMALL, 1, MIN_DEPOSIT));
        vm.prank(alice);
        chain.deposit{value: 1}();
        vm.expectRevert(abi.encodeWithSelector(DEPOSIT_TOO_SMALL, MIN_DEPOSIT - 1, MIN_DEPOSIT));
        vm.prank(alice);
        chain.deposit{value: MIN_DEPOSIT - 1}();
        assertEq(depositEth(alice, MIN_DEPOSIT), 1, "the minimum itself is accepted");
    }

    /// @notice While the 999 slots were full, `nextDepositBlock()` returned the next operator block's number.
    function test_nextDepositBlock_isHonestWhileSlotsAreFull() public {
        _setCounters(2000, 1000); // block 1000 submitted, deposits 1001..1999 made
        assertEq(chain.nextDepositBlock(), 2001, "the next deposit can only follow block 2000");
        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("TooManyDeposits(uint256)")), 2000));
        vm.prank(alice);
        chain.deposit{value: 1 ether}();
        vm.prank(operator);
        chain.submitBlock(keccak256("2000"));
        assertEq(chain.nextDepositBlock(), 2001);
        assertEq(depositEth(alice, 1 ether), 2001);
    }

    // =============================================================== 5. an owner that cannot receive ETH

    /// @notice A contract that rejects ETH could never recover an ETH credit, including the bond of its token exits.
    function test_withdrawTo_paysCreditToAnotherAddress() public {
        RevertingReceiver r = new RevertingReceiver();
        vm.deal(address(r), 1 ether);
        token.mint(address(r), 50);
        vm.prank(address(r));
        token.approve(address(chain), 50);
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(address(r));
        chain.depositToken(address(token), 50);
        (uint256 pos, bytes memory txBytes, bytes memory proof) =
            depositExit(address(r), address(token), 50, blknum);
        startExit(address(r), pos, txBytes, proof);
        vm.warp(START_TIME + MEP);
        chain.processExits(address(token), 1);
        assertEq(token.balanceOf(address(r)), 50, "tokens paid");
        assertEq(chain.withdrawable(address(r), address(0)), BOND, "bond credited");
        uint256 before = carol.balance;
        vm.prank(address(r));
        (bool ok,) =
            address(chain).call(abi.encodeWithSignature("withdrawTo(address,address)", address(0), carol));
        assertTrue(ok, "withdrawTo");
        assertEq(carol.balance, before + BOND, "the credit went to the chosen address");
        assertEq(chain.withdrawable(address(r), address(0)), 0);
    }

    // =============================================================== helpers

    bytes4 internal constant DEPOSIT_TOO_SMALL = bytes4(keccak256("DepositTooSmall(uint256,uint256)"));

    uint256 internal constant MAX_BLKNUM = 18_446_744_073;
    uint256 internal constant LAST_OPERATOR_BLOCK = 18_446_744_000;
    bytes4 internal constant BLOCK_NUMBER_OVERFLOW = bytes4(keccak256("BlockNumberOverflow(uint256)"));
    /// @dev The slot of `_nextChildBlock` (low 128 bits) and `_nextDepositOffset` (high 128 bits), after EIP712's
    ///      two fallback strings (`forge inspect RootChain storageLayout`).
    bytes32 internal constant COUNTERS_SLOT = bytes32(uint256(2));

    function _setCounters(uint256 nextChildBlock, uint256 nextDepositOffset) internal {
        vm.store(address(chain), COUNTERS_SLOT, bytes32(nextDepositOffset << 128 | nextChildBlock));
        assertEq(chain.nextChildBlock(), nextChildBlock, "counters slot");
    }

    /// @notice `owner` exits an input-less output of `amount` that the operator committed in its own block.
    function _forgedExit(address owner, address tkn, uint256 amount) internal returns (uint256 pos) {
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
        outputs[0] = TxLib.output(owner, tkn, amount);
        Included memory inc = includeTx(
            TxLib.payment(new uint256[](0), outputs, keccak256(abi.encode(amount, chain.nextChildBlock()))), 0
        );
        pos = UtxoPos.encode(inc.blknum, 0, 0);
        startExit(owner, pos, inc.txBytes, inc.proof);
    }

    /// @notice A deposit exit started after MEP, so that it queues behind exits of blocks committed at START_TIME.
    function _lateDepositExit(address who, uint256 amount) internal returns (uint256 pos) {
        uint256 blknum = depositEth(who, amount);
        bytes memory txBytes;
        bytes memory proof;
        (pos, txBytes, proof) = depositExit(who, address(0), amount, blknum);
        vm.warp(START_TIME + MEP + 1);
        startExit(who, pos, txBytes, proof);
    }

    function _unfundedLogged(uint256 pos) internal returns (bool) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == EXIT_UNFUNDED && uint256(logs[i].topics[1]) == pos) return true;
        }
        return false;
    }
}
