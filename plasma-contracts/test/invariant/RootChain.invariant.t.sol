// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RootChain} from "../../src/RootChain.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {Test} from "../utils/Test.sol";
import {vm} from "../utils/Vm.sol";
import {InFlightHandler} from "./InFlightHandler.sol";
import {RootChainHandler} from "./RootChainHandler.sol";

/// @notice Invariants of both exit games under random deposits, transfers (most paying fees, blocks ending with the
///         operator's fee claim), in-flight payments (included or never), double signing, standard and in-flight exits,
///         piggybacks, challenges, responses, deletions, time and processing of the one queue per token.
contract RootChainInvariantTest is Test {
    RootChain internal chain;
    MockERC20 internal token;
    InFlightHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address operator = address(0x0BE7A708);
        chain = new RootChain(operator, 1 days, 0.01 ether, 1 gwei, 0.02 ether, 0.015 ether);
        token = new MockERC20("Token", "TKN");
        handler = new InFlightHandler(chain, token, operator);

        bytes4[] memory selectors = new bytes4[](23);
        selectors[0] = RootChainHandler.depositEth.selector;
        selectors[1] = RootChainHandler.depositToken.selector;
        selectors[2] = RootChainHandler.transfer.selector;
        selectors[3] = RootChainHandler.startExit.selector;
        selectors[4] = RootChainHandler.invalidExitAndChallenge.selector;
        selectors[5] = RootChainHandler.warp.selector;
        selectors[6] = RootChainHandler.processExits.selector;
        selectors[7] = RootChainHandler.receiverWithdraw.selector;
        selectors[8] = InFlightHandler.inFlightPay.selector;
        selectors[9] = InFlightHandler.inFlightPay.selector; // payments twice as likely
        selectors[10] = InFlightHandler.doubleSign.selector;
        selectors[11] = InFlightHandler.exitInFlightInput.selector;
        selectors[12] = InFlightHandler.startInFlightExit.selector;
        selectors[13] = InFlightHandler.startInFlightExit.selector;
        selectors[14] = InFlightHandler.piggyback.selector;
        selectors[15] = InFlightHandler.challengeNotCanonical.selector;
        selectors[16] = InFlightHandler.challengeInputSpent.selector;
        selectors[17] = InFlightHandler.deleteInFlightExit.selector;
        selectors[18] = RootChainHandler.warp.selector; // time and processing twice as likely
        selectors[19] = RootChainHandler.processExits.selector;
        selectors[20] = InFlightHandler.piggyback.selector;
        selectors[21] = RootChainHandler.exitFeeClaim.selector;
        selectors[22] = RootChainHandler.transfer.selector; // payments with fees and claims twice as likely
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice For each token, the contract holds exactly what is still owed: outputs still worth something (unspent,
    ///         exiting, and each conflict group's unpaid value, where every pending piggyback's amount lives), the
    ///         bonds it holds (standard exits, in-flight exits, piggybacks) and the credits; so it covers them all.
    function invariant_balanceCoversPendingExitsPiggybacksBondsAndCredits() public view {
        uint256 eth = handler.expectedBalance(address(0));
        uint256 tkn = handler.expectedBalance(address(token));
        assertGe(address(chain).balance, eth, "ETH does not cover what is owed");
        assertGe(token.balanceOf(address(chain)), tkn, "token does not cover what is owed");
        assertEq(address(chain).balance, eth, "ETH accounting");
        assertEq(token.balanceOf(address(chain)), tkn, "token accounting");
    }

    /// @notice No output is paid twice, by either kind of exit or both, and no conflict group pays more than its value.
    function invariant_noOutputPaidTwice() public view {
        assertFalse(handler.paidTwice(), "an output was paid twice");
        assertFalse(handler.paidWrongly(), "a payout did not match an owed output (or was unfunded)");
    }

    /// @notice Every queue pops in priority order, both kinds of exit alike, and never before `exitableAt`.
    function invariant_payoutsInPriorityOrder() public view {
        assertFalse(handler.paidOutOfOrder(), "payout out of priority order or before exitableAt");
    }

    /// @notice The queue's top never lies below an entry already popped from it (priorities only grow).
    function invariant_queueTopNotBelowLastPayout() public view {
        for (uint256 k; k < 2; ++k) {
            address t = k == 0 ? address(0) : address(token);
            uint256 top = chain.nextExit(t);
            if (top != 0) assertGe(top, handler.lastPoppedPriority(t), "queue top below a popped entry");
        }
    }

    /// @notice Fee claims never take more than the fees their blocks' payments paid, and no more fee outputs are paid
    ///         than were claimed (the fees no claim took are in `expectedBalance`, so the balance invariant covers
    ///         them to the wei).
    function invariant_feeClaimsWithinTheFees() public view {
        assertFalse(handler.claimAboveFees(), "a fee claim above its block's fees");
        assertLe(handler.feesClaimed(), handler.feesPaid(), "more claimed than paid in fees");
        assertLe(handler.feeClaimsPaid(), handler.feeClaims(), "more fee outputs paid than claims");
    }

    /// @notice The fee path of the handler, driven by hand (a random run reaches each step only sometimes): a block
    ///         paying a fee ends with a claim of exactly it, which the fee address exits and is paid; a second block's
    ///         claim of part of its fee is spent on the chain by the fee address and its exit is then challenged; the
    ///         balance equals what is owed, the unclaimed part of the second fee included, at every step.
    function test_handler_feeClaimsAreExitedPaidSpentAndChallenged() public {
        uint256 fee1 = 0.01 ether;
        uint256 fee2 = 0.003 ether;
        uint256 claim2 = fee2 - 17;
        handler.depositEth(0, 5 ether); // utxo 0: actor 0
        // Block 1000: utxo 0 pays fee1; the claim of exactly fee1 (utxo 1), then the payment's outputs (2, 3).
        handler.transfer(0, 1, 1 ether, 7, _feeSeed(fee1), 0, false);
        _assertBalances();
        assertEq(handler.feeClaims(), 1, "a claim");
        assertTrue(handler.utxoIsFeeClaim(1), "utxo 1 is the claim");
        (uint256 pos, address tkn, uint256 amount,) = handler.utxoAt(1);
        assertEq(pos, UtxoPos.encode(1000, 8, 0), "the claim follows the payment at index 7");
        assertEq(tkn, address(0));
        assertEq(amount, fee1, "exactly the fee");

        // The fee address exits its claim.
        handler.exitFeeClaim(1, false, 0);
        assertEq(handler.feeClaimExits(), 1, "claim exit started");

        // Block 2000: utxo 2 (actor 1) pays fee2; the claim of part of it (utxo 4), outputs 5 and 6.
        handler.transfer(2, 2, 1 ether, 3, _feeSeed(fee2), (claim2 - 1) << 2 | 1, false);
        _assertBalances();
        assertTrue(handler.utxoIsFeeClaim(4), "utxo 4 is the second claim");
        (,, amount,) = handler.utxoAt(4);
        assertEq(amount, claim2, "part of the fee");
        assertEq(handler.unclaimedFees(), fee2 - claim2, "unclaimed");

        // Block 3000: the fee address spends the second claim (no fee: seed 3); then exits it anyway: challenged.
        handler.transfer(4, 0, 1, 0, 3, 0, false);
        assertEq(handler.feeClaimsSpent(), 1, "claim spent");
        handler.exitFeeClaim(4, true, 1);
        assertEq(handler.feeClaimsChallenged(), 1, "spent claim's exit challenged");
        _assertBalances();

        // After the exit period the first claim is paid: exactly fee1 (and the bond) to the fee address.
        address feeAddress = handler.feeAddress();
        uint256 before = feeAddress.balance;
        handler.warp(2 days - 1);
        handler.processExits(0, 7);
        assertEq(handler.feeClaimsPaid(), 1, "claim paid");
        assertEq(feeAddress.balance, before + fee1 + chain.exitBond(), "the fee and the bond");
        _assertBalances();
        assertFalse(handler.paidWrongly(), "paid wrongly");
        assertFalse(handler.paidTwice(), "paid twice");
        invariant_feeClaimsWithinTheFees();
    }

    /// @dev The fee seed of a fee of `fee` wei (below half the amount: `RootChainHandler._fee`).
    function _feeSeed(uint256 fee) internal pure returns (uint256) {
        return (fee - 1) << 2;
    }

    function _assertBalances() internal view {
        assertEq(address(chain).balance, handler.expectedBalance(address(0)), "ETH accounting");
        assertEq(token.balanceOf(address(chain)), handler.expectedBalance(address(token)), "token accounting");
    }
}
