//! `echo-server --stats SECS`: one line per interval from the runtime's counters — open
//! connections, messages per second, ops in flight, kernel entries per message, the share
//! of time parked, the share of a core used (the ring's kernel work included: with
//! `DEFER_TASKRUN` much of it runs while the worker is parked) and how often a receive
//! buffer pool ran dry, in total and per worker.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use ringlet::metrics::{RuntimeMetrics, WorkerMetrics};

/// Open connections, per worker: each worker changes only its own count.
#[derive(Clone, Debug)]
pub struct Connections(Arc<[Padded]>);

/// One worker's count, on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicI64);

impl Connections {
    /// Counts for `workers` workers, all zero.
    pub fn new(workers: usize) -> Connections {
        Connections((0..workers).map(|_| Padded::default()).collect())
    }

    /// Counts a connection open on `worker` until the guard is dropped.
    pub fn open(&self, worker: usize) -> OpenGuard {
        self.0[worker].0.fetch_add(1, Ordering::Relaxed);
        OpenGuard {
            counts: self.clone(),
            worker,
        }
    }

    /// Connections open on `worker` now.
    pub fn on(&self, worker: usize) -> u64 {
        self.0
            .get(worker)
            .map_or(0, |c| c.0.load(Ordering::Relaxed).max(0) as u64)
    }
}

/// A connection, counted open until dropped ([`Connections::open`]).
#[derive(Debug)]
pub struct OpenGuard {
    counts: Connections,
    worker: usize,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.counts.0[self.worker].0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Messages in an interval: the replies sent (each chunk the server receives goes back as
/// one message), counted by the kernel's send completions.
fn messages(w: &WorkerMetrics) -> u64 {
    ["SEND", "SEND_ZC", "WRITE"]
        .iter()
        .map(|name| w.io.op_named(name).completed)
        .sum()
}

/// One part of a stats line: connections, messages per second, ops in flight, kernel
/// entries per message, share of the interval parked, share of a core used, buffer pool
/// running dry per second.
fn part(out: &mut String, conns: u64, delta: &[&WorkerMetrics], now: &[&WorkerMetrics]) {
    let msgs: u64 = delta.iter().map(|w| messages(w)).sum();
    let enters: u64 = delta.iter().map(|w| w.io.enters()).sum();
    let secs: f64 = delta.iter().map(|w| w.uptime.as_secs_f64()).sum::<f64>();
    let parked: f64 = delta.iter().map(|w| w.parked.as_secs_f64()).sum::<f64>();
    let cpu: f64 = delta.iter().map(|w| w.cpu.as_secs_f64()).sum::<f64>();
    let workers = delta.len().max(1) as f64;
    let rate = if secs > 0.0 {
        msgs as f64 / (secs / workers)
    } else {
        0.0
    };
    let per_msg = if msgs > 0 {
        enters as f64 / msgs as f64
    } else {
        0.0
    };
    let share = |part: f64| match secs > 0.0 {
        true => (part / secs * 100.0).clamp(0.0, 100.0),
        false => 0.0,
    };
    let (parked_pct, cpu_pct) = (share(parked), share(cpu));
    let in_flight: u64 = now.iter().map(|w| w.io.in_flight()).sum();
    let dry: u64 = delta.iter().map(|w| w.io.enobufs).sum();
    let dry_rate = if secs > 0.0 {
        dry as f64 / (secs / workers)
    } else {
        0.0
    };
    let _ = write!(
        out,
        "conns={conns} msgs/s={rate:.0} in_flight={in_flight} enters/msg={per_msg:.2} \
         parked={parked_pct:.1}% cpu={cpu_pct:.1}% dry/s={dry_rate:.0}"
    );
}

/// The stats line for the interval between `earlier` and `now`: totals, then each
/// worker after `|`.
///
/// `stats: conns=50 msgs/s=81234 in_flight=52 enters/msg=0.31 parked=88.0% cpu=20.5% dry/s=0 | w0: ...`
pub fn line(earlier: &RuntimeMetrics, now: &RuntimeMetrics, conns: &Connections) -> String {
    let delta = now.since(earlier);
    let mut out = String::from("stats: ");
    let total_conns = (0..now.workers.len()).map(|w| conns.on(w)).sum();
    part(
        &mut out,
        total_conns,
        &delta.workers.iter().collect::<Vec<_>>(),
        &now.workers.iter().collect::<Vec<_>>(),
    );
    for (d, n) in delta.workers.iter().zip(&now.workers) {
        let _ = write!(out, " | w{}: ", n.worker);
        part(&mut out, conns.on(n.worker), &[d], &[n]);
    }
    out
}

/// Prints a stats line to stdout every `every`, from a thread of its own, for as long as
/// the process runs.
pub fn report_every(every: Duration, runtime: ringlet::Handle, conns: Connections) {
    std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            let mut earlier = runtime.metrics();
            loop {
                std::thread::sleep(every);
                let now = runtime.metrics();
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{}", line(&earlier, &now, &conns));
                let _ = stdout.flush();
                earlier = now;
            }
        })
        .expect("cannot start the stats thread");
}
