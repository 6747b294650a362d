// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RootChain} from "../src/RootChain.sol";
import {vm} from "../test/utils/Vm.sol";

/// @notice Deploy the root chain. Configuration from the environment:
///         `OPERATOR` (default: the broadcaster), `MIN_EXIT_PERIOD` seconds (default 7 days),
///         `EXIT_BOND` wei (default 0.01 ether), `MIN_DEPOSIT` wei (default 0.001 ether),
///         `IN_FLIGHT_EXIT_BOND` wei (default 0.02 ether), `PIGGYBACK_BOND` wei (default 0.015 ether).
/// @dev `forge script script/Deploy.s.sol --rpc-url $RPC --private-key $KEY --broadcast` (from plasma-contracts/).
contract Deploy {
    bool public constant IS_SCRIPT = true;

    function run() external returns (RootChain chain) {
        address operator = vm.envOr("OPERATOR", msg.sender);
        uint256 minExitPeriod = vm.envOr("MIN_EXIT_PERIOD", uint256(7 days));
        uint256 exitBond = vm.envOr("EXIT_BOND", uint256(0.01 ether));
        uint256 minDeposit = vm.envOr("MIN_DEPOSIT", uint256(0.001 ether));
        uint256 inFlightExitBond = vm.envOr("IN_FLIGHT_EXIT_BOND", uint256(0.02 ether));
        uint256 piggybackBond = vm.envOr("PIGGYBACK_BOND", uint256(0.015 ether));
        vm.startBroadcast();
        chain = new RootChain(operator, minExitPeriod, exitBond, minDeposit, inFlightExitBond, piggybackBond);
        vm.stopBroadcast();
    }
}
