// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @notice Reference depth-16 tree for tests, written independently of `src/libraries/Merkle.sol`
///         (plain `abi.encodePacked` hashing, sparse leaves).
library MerkleTree {
    uint256 internal constant DEPTH = 16;

    function leaf(bytes memory data) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), data));
    }

    function node(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x01), left, right));
    }

    function zero(uint256 level) internal pure returns (bytes32 z) {
        z = keccak256(hex"00");
        for (uint256 i; i < level; ++i) {
            z = node(z, z);
        }
    }

    function zeros() internal pure returns (bytes32[17] memory z) {
        z[0] = keccak256(hex"00");
        for (uint256 i; i < DEPTH; ++i) {
            z[i + 1] = node(z[i], z[i]);
        }
    }

    /// @notice Root of the tree with `hashes[i]` at `indices[i]` (indices strictly increasing) and the proof
    ///         (16 siblings, leaf level first) of position `target`.
    function rootAndProof(uint256[] memory indices, bytes32[] memory hashes, uint256 target)
        internal
        pure
        returns (bytes32 root, bytes memory proof)
    {
        require(indices.length == hashes.length, "length");
        bytes32[17] memory z = zeros();
        uint256[] memory idx = indices;
        bytes32[] memory h = hashes;
        bytes32[] memory siblings = new bytes32[](DEPTH);
        for (uint256 level; level < DEPTH; ++level) {
            uint256 want = (target >> level) ^ 1;
            siblings[level] = z[level];
            for (uint256 i; i < idx.length; ++i) {
                if (idx[i] == want) siblings[level] = h[i];
            }
            uint256[] memory nextIdx = new uint256[](idx.length);
            bytes32[] memory nextH = new bytes32[](idx.length);
            uint256 n;
            for (uint256 i; i < idx.length;) {
                if (idx[i] % 2 == 0) {
                    if (i + 1 < idx.length && idx[i + 1] == idx[i] + 1) {
                        nextH[n] = node(h[i], h[i + 1]);
                        i += 2;
                    } else {
                        nextH[n] = node(h[i], z[level]);
                        i += 1;
                    }
                } else {
                    nextH[n] = node(z[level], h[i]);
                    i += 1;
                }
                nextIdx[n] = (i > 0 ? idx[i - 1] : 0) >> 1;
                ++n;
            }
            idx = new uint256[](n);
            h = new bytes32[](n);
            for (uint256 i; i < n; ++i) {
                idx[i] = nextIdx[i];
                h[i] = nextH[i];
            }
        }
        root = h.length == 0 ? z[DEPTH] : h[0];
        proof = abi.encodePacked(siblings);
    }

    /// @notice Root and proof of a single leaf hash at `index` in an otherwise empty tree.
    function single(bytes32 leafHash, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes memory proof)
    {
        uint256[] memory indices = new uint256[](1);
        bytes32[] memory hashes = new bytes32[](1);
        indices[0] = index;
        hashes[0] = leafHash;
        return rootAndProof(indices, hashes, index);
    }
}
