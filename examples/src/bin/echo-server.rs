//! ringlet's echo server.
//!
//! ```text
//! echo-server [--addr HOST:PORT] [--buffer-size BYTES] [--workers N]
//!             [--recv owned|buffer-ring] [--pool-buffers N] [--coalesce-us MICROS]
//! ```
//!
//! Runs one accept loop per worker, each on its own `SO_REUSEPORT` listener, so the kernel
//! spreads connections across cores. Prints `listening on ADDR` once bound, logs peer
//! resets and carries on, and exits with status 1 and a clear message if the address is
//! in use or io_uring is unavailable. On Ctrl-C (SIGINT) it stops accepting, lets open
//! connections finish for up to 10 seconds, and exits 0.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Mutex;
use std::time::Duration;

use ringlet::net::TcpListener;
use ringlet_examples::accept::{bind_reuse_port, ctrl_c};
use ringlet_examples::echo::{self, RecvMode};

/// How long open connections may take to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);

const USAGE: &str = "\
usage: echo-server [--addr HOST:PORT] [--buffer-size BYTES] [--workers N]
                   [--recv owned|buffer-ring] [--pool-buffers N] [--coalesce-us MICROS]

  --addr HOST:PORT     address to listen on (default 127.0.0.1:7878; port 0 picks one)
  --buffer-size BYTES  per-connection buffer (default 4096)
  --workers N          worker threads, one ring and listener each (default: all cores)
  --recv MODE          buffer-ring (default): a shared pool per worker, no buffer held
                       by idle connections; owned: a buffer per connection
  --pool-buffers N     buffers in each worker's pool with --recv buffer-ring (default
                       512, a power of two): size it to data in flight, not connections
  --coalesce-us MICROS when idle, wake for 32 completions or MICROS after the first
                       (default 0: off): less CPU per message under moderate load, up to
                       MICROS more latency (Linux 6.12+)";

struct Args {
    addr: SocketAddr,
    buffer_size: usize,
    workers: usize,
    recv: RecvMode,
    coalesce: Duration,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
        buffer_size: 4096,
        workers: std::thread::available_parallelism().map_or(1, usize::from),
        recv: RecvMode::BufferRing { entries: 512 },
        coalesce: Duration::ZERO,
    };
    let mut pool_buffers = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?} is not HOST:PORT: {e}"))?;
            }
            "--buffer-size" => {
                let v = value("--buffer-size")?;
                args.buffer_size = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--buffer-size {v:?} is not a positive number")),
                };
            }
            "--workers" => {
                let v = value("--workers")?;
                args.workers = match v.parse::<usize>() {
                    Ok(n) if (1..=1024).contains(&n) => n,
                    _ => return Err(format!("--workers {v:?} is not a number from 1 to 1024")),
                };
            }
            "--recv" => {
                args.recv = match value("--recv")?.as_str() {
                    "owned" => RecvMode::Owned,
                    "buffer-ring" => RecvMode::BufferRing { entries: 512 },
                    other => return Err(format!("--recv {other:?} is not owned or buffer-ring")),
                };
            }
            "--pool-buffers" => {
                let v = value("--pool-buffers")?;
                let entries = match v.parse::<u16>() {
                    Ok(n) if n.is_power_of_two() && n <= 32768 => n,
                    _ => {
                        return Err(format!(
                            "--pool-buffers {v:?} is not a power of two up to 32768"
                        ));
                    }
                };
                pool_buffers = Some(entries);
            }
            "--coalesce-us" => {
                let v = value("--coalesce-us")?;
                args.coalesce = match v.parse::<u64>() {
                    Ok(n) if n <= 1_000_000 => Duration::from_micros(n),
                    _ => return Err(format!("--coalesce-us {v:?} is not 0 to 1000000")),
                };
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let (RecvMode::BufferRing { entries }, Some(n)) = (&mut args.recv, pool_buffers) {
        *entries = n;
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("echo-server: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = ringlet::Runtime::builder()
        .workers(args.workers)
        .coalesce_completions(32, args.coalesce)
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Bind every worker's listener here, so a taken address is reported once and port 0
    // resolves to one port shared by all of them.
    let listeners = match bind_reuse_port(args.addr, args.workers) {
        Ok(listeners) => listeners,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "echo-server: cannot listen on {}: address already in use \
                 (is another server running on that port? pick another with --addr)",
                args.addr
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("echo-server: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listeners[0].local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("echo-server: listening, address unknown: {e}"),
    }
    eprintln!("echo-server: {} workers", args.workers);
    let listeners = Mutex::new(listeners.into_iter().map(Some).collect::<Vec<_>>());
    let (buffer_size, recv) = (args.buffer_size, args.recv);
    let results = runtime.block_on_all(move || {
        let index = ringlet::worker_index().expect("runs on a worker");
        let listener = listeners.lock().unwrap_or_else(|e| e.into_inner())[index].take();
        async move {
            let listener = listener.expect("one listener per worker");
            let shutdown = ctrl_c("echo-server", index == 0, GRACE);
            echo::serve_until(
                TcpListener::from(listener),
                buffer_size,
                recv,
                shutdown,
                GRACE,
            )
            .await
        }
    });
    let mut code = ExitCode::SUCCESS;
    let mut cut_off = 0;
    for (worker, result) in results.into_iter().enumerate() {
        match result {
            Ok(Ok(open)) => cut_off += open,
            Ok(Err(e)) => {
                eprintln!("echo-server: worker {worker}: accept failed, stopping: {e}");
                code = ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("echo-server: worker {worker}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if cut_off > 0 {
        eprintln!("echo-server: {cut_off} connections were still open after {GRACE:?}: closed");
    }
    eprintln!("echo-server: stopped");
    code
}
