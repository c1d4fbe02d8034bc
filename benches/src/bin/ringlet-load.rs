//! Echo load generator on ringlet: N connections, each sending messages of S bytes and
//! reading the echo back (D messages in flight per connection), for a fixed time after a
//! warm-up. Every byte is checked. Prints one line of `key=value` results:
//!
//! ```text
//! ringlet-load --addr 127.0.0.1:7878 --connections 50 --size 64 [--depth 1]
//!              [--duration 3] [--warmup 1] [--rate MSGS_PER_SEC]
//! ```
//!
//! Without `--rate` every connection sends its next message as soon as the echo of the
//! previous one is back (closed loop, the server's maximum). With `--rate` the offered
//! load is fixed: each connection sends on a schedule of `rate / connections` messages
//! per second (a late message is sent at once, the schedule is not stretched).
//! `total_messages` counts the warm-up too, and `cpu_secs` is this process's own CPU
//! time (user + system), so a run can show whether the generator was the bottleneck.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use ringlet::net::TcpStream;
use ringlet_benches::load::{Histogram, Stats, pattern_byte};

/// Echo load generator on ringlet; prints one line of `key=value` results.
#[derive(Parser, Debug)]
#[command(name = "ringlet-load", version)]
struct Args {
    /// The echo server.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Connections.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = positive)]
    connections: usize,
    /// Message size, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64, value_parser = positive)]
    size: usize,
    /// Messages in flight per connection.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = positive)]
    depth: usize,
    /// Measured time, seconds.
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = seconds)]
    duration: Duration,
    /// Warm-up before measuring, seconds.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    warmup: Duration,
    /// Fixed offered load, messages per second over all connections (default: as fast as
    /// the echoes come back).
    #[arg(long, value_name = "MSGS_PER_SEC")]
    rate: Option<f64>,
}

fn positive(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("is not a positive number".into()),
    }
}

fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| "is not a number of seconds".into())
}

/// Runs one connection: `depth` messages in flight, verified byte by byte. Counts and
/// times round trips once `measure_from` has passed, until `end`.
async fn connection(
    id: usize,
    args: Rc<Args>,
    measure_from: Instant,
    end: Instant,
    stats: Rc<RefCell<Stats>>,
) {
    let stream = match TcpStream::connect(args.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ringlet-load: {e}");
            stats.borrow_mut().errors += 1;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let (size, depth) = (args.size, args.depth);
    let batch = size * depth;
    let mut seq = (id as u64) << 40;
    // `pattern_byte(seq, i)` is `pattern_byte(seq, 0) ^ pattern_byte(0, i)`: one XOR per
    // byte with a per-position table, which vectorizes; the echo is then checked against
    // the sent bytes with one comparison. (Computing each byte apart cost the generator
    // ~40% of its CPU at 4 KiB and made it the bottleneck.)
    let positions: Vec<u8> = (0..batch).map(|i| pattern_byte(0, i)).collect();
    let mut out = vec![0u8; batch];
    let mut back = vec![0u8; batch];
    // With a fixed rate: one batch every `period`, connections staggered over a period.
    let period = args
        .rate
        .map(|r| Duration::from_secs_f64(depth as f64 * args.connections as f64 / r));
    let mut next =
        Instant::now() + period.map_or(Duration::ZERO, |p| p * id as u32 / args.connections as u32);
    while Instant::now() < end {
        if let Some(p) = period {
            if next > Instant::now() {
                ringlet::time::sleep_until(next).await;
            }
            next += p;
        }
        let first = seq;
        let base = pattern_byte(first, 0);
        for (byte, position) in out.iter_mut().zip(&positions) {
            *byte = position ^ base;
        }
        seq += 1;
        let started = Instant::now();
        let (r, o) = stream.write_all(out).await;
        out = o;
        let (r2, b) = stream.read_exact(back).await;
        back = b;
        if r.is_err() || r2.is_err() {
            stats.borrow_mut().errors += 1;
            return;
        }
        if back != out {
            eprintln!("ringlet-load: connection {id}: the echo differs from what was sent");
            stats.borrow_mut().corrupt += 1;
            return;
        }
        let mut s = stats.borrow_mut();
        s.total += depth as u64;
        if started >= measure_from {
            s.messages += depth as u64;
            s.latency.record(started.elapsed() / depth as u32);
        }
    }
}

/// User + system CPU time of this process so far.
fn own_cpu_secs() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a live, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    args.rate = args.rate.filter(|r| *r > 0.0);
    let args = Rc::new(args);
    let rt = match ringlet::Runtime::builder().workers(1).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ringlet-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stats = Rc::new(RefCell::new(Stats {
        messages: 0,
        total: 0,
        errors: 0,
        corrupt: 0,
        latency: Histogram::new(),
    }));
    let measured = Rc::new(Cell::new(Duration::ZERO));
    {
        let (args, stats, measured) = (args.clone(), stats.clone(), measured.clone());
        rt.block_on(async move {
            let start = Instant::now();
            let measure_from = start + args.warmup;
            let end = measure_from + args.duration;
            let conns = (0..args.connections)
                .map(|id| connection(id, args.clone(), measure_from, end, stats.clone()));
            ringlet::task::gather(conns).await;
            measured.set(Instant::now().saturating_duration_since(measure_from));
        });
    }
    let s = stats.borrow();
    let secs = measured.get().as_secs_f64().max(1e-9);
    println!(
        "messages_per_sec={:.0} mb_per_sec={:.2} p50_us={:.1} p99_us={:.1} p999_us={:.1} errors={} corrupt={} total_messages={} cpu_secs={:.3}",
        s.messages as f64 / secs,
        s.messages as f64 * args.size as f64 * 2.0 / secs / 1e6,
        s.latency.quantile(0.50).as_secs_f64() * 1e6,
        s.latency.quantile(0.99).as_secs_f64() * 1e6,
        s.latency.quantile(0.999).as_secs_f64() * 1e6,
        s.errors,
        s.corrupt,
        s.total,
        own_cpu_secs(),
    );
    if s.corrupt > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
