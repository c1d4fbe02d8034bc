//! Running a tokio server the two idiomatic ways the benchmarks compare against: one
//! current-thread runtime per worker thread, each with its own `SO_REUSEPORT` listener
//! (the thread-per-core shape), or one listener on a work-stealing runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use tokio::net::TcpListener;

/// Binds `addr` (port 0 picks one), prints `listening on ADDR`, and runs `serve` on each
/// listener until it returns: `workers` current-thread runtimes on threads of their own,
/// or with `multi` one multi-thread runtime of `workers` threads.
///
/// # Errors
///
/// If binding fails.
pub fn run<F, Fut>(
    addr: SocketAddr,
    workers: usize,
    multi: bool,
    name: &str,
    serve: F,
) -> io::Result<()>
where
    F: Fn(TcpListener) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = ()>,
{
    let first = reuseport_listener(addr)?;
    let addr = first.local_addr()?;
    println!("listening on {addr}");
    if multi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?;
        return rt.block_on(async move {
            serve(TcpListener::from_std(first)?).await;
            Ok(())
        });
    }
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(reuseport_listener(addr)?);
    }
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let serve = serve.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("{name}: cannot start a runtime: {e}"));
                rt.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener).await,
                        Err(e) => eprintln!("{name}: {e}"),
                    }
                });
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

/// A nonblocking listener with `SO_REUSEADDR` and `SO_REUSEPORT`, backlog 1024.
///
/// # Errors
///
/// The socket calls' errors.
pub fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    let socket = unsafe { <std::net::TcpListener as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for option in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
        // SAFETY: the value points to a live c_int of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a sockaddr of `len` bytes.
    if unsafe { libc::bind(socket.as_raw_fd(), (&raw const storage).cast(), len) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: listen(2) takes no pointers.
    if unsafe { libc::listen(socket.as_raw_fd(), 1024) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
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
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
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
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
