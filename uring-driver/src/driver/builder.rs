//! Setting up a ring: [`Builder`], the fallbacks between task-running modes, and errors
//! that say why io_uring is unavailable and what to do about it.
//!
//! Owns: the choices made before `io_uring_setup`. Must not touch a ring once built.

use std::io;
use std::time::Duration;

use io_uring::IoUring;

use super::Driver;
use super::probe::{OpcodeSet, TaskrunMode};
use super::ring::{Coalesce, Ring};

impl Driver {
    /// A driver with the default configuration (256 SQ entries, 4096 CQ entries, best
    /// task-running mode).
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Driver> {
        Builder::default().build()
    }

    /// Configures a driver.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// Configures and builds a [`Driver`].
#[derive(Clone, Debug)]
pub struct Builder {
    entries: u32,
    cq_entries: u32,
    no_sqarray: bool,
    sqpoll: Option<Duration>,
    recv_bundles: bool,
    defer_taskrun: bool,
    coalesce: Option<Coalesce>,
    disabled: OpcodeSet,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            entries: 256,
            cq_entries: DEFAULT_CQ_ENTRIES,
            no_sqarray: true,
            sqpoll: None,
            recv_bundles: true,
            defer_taskrun: true,
            coalesce: None,
            disabled: OpcodeSet::default(),
        }
    }
}

/// The default completion queue size: room for a burst of completions from thousands of
/// connections (each with a multishot receive armed) without overflowing, for 64 KiB of
/// ring memory. An overflow loses nothing (`IORING_FEAT_NODROP`) but costs the kernel a
/// list of overflowed entries and ringlet an extra `io_uring_enter` to flush them.
pub const DEFAULT_CQ_ENTRIES: u32 = 4096;

impl Builder {
    /// Submission queue size (rounded up to a power of two by the kernel). A full SQ is
    /// never an error: it is submitted to make room.
    pub fn entries(mut self, entries: u32) -> Self {
        self.entries = entries.max(1);
        self
    }

    /// Completion queue size (default [`DEFAULT_CQ_ENTRIES`]; rounded up to a power of
    /// two, never less than twice the SQ, clamped to the kernel's maximum). Size it for
    /// the completions that can arrive between two turns of the loop, about one per
    /// connection with data in flight: beyond it completions overflow into a kernel list,
    /// which loses nothing but costs an extra `io_uring_enter` per turn to flush
    /// ([`Handle::cq_overflow_flushes`](crate::Handle::cq_overflow_flushes) counts them).
    pub fn cq_entries(mut self, entries: u32) -> Self {
        self.cq_entries = entries.max(1);
        self
    }

    /// Whether to drop the SQ index array (`IORING_SETUP_NO_SQARRAY`, Linux 6.6; default
    /// `true`): the kernel then takes SQEs in ring order, one indirection less per SQE.
    /// Kernels without it get the array, and [`Features::no_sqarray`] says which one
    /// runs. `false` forces the array (to test the fallback on a new kernel).
    ///
    /// [`Features::no_sqarray`]: crate::Features::no_sqarray
    pub fn no_sqarray(mut self, on: bool) -> Self {
        self.no_sqarray = on;
        self
    }

    /// Submits through a kernel thread that polls the SQ (`IORING_SETUP_SQPOLL`; default:
    /// off): ops reach the kernel without an `io_uring_enter`, and cross-ring wakes
    /// without any syscall while the thread is awake. It spins for `idle` after the last
    /// submission before it sleeps, so it costs up to a whole core while the ring is busy:
    /// for latency-critical servers with a core to spare. The thread runs where the
    /// ring's creator may run (pin the creator to choose).
    ///
    /// `DEFER_TASKRUN` is not available with it (the kernel refuses the pair), so
    /// completions run cooperatively. Kernels that refuse SQPOLL (before 5.11 without
    /// `CAP_SYS_ADMIN`) or lack `IORING_FEAT_EXT_ARG` get a ring without it, and
    /// [`Features::sqpoll`](crate::Features::sqpoll) says which one runs.
    pub fn sqpoll(mut self, idle: Duration) -> Self {
        self.sqpoll = Some(idle);
        self
    }

    /// Whether multishot receives take bundles where the kernel has them (default `true`;
    /// see [`Features::recv_bundle`](crate::Features::recv_bundle) for the kernels): one
    /// completion then carries every buffer the waiting data fills, not one each, so a
    /// large message costs fewer completions. `false` receives one buffer per completion
    /// (to test that path on a new kernel, or to compare).
    pub fn recv_bundles(mut self, on: bool) -> Self {
        self.recv_bundles = on;
        self
    }

    /// Whether to try `DEFER_TASKRUN` first (default `true`). With `false` the ring starts at
    /// cooperative task running; useful to exercise that mode.
    pub fn defer_taskrun(mut self, on: bool) -> Self {
        self.defer_taskrun = on;
        self
    }

    /// Coalesces completions when the ring waits (default: off). A blocking wait returns
    /// once `batch` completions are ready, or once `max_delay` has passed and at least one
    /// is: fewer wake-ups under moderate load, for up to `max_delay` of added latency. A
    /// wait bounded by a shorter timeout (the next timer) is not coalesced, so timers keep
    /// their precision.
    ///
    /// Needs `IORING_FEAT_MIN_TIMEOUT` (Linux 6.12); on older kernels waits are not
    /// coalesced, and [`Features::min_timeout`](crate::Features::min_timeout) says so. `batch` 0 or 1, or a zero delay,
    /// turns coalescing off.
    pub fn coalesce_completions(mut self, batch: u32, max_delay: Duration) -> Self {
        let max_delay_us = u32::try_from(max_delay.as_micros()).unwrap_or(u32::MAX);
        self.coalesce = (batch > 1 && max_delay_us > 0).then_some(Coalesce {
            batch,
            max_delay_us,
        });
        self
    }

    /// Treats `opcode` (an `io_uring::opcode::*::CODE`) as unsupported by the kernel, even
    /// where it is: ops that need it fail with `Unsupported`, and code with a fallback
    /// (checking [`Handle::is_supported`](crate::Handle::is_supported)) takes it. For
    /// testing fallbacks on a new kernel, or working around a kernel bug in one opcode.
    pub fn disable_opcode(mut self, opcode: u8) -> Self {
        self.disabled.insert(opcode);
        self
    }

    /// Creates the ring, falling back from the best task-running mode the kernel accepts.
    ///
    /// # Errors
    ///
    /// If io_uring cannot be set up, an error that names io_uring, the errno and the remedy
    /// (io_uring disabled by sysctl or seccomp, too low `RLIMIT_MEMLOCK`, a kernel without
    /// io_uring). `Unsupported` if the kernel lacks `IORING_FEAT_NODROP` (Linux 5.5).
    pub fn build(self) -> io::Result<Driver> {
        let modes: &[TaskrunMode] = if self.defer_taskrun {
            &[
                TaskrunMode::Deferred,
                TaskrunMode::Cooperative,
                TaskrunMode::Default,
            ]
        } else {
            &[TaskrunMode::Cooperative, TaskrunMode::Default]
        };
        // With SQPOLL asked for: its modes first (it excludes DEFER_TASKRUN), then the
        // usual ones without it.
        let mut attempts: Vec<(TaskrunMode, Option<u32>)> = Vec::with_capacity(5);
        if let Some(idle) = self.sqpoll {
            let idle_ms = u32::try_from(idle.as_millis()).unwrap_or(u32::MAX).max(1);
            for &mode in modes {
                if mode != TaskrunMode::Deferred {
                    attempts.push((mode, Some(idle_ms)));
                }
            }
        }
        attempts.extend(modes.iter().map(|&mode| (mode, None)));
        // Each mode is tried without the SQ array first (where asked), then with it.
        let sqarray_attempts: &[bool] = if self.no_sqarray {
            &[true, false]
        } else {
            &[false]
        };
        // Never below twice the SQ (the kernel's own default, and its floor).
        let cq_entries = self.cq_entries.max(self.entries.saturating_mul(2));
        let mut last_error = None;
        for (mode, sqpoll) in attempts {
            for &no_sqarray in sqarray_attempts {
                let mut builder = IoUring::builder();
                match mode {
                    TaskrunMode::Deferred => {
                        builder
                            .setup_single_issuer()
                            .setup_defer_taskrun()
                            .setup_submit_all();
                    }
                    TaskrunMode::Cooperative => {
                        builder.setup_coop_taskrun();
                    }
                    TaskrunMode::Default => {}
                }
                if no_sqarray {
                    builder.setup_no_sqarray();
                }
                if let Some(idle_ms) = sqpoll {
                    builder.setup_sqpoll(idle_ms);
                }
                // CLAMP: sizes above the kernel's maximum are lowered to it, not refused.
                builder.setup_cqsize(cq_entries).setup_clamp();
                match builder.build(self.entries) {
                    // SQPOLL relies on EXT_ARG waits: the fallback's timeout SQE would
                    // point at a timespec the poll thread might read after it changed.
                    Ok(uring) if sqpoll.is_some() && !uring.params().is_feature_ext_arg() => {}
                    Ok(uring) => {
                        let sqpoll = sqpoll.is_some();
                        return Ring::new(
                            uring,
                            mode,
                            no_sqarray,
                            sqpoll,
                            self.recv_bundles,
                            self.coalesce,
                            self.disabled,
                        )
                        .map(Driver::from_ring);
                    }
                    // EINVAL: this kernel does not know a flag; try without it.
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last_error = Some(e),
                    // EPERM with SQPOLL: a kernel that allows it only to the privileged.
                    Err(e) if sqpoll.is_some() && e.raw_os_error() == Some(libc::EPERM) => {
                        last_error = Some(e)
                    }
                    Err(e) => return Err(setup_error(e)),
                }
            }
        }
        Err(setup_error(last_error.expect("at least one setup attempt")))
    }
}

fn setup_error(e: io::Error) -> io::Error {
    let remedy = match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "io_uring is forbidden for this process: either sysctl kernel.io_uring_disabled is \
             set (set it to 0, or to 1 and add this user's group to kernel.io_uring_group), or \
             a seccomp filter blocks io_uring_setup, as Docker's default profile does (run with \
             a profile that allows io_uring_setup, io_uring_enter and io_uring_register)"
        }
        Some(libc::ENOSYS) => {
            "the kernel has no io_uring (built without CONFIG_IO_URING or older than Linux \
             5.1), or a seccomp filter hides it; ringlet needs Linux 5.11 or newer with \
             io_uring enabled"
        }
        Some(libc::ENOMEM) => {
            "the ring could not be allocated: raise the locked-memory limit (ulimit -l) or \
             use fewer ring entries"
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            "the process is out of file descriptors; raise the limit (ulimit -n)"
        }
        Some(libc::EINVAL) => "the kernel rejected every ring configuration ringlet tried",
        _ => "io_uring is unavailable",
    };
    io::Error::new(e.kind(), SetupError { source: e, remedy })
}

/// Why `io_uring_setup` failed and what to do about it. Its source is the OS error, so the
/// errno stays reachable (`std::error::Error::source`).
#[derive(Debug)]
struct SetupError {
    source: io::Error,
    remedy: &'static str,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "io_uring_setup failed: {}; {}", self.source, self.remedy)
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
