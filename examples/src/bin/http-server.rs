//! An HTTP/1.1 server on hyper, one per ringlet worker; HTTPS with `--tls`.
//!
//! ```text
//! http-server [--addr HOST:PORT] [--workers N] [--recv buffer-ring|owned]
//!             [--tls [--cert-out PATH]]
//! ```
//!
//! `--recv buffer-ring` (the default): each worker's connections receive into a shared
//! pool of 512 4 KiB buffers through one multishot receive each; `owned`: a buffer per
//! connection and a receive per read.
//!
//! Routes: `GET /` (and `/plaintext`) answers `Hello, World!`; `POST /echo` streams the
//! request body back as it arrives; `GET /metrics` answers with every worker's counters in
//! the Prometheus text format. Each worker accepts on its own `SO_REUSEPORT`
//! listener and serves its connections itself. Prints `listening on ADDR` once bound;
//! Ctrl-C stops accepting and gives open connections 5 seconds.
//!
//! `--tls` serves HTTPS (rustls through tokio-rustls over `ringlet::compat`) with a
//! self-signed certificate for `localhost` and 127.0.0.1 made at start and written, in
//! PEM, to `--cert-out` (default `$TMPDIR/ringlet-http-server.pem`), so that
//! `curl --cacert PATH https://localhost:PORT/` trusts it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ringlet::net::TcpListener;
use ringlet_examples::accept::{bind_reuse_port, ctrl_c};
use ringlet_examples::cli::positive;
use ringlet_examples::hyper_app;

const GRACE: Duration = Duration::from_secs(5);

/// An HTTP/1.1 server on hyper, one per ringlet worker; HTTPS with --tls.
#[derive(Parser, Debug)]
#[command(name = "http-server", version)]
struct Args {
    /// Address to listen on (port 0 picks one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Worker threads, one ring and listener each [default: all cores].
    #[arg(long, value_name = "N", value_parser = positive)]
    workers: Option<usize>,
    /// buffer-ring: each worker's connections receive into a shared pool; owned: a buffer
    /// per connection.
    #[arg(long, value_name = "MODE", default_value = "buffer-ring", value_parser = ["buffer-ring", "owned"])]
    recv: String,
    /// Serve HTTPS with a self-signed certificate for localhost and 127.0.0.1.
    #[arg(long)]
    tls: bool,
    /// Where --tls writes its certificate, in PEM [default: $TMPDIR/ringlet-http-server.pem].
    #[arg(long, value_name = "PATH", requires = "tls")]
    cert_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = args.addr;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let tls = args.tls;
    let recv_pool = args.recv == "buffer-ring";
    let cert_out = args
        .cert_out
        .unwrap_or_else(|| std::env::temp_dir().join("ringlet-http-server.pem"));
    let tls = match tls.then(ringlet_examples::tls::self_signed).transpose() {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("http-server: cannot make a certificate: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(tls) = &tls {
        if let Err(e) = std::fs::write(&cert_out, &tls.cert_pem) {
            eprintln!("http-server: cannot write {}: {e}", cert_out.display());
            return ExitCode::FAILURE;
        }
        eprintln!(
            "http-server: self-signed certificate in {}",
            cert_out.display()
        );
    }
    let options = hyper_app::ServeOptions {
        tls: tls.map(|t| t.config),
        buffer_ring: recv_pool,
    };
    let runtime = match ringlet::Runtime::builder().workers(workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("http-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listeners = match bind_reuse_port(addr, workers) {
        Ok(listeners) => listeners,
        Err(e) => {
            eprintln!("http-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Catch SIGINT and SIGTERM from now on (the workers' shutdown futures see a signal
    // caught before they start listening): a client that saw the line below may signal.
    drop(ringlet::signal::shutdown());
    match listeners[0].local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("http-server: listening, address unknown: {e}"),
    }
    // Each worker gets its own listener (bound above, on the same port).
    let results = runtime.block_on_each(listeners, move |index, listener| {
        let options = options.clone();
        async move {
            let listener = TcpListener::from(listener);
            let shutdown = ctrl_c("http-server", index == 0, GRACE);
            hyper_app::serve_until(listener, &options, shutdown, GRACE).await
        }
    });
    let mut code = ExitCode::SUCCESS;
    for (worker, result) in results.into_iter().enumerate() {
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(open)) => {
                eprintln!(
                    "http-server: worker {worker}: {open} connections cut off after {GRACE:?}"
                );
            }
            Ok(Err(e)) => {
                eprintln!("http-server: worker {worker}: accept failed, stopping: {e}");
                code = ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("http-server: worker {worker}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}
