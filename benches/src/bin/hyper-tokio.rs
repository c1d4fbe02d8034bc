//! The same hyper HTTP/1.1 server as ringlet's `http-server` example — the very same
//! routes — on tokio (epoll), for the wrk benchmark (`benches/run-http.sh`):
//!
//! ```text
//! hyper-tokio [--addr HOST:PORT] [--workers N] [--mode current-thread|multi-thread]
//! ```
//!
//! Prints `listening on ADDR` once bound.

use std::net::SocketAddr;
use std::process::ExitCode;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use ringlet_benches::tokio_server;
use ringlet_examples::hyper_app::route;
use tokio::net::TcpListener;

async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::task::spawn_local(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service_fn(route))
                .await;
        });
    }
}

fn main() -> ExitCode {
    let mut addr: SocketAddr = "127.0.0.1:8081".parse().expect("a valid address");
    let mut workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut multi = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(v) = args.next() else {
            eprintln!("hyper-tokio: {flag} needs a value");
            return ExitCode::from(2);
        };
        match (flag.as_str(), v.as_str()) {
            ("--addr", v) => addr = v.parse().expect("--addr HOST:PORT"),
            ("--workers", v) => workers = v.parse::<usize>().expect("--workers N").max(1),
            ("--mode", "current-thread") => multi = false,
            ("--mode", "multi-thread") => multi = true,
            _ => {
                eprintln!("hyper-tokio: unexpected {flag} {v}");
                return ExitCode::from(2);
            }
        }
    }
    let served = tokio_server::run(addr, workers, multi, "hyper-tokio", |listener| async move {
        // The route's body type is not `Send`: connections run on a local set.
        tokio::task::LocalSet::new()
            .run_until(serve(listener))
            .await;
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper-tokio: cannot listen on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}
