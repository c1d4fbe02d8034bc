//! What the kernel and this ring support: the setup features and the opcode probe.
//!
//! Owns: [`TaskrunMode`], [`Features`], the probe of supported opcodes and their names for
//! error messages. Must not touch the op table.

use std::io;

use io_uring::{IoUring, Probe, opcode};

/// How the kernel runs the completion work of this ring, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskrunMode {
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux 6.1+): completion
    /// work runs only when this thread enters the kernel, with no interrupts.
    Deferred,
    /// `IORING_SETUP_COOP_TASKRUN` (Linux 5.19+): no IPI to the issuer on completion.
    Cooperative,
    /// The kernel's default.
    Default,
}

/// What the ring was set up with; see [`Handle::features`](crate::Handle::features).
#[derive(Clone, Copy, Debug)]
pub struct Features {
    /// How completion work is run.
    pub taskrun: TaskrunMode,
    /// Whether waits take a timeout directly (`IORING_FEAT_EXT_ARG`, Linux 5.11+); without
    /// it, a timeout SQE bounds the wait.
    pub ext_arg: bool,
    /// Whether waits can coalesce completions (`IORING_FEAT_MIN_TIMEOUT`, Linux 6.12+);
    /// see [`Builder::coalesce_completions`](crate::Builder::coalesce_completions).
    pub min_timeout: bool,
    /// Submission queue entries.
    pub sq_entries: u32,
    /// Completion queue entries.
    pub cq_entries: u32,
    /// Whether the SQ runs without its index array (`IORING_SETUP_NO_SQARRAY`, Linux
    /// 6.6+); see [`Builder::no_sqarray`](crate::Builder::no_sqarray).
    pub no_sqarray: bool,
    /// Whether a kernel thread polls the SQ (`IORING_SETUP_SQPOLL`); see
    /// [`Builder::sqpoll`](crate::Builder::sqpoll).
    pub sqpoll: bool,
    /// Whether multishot receives take bundles (`IORING_RECVSEND_BUNDLE`): one completion
    /// carries as many ring buffers as the waiting data fills. The kernel has them from
    /// Linux 6.10; ringlet uses them from 6.16, the first release with every fix to how a
    /// bundle that spans two socket reads is ordered and accounted. See
    /// [`Builder::recv_bundles`](crate::Builder::recv_bundles).
    pub recv_bundle: bool,
}

/// The first kernel release whose receive bundles ringlet trusts (see
/// [`Features::recv_bundle`]).
const RECV_BUNDLE_RELEASE: (u32, u32) = (6, 16);

/// Whether the running kernel's release (`uname -r`) is `at_least` (major, minor); `false`
/// if it cannot be read.
pub(crate) fn kernel_release_at_least(at_least: (u32, u32)) -> bool {
    // SAFETY: `utsname` is arrays of `c_char`, for which all zeroes is a valid value.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return false;
    }
    // SAFETY: the kernel NUL-terminates `release` inside the array.
    let release = unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) };
    parse_release(&release.to_string_lossy()).is_some_and(|release| release >= at_least)
}

/// `(major, minor)` of a release string such as `6.18.0-1-amd64`.
fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether a ring whose kernel reports `feature_flag` (`IORING_FEAT_RECVSEND_BUNDLE`)
/// should use receive bundles, when `wanted`.
pub(crate) fn recv_bundles(wanted: bool, feature_flag: bool) -> bool {
    wanted && feature_flag && kernel_release_at_least(RECV_BUNDLE_RELEASE)
}

/// The opcodes this kernel supports, from `IORING_REGISTER_PROBE`, less those the builder
/// was told to treat as missing.
pub(crate) struct Opcodes {
    probe: Option<Probe>,
    disabled: OpcodeSet,
}

/// A set of opcodes (one bit each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OpcodeSet([u64; 4]);

impl OpcodeSet {
    pub(crate) fn insert(&mut self, opcode: u8) {
        self.0[usize::from(opcode / 64)] |= 1 << (opcode % 64);
    }

    pub(crate) fn contains(&self, opcode: u8) -> bool {
        self.0[usize::from(opcode / 64)] & (1 << (opcode % 64)) != 0
    }
}

impl Opcodes {
    /// Probes `ring`'s kernel. A kernel too old to be probed (before 5.6) is assumed to
    /// support everything: an unsupported op then fails with `EINVAL` from the kernel.
    pub(crate) fn probe(ring: &IoUring, disabled: OpcodeSet) -> Self {
        let mut probe = Probe::new();
        Opcodes {
            probe: ring
                .submitter()
                .register_probe(&mut probe)
                .ok()
                .map(|()| probe),
            disabled,
        }
    }

    /// Whether the kernel supports `opcode` (and it was not disabled).
    pub(crate) fn supports(&self, opcode: u8) -> bool {
        !self.disabled.contains(opcode)
            && self.probe.as_ref().is_none_or(|p| p.is_supported(opcode))
    }

    /// `Ok` if the kernel supports `opcode`, else an `Unsupported` error naming it.
    pub(crate) fn check(&self, opcode: u8) -> io::Result<()> {
        if self.supports(opcode) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "io_uring opcode {} is not supported by this kernel",
                opcode_name(opcode)
            ),
        ))
    }
}

/// The io_uring opcodes ringlet's ops submit: code, name and the Linux release that added
/// it, in opcode order.
pub const OPCODES: &[(u8, &str, &str)] = &[
    (opcode::Nop::CODE, "IORING_OP_NOP", "5.1"),
    (opcode::Readv::CODE, "IORING_OP_READV", "5.1"),
    (opcode::Writev::CODE, "IORING_OP_WRITEV", "5.1"),
    (opcode::Fsync::CODE, "IORING_OP_FSYNC", "5.1"),
    (opcode::ReadFixed::CODE, "IORING_OP_READ_FIXED", "5.1"),
    (opcode::WriteFixed::CODE, "IORING_OP_WRITE_FIXED", "5.1"),
    (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD", "5.1"),
    (opcode::SendMsg::CODE, "IORING_OP_SENDMSG", "5.3"),
    (opcode::RecvMsg::CODE, "IORING_OP_RECVMSG", "5.3"),
    (opcode::Timeout::CODE, "IORING_OP_TIMEOUT", "5.4"),
    (
        opcode::TimeoutRemove::CODE,
        "IORING_OP_TIMEOUT_REMOVE",
        "5.5",
    ),
    (opcode::Accept::CODE, "IORING_OP_ACCEPT", "5.5"),
    (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL", "5.5"),
    (opcode::LinkTimeout::CODE, "IORING_OP_LINK_TIMEOUT", "5.5"),
    (opcode::Connect::CODE, "IORING_OP_CONNECT", "5.5"),
    (opcode::OpenAt::CODE, "IORING_OP_OPENAT", "5.6"),
    (opcode::Close::CODE, "IORING_OP_CLOSE", "5.6"),
    (opcode::Statx::CODE, "IORING_OP_STATX", "5.6"),
    (opcode::Read::CODE, "IORING_OP_READ", "5.6"),
    (opcode::Write::CODE, "IORING_OP_WRITE", "5.6"),
    (opcode::Send::CODE, "IORING_OP_SEND", "5.6"),
    (opcode::Recv::CODE, "IORING_OP_RECV", "5.6"),
    (opcode::Shutdown::CODE, "IORING_OP_SHUTDOWN", "5.11"),
    (opcode::RenameAt::CODE, "IORING_OP_RENAMEAT", "5.11"),
    (opcode::UnlinkAt::CODE, "IORING_OP_UNLINKAT", "5.11"),
    (opcode::MkDirAt::CODE, "IORING_OP_MKDIRAT", "5.15"),
    (opcode::SymlinkAt::CODE, "IORING_OP_SYMLINKAT", "5.15"),
    (opcode::LinkAt::CODE, "IORING_OP_LINKAT", "5.15"),
    (opcode::MsgRingData::CODE, "IORING_OP_MSG_RING", "5.18"),
    (opcode::SendZc::CODE, "IORING_OP_SEND_ZC", "6.0"),
];

fn opcode_name(code: u8) -> String {
    match OPCODES.iter().find(|&&(c, _, _)| c == code) {
        Some((_, name, _)) => (*name).to_string(),
        None => format!("#{code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_release;

    #[test]
    fn releases_parse() {
        assert_eq!(parse_release("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(parse_release("6.9"), Some((6, 9)));
        assert_eq!(parse_release("5.15.0+"), Some((5, 15)));
        assert_eq!(parse_release("6.16-rc1"), Some((6, 16)));
        assert!(parse_release("6.9") < Some((6, 16)));
        assert_eq!(parse_release("linux"), None);
    }
}
