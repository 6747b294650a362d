// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ExitHeap} from "../../src/libraries/ExitHeap.sol";
import {Test} from "../utils/Test.sol";

contract ExitHeapHarness {
    using ExitHeap for ExitHeap.Heap;

    ExitHeap.Heap internal heap;

    function insert(uint256 value) external {
        heap.insert(value);
    }

    function pop() external returns (uint256 value) {
        value = heap.top();
        heap.pop();
    }

    function top() external view returns (uint256) {
        return heap.top();
    }

    function length() external view returns (uint256) {
        return heap.length();
    }
}

contract ExitHeapTest is Test {
    ExitHeapHarness internal h;

    function setUp() public {
        h = new ExitHeapHarness();
    }

    function test_top_isZeroWhenEmpty() public view {
        assertEq(h.top(), 0);
        assertEq(h.length(), 0);
    }

    function test_insertAndPop_singleElement() public {
        h.insert(42);
        assertEq(h.length(), 1);
        assertEq(h.top(), 42);
        assertEq(h.pop(), 42);
        assertEq(h.length(), 0);
        assertEq(h.top(), 0);
    }

    function test_pop_returnsAscendingOrder() public {
        uint256[8] memory values = [uint256(50), 10, 40, 30, 20, 80, 70, 60];
        for (uint256 i; i < 8; ++i) {
            h.insert(values[i]);
        }
        for (uint256 i = 1; i <= 8; ++i) {
            assertEq(h.pop(), i * 10);
        }
    }

    /// @notice Pops come out sorted: compare with a sorted reference.
    function testFuzz_heap_popsSorted(uint256[] memory values) public {
        uint256 n = values.length > 64 ? 64 : values.length;
        uint256[] memory ref = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            // Make values unique (exit priorities are) without losing their order's randomness.
            uint256 v = (values[i] & ~uint256(0xff)) | i;
            ref[i] = v;
            h.insert(v);
        }
        _sort(ref);
        assertEq(h.length(), n);
        for (uint256 i; i < n; ++i) {
            assertEq(h.pop(), ref[i], "pop order");
        }
        assertEq(h.length(), 0);
    }

    /// @notice Interleaved inserts and pops match a reference multiset's minimum at every step.
    function testFuzz_heap_interleavedMatchesReference(uint256 seed) public {
        uint256[] memory ref = new uint256[](96);
        uint256 n;
        for (uint256 step; step < 96; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            if (n == 0 || r % 3 != 0) {
                uint256 v = ((r >> 8) % 1000) << 8 | step; // unique, many near-ties in the high part
                h.insert(v);
                ref[n++] = v;
            } else {
                uint256 m;
                for (uint256 i = 1; i < n; ++i) {
                    if (ref[i] < ref[m]) m = i;
                }
                assertEq(h.pop(), ref[m], "interleaved pop");
                ref[m] = ref[--n];
            }
            assertEq(h.length(), n, "length");
        }
    }

    function _sort(uint256[] memory a) internal pure {
        for (uint256 i = 1; i < a.length; ++i) {
            uint256 v = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = v;
        }
    }
}
