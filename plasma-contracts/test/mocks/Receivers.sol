// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @notice Rejects every ETH transfer.
contract RevertingReceiver {
    error NoThanks();

    receive() external payable {
        revert NoThanks();
    }
}

/// @notice Burns all the gas it is given when receiving ETH.
contract GasBurningReceiver {
    receive() external payable {
        while (true) {}
    }
}

/// @notice Accepts ETH only while `open`, so a test can fail a payout and then withdraw.
contract TogglingReceiver {
    bool public open;

    function setOpen(bool value) external {
        open = value;
    }

    receive() external payable {
        require(open, "closed");
    }
}
