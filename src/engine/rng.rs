//! Keyed random numbers: common random numbers across configurations.
//!
//! Every random draw is a pure function of `(seed, stream, key)`: the arrival process of a run
//! uses one stream, the work of request `i` is drawn from a generator keyed by `i`, and so on.
//! Two configurations of a sweep therefore see the same arrivals and the same per-request work
//! whatever their policy does, and a run is reproducible whatever the thread count.

use rand::TryRng;
use std::convert::Infallible;

/// Named streams, so that adding a consumer of randomness never shifts another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    Arrivals = 1,
    Work = 2,
    Routing = 3,
    Startup = 4,
    FanOut = 5,
    Think = 6,
    Users = 7,
    /// The sweep optimizer's proposals.
    Search = 8,
}

/// SplitMix64's finaliser: a strong 64-bit mix.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small, fast generator (SplitMix64) whose state is derived from a key.
#[derive(Clone, Debug)]
pub struct KeyedRng {
    state: u64,
}

impl KeyedRng {
    /// The generator for `(seed, stream, key)`.
    #[inline]
    pub fn new(seed: u64, stream: Stream, key: u64) -> Self {
        Self::keyed(Self::base(seed, stream), key)
    }

    /// The per-(seed, stream) part of the key derivation, to compute once per run.
    #[inline]
    pub fn base(seed: u64, stream: Stream) -> u64 {
        mix(seed ^ mix(stream as u64))
    }

    /// The generator for `key` under a precomputed [`KeyedRng::base`]: the same numbers as
    /// [`KeyedRng::new`] with that seed and stream.
    #[inline]
    pub fn keyed(base: u64, key: u64) -> Self {
        KeyedRng {
            state: mix(base ^ key.wrapping_mul(0xD1B5_4A32_D192_ED03)),
        }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never 0, so `-ln(u)` is finite.
    #[inline]
    pub fn unit_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Exponential with the given mean (ziggurat method: no logarithm on the common path).
    #[inline]
    pub fn exp(&mut self, mean: f64) -> f64 {
        use rand::distr::Distribution;
        let e: f64 = rand_distr::Exp1.sample(self);
        mean * e
    }

    /// Uniform integer in `[0, n)` (`n > 0`).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

impl TryRng for KeyedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let b = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_numbers_different_keys_differ() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(KeyedRng::new(7, Stream::Work, 42), |r, _| {
                Some(r.next_u64())
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(KeyedRng::new(7, Stream::Work, 42), |r, _| {
                Some(r.next_u64())
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(KeyedRng::new(7, Stream::Work, 43).next_u64(), a[0]);
        assert_ne!(KeyedRng::new(7, Stream::Arrivals, 42).next_u64(), a[0]);
        assert_ne!(KeyedRng::new(8, Stream::Work, 42).next_u64(), a[0]);
    }

    #[test]
    fn exponential_mean_is_right() {
        let mut r = KeyedRng::new(1, Stream::Work, 0);
        let n = 200_000;
        let m: f64 = (0..n).map(|_| r.exp(2.0)).sum::<f64>() / n as f64;
        assert!((m - 2.0).abs() < 0.02, "{m}");
        let u: f64 = (0..n).map(|_| r.unit()).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
