//! Runs the echo benchmark matrix and writes the report.
//!
//! Throughput: servers {ringlet, the raw io_uring loop (one worker only), tokio
//! current-thread, tokio multi-thread, monoio, compio} × connections × message sizes × worker counts {1,
//! all}, servers interleaved within each cell (A B C D A B C D ...), repeated, medians,
//! ratios against tokio current-thread and the raw loop, and the CPU use of server and
//! load generator during each run (so a saturated load generator would show).
//!
//! Efficiency, one server worker, each server in turn: server CPU seconds per million
//! messages at a fixed offered load, syscalls per echoed message (`strace -c -f`), and RSS
//! per idle connection with 10,000 connections.
//!
//! ```text
//! bench-matrix [--out docs/benchmarks-matrix.md] [--svg docs/echo-throughput.svg]
//!              [--cpu-svg docs/echo-cpu-per-message.svg]
//!              [--reps 3] [--duration 2] [--connections 1,50,500,2000] [--sizes 64,4096]
//!              [--rate 50000] [--idle 10000] [--no-efficiency]
//! ```
//!
//! Run through `benches/run-matrix.sh`, which builds the binaries first.

mod chart;
mod config;
mod efficiency;
mod load;
mod report;
mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;

use chart::{Metric, chart};
use config::Config;
use efficiency::measure_efficiency;
use load::{Key, Load, Sample};
use report::report;
use server::{Server, start};

fn main() {
    let cfg = Config::parse();
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load_cpu = cpus - 1;
    // "All" workers: every CPU but the load generator's; on two CPUs that leaves one, so
    // the all-workers rows use both CPUs and share one with the load generator.
    let all = if cpus > 2 { cpus - 1 } else { cpus };
    let mut worker_counts = vec![1, all];
    worker_counts.dedup();
    let mut samples: BTreeMap<Key, Vec<Sample>> = BTreeMap::new();
    for &workers in &worker_counts {
        let server_cpus = format!("0-{}", workers - 1);
        for &size in &cfg.sizes {
            for &c in &cfg.conns {
                let load = Load {
                    bin: &bin,
                    cpu: load_cpu,
                    conns: c,
                    size,
                    duration: cfg.duration,
                    warmup: 0.5,
                    rate: None,
                };
                for rep in 0..cfg.reps {
                    for server in Server::at(workers) {
                        let running = start(server, &bin, workers, &server_cpus, None);
                        let s = load.run(&running);
                        eprintln!(
                            "workers={workers} size={size} conns={c} rep={rep} {:<22} {:>9.0} msgs/s p50={} p99={} server_cpu={:.0}% load_cpu={:.0}%",
                            server.name(),
                            s.rate,
                            s.p50,
                            s.p99,
                            s.server_cpu * 100.0,
                            s.load_cpu * 100.0
                        );
                        samples
                            .entry((workers, size, c, server))
                            .or_default()
                            .push(s);
                        drop(running);
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        }
    }
    let efficiency = cfg
        .efficiency
        .then(|| measure_efficiency(&cfg, &bin, load_cpu));
    let md = report(
        &cfg,
        &samples,
        &worker_counts,
        cpus,
        load_cpu,
        efficiency.as_ref(),
    );
    std::fs::write(&cfg.out, md).unwrap();
    for (path, metric) in [
        (&cfg.svg, Metric::Throughput),
        (&cfg.cpu_svg, Metric::CpuPerMessage),
    ] {
        let svg = chart(&samples, metric, worker_counts[0], &cfg.sizes, &cfg.conns);
        std::fs::write(path, svg).unwrap();
    }
    eprintln!(
        "wrote {}, {} and {}",
        cfg.out.display(),
        cfg.svg.display(),
        cfg.cpu_svg.display()
    );
}
