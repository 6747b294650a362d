// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ExitHeap} from "../../src/libraries/ExitHeap.sol";
import {Test} from "../utils/Test.sol";
import {vm} from "../utils/Vm.sol";

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

    function extra() external view returns (uint256) {
        return heap.extra();
    }

    function setExtra(uint256 value) external {
        heap.setExtra(value);
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

    /// @notice The header slot holds `extra << 131 | size << 99 | top`; a heap of one entry uses no other slot.
    function test_header_holdsTopSizeAndExtra() public {
        h.setExtra(5);
        h.insert(77);
        uint256 header = uint256(vm.load(address(h), bytes32(0)));
        assertEq(header, (5 << 131) | (1 << 99) | 77, "header");
        bytes32 data = keccak256(abi.encode(uint256(0)));
        assertEq(uint256(vm.load(address(h), bytes32(uint256(data) + 1))), 0, "node 1 lives in the header");
        h.insert(3);
        assertEq(
            uint256(vm.load(address(h), bytes32(0))), (5 << 131) | (2 << 99) | 3, "new top in the header"
        );
        assertEq(uint256(vm.load(address(h), bytes32(uint256(data) + 2))), 77, "old top moved to node 2");
        h.pop();
        h.pop();
        assertEq(uint256(vm.load(address(h), bytes32(0))), 5 << 131, "emptied: only extra left");
        assertEq(uint256(vm.load(address(h), bytes32(uint256(data) + 2))), 0, "node 2 cleared");
    }

    /// @notice `extra` survives every insert and pop, and never leaks into values or the size.
    function testFuzz_extra_isIndependentOfTheHeap(uint256 extraValue, uint256 seed) public {
        extraValue = bound(extraValue, 0, (1 << 125) - 1);
        h.setExtra(extraValue);
        uint256 n = bound(seed, 1, 20);
        for (uint256 i; i < n; ++i) {
            h.insert(1 + (uint256(keccak256(abi.encode(seed, i))) >> 157));
            assertEq(h.extra(), extraValue, "extra after insert");
        }
        uint256 previous;
        for (uint256 i; i < n; ++i) {
            uint256 v = h.pop();
            assertGe(v, previous, "sorted");
            assertLt(v, 1 << 99, "value bits");
            previous = v;
            assertEq(h.extra(), extraValue, "extra after pop");
        }
        assertEq(h.length(), 0);
        h.setExtra(0);
        assertEq(uint256(vm.load(address(h), bytes32(0))), 0, "all clear");
    }

    /// @notice Pops come out sorted: compare with a sorted reference.
    function testFuzz_heap_popsSorted(uint256[] memory values) public {
        uint256 n = values.length > 64 ? 64 : values.length;
        uint256[] memory ref = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            // Make values unique (exit priorities are) without losing their order's randomness.
            uint256 v = ((values[i] >> 157) & ~uint256(0xff)) | i | 1 << 98;
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
