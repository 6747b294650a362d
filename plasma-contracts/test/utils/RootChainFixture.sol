// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RootChain} from "../../src/RootChain.sol";
import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {MerkleTree} from "./MerkleTree.sol";
import {Test} from "./Test.sol";
import {TxLib} from "./TxLib.sol";
import {vm} from "./Vm.sol";

/// @notice A deployed root chain, funded users and helpers to build blocks, exits and spends.
abstract contract RootChainFixture is Test {
    uint256 internal constant MEP = 1 days;
    uint256 internal constant BOND = 0.01 ether;
    uint256 internal constant MIN_DEPOSIT = 1 gwei;
    uint256 internal constant IFE_BOND = 0.02 ether;
    uint256 internal constant PIGGYBACK_BOND = 0.015 ether;
    uint256 internal constant START_TIME = 1_700_000_000;

    RootChain internal chain;
    MockERC20 internal token;

    address internal operator = address(0x0BE7A708);
    uint256 internal alicePk = 0xA11CE;
    uint256 internal bobPk = 0xB0B;
    address internal alice;
    address internal bob;
    address internal carol = address(0xCA201);

    /// @notice An included transaction and what is needed to exit its outputs.
    struct Included {
        uint256 blknum;
        uint256 txIndex;
        PaymentTx.Transaction transaction;
        bytes txBytes;
        bytes proof;
    }

    function setUp() public virtual {
        vm.warp(START_TIME);
        alice = vm.addr(alicePk);
        bob = vm.addr(bobPk);
        vm.label(alice, "alice");
        vm.label(bob, "bob");
        chain = new RootChain(operator, MEP, BOND, MIN_DEPOSIT, IFE_BOND, PIGGYBACK_BOND);
        token = new MockERC20("Token", "TKN");
        vm.label(address(chain), "RootChain");
        vm.label(address(token), "TKN");
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        vm.deal(carol, 100 ether);
    }

    // ------------------------------------------------------------------ deposits

    function depositEth(address who, uint256 amount) internal returns (uint256 blknum) {
        blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.deposit{value: amount}();
    }

    function depositTkn(address who, uint256 amount) internal returns (uint256 blknum) {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(chain), amount);
        blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.depositToken(address(token), amount);
    }

    /// @notice Exit data of the deposit in block `blknum`.
    function depositExit(address owner, address tkn, uint256 amount, uint256 blknum)
        internal
        pure
        returns (uint256 utxoPos, bytes memory txBytes, bytes memory proof)
    {
        txBytes = TxLib.encode(TxLib.depositTx(owner, tkn, amount, blknum));
        (, proof) = MerkleTree.single(MerkleTree.leaf(txBytes), 0);
        utxoPos = UtxoPos.encode(blknum, 0, 0);
    }

    // ------------------------------------------------------------------ operator blocks

    /// @notice Submit an operator block holding `transaction` at `txIndex`, plus filler leaves at 0 and
    ///         65535 (when free) so proofs are never trivial.
    function includeTx(PaymentTx.Transaction memory transaction, uint256 txIndex)
        internal
        returns (Included memory inc)
    {
        inc.transaction = transaction;
        inc.txBytes = TxLib.encode(transaction);
        inc.txIndex = txIndex;
        (uint256[] memory indices, bytes32[] memory hashes) =
            _withFillers(txIndex, MerkleTree.leaf(inc.txBytes));
        bytes32 root;
        (root, inc.proof) = MerkleTree.rootAndProof(indices, hashes, txIndex);
        inc.blknum = chain.nextChildBlock();
        vm.prank(operator);
        chain.submitBlock(root);
    }

    function _withFillers(uint256 txIndex, bytes32 leafHash)
        private
        pure
        returns (uint256[] memory indices, bytes32[] memory hashes)
    {
        uint256 n = 1 + (txIndex != 0 ? 1 : 0) + (txIndex != 65_535 ? 1 : 0);
        indices = new uint256[](n);
        hashes = new bytes32[](n);
        uint256 k;
        if (txIndex != 0) {
            indices[k] = 0;
            hashes[k++] = keccak256("filler 0");
        }
        indices[k] = txIndex;
        hashes[k++] = leafHash;
        if (txIndex != 65_535) {
            indices[k] = 65_535;
            hashes[k++] = keccak256("filler 65535");
        }
    }

    /// @notice `owner` spends `input` into two outputs (to `to` and change to `owner`) in a new operator block.
    function spendInBlock(uint256 input, address owner, address to, address tkn, uint256 a, uint256 b)
        internal
        returns (Included memory)
    {
        return includeTx(TxLib.oneInTwoOut(input, TxLib.output(to, tkn, a), TxLib.output(owner, tkn, b)), 7);
    }

    function startExit(address who, uint256 utxoPos, bytes memory txBytes, bytes memory proof) internal {
        vm.prank(who);
        chain.startStandardExit{value: BOND}(utxoPos, txBytes, proof);
    }

    function priorityOf(uint256 exitableAt, uint256 utxoPos) internal pure returns (uint256) {
        return (exitableAt << 128) | utxoPos;
    }
}
