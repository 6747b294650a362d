// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";

/// @notice Tries to re-enter `processExits` when paid; the guard makes its payout fail.
contract ReenteringReceiver {
    IRootChain internal immutable chain;

    constructor(IRootChain chain_) {
        chain = chain_;
    }

    receive() external payable {
        chain.processExits(address(0), 1);
    }
}
