//! What the ring has done, in counters: ops submitted and completed by opcode, kernel
//! entries by purpose, a full SQ, CQ overflow, buffer-ring exhaustion.
//!
//! Owns: [`Counters`] (written by the ring's thread only, with a relaxed load and store,
//! no atomic read-modify-write; read from any thread through a [`StatsReader`]) and the
//! snapshot types [`Stats`] and [`OpStats`]. Must not cost a syscall or a shared cache
//! line per counted event. Built with `--cfg ringlet_no_metrics`, nothing is counted
//! (every counter reads 0): the build the cost of counting is measured against.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::probe::OPCODES;

/// Opcodes are counted in this many buckets; a (future) opcode past them shares the last.
const KINDS: usize = 64;

/// Why the ring entered the kernel (`io_uring_enter`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Enter {
    /// To hand over SQEs (or run deferred completions) without waiting.
    Submit,
    /// To sleep until completions arrive (or a timeout passes).
    Wait,
    /// To move completions out of the kernel's overflow list into the CQ.
    Flush,
}

/// The ring's counters, on cache lines of their own.
#[repr(align(128))]
pub(crate) struct Counters {
    submitted: [AtomicU64; KINDS],
    completed: [AtomicU64; KINDS],
    enter_submit: AtomicU64,
    enter_wait: AtomicU64,
    enter_flush: AtomicU64,
    sq_full: AtomicU64,
    cq_overflow: AtomicU64,
    enobufs: AtomicU64,
    cqes: AtomicU64,
    cancels: AtomicU64,
    sqpoll_wakeups: AtomicU64,
}

/// Adds `n` to a counter only the ring's thread writes: a plain load and store.
#[inline(always)]
fn add(counter: &AtomicU64, n: u64) {
    if cfg!(not(ringlet_no_metrics)) {
        add_always(counter, n);
    }
}

/// As [`add`], also in a build without metrics: for rare events the driver's API has
/// always counted (CQ overflow, SQ poll wake-ups).
fn add_always(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

fn bucket(opcode: u8) -> usize {
    usize::from(opcode).min(KINDS - 1)
}

impl Counters {
    pub(crate) fn new() -> Arc<Counters> {
        Arc::new(Counters {
            submitted: std::array::from_fn(|_| AtomicU64::new(0)),
            completed: std::array::from_fn(|_| AtomicU64::new(0)),
            enter_submit: AtomicU64::new(0),
            enter_wait: AtomicU64::new(0),
            enter_flush: AtomicU64::new(0),
            sq_full: AtomicU64::new(0),
            cq_overflow: AtomicU64::new(0),
            enobufs: AtomicU64::new(0),
            cqes: AtomicU64::new(0),
            cancels: AtomicU64::new(0),
            sqpoll_wakeups: AtomicU64::new(0),
        })
    }

    pub(crate) fn submitted(&self, opcode: u8) {
        add(&self.submitted[bucket(opcode)], 1);
    }

    pub(crate) fn completed(&self, opcode: u8) {
        add(&self.completed[bucket(opcode)], 1);
    }

    pub(crate) fn entered(&self, why: Enter) {
        add(
            match why {
                Enter::Submit => &self.enter_submit,
                Enter::Wait => &self.enter_wait,
                Enter::Flush => &self.enter_flush,
            },
            1,
        );
    }

    pub(crate) fn sq_full(&self) {
        add(&self.sq_full, 1);
    }

    pub(crate) fn cq_overflow(&self) {
        add_always(&self.cq_overflow, 1);
    }

    pub(crate) fn pool_ran_dry(&self) {
        add(&self.enobufs, 1);
    }

    pub(crate) fn cqes(&self, n: usize) {
        add(&self.cqes, n as u64);
    }

    pub(crate) fn cancel(&self) {
        add(&self.cancels, 1);
    }

    pub(crate) fn sqpoll_wakeup(&self) {
        add_always(&self.sqpoll_wakeups, 1);
    }

    pub(crate) fn read_cq_overflow(&self) -> u64 {
        self.cq_overflow.load(Ordering::Relaxed)
    }

    pub(crate) fn read_sqpoll_wakeups(&self) -> u64 {
        self.sqpoll_wakeups.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let ops = (0..KINDS)
            .filter_map(|kind| {
                let submitted = get(&self.submitted[kind]);
                (submitted > 0).then(|| OpStats {
                    opcode: kind as u8,
                    name: op_name(kind as u8),
                    submitted,
                    completed: get(&self.completed[kind]),
                })
            })
            .collect();
        Stats {
            ops,
            enter_submit: get(&self.enter_submit),
            enter_wait: get(&self.enter_wait),
            enter_flush: get(&self.enter_flush),
            sq_full: get(&self.sq_full),
            cq_overflow: get(&self.cq_overflow),
            enobufs: get(&self.enobufs),
            cqes: get(&self.cqes),
            cancels: get(&self.cancels),
            sqpoll_wakeups: get(&self.sqpoll_wakeups),
        }
    }
}

/// The name of an opcode without its prefix: `"RECV"` for `IORING_OP_RECV`; `"other"` if
/// unknown.
pub(super) fn op_name(opcode: u8) -> &'static str {
    OPCODES
        .iter()
        .find(|&&(code, _, _)| code == opcode)
        .map_or("other", |(_, name, _)| {
            name.trim_start_matches("IORING_OP_")
        })
}

/// Reads a ring's counters from any thread ([`Handle::stats_reader`](super::Handle::stats_reader)):
/// it may outlive the ring (it then reads the last values).
#[derive(Clone)]
pub struct StatsReader(Arc<Counters>);

impl StatsReader {
    pub(crate) fn new(counters: &Arc<Counters>) -> StatsReader {
        StatsReader(counters.clone())
    }

    /// A snapshot of the ring's counters.
    pub fn snapshot(&self) -> Stats {
        self.0.snapshot()
    }
}

impl fmt::Debug for StatsReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StatsReader")
            .field(&self.snapshot())
            .finish()
    }
}

/// One opcode's ops ([`Stats::ops`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpStats {
    /// The io_uring opcode (`opcode::Recv::CODE`, ...).
    pub opcode: u8,
    /// Its name without the `IORING_OP_` prefix: `"RECV"`, `"SEND_ZC"`; `"other"` for an
    /// opcode this crate does not know.
    pub name: &'static str,
    /// Ops pushed into the SQ (a multishot op once, however many completions it posts).
    pub submitted: u64,
    /// Ops whose final completion was reaped (including ops dropped in flight).
    pub completed: u64,
}

impl OpStats {
    /// Ops submitted whose final completion has not been reaped yet.
    pub fn in_flight(&self) -> u64 {
        self.submitted.saturating_sub(self.completed)
    }
}

/// A snapshot of one ring's counters ([`Handle::stats`](super::Handle::stats)). Counters
/// only grow: [`since`](Stats::since) gives what happened between two snapshots.
///
/// Costs: counting an op is two plain stores on the ring's thread (no atomic
/// read-modify-write, no syscall); reading a snapshot walks 64 opcode buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Ops by opcode, for every opcode submitted at least once, in opcode order. The
    /// driver's own wake posts (`MSG_RING`) are ops too; its cancel requests are counted
    /// in [`cancels`](Stats::cancels) instead.
    pub ops: Vec<OpStats>,
    /// `io_uring_enter` calls that submitted SQEs or ran deferred completions without
    /// waiting.
    pub enter_submit: u64,
    /// `io_uring_enter` calls that waited for a completion (the ring's thread asleep).
    pub enter_wait: u64,
    /// `io_uring_enter` calls that flushed completions from the kernel's overflow list.
    pub enter_flush: u64,
    /// Times an SQE found the submission queue full and had to submit first to make room:
    /// a steady count says the ring's SQ is small for the load.
    pub sq_full: u64,
    /// Times the completion queue was found overflowed (`IORING_SQ_CQ_OVERFLOW`: the
    /// kernel held completions that did not fit). None is lost; a steady count says the
    /// CQ is small for the load.
    pub cq_overflow: u64,
    /// Times a buffer-ring receive found its pool of buffers empty and ended: a
    /// completion failing with `ENOBUFS`, or (receive bundles) a multishot ended by the
    /// kernel right after a bundle took the last free buffers. The data waits in the
    /// socket until the receive is armed again; a steady count says the pool is small
    /// for the load (or its buffers are held too long).
    pub enobufs: u64,
    /// Completions reaped, of every kind (a multishot op posts many).
    pub cqes: u64,
    /// Cancel requests (`ASYNC_CANCEL`) sent for ops dropped in flight.
    pub cancels: u64,
    /// Wake-ups of a sleeping SQ poll thread (`SQPOLL` rings only).
    pub sqpoll_wakeups: u64,
}

impl Stats {
    /// All `io_uring_enter` calls.
    pub fn enters(&self) -> u64 {
        self.enter_submit + self.enter_wait + self.enter_flush
    }

    /// Ops submitted, of every opcode.
    pub fn submitted(&self) -> u64 {
        self.ops.iter().map(|op| op.submitted).sum()
    }

    /// Ops whose final completion was reaped, of every opcode.
    pub fn completed(&self) -> u64 {
        self.ops.iter().map(|op| op.completed).sum()
    }

    /// Ops in flight, of every opcode.
    pub fn in_flight(&self) -> u64 {
        self.ops.iter().map(OpStats::in_flight).sum()
    }

    /// The counts of `opcode` (zero if it was never submitted).
    pub fn op(&self, opcode: u8) -> OpStats {
        self.ops
            .iter()
            .find(|op| op.opcode == opcode)
            .copied()
            .unwrap_or(OpStats {
                opcode,
                name: op_name(opcode),
                submitted: 0,
                completed: 0,
            })
    }

    /// The counts of the opcode called `name` (as in [`OpStats::name`]: `"RECV"`), zero
    /// if none was submitted.
    pub fn op_named(&self, name: &str) -> OpStats {
        match OPCODES
            .iter()
            .find(|(_, n, _)| n.trim_start_matches("IORING_OP_") == name)
        {
            Some(&(opcode, _, _)) => self.op(opcode),
            None => OpStats {
                opcode: u8::MAX,
                name: "other",
                submitted: 0,
                completed: 0,
            },
        }
    }

    /// What happened between `earlier` (a snapshot of the same ring) and this one.
    pub fn since(&self, earlier: &Stats) -> Stats {
        let ops = self
            .ops
            .iter()
            .map(|op| {
                let then = earlier.op(op.opcode);
                OpStats {
                    submitted: op.submitted - then.submitted,
                    completed: op.completed - then.completed,
                    ..*op
                }
            })
            .filter(|op| op.submitted > 0 || op.completed > 0)
            .collect();
        Stats {
            ops,
            enter_submit: self.enter_submit - earlier.enter_submit,
            enter_wait: self.enter_wait - earlier.enter_wait,
            enter_flush: self.enter_flush - earlier.enter_flush,
            sq_full: self.sq_full - earlier.sq_full,
            cq_overflow: self.cq_overflow - earlier.cq_overflow,
            enobufs: self.enobufs - earlier.enobufs,
            cqes: self.cqes - earlier.cqes,
            cancels: self.cancels - earlier.cancels,
            sqpoll_wakeups: self.sqpoll_wakeups - earlier.sqpoll_wakeups,
        }
    }

    /// The sum of several rings' counters (e.g. every worker's).
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Stats>) -> Stats {
        let mut total = Stats::default();
        for s in all {
            for op in &s.ops {
                match total.ops.iter_mut().find(|t| t.opcode == op.opcode) {
                    Some(t) => {
                        t.submitted += op.submitted;
                        t.completed += op.completed;
                    }
                    None => total.ops.push(*op),
                }
            }
            total.enter_submit += s.enter_submit;
            total.enter_wait += s.enter_wait;
            total.enter_flush += s.enter_flush;
            total.sq_full += s.sq_full;
            total.cq_overflow += s.cq_overflow;
            total.enobufs += s.enobufs;
            total.cqes += s.cqes;
            total.cancels += s.cancels;
            total.sqpoll_wakeups += s.sqpoll_wakeups;
        }
        total.ops.sort_by_key(|op| op.opcode);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(opcode: u8, submitted: u64, completed: u64) -> OpStats {
        OpStats {
            opcode,
            name: op_name(opcode),
            submitted,
            completed,
        }
    }

    #[test]
    fn counters_snapshot_by_opcode_and_differences_and_sums_add_up() {
        let counters = Counters::new();
        let recv = io_uring::opcode::Recv::CODE;
        let send = io_uring::opcode::Send::CODE;
        for _ in 0..3 {
            counters.submitted(recv);
        }
        counters.completed(recv);
        counters.submitted(send);
        counters.entered(Enter::Wait);
        counters.entered(Enter::Submit);
        counters.entered(Enter::Submit);
        counters.pool_ran_dry();
        counters.submitted(200); // past the buckets: counted in the last
        let first = StatsReader::new(&counters).snapshot();
        assert_eq!(first.op(recv), op(recv, 3, 1));
        assert_eq!(first.op(recv).in_flight(), 2);
        assert_eq!(first.op_named("RECV"), op(recv, 3, 1));
        assert_eq!(first.op(63).submitted, 1);
        assert_eq!(
            (first.submitted(), first.completed(), first.in_flight()),
            (5, 1, 4)
        );
        assert_eq!(
            (first.enter_wait, first.enter_submit, first.enters()),
            (1, 2, 3)
        );
        assert_eq!(first.enobufs, 1);

        counters.completed(recv);
        counters.completed(send);
        let second = StatsReader::new(&counters).snapshot();
        let delta = second.since(&first);
        let mut expected = vec![op(send, 0, 1), op(recv, 0, 1)];
        expected.sort_by_key(|o| o.opcode);
        assert_eq!(delta.ops, expected);
        assert_eq!(delta.enters(), 0);

        let sum = Stats::sum([&first, &second]);
        assert_eq!(sum.op(recv), op(recv, 6, 3));
        assert_eq!(sum.op(send), op(send, 2, 1));
        assert_eq!(sum.enters(), 6);
        assert!(sum.ops.windows(2).all(|w| w[0].opcode < w[1].opcode));
    }
}
