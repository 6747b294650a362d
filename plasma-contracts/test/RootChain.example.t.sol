// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../src/interfaces/IRootChain.sol";
import {RootChain} from "../src/RootChain.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {Test} from "./utils/Test.sol";
import {TxLib} from "./utils/TxLib.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The worked example of docs/PROTOCOL.md (computed by `plasma-core`), checked against the contract:
///         the same bytes, hashes, roots, EIP-712 digest and signature on both sides.
contract RootChainExampleTest is Test {
    address internal constant CHAIN_ADDRESS = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    address internal constant ALICE = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;

    bytes internal constant SPEND_TX =
        hex"00000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000e9103fda000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000058d15e1762800000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb922660000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000083019dfc17b0000";
    bytes internal constant SIGNATURE =
        hex"c42d79915455a4a4e4c0c752579f7c5687b87373348951feb721ee6736a892d55aee45e447a5ddb5354c361c90305d87bc99bf0a340660e9424f87739c5231da1c";

    function test_workedExample_matchesPlasmaCore() public {
        require(block.chainid == 31_337, "example uses anvil's chain id");
        RootChain deployed = new RootChain(address(this), 1 days, 0.01 ether, 1 gwei, 0.02 ether, 0.015 ether);
        vm.etch(CHAIN_ADDRESS, address(deployed).code);
        RootChain chain = RootChain(payable(CHAIN_ADDRESS));

        // Step 2: Alice's payment to Bob.
        assertEq(
            keccak256(SPEND_TX), 0x3bca30bdedd631c87553b5a9d25a0d8808aa4c3667648cdc4748ba31632c782d, "txHash"
        );
        assertEq(
            TxLib.domainSeparator(CHAIN_ADDRESS),
            0x7f678b47d339b5358408e14bcd794b6c3a82878c62c1005c33dd06d3d3684f60,
            "domain separator"
        );
        bytes32 digest = chain.txDigest(SPEND_TX);
        assertEq(digest, 0x37e215e96fca01472c4ad80df4b459491e4b5dcac6d98aef35c15c431cdc4b12, "EIP-712 digest");
        bytes memory sig = SIGNATURE;
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
        }
        assertEq(ecrecover(digest, uint8(sig[64]), r, s), ALICE, "signature recovers to Alice");
        bytes32 leaf = MerkleTree.leaf(SPEND_TX);
        assertEq(leaf, 0x2aba01da788a812ddb4a725089255d415a75ba1c9302fefb65b61d56381b82f5, "leaf");
        // Step 3: alone in block 2000.
        (bytes32 root,) = MerkleTree.single(leaf, 0);
        assertEq(root, 0xf363ce1412ad13b29d550ba635e291610229e16491e5115d7176814ed3798147, "block 2000 root");

        // Step 1: the deposit in block 1001, whose root the contract computes itself.
        RootChain fresh = new RootChain(address(this), 1 days, 0.01 ether, 1 gwei, 0.02 ether, 0.015 ether);
        fresh.submitBlock(bytes32(uint256(1)));
        vm.deal(ALICE, 1 ether);
        vm.prank(ALICE);
        fresh.deposit{value: 1 ether}();
        assertTrue(
            fresh.isBlockRoot(1001, 0xbc9c3f61e8ff127eeee22a51b50e9df8d42ea53b341c65374711957245f69953),
            "deposit block root"
        );
        (bytes32 depositRoot,) = MerkleTree.single(
            MerkleTree.leaf(TxLib.encode(TxLib.depositTx(ALICE, address(0), 1 ether, 1001))), 0
        );
        assertEq(
            depositRoot, 0xbc9c3f61e8ff127eeee22a51b50e9df8d42ea53b341c65374711957245f69953, "deposit root"
        );
        (IRootChain.ExitStatus status,,) = fresh.getExit(1001e9);
        assertEq(uint8(status), 0);
    }
}
