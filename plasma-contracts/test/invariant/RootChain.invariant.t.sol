// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RootChain} from "../../src/RootChain.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {Test} from "../utils/Test.sol";
import {vm} from "../utils/Vm.sol";
import {InFlightHandler} from "./InFlightHandler.sol";
import {RootChainHandler} from "./RootChainHandler.sol";

/// @notice Invariants of both exit games under random deposits, transfers, in-flight payments (included or never),
///         double signing, standard and in-flight exits, piggybacks, challenges, responses, deletions, time and
///         processing of the one queue per token.
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

        bytes4[] memory selectors = new bytes4[](21);
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
}
