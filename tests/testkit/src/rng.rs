//! The tests' one pseudo-random generator: xorshift64*, seeded, so that every
//! run makes the same choices. Enough for picking actions, names and garbage
//! bytes; the tests need no statistical quality.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `n` bytes of any value, newlines included.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// `n` ASCII letters (a-z, A-Z), like the course's check sends.
    pub fn letters(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                let c = self.below(52) as u8;
                char::from(if c < 26 { b'a' + c } else { b'A' + c - 26 })
            })
            .collect()
    }
}
