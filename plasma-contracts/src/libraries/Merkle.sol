// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title Merkle
/// @notice The depth-16 keccak Merkle tree of a child-chain block, byte-identical to `plasma-merkle`.
/// @dev `leaf = keccak256(0x00 ‖ txBytes)`, `node = keccak256(0x01 ‖ left ‖ right)`, an empty slot is
///      `zero[0] = keccak256(0x00)` and `zero[i+1] = node(zero[i], zero[i])`. A proof is the 16 sibling hashes,
///      leaf level first (512 bytes); the leaf index is the transaction index. At each level the bit of the
///      *current* index says which side the running hash is on, so every position 0..65535 verifies.
library Merkle {
    /// @notice Tree depth: 2^16 = 65,536 leaves a block.
    uint256 internal constant DEPTH = 16;
    /// @notice Length of an inclusion proof in bytes.
    uint256 internal constant PROOF_LENGTH = 512;
    /// @notice Root of the empty tree (`zero[16]`).
    bytes32 internal constant EMPTY_ROOT = 0x0581a615b18bc455a945d1a8b647c25c2d3af02776cf6970a11af8114d46affe;

    /// @notice An inclusion proof must be exactly 16 × 32 bytes.
    error InvalidProofLength(uint256 length);
    /// @notice A leaf index must be below 2^16.
    error LeafIndexOutOfRange(uint256 index);

    /// @notice `zero[level]` for `level` in 0..=16.
    function zeroHash(uint256 level) internal pure returns (bytes32 z) {
        // forgefmt: disable-start
        if (level == 0) return 0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a;
        if (level == 1) return 0x6d11012f507d5c770232575322ada02affcb999d62e89ebf2d0dd391ae60976b;
        if (level == 2) return 0x1c05d5fb1caaec828c210855c781b832064772c898eae7f2b956d86a728c2fce;
        if (level == 3) return 0x5bf859768d20425c7818862488808cfdc5fb44dd5056e9d1d2d99c6ce243689a;
        if (level == 4) return 0x36044e2ca5e24e95310eeb507e14ff37c5bf57c44a5409eaad95f3ea8936327f;
        if (level == 5) return 0xd2ce52564fa215e110fe909adc68688c290712591f0c04c9616e095b13846768;
        if (level == 6) return 0xd0363c1a6cf445d0e14a27e770f7cadc78f674a194d4a485e8ecb19a2b9d7286;
        if (level == 7) return 0x19ea80c395d2a1ec1d4c5044ae0773e25b39a60f58b2e541b8f02d26b665a9c3;
        if (level == 8) return 0xb5656f74b09534a124b7fdff64466afae5b4aa93d4a215775b575a4ecb8961b2;
        if (level == 9) return 0x945e9308a622efe742cfbb97031b276a0cdbbed7cf97a393617462494159dcdd;
        if (level == 10) return 0x52b786f0a3ae12d380a7f2d4949f044f74ccfc83df226c3a047ff62b615e7f33;
        if (level == 11) return 0x88a4516b9a7e168814c76c91144e0d3c7eb7f9614c94b0e1eef0b257483c2f68;
        if (level == 12) return 0xa041e781665d9fb3004bc8b81102385ce904456ea5752dfc4ffd99dfc2d6113e;
        if (level == 13) return 0x322b304bd7c7fc54b3e69b87746a7c1c615ff5821e4a654abfa9d9f6eabc0c26;
        if (level == 14) return 0x909ccf256bcd5bcf8a0e4b07e2f63b13cdb6ef86b580d54d04683695dba2ab2d;
        if (level == 15) return 0x337b06193cc8d1c77aabc69040506259640aab88531512e05202194f30c5e4dd;
        if (level == 16) return EMPTY_ROOT;
        // forgefmt: disable-end
        revert LeafIndexOutOfRange(level);
    }

    /// @notice `keccak256(0x00 ‖ data)` of calldata bytes.
    function leafHash(bytes calldata data) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 0)
            calldatacopy(add(m, 1), data.offset, data.length)
            h := keccak256(m, add(data.length, 1))
        }
    }

    /// @notice `keccak256(0x01 ‖ left ‖ right)`.
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 1)
            mstore(add(m, 1), left)
            mstore(add(m, 33), right)
            h := keccak256(m, 65)
        }
    }

    /// @notice The root reached from `leaf` at `index` with the 16 siblings in `proof` (leaf level first).
    function computeRoot(bytes32 leaf, uint256 index, bytes calldata proof)
        internal
        pure
        returns (bytes32 h)
    {
        if (proof.length != PROOF_LENGTH) revert InvalidProofLength(proof.length);
        if (index >> DEPTH != 0) revert LeafIndexOutOfRange(index);
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 1)
            h := leaf
            let end := add(proof.offset, 512)
            for { let p := proof.offset } lt(p, end) { p := add(p, 32) } {
                // Branchless: the running hash is the right child when the current index bit is 1.
                let sibling := calldataload(p)
                let swap := mul(and(index, 1), xor(h, sibling))
                mstore(add(m, 1), xor(h, swap))
                mstore(add(m, 33), xor(sibling, swap))
                h := keccak256(m, 65)
                index := shr(1, index)
            }
        }
    }

    /// @notice The root of the tree whose only leaf (at index 0) is `leaf`: a deposit block's root.
    function singleLeafRoot(bytes32 leaf) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 1)
            // forgefmt: disable-next-item
            function up(p, l, z) -> r {
                mstore(add(p, 1), l)
                mstore(add(p, 33), z)
                r := keccak256(p, 65)
            }
            h := up(m, leaf, 0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a)
            h := up(m, h, 0x6d11012f507d5c770232575322ada02affcb999d62e89ebf2d0dd391ae60976b)
            h := up(m, h, 0x1c05d5fb1caaec828c210855c781b832064772c898eae7f2b956d86a728c2fce)
            h := up(m, h, 0x5bf859768d20425c7818862488808cfdc5fb44dd5056e9d1d2d99c6ce243689a)
            h := up(m, h, 0x36044e2ca5e24e95310eeb507e14ff37c5bf57c44a5409eaad95f3ea8936327f)
            h := up(m, h, 0xd2ce52564fa215e110fe909adc68688c290712591f0c04c9616e095b13846768)
            h := up(m, h, 0xd0363c1a6cf445d0e14a27e770f7cadc78f674a194d4a485e8ecb19a2b9d7286)
            h := up(m, h, 0x19ea80c395d2a1ec1d4c5044ae0773e25b39a60f58b2e541b8f02d26b665a9c3)
            h := up(m, h, 0xb5656f74b09534a124b7fdff64466afae5b4aa93d4a215775b575a4ecb8961b2)
            h := up(m, h, 0x945e9308a622efe742cfbb97031b276a0cdbbed7cf97a393617462494159dcdd)
            h := up(m, h, 0x52b786f0a3ae12d380a7f2d4949f044f74ccfc83df226c3a047ff62b615e7f33)
            h := up(m, h, 0x88a4516b9a7e168814c76c91144e0d3c7eb7f9614c94b0e1eef0b257483c2f68)
            h := up(m, h, 0xa041e781665d9fb3004bc8b81102385ce904456ea5752dfc4ffd99dfc2d6113e)
            h := up(m, h, 0x322b304bd7c7fc54b3e69b87746a7c1c615ff5821e4a654abfa9d9f6eabc0c26)
            h := up(m, h, 0x909ccf256bcd5bcf8a0e4b07e2f63b13cdb6ef86b580d54d04683695dba2ab2d)
            h := up(m, h, 0x337b06193cc8d1c77aabc69040506259640aab88531512e05202194f30c5e4dd)
        }
    }
}
