//! The ledger of a buffer ring: where each buffer is (rules 4 and 5 of the ring).
//!
//! Owns: the counts and the leased bits. Must not touch ring memory.

/// Where each buffer of a ring is: free (in the ring), in transit (taken by the kernel,
/// its CQE reaped, not yet leased) or leased (rules 4 and 5). Pure bookkeeping, checked
/// on every step; `free + in_transit + leased == entries` always holds.
#[derive(Debug)]
pub(super) struct Ledger {
    entries: u16,
    pub(super) free: u16,
    in_transit: u16,
    /// One bit per buffer id: set while leased.
    leased: Vec<u64>,
}

impl Ledger {
    /// A ledger of `entries` buffers, none in the ring yet.
    pub(super) fn new(entries: u16) -> Ledger {
        Ledger {
            entries,
            free: 0,
            in_transit: 0,
            leased: vec![0; (entries as usize).div_ceil(64)],
        }
    }

    fn bit(bid: u16) -> (usize, u64) {
        (bid as usize / 64, 1u64 << (bid % 64))
    }

    /// A buffer was put in the ring (at start, or recycled).
    pub(super) fn put(&mut self) {
        self.free += 1;
    }

    /// The reaper saw a CQE that carries `n` buffers: the kernel took them from the ring.
    pub(super) fn taken(&mut self, n: u16) {
        self.free = self.free.saturating_sub(n);
        self.in_transit = self.in_transit.saturating_add(n).min(self.entries);
    }

    /// The CQE naming `bid` becomes a lease. `Err` says why `bid` cannot be trusted.
    pub(super) fn lease(&mut self, bid: u16) -> Result<(), &'static str> {
        if bid >= self.entries {
            return Err("not in this ring");
        }
        let (word, bit) = Self::bit(bid);
        if self.leased[word] & bit != 0 {
            return Err("leased already");
        }
        self.leased[word] |= bit;
        self.in_transit = self.in_transit.saturating_sub(1);
        Ok(())
    }

    /// Lease `bid` ends; it goes back in the ring.
    pub(super) fn release(&mut self, bid: u16) {
        let (word, bit) = Self::bit(bid);
        debug_assert!(self.leased[word] & bit != 0, "buffer {bid} released twice");
        self.leased[word] &= !bit;
        self.put();
    }

    #[cfg(test)]
    fn leased_count(&self) -> u32 {
        self.leased.iter().map(|w| w.count_ones()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    /// xorshift64*: a seed replays exactly.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn ledger_refuses_foreign_and_double_leases() {
        let mut ledger = Ledger::new(4);
        (0..4).for_each(|_| ledger.put());
        ledger.taken(1);
        assert_eq!(ledger.lease(9), Err("not in this ring"));
        assert_eq!(ledger.lease(2), Ok(()));
        assert_eq!(ledger.lease(2), Err("leased already"));
        ledger.release(2);
        assert_eq!(
            (ledger.free, ledger.in_transit, ledger.leased_count()),
            (4, 0, 0)
        );
    }

    /// Random takes, leases and releases against the kernel's view of the ring: the
    /// counts always add up, and the free count is the kernel's once CQEs are reaped.
    #[test]
    fn ledger_matches_the_kernels_view() {
        let seeds = if cfg!(miri) { 4 } else { 500 };
        for seed in 1..=seeds {
            let mut rng = seed * 0x9e37_79b9;
            let entries = 1 + (next(&mut rng) % 70) as u16;
            let mut ledger = Ledger::new(entries);
            (0..entries).for_each(|_| ledger.put());
            let mut in_ring: Vec<u16> = (0..entries).collect();
            let mut reaped: Vec<u16> = Vec::new();
            let mut leased: Vec<u16> = Vec::new();
            for _ in 0..300 {
                match next(&mut rng) % 3 {
                    // The kernel fills a buffer and its CQE is reaped.
                    0 if !in_ring.is_empty() => {
                        let bid = in_ring.remove((next(&mut rng) % in_ring.len() as u64) as usize);
                        ledger.taken(1);
                        reaped.push(bid);
                    }
                    1 if !reaped.is_empty() => {
                        let bid = reaped.remove(0);
                        ledger.lease(bid).unwrap();
                        assert!(ledger.lease(bid).is_err());
                        leased.push(bid);
                    }
                    2 if !leased.is_empty() => {
                        let bid =
                            leased.swap_remove((next(&mut rng) % leased.len() as u64) as usize);
                        ledger.release(bid);
                        in_ring.push(bid);
                    }
                    _ => {}
                }
                assert_eq!(ledger.free as usize, in_ring.len(), "seed {seed}");
                assert_eq!(ledger.in_transit as usize, reaped.len(), "seed {seed}");
                assert_eq!(ledger.leased_count() as usize, leased.len(), "seed {seed}");
            }
        }
    }
}
