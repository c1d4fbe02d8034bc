//! Entering the kernel: a turn of the loop (submit, wait, reap, flush overflow), a submit
//! without waiting, and the SQ poll thread's wake-up.
//!
//! Owns: every `io_uring_enter` the ring makes and the choice of its flags. Must not route
//! CQEs (the reaper in `ring.rs` does).

use std::io;
use std::mem;
use std::time::Duration;

use io_uring::{opcode, types};

use super::ring::{PARK_TIMEOUT_USER_DATA, Ring};
use super::stats::Enter;

/// `IORING_ENTER_GETEVENTS`: also the flag that runs deferred task work.
const ENTER_GETEVENTS: u32 = 1;
/// `IORING_ENTER_SQ_WAKEUP`: wakes a sleeping SQ poll thread.
const ENTER_SQ_WAKEUP: u32 = 2;
/// How often an enter refused with EBUSY/EAGAIN is retried after reaping.
const ENTER_RETRIES: u32 = 1024;

impl Ring {
    /// One trip into the kernel: submit, optionally wait, reap; flush CQ overflow.
    pub(super) fn turn(&mut self, want: u32, timeout: Option<Duration>) -> io::Result<usize> {
        let mut reaped = self.reap() + mem::take(&mut self.reaped_in_push);
        if !self.cancel_backlog.is_empty() {
            self.retry_cancels();
            reaped += mem::take(&mut self.reaped_in_push);
        }
        if want == 0 && self.uring.submission().is_empty() && self.in_flight == 0 {
            return Ok(reaped);
        }
        // Completions already reaped satisfy a wait.
        let want = if reaped > 0 { 0 } else { want };
        let mut retries = 0;
        loop {
            let why = if want > 0 { Enter::Wait } else { Enter::Submit };
            match self.enter(want, timeout, why) {
                Ok(()) => break,
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN))
                        && retries < ENTER_RETRIES =>
                {
                    // The kernel wants CQ space (or memory) first: make room and retry.
                    retries += 1;
                    reaped += self.reap();
                }
                Err(e) => return Err(e),
            }
        }
        reaped += self.reap();
        if self.uring.submission().is_empty() {
            // Every SQE was consumed: the kernel has copied the linked timespecs.
            self.link_timespecs.clear();
        }
        // NODROP: completions that overflowed wait in the kernel; an enter flushes them.
        while self.uring.submission().cq_overflow() {
            self.stats.cq_overflow();
            self.enter(0, None, Enter::Flush)?;
            let n = self.reap();
            reaped += n;
            if n == 0 {
                break;
            }
        }
        Ok(reaped)
    }

    /// Hands the queued SQEs to the kernel and returns at once: no completion is waited
    /// for, reaped or run (`io_uring_enter` without `GETEVENTS`); the next turn reaps
    /// them. For a message another thread waits for, sent in the middle of a task.
    ///
    /// # Errors
    ///
    /// What `io_uring_enter` reports (EBUSY, EAGAIN and EINTR included), or `Other` if
    /// the kernel took only part of the SQ: either way the last SQE pushed may not have
    /// gone, and the caller must not count on it.
    pub(super) fn submit_only(&mut self) -> io::Result<()> {
        let to_submit = self.uring.submission().len() as u32;
        if to_submit == 0 {
            return Ok(());
        }
        if self.features.sqpoll {
            // The SQ poll thread takes the SQEs on its own (once woken if it sleeps): they
            // are the kernel's as soon as they are in the SQ, whatever this thread does.
            let wakeup = self.sq_wakeup_flag();
            if wakeup != 0 {
                self.stats.entered(Enter::Submit);
                // SAFETY: no argument pointer is passed; SQE pointers as above.
                unsafe {
                    self.uring
                        .submitter()
                        .enter::<libc::sigset_t>(0, 0, wakeup, None)?;
                }
            }
            return Ok(());
        }
        self.stats.entered(Enter::Submit);
        // SAFETY: no argument pointer is passed (`None`); the SQEs' own pointers are valid
        // per the contracts under which they were pushed.
        unsafe {
            self.uring
                .submitter()
                .enter::<libc::sigset_t>(to_submit, 0, 0, None)?;
        }
        if !self.uring.submission().is_empty() {
            return Err(io::Error::other("the kernel took only part of the SQ"));
        }
        self.link_timespecs.clear();
        Ok(())
    }

    /// `IORING_ENTER_SQ_WAKEUP` if this ring has an SQ poll thread and it has gone to
    /// sleep (it would not see new SQEs otherwise), else 0.
    fn sq_wakeup_flag(&mut self) -> u32 {
        if !self.features.sqpoll || self.uring.submission().is_empty() {
            return 0;
        }
        // The tail store that published the SQEs must be ordered before the read of the
        // thread's NEED_WAKEUP flag, or both sides could miss each other (liburing does the
        // same full fence).
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.uring.submission().need_wakeup() {
            self.stats.sqpoll_wakeup();
            ENTER_SQ_WAKEUP
        } else {
            0
        }
    }

    /// One `io_uring_enter`, counted as made for `why`.
    fn enter(&mut self, want: u32, timeout: Option<Duration>, why: Enter) -> io::Result<()> {
        self.stats.entered(why);
        // Read (and counted) here; `submit_with_args` below checks the same flag itself.
        let sq_wakeup = self.sq_wakeup_flag();
        let coalesce = self.coalesce.filter(|c| {
            want > 0 && timeout.is_none_or(|t| t.as_micros() >= u128::from(c.max_delay_us))
        });
        let result = match timeout {
            _ if want > 0 && self.features.ext_arg && (timeout.is_some() || coalesce.is_some()) => {
                // With coalescing the kernel returns at `batch` completions, or after the
                // min wait with at least one; `timeout`, if any, bounds the whole wait.
                let mut args = types::SubmitArgs::new();
                let mut want = want;
                if let Some(c) = coalesce {
                    args = args.min_wait_usec(c.max_delay_us);
                    want = c.batch;
                }
                let submitter = self.uring.submitter();
                match timeout.map(types::Timespec::from) {
                    Some(ts) => submitter.submit_with_args(want as usize, &args.timespec(&ts)),
                    None => submitter.submit_with_args(want as usize, &args),
                }
            }
            _ => {
                if let (Some(timeout), true) = (timeout, want > 0) {
                    *self.park_timespec = types::Timespec::from(timeout);
                    let entry = opcode::Timeout::new(&*self.park_timespec)
                        .build()
                        .user_data(PARK_TIMEOUT_USER_DATA);
                    // SAFETY: the timespec is boxed in `self` and outlives the submission,
                    // where the kernel copies it.
                    unsafe { self.push(&entry)? };
                }
                // Completions reaped by that push satisfy the wait (rule 9).
                let want = if self.reaped_in_push > 0 { 0 } else { want };
                let to_submit = self.uring.submission().len() as u32;
                let flags = ENTER_GETEVENTS | sq_wakeup;
                // SAFETY: no argument pointer is passed (`None`), so there is nothing for the
                // kernel to read beyond the rings it owns.
                unsafe {
                    self.uring
                        .submitter()
                        .enter::<libc::sigset_t>(to_submit, want, flags, None)
                }
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EINTR)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
