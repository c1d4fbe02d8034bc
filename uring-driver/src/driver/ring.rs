//! The ring and its op table: pushing SQEs and reaping CQEs (entering the kernel is in
//! `enter.rs`).
//!
//! Owns: [`Ring`], the state behind a [`Handle`](super::Handle) — the io_uring instance,
//! the op table of [`Lifecycle`] slots, the cancel backlog, linked-timeout timespecs and
//! the wait configuration — and everything that touches the SQ and CQ. Must not wake
//! wakers or drop op data itself: it collects them (`woken`, `graveyard`) for the handle
//! to release once its borrow ends (rule 6).

use std::io;
use std::mem;
use std::sync::Arc;
use std::time::Duration;

use io_uring::{IoUring, opcode, squeue, types};
use slab::Slab;

use super::lifecycle::{CqeResult, IgnoredOp, Lifecycle};
use super::probe::{Features, OpcodeSet, Opcodes, TaskrunMode};
use super::stats::{Counters, Enter};

/// user_data of the driver's own cancel SQEs; their CQEs are not routed to any op.
pub(super) const CANCEL_USER_DATA: u64 = u64::MAX;
/// user_data of the timeout SQE used to bound a wait on kernels without `EXT_ARG`.
pub(super) const PARK_TIMEOUT_USER_DATA: u64 = u64::MAX - 1;
/// user_data of the CQEs other rings post to wake this one (`IORING_OP_MSG_RING`, see
/// [`Handle::post_wake`](super::Handle::post_wake)); they carry nothing else.
pub(super) const WAKE_USER_DATA: u64 = u64::MAX - 2;

/// Completion coalescing of blocking waits: wait for `batch` completions, but no longer
/// than `max_delay` past the first.
#[derive(Clone, Copy, Debug)]
pub(super) struct Coalesce {
    pub(super) batch: u32,
    pub(super) max_delay_us: u32,
}

pub(super) struct Ring {
    pub(super) uring: IoUring,
    /// This ring's identity, unique in the process: objects that belong to one ring
    /// (buffer rings, fixed buffers, file tables) record it, and ops check it.
    pub(super) id: u64,
    pub(super) ops: Slab<Lifecycle>,
    /// Slots whose final CQE has not been reaped yet.
    pub(super) in_flight: usize,
    pub(super) opcodes: Opcodes,
    pub(super) features: Features,
    pub(super) shut_down: bool,
    pub(super) next_buffer_group: u16,
    /// Set by `with_link_timeout`: the next op pushed gets a linked timeout.
    pub(super) link_next: Option<Duration>,
    /// Timespecs of linked timeouts in the SQ. The kernel copies each when the SQE is
    /// submitted; they are freed once the SQ is empty. Boxed on purpose: the SQEs hold
    /// their addresses, which must not move when the vector grows.
    #[allow(clippy::vec_box)]
    pub(super) link_timespecs: Vec<Box<types::Timespec>>,
    /// Op data freed by the reaper, dropped once the borrow of `Inner` ends (rule 6).
    pub(super) graveyard: Vec<Box<dyn IgnoredOp>>,
    /// Wakers of ops the reaper completed, woken once the borrow of `Inner` ends: a waker
    /// may run arbitrary code, including code that uses this driver.
    pub(super) woken: Vec<std::task::Waker>,
    /// Completions reaped by a push that had to submit to make room; a wait that follows
    /// must not block, since those completions may have made work ready (rule 9).
    pub(super) reaped_in_push: usize,
    /// Slots of dropped ops whose cancel SQE could not be pushed; retried every turn.
    pub(super) cancel_backlog: Vec<usize>,
    /// The timespec of the wait-bounding timeout SQE on kernels without EXT_ARG. The kernel
    /// copies it while the SQE is submitted; it lives here so it outlives that.
    pub(super) park_timespec: Box<types::Timespec>,
    /// Coalescing of blocking waits, when configured and supported.
    pub(super) coalesce: Option<Coalesce>,
    /// What the ring has done, readable from other threads.
    pub(super) stats: Arc<Counters>,
    /// The opcode of each slot's op, by slot key, for counting its completion; the high
    /// bit marks an op that picks buffers from a buffer ring.
    kinds: Vec<u8>,
}

/// In [`Ring::kinds`]: the op picks its buffers from a buffer ring.
const FROM_BUFFER_RING: u8 = 0x80;

impl Ring {
    /// Wraps a ring the kernel set up with `taskrun`.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the kernel lacks `IORING_FEAT_NODROP`.
    pub(super) fn new(
        uring: IoUring,
        taskrun: TaskrunMode,
        no_sqarray: bool,
        sqpoll: bool,
        recv_bundles: bool,
        coalesce: Option<Coalesce>,
        disabled: OpcodeSet,
    ) -> io::Result<Ring> {
        let params = uring.params();
        if !params.is_feature_nodrop() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_NODROP (Linux 5.5+): completions could be lost \
                 on CQ overflow; ringlet needs Linux 5.11 or newer",
            ));
        }
        let features = Features {
            taskrun,
            ext_arg: params.is_feature_ext_arg(),
            min_timeout: params.is_feature_min_timeout(),
            sq_entries: params.sq_entries(),
            cq_entries: params.cq_entries(),
            no_sqarray,
            sqpoll,
            recv_bundle: super::probe::recv_bundles(
                recv_bundles,
                params.is_feature_recvsend_bundle(),
            ),
        };
        static NEXT_RING_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Ring {
            opcodes: Opcodes::probe(&uring, disabled),
            uring,
            id: NEXT_RING_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ops: Slab::with_capacity(64),
            in_flight: 0,
            features,
            shut_down: false,
            next_buffer_group: 0,
            link_next: None,
            link_timespecs: Vec::new(),
            graveyard: Vec::new(),
            woken: Vec::new(),
            reaped_in_push: 0,
            cancel_backlog: Vec::new(),
            park_timespec: Box::new(types::Timespec::new()),
            coalesce: coalesce.filter(|_| features.min_timeout && features.ext_arg),
            stats: Counters::new(),
            kinds: Vec::new(),
        })
    }

    /// Shutdown, first step: no new op is accepted, and every op still in the kernel is
    /// asked to cancel.
    pub(super) fn cancel_all(&mut self) {
        self.shut_down = true;
        let keys: Vec<usize> = self
            .ops
            .iter()
            .filter(|(_, slot)| slot.in_kernel())
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            self.push_cancel(key);
        }
    }

    /// Shutdown, last step: data whose final CQE never came is leaked, never freed
    /// (rule 5): the kernel may still touch it.
    pub(super) fn leak_unanswered(&mut self) {
        for (_, slot) in self.ops.iter_mut() {
            if let Lifecycle::Ignored(_) = slot {
                mem::forget(mem::replace(slot, Lifecycle::Submitted));
            }
        }
    }

    /// Pushes `entry` as the op of a new slot holding `slot`; returns the slot's key.
    ///
    /// # Safety
    ///
    /// As for [`Handle::push_op`](super::Handle::push_op).
    pub(super) unsafe fn push_op(
        &mut self,
        entry: squeue::Entry,
        slot: Lifecycle,
    ) -> io::Result<usize> {
        if self.shut_down {
            return Err(io::Error::other("the io_uring driver has shut down"));
        }
        let opcode = entry.get_opcode() as u8;
        self.opcodes.check(opcode)?;
        let kind = match &slot {
            Lifecycle::Multishot { tap: Some(_), .. } => opcode | FROM_BUFFER_RING,
            _ => opcode,
        };
        let key = self.ops.insert(slot);
        // Recorded before the SQE can reach the kernel, so any reap finds it.
        if self.kinds.len() <= key {
            self.kinds.resize(key + 1, 0);
        }
        self.kinds[key] = kind;
        let entry = entry.user_data(key as u64);
        let pushed = match self.link_next.take() {
            None => {
                // SAFETY: forwarded from `Op::new`'s contract: the entry's pointers stay
                // valid until the final CQE of slot `key`.
                unsafe { self.push(&entry) }
            }
            // SAFETY: as above.
            Some(timeout) => unsafe { self.push_linked(entry, timeout) },
        };
        if let Err(e) = pushed {
            self.ops.remove(key);
            return Err(e);
        }
        self.in_flight += 1;
        self.stats.submitted(opcode);
        #[cfg(feature = "tracing")]
        tracing::trace!(
            target: "uring_driver::op",
            ring = self.id,
            slot = key,
            op = super::stats::op_name(opcode),
            "submit"
        );
        Ok(key)
    }

    pub(super) fn supports(&self, opcode: u8) -> bool {
        self.opcodes.supports(opcode)
    }

    /// Pushes one SQE, submitting to make room when the SQ is full.
    ///
    /// # Safety
    ///
    /// The pointers in `entry` must stay valid until its final CQE.
    pub(super) unsafe fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from this function's contract.
            if unsafe { self.uring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            // The SQ is full: hand it to the kernel, then retry. What that reaps may have
            // made work ready: the next wait must not block (rule 9).
            self.stats.sq_full();
            self.reaped_in_push += self.turn(0, None)?;
            if self.features.sqpoll && self.uring.submission().is_full() {
                // The SQ poll thread empties the SQ in its own time: wait for room.
                self.stats.entered(Enter::Wait);
                self.uring.submitter().squeue_wait()?;
            }
        }
    }

    /// Pushes `entry` linked to a timeout SQE, both into the same submission.
    ///
    /// # Safety
    ///
    /// As for [`push`](Ring::push).
    unsafe fn push_linked(&mut self, entry: squeue::Entry, timeout: Duration) -> io::Result<()> {
        self.opcodes.check(opcode::LinkTimeout::CODE)?;
        // Both SQEs must go in one submission, or the link would be cut between them.
        let free = {
            let sq = self.uring.submission();
            sq.capacity() - sq.len()
        };
        if free < 2 {
            self.stats.sq_full();
            self.reaped_in_push += self.turn(0, None)?;
        }
        let timespec = Box::new(types::Timespec::from(timeout));
        let link = opcode::LinkTimeout::new(&*timespec)
            .build()
            .user_data(CANCEL_USER_DATA);
        let entries = [entry.flags(squeue::Flags::IO_LINK), link];
        // SAFETY: the op's pointers are valid per this function's contract; the timeout
        // points to `timespec`, kept in `link_timespecs` until the SQ is consumed.
        unsafe { self.uring.submission().push_multiple(&entries) }
            .map_err(|_| io::Error::other("submission queue full after submitting"))?;
        self.link_timespecs.push(timespec);
        Ok(())
    }

    pub(super) fn push_cancel(&mut self, key: usize) {
        if !self.supports(opcode::AsyncCancel::CODE) {
            return; // The op completes on its own; its data waits for that.
        }
        let entry = opcode::AsyncCancel::new(key as u64)
            .build()
            .user_data(CANCEL_USER_DATA);
        self.stats.cancel();
        // SAFETY: a cancel SQE carries no pointers, only the target's user_data.
        if unsafe { self.push(&entry) }.is_err()
            && matches!(self.ops.get(key), Some(Lifecycle::Ignored(_)))
        {
            // The ring refused even after submitting; an abandoned op (an idle receive)
            // might never complete by itself, so the cancel is retried every turn.
            self.cancel_backlog.push(key);
        }
    }

    /// Retries the cancels that could not be pushed, for slots that still hold an
    /// abandoned op (rule 7: any op abandoned in that slot wants cancelling).
    pub(super) fn retry_cancels(&mut self) {
        for key in mem::take(&mut self.cancel_backlog) {
            if matches!(self.ops.get(key), Some(Lifecycle::Ignored(_))) {
                self.push_cancel(key);
            }
        }
    }

    /// Routes every available CQE to its slot; wakes exactly the op it belongs to.
    pub(super) fn reap(&mut self) -> usize {
        let Ring {
            uring,
            ops,
            in_flight,
            graveyard,
            woken,
            stats,
            kinds,
            #[cfg(feature = "tracing")]
            id,
            ..
        } = self;
        let mut count = 0;
        for cqe in uring.completion() {
            count += 1;
            let user_data = cqe.user_data();
            if matches!(
                user_data,
                CANCEL_USER_DATA | PARK_TIMEOUT_USER_DATA | WAKE_USER_DATA
            ) {
                continue;
            }
            let key = user_data as usize;
            let result = CqeResult::from_raw(cqe.result(), cqe.flags());
            let last = !result.has_more();
            let kind = kinds.get(key).copied().unwrap_or(0);
            #[cfg(feature = "tracing")]
            tracing::trace!(
                target: "uring_driver::op",
                ring = *id,
                slot = key,
                op = super::stats::op_name(kind & !FROM_BUFFER_RING),
                result = cqe.result(),
                more = !last,
                "complete"
            );
            if kind & FROM_BUFFER_RING != 0 && cqe.result() == -libc::ENOBUFS {
                stats.pool_ran_dry();
            }
            let Some(slot) = ops.get_mut(key) else {
                debug_assert!(false, "CQE for unknown slot {key}");
                continue;
            };
            match slot {
                Lifecycle::Submitted => *slot = Lifecycle::Completed(result),
                Lifecycle::Waiting(_) => {
                    if let Lifecycle::Waiting(waker) =
                        mem::replace(slot, Lifecycle::Completed(result))
                    {
                        woken.push(waker);
                    }
                }
                Lifecycle::Ignored(data) => {
                    data.late_cqe(&result);
                    if last && let Lifecycle::Ignored(data) = ops.remove(key) {
                        graveyard.push(data);
                    }
                }
                Lifecycle::Multishot { queue, waker, tap } => {
                    if let Some(ring) = tap
                        && ring.taken_by(&result)
                        && last
                    {
                        // A bundle took the last free buffers and the kernel ended the
                        // multishot: the pool ran dry without an ENOBUFS completion.
                        stats.pool_ran_dry();
                    }
                    queue.push_back(result);
                    woken.extend(waker.take());
                }
                Lifecycle::Completed(_) => {
                    debug_assert!(false, "second CQE for single-shot slot {key}");
                    continue;
                }
            }
            if last {
                *in_flight -= 1;
                stats.completed(kind & !FROM_BUFFER_RING);
            }
        }
        stats.cqes(count);
        count
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // All handles are gone, so no op can still own data in a Waiting slot; an Ignored
        // slot left here never got its final CQE (rule 5): leak it.
        self.leak_unanswered();
    }
}
