//! The tokio (epoll) echo server the benchmarks compare against, written the idiomatic
//! way and taking the same flags as ringlet's echo server:
//!
//! ```text
//! tokio-echo [--addr HOST:PORT] [--workers N] [--buffer-size BYTES]
//!            [--mode current-thread|multi-thread]
//! ```
//!
//! `current-thread`: one current-thread runtime per worker thread, each with its own
//! `SO_REUSEPORT` listener (the thread-per-core shape). `multi-thread`: one listener on a
//! work-stealing runtime with N workers. Prints `listening on ADDR` once bound.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
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

async fn serve(listener: TcpListener, buffer_size: usize) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = vec![0u8; buffer_size];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

fn main() -> ExitCode {
    let mut addr: SocketAddr = "127.0.0.1:7878".parse().unwrap();
    let mut workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut buffer_size = 4096;
    let mut multi = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(v) = args.next() else {
            eprintln!("tokio-echo: {flag} needs a value");
            return ExitCode::from(2);
        };
        match (flag.as_str(), v.as_str()) {
            ("--addr", v) => addr = v.parse().expect("--addr HOST:PORT"),
            ("--workers", v) => workers = v.parse::<usize>().expect("--workers N").max(1),
            ("--buffer-size", v) => buffer_size = v.parse().expect("--buffer-size BYTES"),
            ("--mode", "current-thread") => multi = false,
            ("--mode", "multi-thread") => multi = true,
            _ => {
                eprintln!("tokio-echo: unexpected {flag} {v}");
                return ExitCode::from(2);
            }
        }
    }
    let first = match reuseport_listener(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tokio-echo: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = first.local_addr().unwrap();
    println!("listening on {addr}");
    if multi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move { serve(TcpListener::from_std(first).unwrap(), buffer_size).await });
        return ExitCode::SUCCESS;
    }
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(reuseport_listener(addr).expect("bind the same port"));
    }
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    serve(TcpListener::from_std(listener).unwrap(), buffer_size).await
                });
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    ExitCode::SUCCESS
}
