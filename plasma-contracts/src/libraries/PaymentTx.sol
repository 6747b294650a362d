// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {UtxoPos} from "./UtxoPos.sol";

/// @title PaymentTx
/// @notice Canonical decoder and EIP-712 struct hash of the payment transaction.
/// @dev `txBytes = abi.encode(Transaction)`; all words are 32 bytes:
///      `[0x20][txType][0x80][0xa0 + 32*nIn][metadata][nIn][inputs…][nOut][outputs: 4 words each]`,
///      total `32 * (7 + nIn + 4*nOut)` bytes. `validate` accepts exactly these byte strings, and of them only
///      those that also satisfy the form rules: `txType == 1`, `nIn <= 4`, `1 <= nOut <= 4`, every
///      `outputType == 1`, every input a well-formed position (`UtxoPos.isValid`), owner and token words with
///      clean high bits. The Rust decoder in `plasma-core` accepts exactly the same set.
library PaymentTx {
    struct Output {
        uint256 outputType;
        address owner;
        address token;
        uint256 amount;
    }

    struct Transaction {
        uint256 txType;
        uint256[] inputs;
        Output[] outputs;
        bytes32 metadata;
    }

    uint256 internal constant TX_TYPE_PAYMENT = 1;
    uint256 internal constant OUTPUT_TYPE_PAYMENT = 1;
    uint256 internal constant MAX_INPUTS = 4;
    uint256 internal constant MAX_OUTPUTS = 4;

    /// @notice keccak256 of the EIP-712 type string of `Transaction` (with `Output` appended).
    bytes32 internal constant TX_TYPEHASH = keccak256(
        "Transaction(uint256 txType,uint256[] inputs,Output[] outputs,bytes32 metadata)"
        "Output(uint256 outputType,address owner,address token,uint256 amount)"
    );
    /// @notice keccak256 of the EIP-712 type string of `Output`.
    bytes32 internal constant OUTPUT_TYPEHASH =
        keccak256("Output(uint256 outputType,address owner,address token,uint256 amount)");

    /// @notice The byte length is not `32 * (7 + nIn + 4*nOut)` (or is too short to hold a transaction).
    error TxLengthInvalid(uint256 length);
    /// @notice The 32-byte word at `wordIndex` differs from the canonical ABI encoding (offset or padding).
    error TxNotCanonical(uint256 wordIndex);
    /// @notice Only `txType == 1` (payment) exists.
    error TxTypeInvalid(uint256 txType);
    /// @notice More than 4 inputs.
    error TxInputCountInvalid(uint256 count);
    /// @notice Zero or more than 4 outputs.
    error TxOutputCountInvalid(uint256 count);
    /// @notice Input `index` is not a well-formed output position.
    error TxInputInvalid(uint256 index, uint256 input);
    /// @notice Output `index` has an output type other than 1.
    error TxOutputTypeInvalid(uint256 index, uint256 outputType);

    /// @notice Check that `txBytes` is a canonical, well-formed payment transaction; revert otherwise.
    /// @return nIn The number of inputs.
    /// @return nOut The number of outputs.
    function validate(bytes calldata txBytes) internal pure returns (uint256 nIn, uint256 nOut) {
        uint256 len = txBytes.length;
        // The shortest transaction (no input, one output) has 11 words.
        if (len < 352 || len % 32 != 0) revert TxLengthInvalid(len);
        uint256 head;
        uint256 txType;
        uint256 inputsOffset;
        uint256 outputsOffset;
        assembly ("memory-safe") {
            let o := txBytes.offset
            head := calldataload(o)
            txType := calldataload(add(o, 0x20))
            inputsOffset := calldataload(add(o, 0x40))
            outputsOffset := calldataload(add(o, 0x60))
            nIn := calldataload(add(o, 0xa0))
        }
        if (head != 0x20) revert TxNotCanonical(0);
        if (txType != TX_TYPE_PAYMENT) revert TxTypeInvalid(txType);
        if (inputsOffset != 0x80) revert TxNotCanonical(2);
        if (nIn > MAX_INPUTS) revert TxInputCountInvalid(nIn);
        unchecked {
            if (outputsOffset != 0xa0 + 32 * nIn) revert TxNotCanonical(3);
            nOut = _word(txBytes, 6 + nIn);
            if (nOut == 0 || nOut > MAX_OUTPUTS) revert TxOutputCountInvalid(nOut);
            if (len != 32 * (7 + nIn + 4 * nOut)) revert TxLengthInvalid(len);
        }
        // The first malformed input position, if any (`nIn` if none): `UtxoPos.isValid`, inlined.
        uint256 bad;
        uint256 pos;
        assembly ("memory-safe") {
            bad := nIn
            for { let i := 0 } lt(i, nIn) { i := add(i, 1) } {
                pos := calldataload(add(txBytes.offset, shl(5, add(6, i))))
                let ok := and(lt(pos, shl(64, 1)), iszero(lt(pos, 1000000000)))
                ok := and(ok, lt(mod(div(pos, 10000), 100000), 65536))
                ok := and(ok, lt(mod(pos, 10000), 4))
                if iszero(ok) {
                    bad := i
                    break
                }
            }
        }
        if (bad < nIn) revert TxInputInvalid(bad, pos);
        // The first malformed output word, if any: its index and what is wrong (1 type, 2 dirty address).
        uint256 word;
        uint256 fault;
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, nOut) { k := add(k, 1) } {
                let w := add(add(7, nIn), shl(2, k))
                let p := add(txBytes.offset, shl(5, w))
                if iszero(eq(calldataload(p), 1)) {
                    word := k
                    fault := 1
                    break
                }
                if shr(160, calldataload(add(p, 0x20))) {
                    word := add(w, 1)
                    fault := 2
                    break
                }
                if shr(160, calldataload(add(p, 0x40))) {
                    word := add(w, 2)
                    fault := 2
                    break
                }
            }
        }
        if (fault == 1) revert TxOutputTypeInvalid(word, _word(txBytes, 7 + nIn + 4 * word));
        if (fault == 2) revert TxNotCanonical(word);
    }

    /// @notice The input and output counts of bytes already known to be a validated transaction (for example because
    ///         their hash matches one recorded after `validate`); does not check anything.
    function counts(bytes calldata txBytes) internal pure returns (uint256 nIn, uint256 nOut) {
        assembly ("memory-safe") {
            nIn := calldataload(add(txBytes.offset, 0xa0))
            nOut := calldataload(add(txBytes.offset, shl(5, add(6, nIn))))
        }
    }

    /// @notice Input `i` of a validated transaction (`i < nIn` is the caller's to check).
    function input(bytes calldata txBytes, uint256 i) internal pure returns (uint256 pos) {
        assembly ("memory-safe") {
            pos := calldataload(add(txBytes.offset, shl(5, add(6, i))))
        }
    }

    /// @notice Output `k` of a validated transaction with `nIn` inputs (`k < nOut` is the caller's to check).
    function output(bytes calldata txBytes, uint256 nIn, uint256 k)
        internal
        pure
        returns (address owner, address token, uint256 amount)
    {
        assembly ("memory-safe") {
            let p := add(txBytes.offset, shl(5, add(add(8, nIn), shl(2, k))))
            owner := calldataload(p)
            token := calldataload(add(p, 0x20))
            amount := calldataload(add(p, 0x40))
        }
    }

    /// @notice The EIP-712 `hashStruct` of a validated transaction with `nIn` inputs and `nOut` outputs.
    /// @dev `keccak256(TX_TYPEHASH ‖ txType ‖ keccak256(inputs) ‖ keccak256(hashStruct(output_0) ‖ …) ‖ metadata)`.
    function structHash(bytes calldata txBytes, uint256 nIn, uint256 nOut) internal pure returns (bytes32 h) {
        bytes32 txTypehash = TX_TYPEHASH;
        bytes32 outputTypehash = OUTPUT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let base := txBytes.offset
            // keccak256(abi.encodePacked(inputs))
            calldatacopy(m, add(base, 192), shl(5, nIn))
            let inputsHash := keccak256(m, shl(5, nIn))
            // hashStruct of each output, written to m + 0xc0 + 32k
            let hashes := add(m, 0xc0)
            let outputs := add(base, shl(5, add(7, nIn)))
            mstore(m, outputTypehash)
            for { let k := 0 } lt(k, nOut) { k := add(k, 1) } {
                calldatacopy(add(m, 32), add(outputs, shl(7, k)), 128)
                mstore(add(hashes, shl(5, k)), keccak256(m, 160))
            }
            let outputsHash := keccak256(hashes, shl(5, nOut))
            mstore(m, txTypehash)
            mstore(add(m, 32), calldataload(add(base, 32)))
            mstore(add(m, 64), inputsHash)
            mstore(add(m, 96), outputsHash)
            mstore(add(m, 128), calldataload(add(base, 128)))
            h := keccak256(m, 160)
        }
    }

    /// @notice `keccak256(0x00 ‖ txBytes)` of the deposit transaction
    ///         `Transaction(1, [], [Output(1, owner, token, amount)], bytes32(blknum))`.
    function depositLeafHash(address owner, address token, uint256 amount, uint256 blknum)
        internal
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore8(m, 0)
            let p := add(m, 1)
            mstore(p, 0x20)
            mstore(add(p, 32), 1)
            mstore(add(p, 64), 0x80)
            mstore(add(p, 96), 0xa0)
            mstore(add(p, 128), blknum)
            mstore(add(p, 160), 0)
            mstore(add(p, 192), 1)
            mstore(add(p, 224), 1)
            mstore(add(p, 256), owner)
            mstore(add(p, 288), token)
            mstore(add(p, 320), amount)
            h := keccak256(m, 353)
        }
    }

    /// @notice Validate and decode into memory (for views and tests; the contract reads calldata directly).
    function decode(bytes calldata txBytes) internal pure returns (Transaction memory transaction) {
        validate(txBytes);
        transaction = abi.decode(txBytes, (Transaction));
    }

    function _word(bytes calldata txBytes, uint256 index) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(txBytes.offset, shl(5, index)))
        }
    }
}
