// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {vm} from "./Vm.sol";

/// @notice Transaction builders and a reference EIP-712 implementation for tests (plain abi.encode hashing,
///         independent of the contract's calldata hashing).
library TxLib {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    function output(address owner, address token, uint256 amount)
        internal
        pure
        returns (PaymentTx.Output memory)
    {
        return PaymentTx.Output({outputType: 1, owner: owner, token: token, amount: amount});
    }

    function payment(uint256[] memory inputs, PaymentTx.Output[] memory outputs, bytes32 metadata)
        internal
        pure
        returns (PaymentTx.Transaction memory)
    {
        return PaymentTx.Transaction({txType: 1, inputs: inputs, outputs: outputs, metadata: metadata});
    }

    /// @notice One input, two outputs: the shape of the gas table's standard exit.
    function oneInTwoOut(uint256 input, PaymentTx.Output memory a, PaymentTx.Output memory b)
        internal
        pure
        returns (PaymentTx.Transaction memory)
    {
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = input;
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](2);
        outputs[0] = a;
        outputs[1] = b;
        return payment(inputs, outputs, bytes32(0));
    }

    function depositTx(address owner, address token, uint256 amount, uint256 blknum)
        internal
        pure
        returns (PaymentTx.Transaction memory)
    {
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
        outputs[0] = output(owner, token, amount);
        return payment(new uint256[](0), outputs, bytes32(blknum));
    }

    function encode(PaymentTx.Transaction memory transaction) internal pure returns (bytes memory) {
        return abi.encode(transaction);
    }

    function structHash(PaymentTx.Transaction memory transaction) internal pure returns (bytes32) {
        bytes32[] memory outputHashes = new bytes32[](transaction.outputs.length);
        for (uint256 i; i < outputHashes.length; ++i) {
            PaymentTx.Output memory o = transaction.outputs[i];
            outputHashes[i] =
                keccak256(abi.encode(PaymentTx.OUTPUT_TYPEHASH, o.outputType, o.owner, o.token, o.amount));
        }
        return keccak256(
            abi.encode(
                keccak256(
                    "Transaction(uint256 txType,uint256[] inputs,Output[] outputs,bytes32 metadata)"
                    "Output(uint256 outputType,address owner,address token,uint256 amount)"
                ),
                transaction.txType,
                keccak256(abi.encodePacked(transaction.inputs)),
                keccak256(abi.encodePacked(outputHashes)),
                transaction.metadata
            )
        );
    }

    function domainSeparator(address rootChain) internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("Plasma"), keccak256("1"), block.chainid, rootChain)
            );
    }

    function digest(PaymentTx.Transaction memory transaction, address rootChain)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(rootChain), structHash(transaction)));
    }

    /// @notice The 65-byte r ‖ s ‖ v signature of `transaction` by `privateKey`.
    function sign(PaymentTx.Transaction memory transaction, address rootChain, uint256 privateKey)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest(transaction, rootChain));
        return abi.encodePacked(r, s, v);
    }
}
