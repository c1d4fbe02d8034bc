//! What the peers' echo servers share with ringlet's and tokio's: the same flags and the
//! same `SO_REUSEPORT` listeners (backlog 1024), so the matrix compares runtimes, not
//! socket setup.

use std::net::SocketAddr;

use clap::Parser;
use socket2::{Domain, Socket, Type};

/// The flags every echo server of the matrix takes.
#[derive(Parser, Debug)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    pub addr: SocketAddr,
    /// Worker threads, one runtime and one listener each [default: all cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Per-connection buffer, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub buffer_size: usize,
}

impl Args {
    /// The worker count: as given, or one per core.
    pub fn workers(&self) -> usize {
        self.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        )
    }
}

/// `n` listeners on `addr` sharing its port through `SO_REUSEPORT` (port 0 picks one for
/// all), non-blocking, backlog 1024.
///
/// # Errors
///
/// If a socket cannot be created or bound.
pub fn bind_reuse_port(addr: SocketAddr, n: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        let listener: std::net::TcpListener = socket.into();
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Binds, prints `listening on ADDR` (what the matrix waits for), and runs `worker` on a
/// thread of its own for each listener until they all return.
///
/// # Errors
///
/// If binding fails.
pub fn run(
    name: &str,
    args: &Args,
    worker: impl Fn(std::net::TcpListener) + Send + Clone + 'static,
) -> std::io::Result<()> {
    let listeners = bind_reuse_port(args.addr, args.workers())?;
    println!("listening on {}", listeners[0].local_addr()?);
    let threads: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, listener)| {
            let worker = worker.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker(listener))
        })
        .collect::<Result<_, _>>()?;
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}
