//! Where each buffer sits in a buffer ring, and the runs bundles took (rule 6 of the ring).
//!
//! Owns: the position map and the chains of resolved bundles. Must not touch ring memory
//! or the ledger.

use std::cell::Cell;

/// The buffer written at each ring position, the position of each buffer, and for each
/// buffer of a resolved bundle but its last, the buffer after it.
pub(super) struct Positions {
    /// `entries - 1`: a position's index in `order`.
    mask: u16,
    order: Box<[Cell<u16>]>,
    position: Box<[Cell<u16>]>,
    chain: Box<[Cell<u16>]>,
}

impl Positions {
    /// The map of a ring of `entries` buffers (a power of two), nothing written yet.
    pub(super) fn new(entries: u16) -> Positions {
        let cells = || (0..entries).map(|_| Cell::new(0)).collect();
        Positions {
            mask: entries - 1,
            order: cells(),
            position: cells(),
            chain: cells(),
        }
    }

    /// Buffer `bid` (below `entries`) was written at ring position `at`.
    pub(super) fn wrote(&self, at: u16, bid: u16) {
        self.order[usize::from(at & self.mask)].set(bid);
        self.position[usize::from(bid)].set(at);
    }

    /// A bundle took `count` buffers from `first`'s position on, and the ring's tail is at
    /// `tail`: chains them, or marks `first` as refused (chained to itself) if the run
    /// cannot be trusted — `first` no longer at its recorded position, or the run reaching
    /// past the tail. Positions are rewritten in order and `first` itself cannot be
    /// rewritten while its completion is unresolved (it is not in the ring), so any
    /// rewritten position of the run shows as `first`'s own position rewritten; the bound
    /// of `entries` writes since the start says the same again.
    pub(super) fn resolve(&self, first: u16, count: usize, tail: u16) {
        let Some(link) = self.chain.get(usize::from(first)) else {
            return; // not a buffer of this ring: the lease refuses it
        };
        let start = self.position[usize::from(first)].get();
        let written = usize::from(tail.wrapping_sub(start));
        let at = |k: usize| self.order[usize::from(start.wrapping_add(k as u16) & self.mask)].get();
        if count == 0 || at(0) != first || count > written || written > self.order.len() {
            link.set(first);
            return;
        }
        for k in 0..count - 1 {
            self.chain[usize::from(at(k))].set(at(k + 1));
        }
    }

    /// Whether the bundle headed by `first` was refused by [`resolve`](Positions::resolve).
    pub(super) fn refused(&self, first: u16) -> bool {
        self.chain.get(usize::from(first)).map(Cell::get) == Some(first)
    }

    /// The buffer after `bid` in its resolved bundle.
    pub(super) fn after(&self, bid: u16) -> u16 {
        self.chain[usize::from(bid)].get()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::Positions;

    /// xorshift64*: a seed replays exactly.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A model of the kernel and the reaper: buffers go into the ring at the tail, the
    /// kernel takes runs from the head, completions are reaped in any order (even after
    /// other buffers went round the ring many times, which the kernel does not do), and
    /// buffers are recycled in random order, wrapping the 16-bit positions. A run is
    /// resolved to exactly the buffers the kernel took, or refused — and refused only when
    /// its positions were really written again.
    #[test]
    fn resolved_runs_are_the_runs_the_kernel_took() {
        let seeds = if cfg!(miri) { 3 } else { 200 };
        let mut refusals = 0;
        for seed in 1..=seeds {
            let mut rng = seed * 0x9e37_79b9;
            let entries: u16 = 1 << (next(&mut rng) % 6);
            let map = Positions::new(entries);
            // What the kernel sees: (position, buffer) from head to tail.
            let mut ring: VecDeque<(u16, u16)> = VecDeque::new();
            let mut tail = 0u16.wrapping_sub(entries / 2); // wrap early
            for bid in 0..entries {
                map.wrote(tail, bid);
                ring.push_back((tail, bid));
                tail = tail.wrapping_add(1);
            }
            let mut unreaped: Vec<(u16, Vec<u16>)> = Vec::new();
            let mut leased: Vec<u16> = Vec::new();
            let steps = if cfg!(miri) { 300 } else { 3000 };
            for _ in 0..steps {
                match next(&mut rng) % 3 {
                    // The kernel takes a run from the head for one completion.
                    0 if !ring.is_empty() => {
                        let count = 1 + (next(&mut rng) as usize % ring.len());
                        let run: Vec<(u16, u16)> = ring.drain(..count).collect();
                        unreaped.push((run[0].0, run.iter().map(|&(_, bid)| bid).collect()));
                    }
                    // A completion is reaped (any of them: order is not guaranteed).
                    1 if !unreaped.is_empty() => {
                        let at = (next(&mut rng) as usize) % unreaped.len();
                        let (start, run) = unreaped.swap_remove(at);
                        map.resolve(run[0], run.len(), tail);
                        if run.len() > 1 && map.refused(run[0]) {
                            let since = tail.wrapping_sub(start);
                            assert!(since > entries, "seed {seed}: {run:?} refused");
                            refusals += 1;
                            continue; // its buffers stay out of the ring
                        }
                        let mut bid = run[0];
                        for (k, &expected) in run.iter().enumerate() {
                            if k > 0 {
                                bid = map.after(bid);
                            }
                            assert_eq!(bid, expected, "seed {seed}: run {run:?}");
                        }
                        leased.extend(run);
                    }
                    // A leased buffer is recycled at the tail.
                    2 if !leased.is_empty() => {
                        let at = (next(&mut rng) as usize) % leased.len();
                        let bid = leased.swap_remove(at);
                        map.wrote(tail, bid);
                        ring.push_back((tail, bid));
                        tail = tail.wrapping_add(1);
                    }
                    _ => {}
                }
            }
        }
        assert!(
            cfg!(miri) || refusals > 0,
            "the model never rewrote a run's positions"
        );
    }

    /// A run whose positions were written again, or that reaches past the tail, is refused.
    #[test]
    fn untrustworthy_runs_are_refused() {
        let map = Positions::new(4);
        for bid in 0..4 {
            map.wrote(bid, bid);
        }
        map.resolve(1, 4, 4); // positions 1..5: past the tail
        assert!(map.refused(1));
        map.resolve(1, 3, 4);
        assert!(!map.refused(1));
        assert_eq!((map.after(1), map.after(2)), (2, 3));
        // Buffer 0 rewritten at position 4 and 5 (5 = position 1 again): 1's slot is gone.
        map.wrote(4, 0);
        map.wrote(5, 0);
        map.resolve(2, 2, 6);
        assert!(!map.refused(2), "positions 2 and 3 still hold 2 and 3");
        map.resolve(1, 2, 6); // 1's recorded position 1 now holds 0
        assert!(map.refused(1));
        map.resolve(9, 2, 6); // not a buffer of this ring
        assert!(!map.refused(9));
    }
}
