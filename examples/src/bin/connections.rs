//! An echo server for thousands of connections: the guide's "Thousands of connections".
//! Usage: `connections [HOST:PORT]` (default 127.0.0.1:7878; port 0 picks one).

use std::io;
use std::net::Shutdown;
use std::time::Duration;

use ringlet::net::{BufRing, TcpListener, TcpStream};
use ringlet::task::TaskGroup;
use ringlet::time::{sleep, timeout};

#[ringlet::main(workers = 1)]
async fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:7878"))?;
    println!("listening on {}", listener.local_addr()?);
    println!("open files allowed: {}", open_files_limit()?);

    // Receive buffers shared by every connection: the kernel picks a free one when data
    // arrives, so an idle connection holds none.
    let pool = BufRing::new(1024, 4096)?;
    let mut incoming = listener.incoming();
    let mut connections = TaskGroup::new();
    // SIGINT (Ctrl-C) or SIGTERM (how systemd, Docker and Kubernetes stop a service).
    let mut stop = std::pin::pin!(ringlet::signal::shutdown());
    loop {
        ringlet::select! {
            accepted = incoming.next() => match accepted {
                Some(Ok(stream)) => {
                    connections.spawn(echo(stream, pool.clone()));
                }
                // Out of descriptors (EMFILE) and the like: the listener stays usable.
                Some(Err(e)) => {
                    eprintln!("accept: {e}");
                    sleep(Duration::from_millis(100)).await;
                }
                None => break,
            },
            // Collect connections that ended, so the group holds only the live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.as_mut() => break,
        }
    }

    // Graceful stop: accept no more, give open connections 5 seconds, then cut them.
    drop(incoming);
    let open = connections.len();
    println!("stopping: {open} connections open");
    let drained = timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        println!("cut {} connections", connections.len());
    }
    Ok(())
}

/// Echoes one connection until the peer's EOF, then closes our side too.
async fn echo(stream: TcpStream, pool: BufRing) -> io::Result<()> {
    let mut received = stream.recv_stream(&pool);
    while let Some(buf) = received.next().await {
        // The buffer the kernel filled is written straight back, then returns to the pool.
        stream.write_all(buf?).await.0?;
    }
    // The peer half-closed: everything it sent has been echoed.
    stream.shutdown(Shutdown::Write)
}

/// The soft limit on open files (`ulimit -n`): one descriptor per connection.
fn open_files_limit() -> io::Result<String> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"));
    Ok(line
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("unknown")
        .to_string())
}
