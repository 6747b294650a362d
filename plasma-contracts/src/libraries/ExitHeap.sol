// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title ExitHeap
/// @notice A binary min-heap of unique `uint256` priorities in storage, one per token.
/// @dev Layout: `heap.size` at the struct's slot; node `i` (1-indexed) at slot `keccak256(heap.slot) + i`,
///      like a dynamic array's data. The caller guarantees unique values (exit priorities end in the utxoPos).
library ExitHeap {
    struct Heap {
        uint256 size;
    }

    /// @notice Insert `value`.
    function insert(Heap storage heap, uint256 value) internal {
        assembly ("memory-safe") {
            let n := add(sload(heap.slot), 1)
            sstore(heap.slot, n)
            mstore(0, heap.slot)
            let data := keccak256(0, 32)
            let i := n
            for {} gt(i, 1) {} {
                let p := shr(1, i)
                let pv := sload(add(data, p))
                if lt(pv, value) { break }
                sstore(add(data, i), pv)
                i := p
            }
            sstore(add(data, i), value)
        }
    }

    /// @notice The number of entries.
    function length(Heap storage heap) internal view returns (uint256) {
        return heap.size;
    }

    /// @notice The smallest entry, or 0 if the heap is empty.
    function top(Heap storage heap) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            if sload(heap.slot) {
                mstore(0, heap.slot)
                value := sload(add(keccak256(0, 32), 1))
            }
        }
    }

    /// @notice Remove the smallest entry; the heap must not be empty.
    function pop(Heap storage heap) internal {
        assembly ("memory-safe") {
            let n := sload(heap.slot)
            mstore(0, heap.slot)
            let data := keccak256(0, 32)
            let last := sload(add(data, n))
            sstore(add(data, n), 0)
            n := sub(n, 1)
            sstore(heap.slot, n)
            if n {
                let i := 1
                for {} 1 {} {
                    let c := shl(1, i)
                    if gt(c, n) { break }
                    let cv := sload(add(data, c))
                    if lt(c, n) {
                        let rv := sload(add(data, add(c, 1)))
                        if lt(rv, cv) {
                            c := add(c, 1)
                            cv := rv
                        }
                    }
                    if lt(last, cv) { break }
                    sstore(add(data, i), cv)
                    i := c
                }
                sstore(add(data, i), last)
            }
        }
    }
}
