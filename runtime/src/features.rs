//! `ringlet::features()`: what the running kernel offers ringlet, and the fallback in force
//! where it does not.
//!
//! Owns: the list and its report. Must not change a ring: it reads what a ring was set up
//! with, and probes with a throwaway ring only outside a runtime.

use std::fmt;
use std::io;

use uring_driver::{Driver, Handle, OPCODES, TaskrunMode, opcode};

use crate::executor::context;

/// One kernel feature ringlet can use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Feature {
    /// The kernel's name for it (`IORING_SETUP_DEFER_TASKRUN`, `IORING_OP_SEND_ZC`, ...).
    pub name: &'static str,
    /// The Linux release that added it.
    pub since: &'static str,
    /// Whether ringlet uses it on this ring.
    pub in_use: bool,
    /// What ringlet does without it (or how to turn it on, for an opt-in).
    pub otherwise: &'static str,
}

/// What the running kernel offers ringlet: every setup flag, feature and opcode it can
/// use, whether it is in use, and what happens without it. Printed by
/// `echo-server --features`; its `Display` is one line per feature.
#[derive(Debug, Clone)]
pub struct Features {
    release: String,
    entries: Vec<Feature>,
}

impl Features {
    /// Every feature: setup flags and ring features first, then opcodes.
    pub fn iter(&self) -> impl Iterator<Item = &Feature> {
        self.entries.iter()
    }

    /// The feature named `name`, if ringlet knows it.
    pub fn get(&self, name: &str) -> Option<&Feature> {
        self.entries.iter().find(|f| f.name == name)
    }

    /// Whether `name` is known and in use.
    pub fn in_use(&self, name: &str) -> bool {
        self.get(name).is_some_and(|f| f.in_use)
    }

    /// The running kernel's release (`uname -r`).
    pub fn kernel_release(&self) -> &str {
        &self.release
    }

    fn of(handle: &Handle) -> Features {
        let ring = handle.features();
        let deferred = ring.taskrun == TaskrunMode::Deferred;
        let cooperative = ring.taskrun != TaskrunMode::Default;
        let buffer_rings = uring_driver::BufRing::new(handle, 1, 1).is_ok();
        let setup = [
            (
                "IORING_SETUP_DEFER_TASKRUN",
                "6.1",
                deferred,
                "completion work runs cooperatively (COOP_TASKRUN) or by interrupt",
            ),
            (
                "IORING_SETUP_SINGLE_ISSUER",
                "6.0",
                deferred,
                "set together with DEFER_TASKRUN",
            ),
            (
                "IORING_SETUP_COOP_TASKRUN",
                "5.19",
                cooperative,
                "the kernel interrupts the worker to run completion work",
            ),
            (
                "IORING_SETUP_NO_SQARRAY",
                "6.6",
                ring.no_sqarray,
                "the SQ index array (one indirection more per submission)",
            ),
            (
                "IORING_SETUP_SQPOLL",
                "5.11",
                ring.sqpoll,
                "opt-in (Builder::sqpoll): submissions go through io_uring_enter",
            ),
            (
                "IORING_FEAT_EXT_ARG",
                "5.11",
                ring.ext_arg,
                "a timeout SQE bounds each wait",
            ),
            (
                "IORING_FEAT_MIN_TIMEOUT",
                "6.12",
                ring.min_timeout,
                "Builder::coalesce_completions has no effect",
            ),
            (
                "IORING_REGISTER_PBUF_RING",
                "5.19",
                buffer_rings,
                "BufRing::new fails with Unsupported; reads into owned buffers work",
            ),
            (
                "IORING_RECVSEND_BUNDLE",
                "6.10; used from 6.16",
                ring.recv_bundle,
                "one ring buffer per receive completion",
            ),
        ];
        let mut entries: Vec<Feature> = setup
            .into_iter()
            .map(|(name, since, in_use, otherwise)| Feature {
                name,
                since,
                in_use,
                otherwise,
            })
            .collect();
        entries.extend(OPCODES.iter().map(|&(code, name, since)| Feature {
            name,
            since,
            in_use: handle.is_supported(code),
            otherwise: if code == opcode::MsgRingData::CODE {
                "a worker wakes another by writing its eventfd"
            } else {
                "the ops that submit it fail with an Unsupported error naming it"
            },
        }));
        Features {
            release: kernel_release(),
            entries,
        }
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "io_uring on Linux {}:", self.release)?;
        for feature in &self.entries {
            let state = if feature.in_use { "yes" } else { "no " };
            write!(
                f,
                "  {state}  {:<28} (Linux {})",
                feature.name, feature.since
            )?;
            if !feature.in_use {
                write!(f, ": {}", feature.otherwise)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// What the running kernel offers ringlet and which fallbacks are in force: on a worker,
/// for that worker's ring (as its runtime was built, [`Builder::without`](crate::Builder::without)
/// included); elsewhere, for a ring built as [`Runtime::new`](crate::Runtime::new) builds
/// one.
///
/// ```
/// let features = ringlet::features()?;
/// println!("{features}");
/// if !features.in_use("IORING_OP_MSG_RING") {
///     eprintln!("cross-worker wakes go through an eventfd on this kernel");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// Outside a runtime, if no ring can be set up (the error says why: no io_uring, a
/// seccomp profile, ...).
pub fn features() -> io::Result<Features> {
    match context::driver() {
        Ok(handle) => Ok(Features::of(&handle)),
        Err(_) => {
            let driver = Driver::new()?;
            Ok(Features::of(driver.handle()))
        }
    }
}
