// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Merkle} from "../../src/libraries/Merkle.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {Test} from "../utils/Test.sol";
import {vm} from "../utils/Vm.sol";

contract MerkleHarness {
    function computeRoot(bytes calldata data, uint256 index, bytes calldata proof)
        external
        pure
        returns (bytes32)
    {
        return Merkle.computeRoot(Merkle.leafHash(data), index, proof);
    }

    function computeRootFromHash(bytes32 leaf, uint256 index, bytes calldata proof)
        external
        pure
        returns (bytes32)
    {
        return Merkle.computeRoot(leaf, index, proof);
    }

    function leafHash(bytes calldata data) external pure returns (bytes32) {
        return Merkle.leafHash(data);
    }

    function singleLeafRoot(bytes32 leaf) external pure returns (bytes32) {
        return Merkle.singleLeafRoot(leaf);
    }

    function zeroHash(uint256 level) external pure returns (bytes32) {
        return Merkle.zeroHash(level);
    }

    function nodeHash(bytes32 a, bytes32 b) external pure returns (bytes32) {
        return Merkle.nodeHash(a, b);
    }
}

contract MerkleTest is Test {
    string internal constant VECTORS = "../merkle/testdata/vectors.json";

    MerkleHarness internal h;

    function setUp() public {
        h = new MerkleHarness();
    }

    // ------------------------------------------------------------------ check values

    function test_zeroHash_matchesDefinition() public view {
        bytes32[17] memory z = MerkleTree.zeros();
        for (uint256 i; i <= 16; ++i) {
            assertEq(h.zeroHash(i), z[i], "zero hash");
        }
        assertEq(z[0], keccak256(hex"00"));
    }

    function test_zeroHash_revertsAboveDepth() public {
        vm.expectRevert(abi.encodeWithSelector(Merkle.LeafIndexOutOfRange.selector, 17));
        h.zeroHash(17);
    }

    function test_emptyRoot_isTheCheckValue() public pure {
        assertEq(Merkle.EMPTY_ROOT, 0x0581a615b18bc455a945d1a8b647c25c2d3af02776cf6970a11af8114d46affe);
        assertEq(MerkleTree.zero(16), Merkle.EMPTY_ROOT);
    }

    function test_twoLeafRoot_isTheCheckValue() public view {
        bytes32 expected = 0x64518025992a96f6e978a6b817578fbe03ea698dd8b6aa83f03b6f3dca3248ac;
        uint256[] memory idx = new uint256[](2);
        bytes32[] memory leaves = new bytes32[](2);
        idx[1] = 1;
        leaves[0] = MerkleTree.leaf(hex"deadbeef");
        leaves[1] = MerkleTree.leaf(hex"01");
        (bytes32 root, bytes memory proof0) = MerkleTree.rootAndProof(idx, leaves, 0);
        assertEq(root, expected, "reference root");
        (, bytes memory proof1) = MerkleTree.rootAndProof(idx, leaves, 1);
        assertEq(h.computeRoot(hex"deadbeef", 0, proof0), expected, "leaf 0");
        assertEq(h.computeRoot(hex"01", 1, proof1), expected, "leaf 1");
        // A proof is bound to its position.
        assertTrue(h.computeRoot(hex"deadbeef", 1, proof0) != expected, "wrong index");
    }

    function test_leafAndNode_areDomainSeparated() public view {
        bytes32 a = keccak256("a");
        bytes32 b = keccak256("b");
        assertEq(h.nodeHash(a, b), keccak256(abi.encodePacked(bytes1(0x01), a, b)));
        assertEq(h.leafHash(abi.encodePacked(a, b)), keccak256(abi.encodePacked(bytes1(0x00), a, b)));
        assertTrue(h.nodeHash(a, b) != h.leafHash(abi.encodePacked(a, b)));
    }

    function test_singleLeafRoot_equalsProofAtIndexZero() public view {
        bytes32 leaf = keccak256("deposit");
        (bytes32 root, bytes memory proof) = MerkleTree.single(leaf, 0);
        assertEq(h.singleLeafRoot(leaf), root);
        assertEq(h.computeRootFromHash(leaf, 0, proof), root);
    }

    // ------------------------------------------------------------------ reverts

    function test_computeRoot_revertsIfProofLengthWrong() public {
        vm.expectRevert(abi.encodeWithSelector(Merkle.InvalidProofLength.selector, 480));
        h.computeRoot(hex"00", 0, new bytes(480));
        vm.expectRevert(abi.encodeWithSelector(Merkle.InvalidProofLength.selector, 513));
        h.computeRoot(hex"00", 0, new bytes(513));
    }

    function test_computeRoot_revertsIfIndexOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(Merkle.LeafIndexOutOfRange.selector, 65_536));
        h.computeRoot(hex"00", 65_536, new bytes(512));
    }

    // ------------------------------------------------------------------ positions

    /// @notice Inclusion verifies at many positions, including the first and the last (65535), in a tree with
    ///         neighbours on both sides — the bug of earlier contracts verified only position 0.
    function test_computeRoot_verifiesAtManyPositions() public view {
        uint256[12] memory positions =
            [uint256(0), 1, 2, 3, 254, 255, 256, 32_767, 32_768, 40_000, 65_534, 65_535];
        for (uint256 j; j < positions.length; ++j) {
            _checkPosition(positions[j], j);
        }
    }

    function testFuzz_computeRoot_verifiesAnyPosition(uint256 index, uint256 seed) public view {
        _checkPosition(bound(index, 0, 65_535), seed);
    }

    function _checkPosition(uint256 index, uint256 seed) internal view {
        (uint256[] memory idx, bytes32[] memory leaves, uint256 k) = _neighbourhood(index, seed);
        bytes memory data = abi.encode(seed, index);
        leaves[k] = MerkleTree.leaf(data);
        (bytes32 root, bytes memory proof) = MerkleTree.rootAndProof(idx, leaves, index);
        assertEq(h.computeRoot(data, index, proof), root, "position does not verify");
        if (index != (index ^ 1)) {
            assertTrue(h.computeRoot(data, index ^ 1, proof) != root, "neighbour index verified");
        }
    }

    /// @dev The target index plus leaves at 0, 65535 and both neighbours (when distinct), sorted.
    function _neighbourhood(uint256 index, uint256 seed)
        internal
        pure
        returns (uint256[] memory idx, bytes32[] memory leaves, uint256 k)
    {
        uint256[5] memory cand = [uint256(0), index == 0 ? 0 : index - 1, index, index + 1, 65_535];
        uint256 n;
        uint256[] memory tmp = new uint256[](5);
        for (uint256 i; i < 5; ++i) {
            uint256 c = cand[i];
            if (c > 65_535) continue;
            if (n > 0 && tmp[n - 1] >= c) continue;
            tmp[n++] = c;
        }
        idx = new uint256[](n);
        leaves = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            idx[i] = tmp[i];
            leaves[i] = keccak256(abi.encode("other", seed, tmp[i]));
            if (tmp[i] == index) k = i;
        }
    }

    /// @notice Any change to leaf, index, one proof byte or the root makes verification fail.
    function testFuzz_computeRoot_rejectsMutations(uint256 index, uint256 seed, uint256 mutation, uint8 x)
        public
        view
    {
        vm.assume(x != 0);
        index = bound(index, 0, 65_535);
        (uint256[] memory idx, bytes32[] memory leaves, uint256 k) = _neighbourhood(index, seed);
        bytes memory data = abi.encode(seed, index);
        leaves[k] = MerkleTree.leaf(data);
        (bytes32 root, bytes memory proof) = MerkleTree.rootAndProof(idx, leaves, index);
        uint256 kind = mutation % 4;
        if (kind == 0) {
            data[(mutation >> 8) % data.length] ^= bytes1(x);
        } else if (kind == 1) {
            index = (index + 1 + (mutation >> 8) % 65_535) % 65_536;
        } else if (kind == 2) {
            proof[(mutation >> 8) % 512] ^= bytes1(x);
        } else {
            root = bytes32(uint256(root) ^ (uint256(x) << (8 * ((mutation >> 8) % 32))));
        }
        assertTrue(h.computeRoot(data, index, proof) != root, "mutation verified");
    }

    // ------------------------------------------------------------------ vectors from plasma-merkle

    /// @notice Every proof in `merkle/testdata/vectors.json` (written by the Rust crate) verifies here.
    function test_vectors_allProofsVerify() public view {
        assertTrue(vm.isFile(VECTORS), "missing merkle/testdata/vectors.json (written by plasma-merkle)");
        string memory json = vm.readFile(VECTORS);
        assertEq(vm.parseJsonUint(json, ".depth"), 16, "depth");
        bytes32[] memory zeros = vm.parseJsonBytes32Array(json, ".zeroHashes");
        assertEq(zeros.length, 17, "zero hashes");
        for (uint256 i; i < 17; ++i) {
            assertEq(zeros[i], Merkle.zeroHash(i), "zero hash");
        }
        uint256 checked;
        for (uint256 t;; ++t) {
            string memory tree = string.concat(".trees[", vm.toString(t), "]");
            if (!vm.keyExistsJson(json, tree)) break;
            checked += _checkProofs(json, tree);
        }
        checked += _checkProofs(json, ".full");
        assertGe(checked, 1, "no proofs in the vectors file");
    }

    function _checkProofs(string memory json, string memory tree) internal view returns (uint256 n) {
        bytes32 root = vm.parseJsonBytes32(json, string.concat(tree, ".root"));
        for (;; ++n) {
            string memory p = string.concat(tree, ".proofs[", vm.toString(n), "]");
            if (!vm.keyExistsJson(json, p)) break;
            uint256 index = vm.parseJsonUint(json, string.concat(p, ".index"));
            bytes memory leaf = vm.parseJsonBytes(json, string.concat(p, ".leaf"));
            bytes memory proof = vm.parseJsonBytes(json, string.concat(p, ".proof"));
            assertEq(h.computeRoot(leaf, index, proof), root, string.concat("vector ", p));
            // Mutations of the vector must fail. (The leaf of empty data equals the empty-slot hash, so for it
            // the neighbouring empty position verifies too: that is the tree's definition, not a mutation.)
            if (keccak256(leaf) != keccak256("") || _sibling(proof, 0) != Merkle.zeroHash(0)) {
                assertTrue(h.computeRoot(leaf, index ^ 1, proof) != root, "index mutation verified");
            }
            proof[n % 512] ^= 0x01;
            assertTrue(h.computeRoot(leaf, index, proof) != root, "proof mutation verified");
            proof[n % 512] ^= 0x01;
            bytes memory leaf2 = bytes.concat(leaf, hex"00");
            assertTrue(h.computeRoot(leaf2, index, proof) != root, "leaf mutation verified");
        }
    }

    function _sibling(bytes memory proof, uint256 level) internal pure returns (bytes32 s) {
        assembly {
            s := mload(add(add(proof, 32), shl(5, level)))
        }
    }

    /// @notice Fuzzed mutations of a vector from the file fail to verify.
    function testFuzz_vectors_mutationsFail(uint256 pick, uint256 mutation, uint8 x) public view {
        vm.assume(x != 0);
        string memory json = vm.readFile(VECTORS);
        uint256 count;
        while (vm.keyExistsJson(json, string.concat(".full.proofs[", vm.toString(count), "]"))) ++count;
        vm.assume(count > 0);
        string memory tree = ".full";
        string memory p = string.concat(".full.proofs[", vm.toString(pick % count), "]");
        bytes32 root = vm.parseJsonBytes32(json, string.concat(tree, ".root"));
        uint256 index = vm.parseJsonUint(json, string.concat(p, ".index"));
        bytes memory leaf = vm.parseJsonBytes(json, string.concat(p, ".leaf"));
        bytes memory proof = vm.parseJsonBytes(json, string.concat(p, ".proof"));
        assertEq(h.computeRoot(leaf, index, proof), root, "vector");
        uint256 kind = mutation % 4;
        if (kind == 0) {
            leaf = bytes.concat(leaf, bytes1(x));
        } else if (kind == 1) {
            index = (index + 1 + (mutation >> 8) % 65_535) % 65_536;
        } else if (kind == 2) {
            proof[(mutation >> 8) % 512] ^= bytes1(x);
        } else {
            root = bytes32(uint256(root) ^ (uint256(x) << (8 * ((mutation >> 8) % 32))));
        }
        assertTrue(h.computeRoot(leaf, index, proof) != root, "mutation verified");
    }
}
