//! ringlet's echo server.
//!
//! ```text
//! echo-server [--addr HOST:PORT] [--buffer-size BYTES] [--workers N]
//!             [--recv owned|buffer-ring] [--pool-buffers N] [--coalesce-us MICROS]
//!             [--sqpoll-ms IDLE] [--no-recv-bundles] [--stats SECS]
//! echo-server --features
//! ```
//!
//! Runs one accept loop per worker, each on its own `SO_REUSEPORT` listener, so the kernel
//! spreads connections across cores. Prints `listening on ADDR` once bound, logs peer
//! resets and carries on, and exits with status 1 and a clear message if the address is
//! in use or io_uring is unavailable. On Ctrl-C (SIGINT) it stops accepting, lets open
//! connections finish for up to 10 seconds, and exits 0. With `--stats SECS` it prints a
//! line of the runtime's counters every SECS seconds (see `ringlet_examples::stats`).

use std::net::SocketAddr;

use clap::Parser;
use ringlet_examples::cli::positive;
use std::process::ExitCode;

use std::time::Duration;

use ringlet::net::TcpListener;
use ringlet_examples::accept::{bind_reuse_port, ctrl_c};
use ringlet_examples::echo::{self, RecvMode};
use ringlet_examples::stats::{self, Connections};

/// How long open connections may take to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);

/// ringlet's echo server: one accept loop per worker, each on its own SO_REUSEPORT
/// listener. Stops on Ctrl-C, letting open connections finish for up to 10 seconds.
#[derive(Parser, Debug)]
#[command(name = "echo-server", version)]
struct Args {
    /// Address to listen on (port 0 picks one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Buffer size in bytes: each connection's with --recv owned, each pool buffer's with
    /// --recv buffer-ring.
    #[arg(long, value_name = "BYTES", default_value_t = 4096, value_parser = positive)]
    buffer_size: usize,
    /// Worker threads, one ring and listener each [default: all cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// buffer-ring: a shared pool per worker, no buffer held by idle connections; owned:
    /// a buffer per connection.
    #[arg(long, value_name = "MODE", default_value = "buffer-ring", value_parser = ["buffer-ring", "owned"])]
    recv: String,
    /// Buffers in each worker's pool with --recv buffer-ring (a power of two up to 32768):
    /// size it to data in flight, not to connections.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = pool_size)]
    pool_buffers: u16,
    /// When idle, wake for 32 completions or MICROS after the first (0: off): less CPU per
    /// message under moderate load, up to MICROS more latency (Linux 6.12+).
    #[arg(long, value_name = "MICROS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    coalesce_us: u64,
    /// Give each worker's ring a kernel thread that polls its submissions, sleeping after
    /// IDLE ms without any (0: off): lower latency for up to one more busy core per worker.
    #[arg(long, value_name = "IDLE", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    sqpoll_ms: u64,
    /// Receive one pool buffer per completion even where the kernel has receive bundles
    /// (one completion for all the buffers the waiting data fills): to compare the two.
    #[arg(long)]
    no_recv_bundles: bool,
    /// Print a line every SECS seconds: open connections, messages per second, ops in
    /// flight, io_uring_enter calls per message, time parked, CPU used and how often the
    /// buffer pool ran dry, in total and per worker.
    #[arg(long, value_name = "SECS", value_parser = stats_interval)]
    stats: Option<Duration>,
    /// Print what this kernel's io_uring offers ringlet (each setup flag and opcode, and
    /// the fallback where it is missing), then exit.
    #[arg(long)]
    features: bool,
}

fn pool_size(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(n) if n.is_power_of_two() && n <= 32768 => Ok(n),
        _ => Err("is not a power of two up to 32768".into()),
    }
}

fn stats_interval(v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(secs) if (0.01..=86_400.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err("is not a number of seconds from 0.01 to 86400".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.features {
        return match ringlet::features() {
            Ok(features) => {
                print!("{features}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("echo-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let workers = args.workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let recv = match args.recv.as_str() {
        "owned" => RecvMode::Owned,
        _ => RecvMode::BufferRing {
            entries: args.pool_buffers,
        },
    };
    let mut builder = ringlet::Runtime::builder()
        .workers(workers)
        .coalesce_completions(32, Duration::from_micros(args.coalesce_us));
    if args.sqpoll_ms > 0 {
        builder = builder.sqpoll(Duration::from_millis(args.sqpoll_ms));
    }
    if args.no_recv_bundles {
        builder = builder.without(ringlet::KernelFeature::RecvBundle);
    }
    let runtime = builder.build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Bind every worker's listener here, so a taken address is reported once and port 0
    // resolves to one port shared by all of them.
    let listeners = match bind_reuse_port(args.addr, workers) {
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
    // Catch SIGINT and SIGTERM from now on (the workers' shutdown futures see a signal
    // caught before they start listening): a client that saw the line below may signal.
    drop(ringlet::signal::shutdown());
    match listeners[0].local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("echo-server: listening, address unknown: {e}"),
    }
    eprintln!("echo-server: {workers} workers");
    let conns = args.stats.map(|every| {
        let conns = Connections::new(workers);
        stats::report_every(every, runtime.handle(), conns.clone());
        conns
    });
    let buffer_size = args.buffer_size;
    // Each worker gets its own listener (bound above, on the same port).
    let results = runtime.block_on_each(listeners, move |index, listener| {
        let conns = conns.clone();
        async move {
            let shutdown = ctrl_c("echo-server", index == 0, GRACE);
            echo::serve_until(
                TcpListener::from(listener),
                buffer_size,
                recv,
                shutdown,
                GRACE,
                conns,
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
