//! [`ToSocketAddrs`]: what `TcpStream::connect` accepts, resolved without blocking the
//! worker (host names on the blocking pool, addresses at once).
//!
//! Owns: the trait and its implementations. Must not call the system resolver on a
//! worker.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;

use crate::error::named;
use crate::task::spawn_blocking;

mod sealed {
    /// Only ringlet implements [`super::ToSocketAddrs`].
    pub trait Sealed {}
}

/// The addresses a connect may be given, as with `std::net::ToSocketAddrs`: a
/// `SocketAddr`, an `(IpAddr, u16)`, or a string such as `"127.0.0.1:8080"`,
/// `"[::1]:8080"` or `"example.org:80"` (also as `(&str, u16)`). Addresses are used at
/// once; a host name is resolved on the blocking pool, so the worker keeps running
/// during the lookup.
pub trait ToSocketAddrs: sealed::Sealed {
    /// The addresses, in the resolver's order.
    #[doc(hidden)]
    fn resolve(&self) -> Resolve;
}

/// The future of [`ToSocketAddrs::resolve`].
type Resolve = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>>>>;

fn ready(addrs: Vec<SocketAddr>) -> Resolve {
    Box::pin(std::future::ready(Ok(addrs)))
}

/// Resolves `host` (with its port) on the blocking pool, unless it is an address.
fn lookup(host: String) -> Resolve {
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return ready(vec![addr]);
    }
    Box::pin(async move {
        let name = host.clone();
        spawn_blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect)
        })
        .await
        .map_err(io::Error::from)?
        .map_err(|e| named(format!("resolve {host:?}"), e))
    })
}

macro_rules! addresses {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn resolve(&self) -> Resolve {
                ready(std::net::ToSocketAddrs::to_socket_addrs(self).map_or_else(|_| Vec::new(), Iterator::collect))
            }
        }
    )*};
}

// Converting these never touches a resolver.
addresses!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl sealed::Sealed for str {}
impl ToSocketAddrs for str {
    fn resolve(&self) -> Resolve {
        lookup(self.to_string())
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn resolve(&self) -> Resolve {
        lookup(self.clone())
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn resolve(&self) -> Resolve {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => ready(vec![SocketAddr::new(ip, port)]),
            // A bare IPv6 host needs brackets to take a port in one string.
            Err(_) => lookup(format!("{host}:{port}")),
        }
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn resolve(&self) -> Resolve {
        (**self).resolve()
    }
}

impl sealed::Sealed for [SocketAddr] {}
impl ToSocketAddrs for [SocketAddr] {
    fn resolve(&self) -> Resolve {
        ready(self.to_vec())
    }
}
