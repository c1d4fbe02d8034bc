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

fn opcode_name(code: u8) -> String {
    let name = match code {
        opcode::Nop::CODE => "IORING_OP_NOP",
        opcode::Read::CODE => "IORING_OP_READ",
        opcode::Write::CODE => "IORING_OP_WRITE",
        opcode::Recv::CODE => "IORING_OP_RECV",
        opcode::Send::CODE => "IORING_OP_SEND",
        opcode::Accept::CODE => "IORING_OP_ACCEPT",
        opcode::Connect::CODE => "IORING_OP_CONNECT",
        opcode::Close::CODE => "IORING_OP_CLOSE",
        opcode::Timeout::CODE => "IORING_OP_TIMEOUT",
        opcode::AsyncCancel::CODE => "IORING_OP_ASYNC_CANCEL",
        opcode::Readv::CODE => "IORING_OP_READV",
        opcode::LinkTimeout::CODE => "IORING_OP_LINK_TIMEOUT",
        opcode::ReadFixed::CODE => "IORING_OP_READ_FIXED",
        opcode::WriteFixed::CODE => "IORING_OP_WRITE_FIXED",
        opcode::Shutdown::CODE => "IORING_OP_SHUTDOWN",
        opcode::PollAdd::CODE => "IORING_OP_POLL_ADD",
        opcode::TimeoutRemove::CODE => "IORING_OP_TIMEOUT_REMOVE",
        opcode::SendMsg::CODE => "IORING_OP_SENDMSG",
        opcode::SendZc::CODE => "IORING_OP_SEND_ZC",
        opcode::RecvMsg::CODE => "IORING_OP_RECVMSG",
        opcode::Writev::CODE => "IORING_OP_WRITEV",
        opcode::OpenAt::CODE => "IORING_OP_OPENAT",
        opcode::Statx::CODE => "IORING_OP_STATX",
        opcode::Fsync::CODE => "IORING_OP_FSYNC",
        opcode::UnlinkAt::CODE => "IORING_OP_UNLINKAT",
        opcode::RenameAt::CODE => "IORING_OP_RENAMEAT",
        opcode::MkDirAt::CODE => "IORING_OP_MKDIRAT",
        opcode::MsgRingData::CODE => "IORING_OP_MSG_RING",
        _ => return format!("#{code}"),
    };
    name.to_string()
}
