//! Running a tokio server the two idiomatic ways the benchmarks compare against: one
//! current-thread runtime per worker thread, each with its own `SO_REUSEPORT` listener
//! (the thread-per-core shape), or one listener on a work-stealing runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use ringlet_examples::accept::bind_reuse_port;
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
    // The same SO_REUSEPORT listeners (backlog 1024) as ringlet's servers bind; binding
    // is plain socket setup, no ringlet runtime involved.
    let mut listeners = bind_reuse_port(addr, if multi { 1 } else { workers })?;
    for listener in &listeners {
        listener.set_nonblocking(true)?;
    }
    println!("listening on {}", listeners[0].local_addr()?);
    if multi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?;
        let first = listeners.remove(0);
        return rt.block_on(async move {
            serve(TcpListener::from_std(first)?).await;
            Ok(())
        });
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

/// How a tokio server runs, as its `--mode` flag says.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One current-thread runtime per worker thread, each with its own `SO_REUSEPORT`
    /// listener (the thread-per-core shape).
    CurrentThread,
    /// One listener on a work-stealing runtime with N workers.
    MultiThread,
}

/// The flags every tokio server takes, as ringlet's servers do.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<std::net::SocketAddr>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// The runtime's shape.
    #[arg(long, value_enum, default_value = "current-thread")]
    pub mode: Mode,
}

impl ServerArgs {
    /// The worker count: as given, or one per core.
    pub fn workers(&self) -> usize {
        self.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        )
    }
}
