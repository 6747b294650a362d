// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title ExitHeap
/// @notice A binary min-heap of non-zero values below 2^99 in storage, one per token, whose header slot also holds
///         the top value and a 125-bit `extra` field for the caller (the root chain keeps the token's reserve of
///         credits there, so that processing reads it for free).
/// @dev Layout: the header at the struct's slot is `extra << 131 | size << 99 | node1`; node `i >= 2` (1-indexed)
///      is the whole word at `keccak256(heap.slot) + i`, like a dynamic array's data. Keeping the top in the header
///      makes the first entry of an empty heap one fresh slot instead of two, and its last pop one cleared slot.
///      Values need not be unique.
library ExitHeap {
    struct Heap {
        uint256 header;
    }

    /// @notice Values are below 2^99.
    uint256 internal constant VALUE_BITS = 99;
    /// @notice `extra` is below 2^125.
    uint256 internal constant EXTRA_BITS = 125;

    uint256 private constant NODE_MASK = (1 << 99) - 1;
    uint256 private constant SIZE_SHIFT = 99;
    uint256 private constant SIZE_MASK = 0xffffffff;
    uint256 private constant EXTRA_SHIFT = 131;

    /// @notice Insert `value` (non-zero, below 2^99; the caller guarantees both).
    function insert(Heap storage heap, uint256 value) internal {
        assembly ("memory-safe") {
            let h := sload(heap.slot)
            // 2^32 entries would cost more gas than exists: the size cannot overflow its 32 bits.
            let n := add(and(shr(SIZE_SHIFT, h), SIZE_MASK), 1)
            let i := n
            if gt(n, 1) {
                mstore(0, heap.slot)
                let data := keccak256(0, 32)
                for {} gt(i, 1) {} {
                    let p := shr(1, i)
                    let pv := and(h, NODE_MASK)
                    if gt(p, 1) { pv := sload(add(data, p)) }
                    if lt(pv, value) { break }
                    sstore(add(data, i), pv)
                    i := p
                }
                if gt(i, 1) { sstore(add(data, i), value) }
            }
            if eq(i, 1) { h := or(and(h, not(NODE_MASK)), value) }
            h := or(and(h, not(shl(SIZE_SHIFT, SIZE_MASK))), shl(SIZE_SHIFT, n))
            sstore(heap.slot, h)
        }
    }

    /// @notice The number of entries.
    function length(Heap storage heap) internal view returns (uint256 n) {
        assembly ("memory-safe") {
            n := and(shr(SIZE_SHIFT, sload(heap.slot)), SIZE_MASK)
        }
    }

    /// @notice The smallest entry, or 0 if the heap is empty.
    function top(Heap storage heap) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := and(sload(heap.slot), NODE_MASK)
        }
    }

    /// @notice Remove the smallest entry; the heap must not be empty.
    function pop(Heap storage heap) internal {
        assembly ("memory-safe") {
            let h := sload(heap.slot)
            let n := and(shr(SIZE_SHIFT, h), SIZE_MASK)
            let i := 1
            let last := 0
            if gt(n, 1) {
                mstore(0, heap.slot)
                let data := keccak256(0, 32)
                last := sload(add(data, n))
                sstore(add(data, n), 0)
                for {} 1 {} {
                    let c := shl(1, i)
                    if iszero(lt(c, n)) { break } // children of i among the n - 1 that remain
                    let cv := sload(add(data, c))
                    if lt(add(c, 1), n) {
                        let rv := sload(add(data, add(c, 1)))
                        if lt(rv, cv) {
                            c := add(c, 1)
                            cv := rv
                        }
                    }
                    if lt(last, cv) { break }
                    switch i
                    case 1 { h := or(and(h, not(NODE_MASK)), cv) }
                    default { sstore(add(data, i), cv) }
                    i := c
                }
                if gt(i, 1) { sstore(add(data, i), last) }
            }
            if eq(i, 1) { h := or(and(h, not(NODE_MASK)), last) }
            h := or(and(h, not(shl(SIZE_SHIFT, SIZE_MASK))), shl(SIZE_SHIFT, sub(n, 1)))
            sstore(heap.slot, h)
        }
    }

    /// @notice The caller's `extra` field.
    function extra(Heap storage heap) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(EXTRA_SHIFT, sload(heap.slot))
        }
    }

    /// @notice Set the caller's `extra` field (below 2^125; the caller guarantees it).
    function setExtra(Heap storage heap, uint256 value) internal {
        assembly ("memory-safe") {
            let h := sload(heap.slot)
            sstore(heap.slot, or(and(h, sub(shl(EXTRA_SHIFT, 1), 1)), shl(EXTRA_SHIFT, value)))
        }
    }
}
