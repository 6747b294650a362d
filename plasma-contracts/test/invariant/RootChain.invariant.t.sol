// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";
import {RootChain} from "../../src/RootChain.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {Test} from "../utils/Test.sol";
import {vm} from "../utils/Vm.sol";
import {RootChainHandler} from "./RootChainHandler.sol";

/// @notice Invariants of the exit game under random deposits, transfers, exits, challenges, time and processing.
contract RootChainInvariantTest is Test {
    RootChain internal chain;
    MockERC20 internal token;
    RootChainHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address operator = address(0x0BE7A708);
        chain = new RootChain(operator, 1 days, 0.01 ether, 1 gwei, 0.02 ether, 0.015 ether);
        token = new MockERC20("Token", "TKN");
        handler = new RootChainHandler(chain, token, operator);

        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = RootChainHandler.depositEth.selector;
        selectors[1] = RootChainHandler.depositToken.selector;
        selectors[2] = RootChainHandler.transfer.selector;
        selectors[3] = RootChainHandler.startExit.selector;
        selectors[4] = RootChainHandler.invalidExitAndChallenge.selector;
        selectors[5] = RootChainHandler.warp.selector;
        selectors[6] = RootChainHandler.processExits.selector;
        selectors[7] = RootChainHandler.receiverWithdraw.selector;
        selectors[8] = RootChainHandler.startExit.selector; // exits twice as likely
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice For each token, the contract holds exactly what its live outputs, active exits' bonds and credited
    ///         withdrawals are worth (so it covers every pending exit + bond + withdrawable).
    function invariant_balanceCoversPendingExitsBondsAndCredits() public view {
        uint256[2] memory live; // unspent or exiting outputs, per token
        uint256[2] memory pendingExits;
        uint256 activeExits;
        uint256 n = handler.utxoCount();
        for (uint256 i; i < n; ++i) {
            (uint256 pos, address t, uint256 amount, RootChainHandler.State state) = handler.utxoAt(i);
            uint256 k = t == address(0) ? 0 : 1;
            if (state == RootChainHandler.State.Unspent || state == RootChainHandler.State.Exiting) {
                live[k] += amount;
            }
            if (state == RootChainHandler.State.Exiting) {
                pendingExits[k] += amount;
                ++activeExits;
                (IRootChain.ExitStatus status,, uint256 shown) = chain.getExit(pos);
                assertEq(uint8(status), uint8(IRootChain.ExitStatus.Active), "model exit not active");
                assertEq(shown, amount, "exit amount");
            }
        }
        uint256[2] memory credited;
        for (uint256 a; a < handler.actorCount(); ++a) {
            credited[0] += chain.withdrawable(handler.actors(a), address(0));
            credited[1] += chain.withdrawable(handler.actors(a), address(token));
        }
        uint256 bonds = activeExits * chain.exitBond();
        assertGe(address(chain).balance, pendingExits[0] + bonds + credited[0], "ETH does not cover exits");
        assertGe(token.balanceOf(address(chain)), pendingExits[1] + credited[1], "token does not cover exits");
        assertEq(address(chain).balance, live[0] + bonds + credited[0], "ETH accounting");
        assertEq(token.balanceOf(address(chain)), live[1] + credited[1], "token accounting");
    }

    function invariant_noOutputPaidTwice() public view {
        assertFalse(handler.paidTwice(), "an output was paid twice");
        assertFalse(handler.paidWrongly(), "a payout did not match an active exit");
    }

    function invariant_payoutsInPriorityOrder() public view {
        assertFalse(handler.paidOutOfOrder(), "payout out of priority order or before exitableAt");
    }

    /// @notice The queue's top never lies below an exit already paid from it (priorities only grow).
    function invariant_queueTopNotBelowLastPayout() public view {
        for (uint256 k; k < 2; ++k) {
            address t = k == 0 ? address(0) : address(token);
            uint256 top = chain.nextExit(t);
            if (top != 0) assertGe(top, handler.lastPaidPriority(t), "queue top below a paid exit");
        }
    }
}
