//! The plain socket syscalls around the ring's ops: creating, binding and configuring
//! sockets, and converting socket addresses. None of these block.
//!
//! Owns: the socket syscalls and `SockAddr`. Must not do I/O: reads and writes are ops.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

/// A socket address in the kernel's layout, with its length.
///
/// Ops that pass an address to the kernel (connect) or get one back (accept) keep it boxed
/// in their data, so its address is stable while the op is in flight.
#[derive(Clone, Copy)]
pub struct SockAddr {
    pub(crate) storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_std() {
            Some(addr) => write!(f, "SockAddr({addr})"),
            None => write!(f, "SockAddr(family {})", self.storage.ss_family),
        }
    }
}

impl SockAddr {
    /// An empty address with room for any family, for the kernel to fill.
    pub fn empty() -> Self {
        SockAddr {
            // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
            storage: unsafe { mem::zeroed() },
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// The kernel layout of `addr`.
    pub fn from_std(addr: &SocketAddr) -> Self {
        let mut out = SockAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe {
                    (&raw mut out.storage)
                        .cast::<libc::sockaddr_in>()
                        .write(sin)
                };
                out.len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe {
                    (&raw mut out.storage)
                        .cast::<libc::sockaddr_in6>()
                        .write(sin6)
                };
                out.len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }

    /// The address as a std type, or `None` for a family other than IPv4 and IPv6.
    pub fn to_std(&self) -> Option<SocketAddr> {
        match self.storage.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { *(&raw const self.storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { *(&raw const self.storage).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The kernel layout of Unix-domain socket path `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is longer than `sun_path` holds (107 bytes) or contains
    /// a NUL byte.
    pub fn from_unix_path(path: &std::path::Path) -> io::Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_un is plain old data; all zeroes is valid.
        let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
        if bytes.len() >= sun.sun_path.len() || bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Unix socket path {path:?} is longer than {} bytes or contains a NUL",
                    sun.sun_path.len() - 1
                ),
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
        unsafe {
            (&raw mut out.storage)
                .cast::<libc::sockaddr_un>()
                .write(sun)
        };
        out.len = (mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
        Ok(out)
    }

    /// The path of a Unix-domain address; `None` for an unnamed socket or another family.
    pub fn to_unix_path(&self) -> Option<std::path::PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        if self.storage.ss_family as libc::c_int != libc::AF_UNIX {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_un>() };
        let max = (self.len as usize).saturating_sub(mem::size_of::<libc::sa_family_t>());
        let path: Vec<u8> = sun.sun_path[..max.min(sun.sun_path.len())]
            .iter()
            .map(|&c| c as u8)
            .take_while(|&b| b != 0)
            .collect();
        (!path.is_empty()).then(|| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&path)))
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&raw const self.storage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&raw mut self.storage).cast()
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn family(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

/// Creates a close-on-exec socket of type `ty` (`libc::SOCK_STREAM`, `libc::SOCK_DGRAM`) for
/// the address family of `addr`.
///
/// # Errors
///
/// What `socket(2)` reports, e.g. `EMFILE` when the process is out of descriptors.
pub fn socket_for(addr: &SocketAddr, ty: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = cvt(unsafe { libc::socket(family(addr), ty | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: socket(2) returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a close-on-exec Unix-domain socket of type `ty` (`SOCK_STREAM`, `SOCK_DGRAM`).
///
/// # Errors
///
/// What `socket(2)` reports.
pub fn unix_socket(ty: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = cvt(unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: socket(2) returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds `fd` to a socket address in the kernel's layout (e.g. a Unix path).
///
/// # Errors
///
/// What `bind(2)` reports, e.g. `EADDRINUSE` for an existing socket file.
pub fn bind_raw(fd: impl AsFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` is a valid sockaddr of `addr.len` bytes for the duration of the call.
    cvt(unsafe { libc::bind(fd.as_fd().as_raw_fd(), addr.as_ptr(), addr.len) })?;
    Ok(())
}

/// The local address of `fd` in the kernel's layout (any family).
///
/// # Errors
///
/// What `getsockname(2)` reports.
pub fn local_sockaddr(fd: impl AsFd) -> io::Result<SockAddr> {
    let mut sa = SockAddr::empty();
    // SAFETY: `sa` has room for any address; `len` tells the kernel how much.
    cvt(unsafe { libc::getsockname(fd.as_fd().as_raw_fd(), sa.as_mut_ptr(), &mut sa.len) })?;
    Ok(sa)
}

/// The peer address of `fd` in the kernel's layout (any family).
///
/// # Errors
///
/// What `getpeername(2)` reports.
pub fn peer_sockaddr(fd: impl AsFd) -> io::Result<SockAddr> {
    let mut sa = SockAddr::empty();
    // SAFETY: `sa` has room for any address; `len` tells the kernel how much.
    cvt(unsafe { libc::getpeername(fd.as_fd().as_raw_fd(), sa.as_mut_ptr(), &mut sa.len) })?;
    Ok(sa)
}

/// Binds `fd` to `addr`.
///
/// # Errors
///
/// What `bind(2)` reports, e.g. `EADDRINUSE`.
pub fn bind(fd: impl AsFd, addr: &SocketAddr) -> io::Result<()> {
    let sa = SockAddr::from_std(addr);
    // SAFETY: `sa` is a valid sockaddr of `sa.len` bytes for the duration of the call.
    cvt(unsafe { libc::bind(fd.as_fd().as_raw_fd(), sa.as_ptr(), sa.len) })?;
    Ok(())
}

/// Marks `fd` as a listening socket with the given accept backlog.
///
/// # Errors
///
/// What `listen(2)` reports.
pub fn listen(fd: impl AsFd, backlog: u32) -> io::Result<()> {
    let backlog = backlog.min(libc::c_int::MAX as u32) as libc::c_int;
    // SAFETY: listen(2) takes no pointers.
    cvt(unsafe { libc::listen(fd.as_fd().as_raw_fd(), backlog) })?;
    Ok(())
}

fn set_int_option(
    fd: impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value points to a live c_int of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Sets `SO_REUSEADDR`: a restarted server can bind while old connections sit in TIME_WAIT.
///
/// # Errors
///
/// What `setsockopt(2)` reports.
pub fn set_reuse_address(fd: impl AsFd, on: bool) -> io::Result<()> {
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, on as libc::c_int)
}

/// Sets `SO_REUSEPORT`: several sockets bind one port and the kernel spreads connections.
///
/// # Errors
///
/// What `setsockopt(2)` reports.
pub fn set_reuse_port(fd: impl AsFd, on: bool) -> io::Result<()> {
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, on as libc::c_int)
}

/// Sets `TCP_NODELAY` (disables Nagle's algorithm).
///
/// # Errors
///
/// What `setsockopt(2)` reports.
pub fn set_nodelay(fd: impl AsFd, on: bool) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, on as libc::c_int)
}

/// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes close reset the connection (RST)
/// instead of a graceful FIN; `None` restores the default.
///
/// # Errors
///
/// What `setsockopt(2)` reports.
pub fn set_linger(fd: impl AsFd, linger: Option<std::time::Duration>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: linger.is_some() as libc::c_int,
        l_linger: linger.map_or(0, |d| {
            d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int
        }),
    };
    // SAFETY: the option value points to a live linger struct of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const value).cast(),
            mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

fn get_addr(
    fd: impl AsFd,
    call: unsafe extern "C" fn(
        libc::c_int,
        *mut libc::sockaddr,
        *mut libc::socklen_t,
    ) -> libc::c_int,
) -> io::Result<SocketAddr> {
    let mut sa = SockAddr::empty();
    // SAFETY: `sa` has room for any address; `len` tells the kernel how much.
    cvt(unsafe { call(fd.as_fd().as_raw_fd(), sa.as_mut_ptr(), &mut sa.len) })?;
    sa.to_std().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "socket address is not IPv4 or IPv6",
        )
    })
}

/// The local address `fd` is bound to.
///
/// # Errors
///
/// What `getsockname(2)` reports, or `InvalidData` for a non-IP socket.
pub fn local_addr(fd: impl AsFd) -> io::Result<SocketAddr> {
    get_addr(fd, libc::getsockname)
}

/// The address of the peer `fd` is connected to.
///
/// # Errors
///
/// What `getpeername(2)` reports (`ENOTCONN` if not connected).
pub fn peer_addr(fd: impl AsFd) -> io::Result<SocketAddr> {
    get_addr(fd, libc::getpeername)
}

/// Shuts down the read half, the write half or both of a connected socket.
///
/// # Errors
///
/// What `shutdown(2)` reports (`ENOTCONN` if not connected).
pub fn shutdown(fd: impl AsFd, how: std::net::Shutdown) -> io::Result<()> {
    let how = match how {
        std::net::Shutdown::Read => libc::SHUT_RD,
        std::net::Shutdown::Write => libc::SHUT_WR,
        std::net::Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: shutdown(2) takes no pointers.
    cvt(unsafe { libc::shutdown(fd.as_fd().as_raw_fd(), how) })?;
    Ok(())
}

/// The pending error on a socket (`SO_ERROR`), cleared by reading it.
///
/// # Errors
///
/// What `getsockopt(2)` reports.
pub fn take_error(fd: impl AsFd) -> io::Result<Option<io::Error>> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals of the sizes passed.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut value).cast(),
            &mut len,
        )
    })?;
    Ok((value != 0).then(|| io::Error::from_raw_os_error(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_paths_round_trip_and_overlong_ones_are_refused() {
        let path = std::path::Path::new("/tmp/ringlet.sock");
        let sa = SockAddr::from_unix_path(path).unwrap();
        assert_eq!(sa.to_unix_path().as_deref(), Some(path));
        assert_eq!(sa.to_std(), None);
        let long = "x".repeat(200);
        let err = SockAddr::from_unix_path(std::path::Path::new(&long)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn sockaddr_round_trips() {
        for s in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%2]:9"] {
            let addr: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddr::from_std(&addr).to_std(), Some(addr));
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "sockets are syscalls Miri does not emulate")]
    fn bind_listen_and_local_addr() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let fd = socket_for(&addr, libc::SOCK_STREAM).unwrap();
        set_reuse_address(&fd, true).unwrap();
        bind(&fd, &addr).unwrap();
        listen(&fd, 16).unwrap();
        let bound = local_addr(&fd).unwrap();
        assert_ne!(bound.port(), 0);
        assert_eq!(
            peer_addr(&fd).unwrap_err().raw_os_error(),
            Some(libc::ENOTCONN)
        );
        assert!(take_error(&fd).unwrap().is_none());
    }
}
