//! The one vector compare the FDB's hot path uses, wrapped so the
//! switching logic stays free of `unsafe`.

/// Compares four words with `want` at once: bit 2i of the result is set
/// when `words[i] == want`, and no other bit is (so the first match is
/// `trailing_zeros() / 2`). On x86_64, two SSE2 compares of 32-bit lanes,
/// a word matching when both its halves do (SSE2 has no 64-bit compare):
/// half the instructions of four scalar compares, and no branch per word.
#[inline(always)]
pub fn eq_u64x4(words: &[u64; 4], want: u64) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_castsi128_ps, _mm_cmpeq_epi32, _mm_movemask_ps, _mm_set1_epi64x, _mm_set_epi64x,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics
        // exist on every CPU this code can run on; they only compute on
        // values (no memory access).
        unsafe {
            let w = _mm_set1_epi64x(want as i64);
            let lo = _mm_cmpeq_epi32(_mm_set_epi64x(words[1] as i64, words[0] as i64), w);
            let hi = _mm_cmpeq_epi32(_mm_set_epi64x(words[3] as i64, words[2] as i64), w);
            let halves = (_mm_movemask_ps(_mm_castsi128_ps(lo))
                | _mm_movemask_ps(_mm_castsi128_ps(hi)) << 4) as u32;
            halves & (halves >> 1) & 0b0101_0101
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (words[0] == want) as u32
            | ((words[1] == want) as u32) << 2
            | ((words[2] == want) as u32) << 4
            | ((words[3] == want) as u32) << 6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every slot, words equal in one half only, and several matches.
    #[test]
    fn matches_whole_words_only() {
        let want = 0x8000_1234_5678_9ABC_u64;
        let half_lo = (want & 0xFFFF_FFFF) | 0x7000_0000_0000_0000;
        let half_hi = want & 0xFFFF_FFFF_0000_0000;
        for slot in 0..4 {
            let mut w = [half_lo, half_hi, 0, u64::MAX];
            w[slot] = want;
            assert_eq!(eq_u64x4(&w, want), 1 << (2 * slot), "slot {slot}");
        }
        assert_eq!(eq_u64x4(&[half_lo, half_hi, half_lo, half_hi], want), 0);
        assert_eq!(eq_u64x4(&[want, 0, want, 0], want), 0b0001_0001);
        assert_eq!(eq_u64x4(&[0; 4], 0), 0b0101_0101);
    }
}
