//! An op's view of its slot in the op table: push, poll, cancel, abandon.
//!
//! Owns: the transitions of [`Lifecycle`] that an op's future causes (the reaper in
//! `ring.rs` causes the others). Must not free op data under the driver's borrow: data
//! to drop is returned from the borrow and dropped after it (rule 6).

use std::io;
use std::mem;
use std::task::{Context, Poll};

use io_uring::{opcode, squeue};

use super::Handle;
use super::lifecycle::{Completable, CqeResult, Lifecycle, MultishotCompletable};
use super::ring::CANCEL_USER_DATA;

impl Handle {
    /// Pushes `entry` as the op in a new slot holding `slot`; returns the slot's key.
    ///
    /// # Safety
    ///
    /// As for [`Op::new`](crate::Op::new): every pointer in `entry` stays valid until the
    /// final CQE of the returned slot, i.e. the caller keeps what they point into alive
    /// and hands it to [`abandon`](Handle::abandon) if it is dropped before then.
    pub(crate) unsafe fn push_op(
        &self,
        entry: squeue::Entry,
        slot: Lifecycle,
    ) -> io::Result<usize> {
        self.with_inner(|inner| {
            // SAFETY: forwarded from this function's contract.
            unsafe { inner.push_op(entry, slot) }
        })
    }
    pub(crate) fn poll_op(&self, key: usize, cx: &mut Context<'_>) -> Poll<CqeResult> {
        let mut inner = self.inner.borrow_mut();
        let slot = &mut inner.ops[key];
        match slot {
            Lifecycle::Completed(_) => match inner.ops.remove(key) {
                Lifecycle::Completed(cqe) => Poll::Ready(cqe),
                _ => unreachable!(),
            },
            Lifecycle::Submitted => {
                *slot = Lifecycle::Waiting(cx.waker().clone());
                Poll::Pending
            }
            Lifecycle::Waiting(waker) => {
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
                Poll::Pending
            }
            other => unreachable!("single-shot op polled in a {other:?} slot"),
        }
    }

    pub(crate) fn poll_multishot(&self, key: usize, cx: &mut Context<'_>) -> Poll<CqeResult> {
        let mut inner = self.inner.borrow_mut();
        let Lifecycle::Multishot { queue, waker, .. } = &mut inner.ops[key] else {
            unreachable!("multishot op polled in a single-shot slot")
        };
        match queue.pop_front() {
            Some(cqe) => {
                if !cqe.has_more() {
                    inner.ops.remove(key);
                }
                Poll::Ready(cqe)
            }
            None => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    pub(crate) fn cancel(&self, key: usize) {
        self.with_inner(|inner| {
            if !matches!(inner.ops.get(key), Some(Lifecycle::Completed(_)) | None) {
                inner.push_cancel(key);
            }
        });
    }

    /// Pushes an `IORING_OP_TIMEOUT_REMOVE` for the timeout in slot `key` (rule 7, as for
    /// cancel: only while the slot still holds it).
    pub(crate) fn remove_timeout(&self, key: usize) {
        self.with_inner(|inner| {
            if matches!(inner.ops.get(key), Some(Lifecycle::Completed(_)) | None)
                || !inner.supports(opcode::TimeoutRemove::CODE)
            {
                return;
            }
            let entry = opcode::TimeoutRemove::new(key as u64)
                .build()
                .user_data(CANCEL_USER_DATA);
            // SAFETY: a timeout-remove SQE carries no pointers, only the target's user_data.
            // If it cannot be pushed the timeout fires on its own, which is sound.
            let _ = unsafe { inner.push(&entry) };
        });
    }

    /// Rule 2: the op's future is gone before its completion; park `data` in its slot.
    pub(crate) fn abandon<T: Completable>(&self, key: usize, mut data: T) {
        // Whatever must be dropped is returned, to drop after the borrow (rule 6).
        let dropped = self.with_inner(|inner| match &inner.ops[key] {
            Lifecycle::Completed(cqe) => {
                // Completed but never polled: release what the result created (rule 3).
                data.cleanup_ignored(cqe);
                Some((inner.ops.remove(key), Some(data)))
            }
            _ if inner.shut_down => {
                // Rule 5: the shutdown wait ended without this op's CQE.
                mem::forget(data);
                None
            }
            _ => {
                let old = mem::replace(&mut inner.ops[key], Lifecycle::ignored_once(data));
                inner.push_cancel(key);
                Some((old, None))
            }
        });
        drop(dropped);
    }

    pub(crate) fn abandon_multishot<T: MultishotCompletable>(&self, key: usize, mut data: T) {
        let dropped = self.with_inner(|inner| {
            let Lifecycle::Multishot { queue, tap, .. } = &mut inner.ops[key] else {
                unreachable!("multishot op in a single-shot slot")
            };
            let tap = tap.take();
            let mut finished = false;
            for cqe in queue.drain(..) {
                data.cleanup_ignored(&cqe);
                finished |= !cqe.has_more();
            }
            if finished {
                Some((inner.ops.remove(key), Some(data)))
            } else if inner.shut_down {
                mem::forget(data);
                None
            } else {
                let old = mem::replace(&mut inner.ops[key], Lifecycle::ignored_multi(data, tap));
                inner.push_cancel(key);
                Some((old, None))
            }
        });
        drop(dropped);
    }
}
