// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Plain mintable ERC20.
contract MockERC20 is ERC20 {
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice Burns 1% of every transfer: the contract receives less than `amount`.
contract FeeOnTransferToken is MockERC20("Fee", "FEE") {
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice Reverts on transfers to blacklisted addresses (like USDC/USDT freezes).
contract BlacklistToken is MockERC20("Blacklist", "BLK") {
    error Blacklisted(address account);

    mapping(address => bool) public blacklisted;

    function setBlacklisted(address account, bool value) external {
        blacklisted[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blacklisted[to]) revert Blacklisted(to);
        super._update(from, to, value);
    }
}

/// @notice Burns all gas it is given on transfers to `victim`.
contract GasBurningToken is MockERC20("Burn", "BRN") {
    address public victim;

    function setVictim(address account) external {
        victim = account;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (to != address(0) && to == victim) {
            while (true) {}
        }
        super._update(from, to, value);
    }
}
