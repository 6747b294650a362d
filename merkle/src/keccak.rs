//! Many keccak-256 hashes at once: eight messages side by side in the lanes of AVX-512
//! registers where the CPU has AVX-512F, one after another (alloy's keccak) where it does not.
//!
//! A block's Merkle tree and its transactions' EIP-712 digests are thousands of independent
//! hashes of a few hundred bytes each. One keccak-f[1600] permutation on eight states costs
//! about as much as two on one state, so hashing them eight at a time is 3–4× cheaper per hash
//! (measured in the `keccak` criterion benchmark of this crate). The result is the same
//! keccak-256, byte for byte: the property tests compare every path with alloy's `keccak256`.
//!
//! The only `unsafe` in the crate is the call into the AVX-512 code, made after the CPU is
//! checked for AVX-512F (`is_x86_feature_detected!`); the code itself uses no pointers.

use alloy_primitives::{B256, keccak256};

/// Bytes absorbed per permutation: keccak-256's rate.
const RATE: usize = 136;

/// Messages hashed together.
const LANES: usize = 8;

/// Below this many messages left, the rest are hashed one by one (eight lanes cost about four
/// single hashes).
const SIMD_MIN: usize = 4;

/// Messages to hash, each read through [`Messages::copy`] so a message can be a concatenation
/// (a prefix byte and data, two hashes) without being copied out first.
pub trait Messages {
    /// How many messages there are.
    fn count(&self) -> usize;
    /// The length of message `index`.
    fn len_of(&self, index: usize) -> usize;
    /// Copies bytes `start..start + out.len()` of message `index` into `out` (the range is
    /// within the message).
    fn copy(&self, index: usize, start: usize, out: &mut [u8]);
}

impl<M: AsRef<[u8]>> Messages for [M] {
    fn count(&self) -> usize {
        self.len()
    }

    fn len_of(&self, index: usize) -> usize {
        self[index].as_ref().len()
    }

    fn copy(&self, index: usize, start: usize, out: &mut [u8]) {
        out.copy_from_slice(&self[index].as_ref()[start..start + out.len()]);
    }
}

/// Each of `data` behind one prefix byte: `prefix ‖ data[i]` (a Merkle leaf's pre-image).
pub struct Prefixed<'a, M> {
    /// The byte before each message.
    pub prefix: u8,
    /// The messages.
    pub data: &'a [M],
}

impl<M: AsRef<[u8]>> Messages for Prefixed<'_, M> {
    fn count(&self) -> usize {
        self.data.len()
    }

    fn len_of(&self, index: usize) -> usize {
        self.data[index].as_ref().len() + 1
    }

    fn copy(&self, index: usize, start: usize, out: &mut [u8]) {
        let data = self.data[index].as_ref();
        if out.is_empty() {
            return;
        }
        if start == 0 {
            let len = out.len();
            out[0] = self.prefix;
            out[1..].copy_from_slice(&data[..len - 1]);
        } else {
            out.copy_from_slice(&data[start - 1..start - 1 + out.len()]);
        }
    }
}

/// The keccak-256 of each message, in order.
pub fn keccak256_each<M: Messages + ?Sized>(messages: &M) -> Vec<B256> {
    let mut out = vec![B256::ZERO; messages.count()];
    keccak256_into(messages, &mut out);
    out
}

/// Writes the keccak-256 of each message into `out` (as long as the messages).
///
/// # Panics
/// If `out` is not as long as `messages`.
pub fn keccak256_into<M: Messages + ?Sized>(messages: &M, out: &mut [B256]) {
    assert_eq!(out.len(), messages.count(), "one hash per message");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        let mut first = 0;
        while messages.count() - first >= SIMD_MIN {
            let lanes = (messages.count() - first).min(LANES);
            // SAFETY: the CPU has AVX-512F, the one feature `x8::hash` is compiled for.
            #[allow(unsafe_code)]
            unsafe {
                x8::hash(messages, first, lanes, &mut out[first..first + lanes]);
            }
            first += lanes;
        }
        one_by_one(messages, first, &mut out[first..]);
        return;
    }
    one_by_one(messages, 0, out);
}

/// Hashes messages `first..` one at a time into `out`.
fn one_by_one<M: Messages + ?Sized>(messages: &M, first: usize, out: &mut [B256]) {
    let mut buf = Vec::new();
    for (offset, hash) in out.iter_mut().enumerate() {
        let index = first + offset;
        buf.resize(messages.len_of(index), 0);
        messages.copy(index, 0, &mut buf);
        *hash = keccak256(&buf);
    }
}

/// keccak-f[1600]'s round constants.
const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// ρ's rotation of the lane that π moves to [`PI`]`[i]`, in the order π visits the lanes.
const RHO: [u32; 24] = [
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
];

/// π's walk over the lanes (index `x + 5y`), starting from lane 1.
const PI: [usize; 24] = [
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
];

#[cfg(target_arch = "x86_64")]
mod x8 {
    use std::arch::x86_64::{
        __m512i, _mm256_extract_epi64, _mm512_extracti64x4_epi64, _mm512_rol_epi64,
        _mm512_rolv_epi64, _mm512_set_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
        _mm512_ternarylogic_epi64, _mm512_xor_si512,
    };

    use super::{B256, LANES, Messages, PI, RATE, RHO, ROUND_CONSTANTS};

    /// keccak-f[1600] on eight states at once: lane `i` of register `a[k]` is lane `k` of
    /// state `i`.
    #[target_feature(enable = "avx512f")]
    fn permute(a: &mut [__m512i; 25]) {
        for constant in ROUND_CONSTANTS {
            // θ: each column's parity (two 3-way XORs), folded into its neighbours.
            let mut c = [_mm512_setzero_si512(); 5];
            for (x, parity) in c.iter_mut().enumerate() {
                *parity = _mm512_ternarylogic_epi64::<0x96>(
                    _mm512_ternarylogic_epi64::<0x96>(a[x], a[x + 5], a[x + 10]),
                    a[x + 15],
                    a[x + 20],
                );
            }
            for x in 0..5 {
                let d = _mm512_xor_si512(c[(x + 4) % 5], _mm512_rol_epi64::<1>(c[(x + 1) % 5]));
                for y in 0..5 {
                    a[x + 5 * y] = _mm512_xor_si512(a[x + 5 * y], d);
                }
            }
            // ρ and π.
            let mut last = a[1];
            for (&to, &rotation) in PI.iter().zip(&RHO) {
                let moved = a[to];
                a[to] = _mm512_rolv_epi64(last, _mm512_set1_epi64(i64::from(rotation)));
                last = moved;
            }
            // χ: a ^ (!b & c) in one ternary-logic instruction (truth table 0xD2).
            for y in 0..5 {
                let row = [
                    a[5 * y],
                    a[5 * y + 1],
                    a[5 * y + 2],
                    a[5 * y + 3],
                    a[5 * y + 4],
                ];
                for x in 0..5 {
                    a[5 * y + x] = _mm512_ternarylogic_epi64::<0xD2>(
                        row[x],
                        row[(x + 1) % 5],
                        row[(x + 2) % 5],
                    );
                }
            }
            // ι. The constant's bits are the same in i64.
            a[0] = _mm512_xor_si512(a[0], _mm512_set1_epi64(constant as i64));
        }
    }

    /// The eight 64-bit lanes of `v`, lane 0 first.
    #[target_feature(enable = "avx512f")]
    fn lanes_of(v: __m512i) -> [u64; LANES] {
        let low = _mm512_extracti64x4_epi64::<0>(v);
        let high = _mm512_extracti64x4_epi64::<1>(v);
        [
            _mm256_extract_epi64::<0>(low),
            _mm256_extract_epi64::<1>(low),
            _mm256_extract_epi64::<2>(low),
            _mm256_extract_epi64::<3>(low),
            _mm256_extract_epi64::<0>(high),
            _mm256_extract_epi64::<1>(high),
            _mm256_extract_epi64::<2>(high),
            _mm256_extract_epi64::<3>(high),
        ]
        .map(|lane| lane as u64)
    }

    /// Hashes messages `first..first + lanes` (at most eight) into `out`. Messages of
    /// different lengths share the permutations: each one's hash is taken after its own last
    /// block, and the lanes of the ones already done absorb nothing after it.
    #[target_feature(enable = "avx512f")]
    pub(super) fn hash<M: Messages + ?Sized>(
        messages: &M,
        first: usize,
        lanes: usize,
        out: &mut [B256],
    ) {
        // Blocks each message absorbs: its bytes and at least the padding's one byte.
        let mut blocks = [0usize; LANES];
        for (lane, count) in blocks.iter_mut().enumerate().take(lanes) {
            *count = messages.len_of(first + lane) / RATE + 1;
        }
        let most = blocks.iter().copied().max().unwrap_or(0);
        let mut state = [_mm512_setzero_si512(); 25];
        let mut block = [[0u8; RATE]; LANES];
        for index in 0..most {
            for (lane, bytes) in block.iter_mut().enumerate() {
                *bytes = [0u8; RATE];
                if lane >= lanes || index >= blocks[lane] {
                    continue;
                }
                let len = messages.len_of(first + lane);
                let start = index * RATE;
                let end = len.min(start + RATE);
                messages.copy(first + lane, start, &mut bytes[..end - start]);
                if index + 1 == blocks[lane] {
                    // keccak's pad10*1 with the 0x01 domain byte.
                    bytes[end - start] ^= 0x01;
                    bytes[RATE - 1] ^= 0x80;
                }
            }
            for (k, lane_state) in state.iter_mut().enumerate().take(RATE / 8) {
                let word = |lane: usize| {
                    let bytes: [u8; 8] = block[lane][8 * k..8 * k + 8]
                        .try_into()
                        .expect("eight bytes");
                    u64::from_le_bytes(bytes) as i64
                };
                let v = _mm512_set_epi64(
                    word(7),
                    word(6),
                    word(5),
                    word(4),
                    word(3),
                    word(2),
                    word(1),
                    word(0),
                );
                *lane_state = _mm512_xor_si512(*lane_state, v);
            }
            permute(&mut state);
            if blocks[..lanes].contains(&(index + 1)) {
                let words = [
                    lanes_of(state[0]),
                    lanes_of(state[1]),
                    lanes_of(state[2]),
                    lanes_of(state[3]),
                ];
                for lane in 0..lanes {
                    if blocks[lane] == index + 1 {
                        let mut hash = [0u8; 32];
                        for (k, word) in words.iter().enumerate() {
                            hash[8 * k..8 * k + 8].copy_from_slice(&word[lane].to_le_bytes());
                        }
                        out[lane] = B256::from(hash);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn message() -> impl Strategy<Value = Vec<u8>> {
        // Around the rate's multiples, where the padding moves to a block of its own.
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..3 * RATE + 2),
            (1usize..4, 0usize..3).prop_flat_map(|(blocks, back)| {
                prop::collection::vec(any::<u8>(), blocks * RATE - back)
            }),
        ]
    }

    proptest! {
        /// Any messages, any count (full groups of eight, a short group, the one-by-one tail),
        /// hash as alloy's keccak256 does.
        #[test]
        fn each_hash_is_keccak256(messages in prop::collection::vec(message(), 0..30)) {
            let hashes = keccak256_each(messages.as_slice());
            let expected: Vec<B256> = messages.iter().map(keccak256).collect();
            prop_assert_eq!(hashes, expected);
        }

        #[test]
        fn prefixed_messages_hash_with_their_prefix(
            prefix in any::<u8>(),
            messages in prop::collection::vec(message(), 0..20),
        ) {
            let hashes = keccak256_each(&Prefixed { prefix, data: &messages });
            for (data, hash) in messages.iter().zip(hashes) {
                let mut pre = vec![prefix];
                pre.extend_from_slice(data);
                prop_assert_eq!(hash, keccak256(&pre));
            }
        }
    }

    #[test]
    fn equal_messages_in_every_lane_and_lengths_on_the_rate() {
        for len in [
            0,
            1,
            RATE - 2,
            RATE - 1,
            RATE,
            RATE + 1,
            2 * RATE - 1,
            2 * RATE,
        ] {
            let messages = vec![vec![0x5a_u8; len]; 11];
            assert_eq!(
                keccak256_each(messages.as_slice()),
                vec![keccak256(&messages[0]); 11],
                "len {len}"
            );
        }
    }
}
