//! The one-worker efficiency figures: CPU per message at a fixed load, syscalls per
//! message (strace), memory per idle connection.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::load::{Load, Sample, median};
use crate::server::{Server, rss_kib, start};

/// Efficiency figures of one server at one worker.
#[derive(Default)]
pub(crate) struct Efficiency {
    /// Server CPU seconds per million messages at the fixed rate (median).
    pub(crate) cpu_per_million: f64,
    /// Messages per second actually echoed at the fixed rate (median).
    pub(crate) achieved: f64,
    /// p99 at the fixed rate, µs (median).
    pub(crate) p99: f64,
    pub(crate) syscalls_per_msg: f64,
    /// The three most frequent syscalls and their counts.
    pub(crate) top_syscalls: String,
    pub(crate) rss_per_idle: f64,
}

pub(crate) fn measure_efficiency(
    cfg: &Config,
    bin: &Path,
    load_cpu: usize,
) -> BTreeMap<Server, Efficiency> {
    let mut eff: BTreeMap<Server, Efficiency> = BTreeMap::new();
    // CPU per message at a fixed offered load, interleaved and repeated.
    let fixed = Load {
        bin,
        cpu: load_cpu,
        conns: 50,
        size: 64,
        duration: 3.0,
        warmup: 0.0,
        rate: Some(cfg.rate),
    };
    let mut cpu: BTreeMap<Server, Vec<Sample>> = BTreeMap::new();
    for rep in 0..cfg.reps {
        for server in Server::EFFICIENCY {
            let running = start(server, bin, 1, "0", None);
            let s = fixed.run(&running);
            eprintln!(
                "fixed rate {} rep={rep} {:<22} achieved {:.0} msgs/s, server {:.3} s CPU for {} msgs",
                cfg.rate,
                server.name(),
                s.rate,
                s.server_cpu_secs,
                s.total
            );
            cpu.entry(server).or_default().push(s);
        }
    }
    for (server, runs) in &cpu {
        let e = eff.entry(*server).or_default();
        e.cpu_per_million = median(
            runs.iter()
                .map(|s| s.server_cpu_secs / s.total * 1e6)
                .collect(),
        );
        e.achieved = median(runs.iter().map(|s| s.rate).collect());
        e.p99 = median(runs.iter().map(|s| s.p99).collect());
    }
    // Syscalls per message: a bounded closed-loop run under strace.
    let traced = Load {
        bin,
        cpu: load_cpu,
        conns: 50,
        size: 64,
        duration: 2.0,
        warmup: 0.0,
        rate: None,
    };
    for server in Server::EFFICIENCY {
        let out = std::env::temp_dir().join(format!("bench-matrix-strace-{}", std::process::id()));
        let running = start(server, bin, 1, "0", Some(&out));
        let s = traced.run(&running);
        drop(running); // strace writes the summary when the server exits
        let summary = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        let (total, top) = parse_strace(&summary);
        let e = eff.get_mut(&server).unwrap();
        e.syscalls_per_msg = total / s.total;
        e.top_syscalls = top;
        eprintln!(
            "strace {:<22} {total} syscalls for {} msgs",
            server.name(),
            s.total
        );
    }
    // RSS per idle connection.
    for server in Server::EFFICIENCY {
        let e = eff.get_mut(&server).unwrap();
        e.rss_per_idle = idle_rss(server, bin, cfg.idle);
        eprintln!(
            "idle {:<22} {:.0} bytes per connection",
            server.name(),
            e.rss_per_idle
        );
    }
    eff
}

/// The total syscall count of a `strace -c` summary, and its three most frequent calls.
pub(crate) fn parse_strace(summary: &str) -> (f64, String) {
    let mut rows: Vec<(u64, String)> = Vec::new();
    let mut total = f64::NAN;
    for line in summary.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], syscall
        if cols.len() < 5 || cols[0].parse::<f64>().is_err() {
            continue;
        }
        match (cols[3].parse::<u64>(), cols[cols.len() - 1]) {
            (Ok(calls), "total") => total = calls as f64,
            (Ok(calls), name) => rows.push((calls, name.to_string())),
            _ => {}
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let top = rows
        .iter()
        .take(3)
        .map(|(n, name)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    (total, top)
}

/// RSS growth of a one-worker server per connection, with `n` connections that each
/// echoed one byte and then stay idle.
pub(crate) fn idle_rss(server: Server, bin: &Path, n: usize) -> f64 {
    let running = start(server, bin, 1, "0", None);
    let echo = |c: &mut TcpStream| {
        c.write_all(b"x").unwrap();
        c.read_exact(&mut [0u8; 1]).unwrap();
    };
    // One connection first, so one-off allocations are in the baseline.
    let mut warm = TcpStream::connect(&running.addr).unwrap();
    echo(&mut warm);
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(running.pid);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = TcpStream::connect(&running.addr).expect("connect (is the fd limit raised?)");
        echo(&mut c);
        conns.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(running.pid);
    drop(conns);
    (after.saturating_sub(before) * 1024) as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::parse_strace;

    #[test]
    pub(crate) fn strace_summary_is_parsed() {
        let summary = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 78.42    0.075004          15      4903           sendto
 17.13    0.016381           3      4913         5 recvfrom
  4.34    0.004154           3      1147           epoll_wait
  0.09    0.000090           6        13           close
------ ----------- ----------- --------- --------- ------------------
100.00    0.095648           8     11114         7 total
";
        let (total, top) = parse_strace(summary);
        assert_eq!(total, 11114.0);
        assert_eq!(top, "recvfrom 4913, sendto 4903, epoll_wait 1147");
        assert!(parse_strace("").0.is_nan());
    }
}
