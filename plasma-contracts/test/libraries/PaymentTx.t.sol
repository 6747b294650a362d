// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {Test} from "../utils/Test.sol";
import {TxLib} from "../utils/TxLib.sol";
import {vm} from "../utils/Vm.sol";

contract PaymentTxHarness {
    function validate(bytes calldata txBytes) external pure returns (uint256 nIn, uint256 nOut) {
        return PaymentTx.validate(txBytes);
    }

    function decode(bytes calldata txBytes) external pure returns (PaymentTx.Transaction memory) {
        return PaymentTx.decode(txBytes);
    }

    function structHash(bytes calldata txBytes) external pure returns (bytes32) {
        (uint256 nIn, uint256 nOut) = PaymentTx.validate(txBytes);
        return PaymentTx.structHash(txBytes, nIn, nOut);
    }

    function output(bytes calldata txBytes, uint256 k) external pure returns (address, address, uint256) {
        (uint256 nIn,) = PaymentTx.validate(txBytes);
        return PaymentTx.output(txBytes, nIn, k);
    }

    function counts(bytes calldata txBytes) external pure returns (uint256, uint256) {
        return PaymentTx.counts(txBytes);
    }

    function input(bytes calldata txBytes, uint256 i) external pure returns (uint256) {
        PaymentTx.validate(txBytes);
        return PaymentTx.input(txBytes, i);
    }

    function depositLeafHash(address owner, address token, uint256 amount, uint256 blknum)
        external
        pure
        returns (bytes32)
    {
        return PaymentTx.depositLeafHash(owner, token, amount, blknum);
    }
}

contract PaymentTxTest is Test {
    PaymentTxHarness internal h;

    function setUp() public {
        h = new PaymentTxHarness();
    }

    // ------------------------------------------------------------------ builders

    function _tx(uint256 nIn, uint256 nOut, uint256 seed)
        internal
        pure
        returns (PaymentTx.Transaction memory t)
    {
        uint256[] memory inputs = new uint256[](nIn);
        for (uint256 i; i < nIn; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "in", i)));
            // blknum in [1, 2^34), txIndex < 65536, outputIndex < 4: always below 2^64.
            inputs[i] = (1 + r % ((1 << 34) - 1)) * 1e9 + ((r >> 64) % 65_536) * 1e4 + ((r >> 128) % 4);
        }
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](nOut);
        for (uint256 k; k < nOut; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, "out", k)));
            outputs[k] = TxLib.output(address(uint160(r)), address(uint160(r >> 96)), r >> (k * 8));
        }
        t = TxLib.payment(inputs, outputs, keccak256(abi.encode(seed, "meta")));
    }

    function _canonical() internal pure returns (bytes memory) {
        return TxLib.encode(_tx(2, 3, 42));
    }

    function _word(bytes memory b, uint256 i) internal pure returns (uint256 w) {
        assembly {
            w := mload(add(add(b, 32), shl(5, i)))
        }
    }

    function _setWord(bytes memory b, uint256 i, uint256 value) internal pure returns (bytes memory) {
        bytes memory c = bytes.concat(b);
        assembly {
            mstore(add(add(c, 32), shl(5, i)), value)
        }
        return c;
    }

    // ------------------------------------------------------------------ acceptance

    function test_validate_acceptsEveryShape() public view {
        for (uint256 nIn; nIn <= 4; ++nIn) {
            for (uint256 nOut = 1; nOut <= 4; ++nOut) {
                PaymentTx.Transaction memory t = _tx(nIn, nOut, nIn * 10 + nOut);
                bytes memory b = TxLib.encode(t);
                assertEq(b.length, 32 * (7 + nIn + 4 * nOut), "canonical length");
                (uint256 a, uint256 c) = h.validate(b);
                assertEq(a, nIn, "nIn");
                assertEq(c, nOut, "nOut");
                assertEq(TxLib.encode(h.decode(b)), b, "round trip");
                assertEq(h.structHash(b), TxLib.structHash(t), "struct hash");
                for (uint256 k; k < nOut; ++k) {
                    (address owner, address token, uint256 amount) = h.output(b, k);
                    assertEq(owner, t.outputs[k].owner);
                    assertEq(token, t.outputs[k].token);
                    assertEq(amount, t.outputs[k].amount);
                }
                for (uint256 i; i < nIn; ++i) {
                    assertEq(h.input(b, i), t.inputs[i], "input");
                }
            }
        }
    }

    function test_validate_layoutIsTheDocumentedOne() public pure {
        bytes memory b = _canonical(); // 2 inputs, 3 outputs
        assertEq(_word(b, 0), 0x20, "head");
        assertEq(_word(b, 1), 1, "txType");
        assertEq(_word(b, 2), 0x80, "inputs offset");
        assertEq(_word(b, 3), 0xa0 + 32 * 2, "outputs offset");
        assertEq(_word(b, 5), 2, "nIn");
        assertEq(_word(b, 8), 3, "nOut");
        assertEq(_word(b, 9), 1, "outputType");
    }

    function test_depositLeafHash_matchesEncodedDepositTx() public view {
        address owner = address(0xA11CE);
        address token = address(0x70CE);
        bytes memory b = TxLib.encode(TxLib.depositTx(owner, token, 123, 4001));
        assertEq(h.depositLeafHash(owner, token, 123, 4001), keccak256(abi.encodePacked(bytes1(0), b)));
        h.validate(b);
    }

    function test_typehashes() public pure {
        assertEq(
            PaymentTx.TX_TYPEHASH, bytes32(0x1e447442fee3a1edf3b529a673ba27e86b4bbb8d69828f97654c633dce14ae19)
        );
        assertEq(
            PaymentTx.OUTPUT_TYPEHASH,
            bytes32(0x904714fca0347d83838ce7a615839478b4ab8884e96ed26d405de207b4cb4809)
        );
    }

    // ------------------------------------------------------------------ rejections (one per error)

    function test_validate_revertsIfTooShort() public {
        bytes memory b = TxLib.encode(_tx(0, 1, 1));
        assembly {
            mstore(b, 320)
        }
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, 320));
        h.validate(b);
    }

    function test_validate_revertsIfTrailingBytes() public {
        bytes memory b = bytes.concat(_canonical(), bytes1(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, b.length));
        h.validate(b);
        b = bytes.concat(_canonical(), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxLengthInvalid.selector, b.length));
        h.validate(b);
    }

    function test_validate_revertsIfHeadOffsetWrong() public {
        bytes memory b = _setWord(_canonical(), 0, 0x40);
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 0));
        h.validate(b);
    }

    function test_validate_revertsIfTxTypeWrong() public {
        bytes memory b = _setWord(_canonical(), 1, 2);
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxTypeInvalid.selector, 2));
        h.validate(b);
    }

    function test_validate_revertsIfInputsOffsetWrong() public {
        bytes memory b = _setWord(_canonical(), 2, 0xa0);
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 2));
        h.validate(b);
    }

    function test_validate_revertsIfOutputsOffsetWrong() public {
        bytes memory b = _setWord(_canonical(), 3, 0xa0);
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 3));
        h.validate(b);
    }

    function test_validate_revertsIfTooManyInputs() public {
        bytes memory b = TxLib.encode(_tx(5, 1, 3));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxInputCountInvalid.selector, 5));
        h.validate(b);
    }

    function test_validate_revertsIfNoOutputs() public {
        bytes memory b = TxLib.encode(TxLib.payment(new uint256[](4), new PaymentTx.Output[](0), 0));
        // 4 zero inputs, zero outputs: 11 words, so the length gate passes and the count is checked.
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxOutputCountInvalid.selector, 0));
        h.validate(b);
    }

    function test_validate_revertsIfTooManyOutputs() public {
        bytes memory b = TxLib.encode(_tx(1, 5, 3));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxOutputCountInvalid.selector, 5));
        h.validate(b);
    }

    function test_validate_revertsIfInputMalformed() public {
        uint256[6] memory bad =
            [uint256(0), 999_999_999, 1 << 64, 1e9 + 65_536 * 1e4, 1e9 + 4, 1e9 + 99_999 * 1e4];
        for (uint256 j; j < bad.length; ++j) {
            bytes memory b = _setWord(_canonical(), 7, bad[j]); // second input
            vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxInputInvalid.selector, 1, bad[j]));
            h.validate(b);
        }
        // The largest well-formed position is accepted.
        uint256 maxPos = ((uint256(1) << 64) - 1) / 1e9 * 1e9 - 1e9 + 65_535 * 1e4 + 3;
        h.validate(_setWord(_canonical(), 7, maxPos));
    }

    function test_validate_revertsIfOutputTypeWrong() public {
        bytes memory b = _setWord(_canonical(), 9 + 4, 2); // outputType of output 1
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxOutputTypeInvalid.selector, 1, 2));
        h.validate(b);
    }

    function test_validate_revertsIfOwnerDirty() public {
        bytes memory b = _canonical();
        b = _setWord(b, 10, _word(b, 10) | (1 << 160));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 10));
        h.validate(b);
    }

    function test_validate_revertsIfTokenDirty() public {
        bytes memory b = _canonical();
        b = _setWord(b, 11, _word(b, 11) | (1 << 255));
        vm.expectRevert(abi.encodeWithSelector(PaymentTx.TxNotCanonical.selector, 11));
        h.validate(b);
    }

    // ------------------------------------------------------------------ fuzz

    /// forge-config: default.fuzz.runs = 512
    function testFuzz_validate_roundTrips(uint256 nIn, uint256 nOut, uint256 seed) public view {
        nIn = bound(nIn, 0, 4);
        nOut = bound(nOut, 1, 4);
        PaymentTx.Transaction memory t = _tx(nIn, nOut, seed);
        bytes memory b = TxLib.encode(t);
        h.validate(b);
        assertEq(TxLib.encode(h.decode(b)), b);
        assertEq(h.structHash(b), TxLib.structHash(t));
    }

    /// @notice Changing any byte of a structural word (offsets, counts, types, address padding) must revert.
    /// @notice `counts`, `input` and `output` (the readers of validated bytes) agree with the decoded transaction.
    function testFuzz_readers_matchDecoding(uint256 nIn, uint256 nOut, uint256 seed) public view {
        nIn = bound(nIn, 0, 4);
        nOut = bound(nOut, 1, 4);
        PaymentTx.Transaction memory t = _tx(nIn, nOut, seed);
        bytes memory b = TxLib.encode(t);
        (uint256 a, uint256 c) = h.counts(b);
        (uint256 va, uint256 vc) = h.validate(b);
        assertEq(a, va, "counts: inputs");
        assertEq(c, vc, "counts: outputs");
        for (uint256 i; i < nIn; ++i) {
            assertEq(h.input(b, i), t.inputs[i], "input");
        }
        for (uint256 k; k < nOut; ++k) {
            (address owner, address token, uint256 amount) = h.output(b, k);
            assertEq(owner, t.outputs[k].owner, "owner");
            assertEq(token, t.outputs[k].token, "token");
            assertEq(amount, t.outputs[k].amount, "amount");
        }
    }

    function testFuzz_validate_rejectsStructuralMutation(uint256 seed, uint256 pick, uint8 xorByte) public {
        vm.assume(xorByte != 0);
        uint256 nIn = seed % 5;
        uint256 nOut = 1 + (seed >> 8) % 4;
        bytes memory b = TxLib.encode(_tx(nIn, nOut, seed));
        // Structural words and, for address words, the 12 padding bytes.
        uint256 nStruct = 6 + 2 * nOut; // words 0,1,2,3,5,6+nIn + outputType/owner/token per output
        uint256 which = pick % nStruct;
        uint256 wordIdx;
        uint256 byteIdx = (pick >> 16) % 32;
        if (which < 4) {
            wordIdx = which;
        } else if (which == 4) {
            wordIdx = 5;
        } else if (which == 5) {
            wordIdx = 6 + nIn;
        } else {
            uint256 k = (which - 6) / 2;
            uint256 base = 7 + nIn + 4 * k;
            if ((which - 6) % 2 == 0) {
                wordIdx = base; // outputType: any byte
            } else {
                wordIdx = base + 1 + ((pick >> 32) % 2); // owner or token
                byteIdx = (pick >> 16) % 12; // padding only
            }
        }
        b[wordIdx * 32 + byteIdx] = b[wordIdx * 32 + byteIdx] ^ bytes1(xorByte);
        vm.expectRevert();
        h.validate(b);
    }

    function testFuzz_validate_rejectsAppendedOrTruncated(uint256 seed, bytes memory extra, uint256 cut)
        public
    {
        bytes memory b = TxLib.encode(_tx(seed % 5, 1 + (seed >> 8) % 4, seed));
        if (extra.length > 0) {
            vm.expectRevert();
            h.validate(bytes.concat(b, extra));
        }
        cut = bound(cut, 1, b.length);
        bytes memory t = bytes.concat(b);
        assembly {
            mstore(t, sub(mload(t), cut))
        }
        vm.expectRevert();
        h.validate(t);
    }

    /// @notice Random bytes: either rejected, or accepted and then equal to the re-encoding of their decoding.
    function testFuzz_validate_randomBytesAcceptedOnlyIfCanonical(bytes memory b) public view {
        _checkAcceptedIsCanonical(b);
    }

    /// @notice Random words over a valid frame (lengths right, everything else random-ish): the same property.
    function testFuzz_validate_randomWordsAcceptedOnlyIfCanonical(uint256 seed, uint256 mask) public view {
        uint256 nIn = seed % 5;
        uint256 nOut = 1 + (seed >> 8) % 4;
        bytes memory b = TxLib.encode(_tx(nIn, nOut, seed));
        uint256 words = b.length / 32;
        for (uint256 i; i < words; ++i) {
            if ((mask >> i) & 1 == 1) {
                uint256 r = uint256(keccak256(abi.encode(seed, i)));
                // Small values hit offsets and counts; large ones hit padding.
                b = _setWord(b, i, r % 3 == 0 ? r % 256 : r % 3 == 1 ? r : _word(b, i) ^ (1 << (r % 256)));
            }
        }
        _checkAcceptedIsCanonical(b);
    }

    function _checkAcceptedIsCanonical(bytes memory b) internal view {
        try h.validate(b) returns (uint256, uint256) {
            PaymentTx.Transaction memory t = abi.decode(b, (PaymentTx.Transaction));
            assertEq(TxLib.encode(t), b, "accepted a non-canonical encoding");
            assertEq(t.txType, 1, "txType");
            assertTrue(t.inputs.length <= 4 && t.outputs.length >= 1 && t.outputs.length <= 4, "counts");
        } catch {}
    }
}
