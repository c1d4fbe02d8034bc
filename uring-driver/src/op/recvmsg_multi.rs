//! `IORING_OP_RECVMSG` with `IORING_RECV_MULTISHOT` into a buffer ring (Linux 6.0+): a
//! stream of datagrams, each in a ring buffer with its sender's address.
//!
//! Owns: the multishot recvmsg, its header, and parsing what the kernel writes into each
//! buffer (an `io_uring_recvmsg_out` header, the name field, then the payload). Must not
//! trust a length from the buffer without checking it against the bytes received.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::Range;
use std::os::fd::AsRawFd;

use io_uring::{cqueue, opcode, types};

use super::{CqeResult, MultishotCompletable, MultishotOp};
use crate::buf::{BufRing, RingBuf, RingTap};
use crate::{Handle, SharedFd};

/// Bytes of `io_uring_recvmsg_out` at the start of each buffer.
const HEADER: usize = 16;
/// The name field's size: room for any socket address.
const NAME: usize = size_of::<libc::sockaddr_storage>();

/// `IORING_OP_RECVMSG` with `IORING_RECV_MULTISHOT` and a provided-buffer ring: one
/// submission receives datagram after datagram, each into its own ring buffer.
#[derive(Debug)]
pub struct RecvMsgMulti {
    /// Keeps the socket open while the kernel receives on it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
    /// Keeps the pool alive while the kernel may fill it (ring rule 2).
    ring: BufRing,
    /// The header the SQE points to: the sizes of the name and control fields.
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    header: Box<libc::msghdr>,
}

/// One datagram received into a ring buffer by [`RecvMsgMulti`].
#[derive(Debug)]
pub struct Datagram {
    /// The whole buffer (header, name field, payload); it goes back to the ring on drop.
    pub buf: RingBuf,
    /// Where the payload lies in `buf`.
    pub payload: Range<usize>,
    /// The sender, if it has an IP address (`None` for other families).
    pub source: Option<SocketAddr>,
    /// Whether the datagram was longer than the buffer's room (`MSG_TRUNC`): the payload
    /// is its beginning.
    pub truncated: bool,
}

impl MultishotOp<RecvMsgMulti> {
    /// Receives datagrams on `fd` into buffers from `ring` until an error or `ENOBUFS`
    /// (the ring ran dry: datagrams wait in the socket; re-arm once buffers come back).
    /// Each buffer needs room for 144 bytes of header and address besides the payload.
    ///
    /// If `ring` belongs to another ring than `handle`'s, nothing is submitted and the one
    /// item is an `InvalidInput` error (op rule 8).
    pub fn recv_msg_multi(handle: &Handle, fd: &SharedFd, ring: &BufRing) -> Self {
        // SAFETY: msghdr is plain old data; all zeroes is a valid empty header.
        let mut header: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        header.msg_namelen = NAME as libc::socklen_t;
        let entry =
            opcode::RecvMsgMulti::new(types::Fd(fd.as_raw_fd()), &raw const *header, ring.group())
                .build();
        let data = RecvMsgMulti {
            fd: fd.clone(),
            ring: ring.clone(),
            header,
        };
        if let Err(e) = handle.check_owner(ring.handle(), "this buffer ring") {
            return MultishotOp::rejected(handle, data, e);
        }
        let tap = Some(RingTap::new(ring, false));
        // SAFETY: the SQE points at the boxed header in the op's data (the kernel reads
        // only its field sizes); the kernel picks buffers from the ring, whose memory the
        // data's `BufRing` keeps alive; the socket is kept open by the data's clone.
        unsafe { MultishotOp::with_tap(handle, entry, data, tap) }
    }
}

/// The sender's address from the name field's bytes, for IPv4 and IPv6.
fn source(name: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(name.get(..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(name.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = name.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let flow = u32::from_be_bytes(name.get(4..8)?.try_into().ok()?);
            let ip: [u8; 16] = name.get(8..24)?.try_into().ok()?;
            let scope = u32::from_ne_bytes(name.get(24..28)?.try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            )))
        }
        _ => None,
    }
}

/// Where the payload is in a buffer of `len` bytes that starts with the kernel's header,
/// the name bytes, and whether the datagram was truncated; `None` if the lengths do not
/// fit the bytes received.
fn parse(bytes: &[u8]) -> Option<(Range<usize>, &[u8], bool)> {
    let field = |i: usize| -> Option<usize> {
        Some(u32::from_ne_bytes(bytes.get(4 * i..4 * i + 4)?.try_into().ok()?) as usize)
    };
    let (name_len, control_len, payload_len, flags) = (field(0)?, field(1)?, field(2)?, field(3)?);
    if control_len != 0 {
        return None; // no control field was asked for
    }
    let start = HEADER + NAME;
    let payload = start..(start + payload_len).min(bytes.len());
    if start > bytes.len() {
        return None;
    }
    let name = &bytes[HEADER..HEADER + name_len.min(NAME)];
    Some((payload, name, flags & libc::MSG_TRUNC as usize != 0))
}

impl MultishotCompletable for RecvMsgMulti {
    type Item = io::Result<Datagram>;

    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        let n = cqe.result? as usize;
        let Some(bid) = cqueue::buffer_select(cqe.flags) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "recvmsg: a completion with data but no buffer",
            ));
        };
        let buf = self
            .ring
            .lease_bundle(bid, n, false)?
            .next()
            .expect("a single-buffer lease holds one buffer");
        let Some((payload, name, truncated)) = parse(&buf) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("recvmsg: the kernel's header does not fit the {n} bytes received"),
            ));
        };
        let source = source(name);
        Ok(Datagram {
            buf,
            payload,
            source,
            truncated,
        })
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        // Rule 3: a buffer filled after nobody wanted it goes back to its ring.
        if let (Some(bid), Ok(n)) = (cqueue::buffer_select(cqe.flags), &cqe.result) {
            drop(self.ring.lease_bundle(bid, *n as usize, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HEADER, NAME, parse, source};

    fn buffer(name: &[u8], payload: &[u8], flags: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        for field in [name.len() as u32, 0, payload.len() as u32, flags] {
            bytes.extend_from_slice(&field.to_ne_bytes());
        }
        let mut field = name.to_vec();
        field.resize(NAME, 0);
        bytes.extend_from_slice(&field);
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn parses_the_kernels_layout_and_refuses_what_does_not_fit() {
        let mut v4 = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        v4.extend_from_slice(&4242u16.to_be_bytes());
        v4.extend_from_slice(&[127, 0, 0, 1]);
        v4.resize(16, 0);
        let bytes = buffer(&v4, b"hello", 0);
        let (payload, name, truncated) = parse(&bytes).unwrap();
        assert_eq!((&bytes[payload], truncated), (&b"hello"[..], false));
        assert_eq!(source(name), Some("127.0.0.1:4242".parse().unwrap()));

        let truncated = buffer(&v4, b"hel", libc::MSG_TRUNC as u32);
        assert!(parse(&truncated).unwrap().2);
        assert!(
            parse(&bytes[..HEADER + 3]).is_none(),
            "shorter than the name field"
        );
        assert!(parse(&bytes[..10]).is_none(), "shorter than the header");
        assert_eq!(source(&[0u8; 16]), None, "an unknown family");
    }
}
