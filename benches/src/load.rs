//! What the load generator measures with: a latency histogram, counters, and the byte
//! pattern that lets it check every echoed byte.

use std::time::Duration;

/// The byte at index `i` of message `seq`: differs between messages and positions, so a
/// lost, duplicated, reordered or altered byte is caught.
pub fn pattern_byte(seq: u64, i: usize) -> u8 {
    (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8 ^ (i as u8).wrapping_mul(31)
}

/// Latencies in log-linear buckets: 1 µs resolution to 1 ms, then 16 buckets per power
/// of two up to 68 s. Fixed size, so recording never allocates.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

const LINEAR_US: u64 = 1024;
const SUB_BUCKETS: u64 = 16;

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; (LINEAR_US + 26 * SUB_BUCKETS) as usize],
            total: 0,
        }
    }

    fn bucket(us: u64) -> usize {
        if us < LINEAR_US {
            return us as usize;
        }
        let power = 63 - us.leading_zeros() as u64; // >= 10
        let sub = (us >> (power - 4)) & (SUB_BUCKETS - 1);
        ((LINEAR_US + (power - 10) * SUB_BUCKETS + sub) as usize).min(Self::len() - 1)
    }

    fn len() -> usize {
        (LINEAR_US + 26 * SUB_BUCKETS) as usize
    }

    /// The lower bound of bucket `b`, in microseconds.
    fn lower_us(b: usize) -> u64 {
        let b = b as u64;
        if b < LINEAR_US {
            return b;
        }
        let power = (b - LINEAR_US) / SUB_BUCKETS + 10;
        let sub = (b - LINEAR_US) % SUB_BUCKETS;
        (1 << power) + (sub << (power - 4))
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_micros().min(u64::MAX as u128) as u64;
        self.counts[Self::bucket(us)] += 1;
        self.total += 1;
    }

    /// Number of recorded latencies.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency at quantile `q` (0 to 1), to the bucket's lower bound.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (b, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(Self::lower_us(b));
            }
        }
        Duration::from_micros(Self::lower_us(self.counts.len() - 1))
    }
}

/// What one load run counted.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages echoed and verified during the measured window.
    pub messages: u64,
    /// Messages echoed and verified over the whole run, warm-up included.
    pub total: u64,
    /// Connections that failed (connect, read or write error).
    pub errors: u64,
    /// Connections whose echo differed from what was sent.
    pub corrupt: u64,
    /// Per-message round-trip latency.
    pub latency: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_splits_into_message_and_position_parts() {
        // ringlet-load builds messages from this identity.
        for seq in [0u64, 1, 7, 1 << 40, u64::MAX] {
            for i in [0usize, 1, 63, 64, 4095, 70_000] {
                assert_eq!(
                    pattern_byte(seq, i),
                    pattern_byte(seq, 0) ^ pattern_byte(0, i)
                );
            }
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = Histogram::new();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.quantile(0.5), Duration::from_micros(500));
        assert_eq!(h.quantile(0.99), Duration::from_micros(990));
        h.record(Duration::from_millis(50));
        let top = h.quantile(1.0);
        assert!(
            top >= Duration::from_micros(49_152) && top <= Duration::from_millis(50),
            "{top:?}"
        );
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for us in [0u64, 1, 1023, 1024, 1500, 2048, 100_000, 10_000_000] {
            let b = Histogram::bucket(us);
            assert!(b >= last, "{us}");
            assert!(Histogram::lower_us(b) <= us, "{us}");
            last = b;
        }
    }

    #[test]
    fn the_pattern_differs_between_messages_and_positions() {
        let a: Vec<u8> = (0..64).map(|i| pattern_byte(1, i)).collect();
        let b: Vec<u8> = (0..64).map(|i| pattern_byte(2, i)).collect();
        assert_ne!(a, b);
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
