// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";
import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MerkleTree} from "./MerkleTree.sol";
import {RootChainFixture} from "./RootChainFixture.sol";
import {TxLib} from "./TxLib.sol";
import {vm} from "./Vm.sol";

/// @notice Coins (committed outputs with their exit data), in-flight payments spending them, and the calls of the
///         in-flight exit game.
abstract contract InFlightFixture is RootChainFixture {
    uint256 internal davePk = 0xDA7E;
    address internal dave;

    /// @notice A committed output and what exiting or spending it needs.
    struct Coin {
        uint256 pos;
        bytes txBytes;
        bytes proof;
        address owner;
        uint256 pk;
        address token;
        uint256 amount;
    }

    /// @notice An in-flight payment and the data `startInFlightExit` takes.
    struct InFlight {
        PaymentTx.Transaction transaction;
        bytes txBytes;
        bytes32 txHash;
        bytes[] inputTxs;
        bytes[] proofs;
        bytes[] sigs;
        IRootChain.InFlightInput[] inputs;
    }

    function setUp() public virtual override {
        super.setUp();
        dave = vm.addr(davePk);
        vm.label(dave, "dave");
        vm.deal(dave, 100 ether);
    }

    // ------------------------------------------------------------------ coins

    function ethCoin(uint256 pk, uint256 amount) internal returns (Coin memory c) {
        address owner = vm.addr(pk);
        uint256 blknum = depositEth(owner, amount);
        return _depositCoin(owner, pk, address(0), amount, blknum);
    }

    function tokenCoin(uint256 pk, uint256 amount) internal returns (Coin memory c) {
        address owner = vm.addr(pk);
        uint256 blknum = depositTkn(owner, amount);
        return _depositCoin(owner, pk, address(token), amount, blknum);
    }

    function _depositCoin(address owner, uint256 pk, address tkn, uint256 amount, uint256 blknum)
        private
        pure
        returns (Coin memory c)
    {
        (c.pos, c.txBytes, c.proof) = depositExit(owner, tkn, amount, blknum);
        (c.owner, c.pk, c.token, c.amount) = (owner, pk, tkn, amount);
    }

    /// @notice `coin` spent in a real operator block (at index 7) to `to` (amount `a`) and back to its owner (the
    ///         rest): returns the two new coins.
    function spendCoin(Coin memory coin, uint256 toPk, uint256 a)
        internal
        returns (Coin memory paid, Coin memory change)
    {
        Included memory inc =
            spendInBlock(coin.pos, coin.owner, vm.addr(toPk), coin.token, a, coin.amount - a);
        paid = Coin(
            UtxoPos.encode(inc.blknum, 7, 0), inc.txBytes, inc.proof, vm.addr(toPk), toPk, coin.token, a
        );
        change = Coin(
            UtxoPos.encode(inc.blknum, 7, 1),
            inc.txBytes,
            inc.proof,
            coin.owner,
            coin.pk,
            coin.token,
            coin.amount - a
        );
    }

    // ------------------------------------------------------------------ in-flight payments

    function outputs1(address owner, address tkn, uint256 amount)
        internal
        pure
        returns (PaymentTx.Output[] memory o)
    {
        o = new PaymentTx.Output[](1);
        o[0] = TxLib.output(owner, tkn, amount);
    }

    function outputs2(address a, uint256 x, address b, uint256 y, address tkn)
        internal
        pure
        returns (PaymentTx.Output[] memory o)
    {
        o = new PaymentTx.Output[](2);
        o[0] = TxLib.output(a, tkn, x);
        o[1] = TxLib.output(b, tkn, y);
    }

    function coins1(Coin memory a) internal pure returns (Coin[] memory c) {
        c = new Coin[](1);
        c[0] = a;
    }

    function coins2(Coin memory a, Coin memory b) internal pure returns (Coin[] memory c) {
        c = new Coin[](2);
        c[0] = a;
        c[1] = b;
    }

    /// @notice A payment spending `ins` (each signed by its owner) into `outs`.
    function payment(Coin[] memory ins, PaymentTx.Output[] memory outs, bytes32 metadata)
        internal
        view
        returns (InFlight memory f)
    {
        uint256[] memory positions = new uint256[](ins.length);
        for (uint256 i; i < ins.length; ++i) {
            positions[i] = ins[i].pos;
        }
        f.transaction = TxLib.payment(positions, outs, metadata);
        f.txBytes = TxLib.encode(f.transaction);
        f.txHash = keccak256(f.txBytes);
        f.inputTxs = new bytes[](ins.length);
        f.proofs = new bytes[](ins.length);
        f.sigs = new bytes[](ins.length);
        f.inputs = new IRootChain.InFlightInput[](ins.length);
        for (uint256 i; i < ins.length; ++i) {
            f.inputTxs[i] = ins[i].txBytes;
            f.proofs[i] = ins[i].proof;
            f.sigs[i] = TxLib.sign(f.transaction, address(chain), ins[i].pk);
            f.inputs[i] = IRootChain.InFlightInput(
                keccak256(ins[i].txBytes), ins[i].owner, ins[i].token, ins[i].amount
            );
        }
    }

    /// @notice Alice pays Bob 0.25 of her 1 ETH deposit and keeps 0.75: the 1-in/2-out shape of the gas table.
    function alicePaysBob() internal returns (InFlight memory f, Coin memory input) {
        input = ethCoin(alicePk, 1 ether);
        f = payment(coins1(input), outputs2(bob, 0.25 ether, alice, 0.75 ether, address(0)), bytes32(0));
    }

    function startIfe(InFlight memory f, address starter, uint256 piggybacks) internal {
        uint256 n;
        for (uint256 k; k < 8; ++k) {
            if ((piggybacks >> k) & 1 == 1) ++n;
        }
        vm.prank(starter);
        chain.startInFlightExit{value: IFE_BOND + n * PIGGYBACK_BOND}(
            f.txBytes, f.inputTxs, f.proofs, f.sigs, piggybacks
        );
    }

    /// @notice The data every later call takes, with `bondOwner` the current owner of the exit bond.
    function ifeData(InFlight memory f, address bondOwner)
        internal
        pure
        returns (IRootChain.InFlightExit memory)
    {
        return IRootChain.InFlightExit(f.txBytes, f.inputs, bondOwner);
    }

    function piggybackInput(InFlight memory f, address bondOwner, uint256 i) internal {
        vm.prank(f.inputs[i].owner);
        chain.piggybackInFlightExitOnInput{value: PIGGYBACK_BOND}(ifeData(f, bondOwner), i);
    }

    function piggybackOutput(InFlight memory f, uint256 j) internal {
        vm.prank(f.transaction.outputs[j].owner);
        chain.piggybackInFlightExitOnOutput{value: PIGGYBACK_BOND}(f.txBytes, j);
    }

    function processIfe(InFlight memory f, address bondOwner, address tkn) internal {
        chain.processInFlightExit(tkn, ifeData(f, bondOwner));
    }

    /// @notice Include `f`'s transaction in a new operator block at `txIndex`: returns its transaction position.
    function includeInFlight(InFlight memory f, uint256 txIndex)
        internal
        returns (uint256 txPos, bytes memory proof)
    {
        Included memory inc = includeTx(f.transaction, txIndex);
        return (UtxoPos.encode(inc.blknum, txIndex, 0), inc.proof);
    }

    /// @notice A transaction spending `pos` (alone) to `to`, signed by `pk`, with `metadata` to tell spends apart.
    function spendOf(uint256 pos, uint256 pk, address to, uint256 amount, bytes32 metadata)
        internal
        view
        returns (PaymentTx.Transaction memory t, IRootChain.Spend memory s)
    {
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = pos;
        t = TxLib.payment(inputs, outputs1(to, address(0), amount), metadata);
        s = IRootChain.Spend(TxLib.encode(t), 0, TxLib.sign(t, address(chain), pk));
    }

    /// @notice The end of the exit's first half.
    function firstHalfEnd(bytes32 txHash) internal view returns (uint256) {
        (uint256 exitableAt,,,,,) = chain.getInFlightExit(txHash);
        return exitableAt - MEP / 2;
    }

    function exitableAtOf(bytes32 txHash) internal view returns (uint256 exitableAt) {
        (exitableAt,,,,,) = chain.getInFlightExit(txHash);
    }

    function piggybacksOf(bytes32 txHash) internal view returns (uint256 piggybacks) {
        (, piggybacks,,,,) = chain.getInFlightExit(txHash);
    }
}
