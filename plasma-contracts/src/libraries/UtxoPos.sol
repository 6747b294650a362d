// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title UtxoPos
/// @notice Output positions: `utxoPos = blknum * 1e9 + txIndex * 1e4 + outputIndex`.
/// @dev A position is well formed iff `utxoPos < 2^64`, `blknum >= 1`, `txIndex < 2^16` (the Merkle tree
///      has 65,536 leaves) and `outputIndex < 4`. The Rust core applies exactly the same rule.
library UtxoPos {
    uint256 internal constant BLOCK_OFFSET = 1_000_000_000;
    uint256 internal constant TX_OFFSET = 10_000;
    uint256 internal constant MAX_TX_INDEX = 65_535;
    uint256 internal constant MAX_OUTPUT_INDEX = 3;
    /// @notice The largest block number whose every position is below 2^64:
    ///         `18,446,744,073 * 1e9 + 65,535 * 1e4 + 3 < 2^64 <= 18,446,744,074 * 1e9`.
    uint256 internal constant MAX_BLKNUM = 18_446_744_073;

    /// @notice Whether `pos` is a well-formed output position.
    function isValid(uint256 pos) internal pure returns (bool) {
        return pos < 1 << 64 && pos >= BLOCK_OFFSET && (pos / TX_OFFSET) % 100_000 <= MAX_TX_INDEX
            && pos % TX_OFFSET <= MAX_OUTPUT_INDEX;
    }

    /// @notice The parts of `pos` (not checked; see `isValid`).
    function decode(uint256 pos)
        internal
        pure
        returns (uint256 blknum, uint256 txIndex, uint256 outputIndex)
    {
        unchecked {
            blknum = pos / BLOCK_OFFSET;
            txIndex = (pos / TX_OFFSET) % 100_000;
            outputIndex = pos % TX_OFFSET;
        }
    }

    /// @notice The position of output `outputIndex` of transaction `txIndex` in block `blknum`.
    function encode(uint256 blknum, uint256 txIndex, uint256 outputIndex) internal pure returns (uint256) {
        return blknum * BLOCK_OFFSET + txIndex * TX_OFFSET + outputIndex;
    }
}
