//! One server on every core: the guide's "Every core". Each connection is told which
//! worker took it and its number among all the connections served.
//! Usage: `every_core [HOST:PORT]` (default 127.0.0.1:7879; port 0 picks one).

use std::io;
use std::net::SocketAddr;

use ringlet::net::{ListenOptions, TcpListener};
use ringlet::sync::shared::{mpsc, oneshot};

/// A question for the counter: "which number is this connection?", with where to answer.
type Ask = oneshot::Sender<u64>;

#[ringlet::main] // one worker per core
async fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let reuse_port = ListenOptions::new().reuse_port(true);
    // Worker 0 binds first (so port 0 becomes a real port); every other worker binds the
    // same address. With SO_REUSEPORT the kernel spreads connections over the listeners.
    let listener =
        TcpListener::bind_with(addr.as_deref().unwrap_or("127.0.0.1:7879"), &reuse_port)?;
    let addr = listener.local_addr()?;
    let workers = ringlet::worker_count().unwrap_or(1);
    println!("listening on {addr} with {workers} workers");

    // State shared by every worker lives in one task on worker 0; the others reach it
    // through a channel that crosses workers (the `shared` flavour of ringlet::sync).
    let (asks, mut questions) = mpsc::unbounded_channel::<Ask>();
    let _counter = ringlet::spawn(async move {
        let mut served = 0u64;
        while let Some(answer) = questions.recv().await {
            served += 1;
            let _ = answer.send(served); // the connection may be gone already
        }
    });

    // A copy of the server on every other worker. `spawn_on` sends the closure there;
    // the future it makes (which holds that worker's listener) never leaves it.
    for worker in 1..workers {
        let asks = asks.clone();
        let _server = ringlet::spawn_on(worker, move || async move {
            if let Err(e) = serve(addr, None, asks).await {
                eprintln!("worker {worker}: {e}");
            }
        });
    }
    ringlet::select! {
        served = serve(addr, Some(listener), asks) => served,
        stop = ringlet::signal::shutdown() => stop, // SIGINT or SIGTERM
    }
}

/// Accepts on this worker's listener (binding one if not given), one task per connection.
async fn serve(
    addr: SocketAddr,
    listener: Option<TcpListener>,
    asks: mpsc::UnboundedSender<Ask>,
) -> io::Result<()> {
    let listener = match listener {
        Some(listener) => listener,
        None => TcpListener::bind_with(addr, &ListenOptions::new().reuse_port(true))?,
    };
    let worker = ringlet::worker_index().unwrap_or(0);
    let mut incoming = listener.incoming();
    while let Some(stream) = incoming.next().await {
        let stream = stream?;
        let asks = asks.clone();
        drop(ringlet::spawn(async move {
            let (answer, number) = oneshot::channel();
            if asks.send(answer).is_err() {
                return; // the counter is gone: the server is stopping
            }
            let Ok(number) = number.await else { return };
            let line = format!("worker {worker}, connection {number}\n");
            let _ = stream.write_all(line.into_bytes()).await;
        }));
    }
    Ok(())
}
