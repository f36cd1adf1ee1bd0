//! CPython's `random.Random`, as far as Ansible's `random` and `shuffle`
//! filters use it, so that `65534 | random(seed=inventory_hostname)` gives
//! the number Ansible gives: the MT19937 generator, seeded as
//! `Random(seed)` seeds it (version 2: a string is its UTF-8 bytes followed
//! by their SHA-512, read as one big-endian integer; an integer its
//! absolute value), `getrandbits`, `_randbelow`, `randrange`, `choice` and
//! `shuffle` (CPython 3.11's algorithms).

use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

/// A Mersenne Twister in CPython's state after `Random(seed)`.
pub struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(text)`.
    pub fn from_str(text: &str) -> Self {
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(text.as_bytes()));
        Self::from_big_endian(&bytes)
    }

    /// `random.Random(n)`.
    pub fn from_int(n: i128) -> Self {
        Self::from_big_endian(&n.unsigned_abs().to_be_bytes())
    }

    /// Seeded from the kernel's random source, for an unseeded draw
    /// (Ansible draws from the system's generator then: any value will do).
    pub fn from_entropy() -> std::io::Result<Self> {
        crate::private::random_bytes::<16>().map(|b| Self::from_big_endian(&b))
    }

    /// Seeded with the integer these big-endian bytes spell, as CPython's
    /// `init_by_array` takes it: 32-bit words, least significant first, as
    /// many as the integer needs (one for zero).
    fn from_big_endian(bytes: &[u8]) -> Self {
        let significant = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let mut key: Vec<u32> = bytes[significant..]
            .rchunks(4)
            .map(|chunk| chunk.iter().fold(0u32, |w, &b| (w << 8) | u32::from(b)))
            .collect();
        if key.is_empty() {
            key.push(0);
        }
        Self::init_by_array(&key)
    }

    fn init_genrand(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        PyRandom { state, index: N }
    }

    /// The reference `init_by_array` (mt19937ar.c), as CPython has it.
    fn init_by_array(key: &[u32]) -> Self {
        let mut mt = Self::init_genrand(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = s[i - 1];
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = s[i - 1];
            s[i] =
                (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
            let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `genrand_uint32`: the next 32 random bits.
    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` up to 64: 32-bit words, the first the least
    /// significant, the last keeping its top bits.
    fn getrandbits(&mut self, k: u32) -> u64 {
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let low = u64::from(self.next_u32());
                let high = u64::from(self.next_u32() >> (64 - k));
                (high << 32) | low
            }
        }
    }

    /// `_randbelow(n)`: uniform in `0..n`, by rejection on `n`'s bit length.
    pub fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`; `None` for an empty range or a zero step.
    pub fn randrange(&mut self, start: i64, stop: i64, step: i64) -> Option<i64> {
        let width = i128::from(stop) - i128::from(start);
        let step128 = i128::from(step);
        let n = match step {
            0 => return None,
            1 => width,
            s if s > 0 => (width + step128 - 1).div_euclid(step128),
            _ => (width + step128 + 1).div_euclid(step128),
        };
        let n = u64::try_from(n).ok().filter(|&n| n > 0)?;
        let picked = i128::from(self.below(n));
        i64::try_from(i128::from(start) + step128 * picked).ok()
    }

    /// `shuffle(items)`: Fisher-Yates from the end, as CPython.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod unit {
    //! Expected values are CPython 3.11's (the test venv's python3):
    //! `random.Random(seed).randrange(...)`, `.choice(...)`, `.shuffle(...)`.
    use super::*;

    const EXPECTED_STR: [i64; 3] = [21207, 44913, 8098];
    const EXPECTED_INT: [i64; 3] = [40, 7, 1];
    const EXPECTED_BIG_STEP: i64 = 192;
    const EXPECTED_WIDE: i64 = 868_231_286_071;
    const EXPECTED_SHUFFLE: [u32; 10] = [0, 8, 2, 9, 4, 3, 6, 1, 7, 5];

    #[test]
    fn a_string_seed_draws_what_cpython_draws() {
        let mut r = PyRandom::from_str("web-01.example.com");
        let drawn: Vec<_> = (0..3).map(|_| r.randrange(0, 65534, 1).unwrap()).collect();
        assert_eq!(drawn, EXPECTED_STR);
    }

    #[test]
    fn an_int_seed_draws_what_cpython_draws() {
        let mut r = PyRandom::from_int(42);
        let drawn: Vec<_> = (0..3).map(|_| r.randrange(0, 60, 1).unwrap()).collect();
        assert_eq!(drawn, EXPECTED_INT);
        let mut big = PyRandom::from_int(-(1i128 << 40));
        assert_eq!(big.randrange(10, 1000, 7), Some(EXPECTED_BIG_STEP));
        let mut wide = PyRandom::from_int(7);
        assert_eq!(wide.randrange(0, 1 << 40, 1), Some(EXPECTED_WIDE));
    }

    #[test]
    fn shuffle_moves_what_cpython_moves() {
        let mut items: Vec<u32> = (0..10).collect();
        PyRandom::from_str("x").shuffle(&mut items);
        assert_eq!(items, EXPECTED_SHUFFLE);
    }

    #[test]
    fn an_empty_range_or_a_zero_step_is_none() {
        let mut r = PyRandom::from_int(1);
        assert_eq!(r.randrange(5, 5, 1), None);
        assert_eq!(r.randrange(0, 5, 0), None);
        assert_eq!(r.randrange(0, 5, -1), None);
        assert!(r.randrange(5, 0, -1).is_some());
    }
}
