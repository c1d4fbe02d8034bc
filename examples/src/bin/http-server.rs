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
//! request body back as it arrives. Each worker accepts on its own `SO_REUSEPORT`
//! listener and serves its connections itself. Prints `listening on ADDR` once bound;
//! Ctrl-C stops accepting and gives open connections 5 seconds.
//!
//! `--tls` serves HTTPS (rustls through tokio-rustls over `ringlet::compat`) with a
//! self-signed certificate for `localhost` and 127.0.0.1 made at start and written, in
//! PEM, to `--cert-out` (default `$TMPDIR/ringlet-http-server.pem`), so that
//! `curl --cacert PATH https://localhost:PORT/` trusts it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use ringlet::net::TcpListener;
use ringlet_examples::accept::{bind_reuse_port, ctrl_c};
use ringlet_examples::hyper_app;

const USAGE: &str = "usage: http-server [--addr HOST:PORT] [--workers N] [--recv buffer-ring|owned] \
                     [--tls [--cert-out PATH]]";
const GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("a valid address");
    let mut workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut tls = false;
    let mut recv_pool = true;
    let mut cert_out = std::env::temp_dir().join("ringlet-http-server.pem");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--tls" {
            tls = true;
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value.as_deref().map(str::parse::<SocketAddr>)) {
            ("--addr", Some(Ok(a))) => addr = a,
            ("--recv", _) if value.as_deref() == Some("buffer-ring") => recv_pool = true,
            ("--recv", _) if value.as_deref() == Some("owned") => recv_pool = false,
            ("--cert-out", _) if value.is_some() => cert_out = value.unwrap_or_default().into(),
            ("--workers", _) => match value.as_deref().map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => workers = n,
                _ => {
                    eprintln!("http-server: --workers needs a positive number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            ("-h" | "--help", _) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("http-server: bad argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
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
    match listeners[0].local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("http-server: listening, address unknown: {e}"),
    }
    let listeners = Mutex::new(listeners.into_iter().map(Some).collect::<Vec<_>>());
    let results = runtime.block_on_all(move || {
        let index = ringlet::worker_index().expect("runs on a worker");
        let listener = listeners.lock().unwrap_or_else(|e| e.into_inner())[index].take();
        let options = options.clone();
        async move {
            let listener = TcpListener::from(listener.expect("one listener per worker"));
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
