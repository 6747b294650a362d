//! A deliberately naive reference tree: recursion over all 2^16 slots from the definition, with
//! no zero-hash table and no stored levels. Independent of the crate's construction.

use alloy_primitives::{B256, keccak256};

fn leaf(data: &[u8]) -> B256 {
    let mut pre = vec![0x00];
    pre.extend_from_slice(data);
    keccak256(pre)
}

fn node(left: B256, right: B256) -> B256 {
    let mut pre = vec![0x01];
    pre.extend_from_slice(left.as_slice());
    pre.extend_from_slice(right.as_slice());
    keccak256(pre)
}

/// Root of the subtree of `height` whose first slot is `start`.
fn subtree(leaves: &[Vec<u8>], start: usize, height: u32) -> B256 {
    if height == 0 {
        return match leaves.get(start) {
            Some(data) => leaf(data),
            None => leaf(&[]),
        };
    }
    let half = 1usize << (height - 1);
    node(
        subtree(leaves, start, height - 1),
        subtree(leaves, start + half, height - 1),
    )
}

/// Root from the definition. Exponential in the depth, so only for the small trees: slots past
/// the last leaf are hashed as the empty leaf one by one via memo of identical empty subtrees.
pub(crate) fn root(leaves: &[Vec<u8>]) -> B256 {
    // Memoise empty subtrees by height so the naive recursion stays cheap for small inputs.
    fn go(leaves: &[Vec<u8>], start: usize, height: u32, empty: &mut Vec<B256>) -> B256 {
        if start >= leaves.len() {
            while empty.len() <= height as usize {
                let h = empty.len() as u32;
                empty.push(subtree(&[], 0, h));
            }
            return empty[height as usize];
        }
        if height == 0 {
            return subtree(leaves, start, 0);
        }
        let half = 1usize << (height - 1);
        node(
            go(leaves, start, height - 1, empty),
            go(leaves, start + half, height - 1, empty),
        )
    }
    let mut empty = Vec::new();
    go(leaves, 0, 16, &mut empty)
}
