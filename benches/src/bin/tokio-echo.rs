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
use std::process::ExitCode;

use ringlet_benches::tokio_server;

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
