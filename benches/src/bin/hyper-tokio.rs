//! The same hyper HTTP/1.1 server as ringlet's `http-server` example — the very same
//! routes — on tokio (epoll), for the wrk benchmark (`benches/run-http.sh`):
//!
//! ```text
//! hyper-tokio [--addr HOST:PORT] [--workers N] [--mode current-thread|multi-thread]
//! ```
//!
//! Prints `listening on ADDR` once bound.

use std::process::ExitCode;

use clap::Parser;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use ringlet_benches::tokio_server::{self, Mode, ServerArgs};
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

/// hyper on tokio, the HTTP benchmark's baseline.
#[derive(Parser, Debug)]
#[command(name = "hyper-tokio", version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = args.server.addr.unwrap_or(([127, 0, 0, 1], 8081).into());
    let workers = args.server.workers();
    let multi = args.server.mode == Mode::MultiThread;
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
