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

use std::process::ExitCode;

use clap::Parser;
use ringlet_benches::tokio_server::{self, Mode, ServerArgs};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// The tokio (epoll) echo server the benchmarks compare against.
#[derive(Parser, Debug)]
#[command(name = "tokio-echo", version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Per-connection buffer, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    buffer_size: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = args.server.addr.unwrap_or(([127, 0, 0, 1], 7878).into());
    let (workers, buffer_size) = (args.server.workers(), args.buffer_size.max(1));
    let multi = args.server.mode == Mode::MultiThread;
    let served = tokio_server::run(addr, workers, multi, "tokio-echo", move |listener| {
        serve(listener, buffer_size)
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio-echo: cannot listen on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}
