//! A small deterministic random number generator (SplitMix64). The same seed
//! gives the same data on every machine and with every version of this tool,
//! which general-purpose generators (e.g. `rand`'s `StdRng`) do not promise.

/// SplitMix64 (Steele, Lea and Flood, 2014): fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator for one independent stream (e.g. one user) of `seed`, so
    /// that any user's data can be made without making the ones before it.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Self(mix(seed) ^ mix(stream.wrapping_add(0x632B_E59B_D9B4_E019)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (`0` when `n` is `0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift: no modulo bias worth speaking of at these sizes.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with the given probability in percent.
    pub fn percent(&mut self, chance: u64) -> bool {
        self.below(100) < chance
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Ten random bytes (the random part of a UUIDv7).
    pub fn bytes10(&mut self) -> [u8; 10] {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]]
    }
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_stream_same_numbers() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut rng = Rng::stream(7, 3);
                move |_| rng.next_u64()
            })
            .collect();
        let mut rng = Rng::stream(7, 3);
        assert!(a.iter().all(|&n| n == rng.next_u64()));
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(7, 4).next_u64());
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(8, 3).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::stream(1, 1);
        assert!((0..10_000).all(|_| rng.below(5) < 5));
        assert_eq!(rng.below(0), 0);
    }
}
