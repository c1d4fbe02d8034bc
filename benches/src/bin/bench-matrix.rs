//! Runs the echo benchmark matrix and writes the report.
//!
//! Throughput: servers {ringlet, tokio current-thread, tokio multi-thread} × connections ×
//! message sizes × worker counts {1, all}, servers interleaved within each cell (A B C A B
//! C ...), repeated, medians, ratios against both tokio servers, and the CPU use of server
//! and load generator during each run (so a saturated load generator would show).
//!
//! Efficiency, one server worker, each server in turn: server CPU seconds per million
//! messages at a fixed offered load, syscalls per echoed message (`strace -c -f`), and RSS
//! per idle connection with 10,000 connections.
//!
//! ```text
//! bench-matrix [--out docs/benchmarks-matrix.md] [--svg docs/echo-throughput.svg]
//!              [--reps 3] [--duration 2] [--connections 1,50,500,2000] [--sizes 64,4096]
//!              [--rate 50000] [--idle 10000] [--no-efficiency]
//! ```
//!
//! Run through `benches/run-matrix.sh`, which builds the binaries first.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Server {
    Ringlet,
    /// ringlet's echo server waking for batches of completions (efficiency runs only).
    RingletCoalesced,
    TokioCurrent,
    TokioMulti,
}

impl Server {
    const ALL: [Server; 3] = [Server::Ringlet, Server::TokioCurrent, Server::TokioMulti];
    const EFFICIENCY: [Server; 4] = [
        Server::Ringlet,
        Server::RingletCoalesced,
        Server::TokioCurrent,
        Server::TokioMulti,
    ];

    fn name(self) -> &'static str {
        match self {
            Server::Ringlet => "ringlet",
            Server::RingletCoalesced => "ringlet --coalesce-us 200",
            Server::TokioCurrent => "tokio current-thread",
            Server::TokioMulti => "tokio multi-thread",
        }
    }

    /// The server's own command line (program and arguments).
    fn argv(self, bin: &Path, workers: usize) -> Vec<String> {
        let mut argv = match self {
            Server::Ringlet => vec![bin.join("echo-server").display().to_string()],
            Server::RingletCoalesced => vec![
                bin.join("echo-server").display().to_string(),
                "--coalesce-us".into(),
                "200".into(),
            ],
            Server::TokioCurrent => {
                vec![
                    bin.join("tokio-echo").display().to_string(),
                    "--mode".into(),
                    "current-thread".into(),
                ]
            }
            Server::TokioMulti => {
                vec![
                    bin.join("tokio-echo").display().to_string(),
                    "--mode".into(),
                    "multi-thread".into(),
                ]
            }
        };
        argv.extend([
            "--addr".into(),
            "127.0.0.1:0".into(),
            "--workers".into(),
            workers.to_string(),
        ]);
        argv
    }
}

/// A server process, killed on drop.
struct Running {
    child: Child,
    /// The server's pid (a child of `child` when it runs under strace).
    pid: u32,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.pid != self.child.id() {
            // Under strace: kill the server; strace then writes its summary and exits.
            // SAFETY: kill(2) takes no pointers.
            unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `server` on `cpus`; with `strace_out`, under `strace -c -f` writing there.
fn start(
    server: Server,
    bin: &Path,
    workers: usize,
    cpus: &str,
    strace_out: Option<&Path>,
) -> Running {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", cpus]);
    if let Some(out) = strace_out {
        cmd.args(["strace", "-c", "-f", "-o"]).arg(out).arg("--");
    }
    let mut child = cmd
        .args(server.argv(bin, workers))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server (are taskset and strace installed?)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{}: no address in {line:?}", server.name()))
        .to_string();
    // taskset execs the server; strace forks it.
    let pid = if strace_out.is_some() {
        let children = format!("/proc/{0}/task/{0}/children", child.id());
        std::fs::read_to_string(children)
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
            .expect("the traced server's pid")
    } else {
        child.id()
    };
    Running { child, pid, addr }
}

/// CPU time of every thread of `pid` so far, in seconds (from /proc/PID/task/*/schedstat).
fn cpu_secs(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return f64::NAN;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum();
    ns as f64 / 1e9
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One load-generator run, as it reported it.
#[derive(Clone, Copy, Default, Debug)]
struct Sample {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: f64,
    total: f64,
    /// Load generator CPU, as a fraction of one core over its whole run.
    load_cpu: f64,
    /// Server CPU over the same run, as a fraction of one core.
    server_cpu: f64,
    /// Server CPU seconds over the run.
    server_cpu_secs: f64,
}

struct Load<'a> {
    bin: &'a Path,
    cpu: usize,
    conns: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    rate: Option<f64>,
}

impl Load<'_> {
    /// Runs the load generator against `server`, measuring the server's CPU meanwhile.
    fn run(&self, server: &Running) -> Sample {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &self.cpu.to_string()])
            .arg(self.bin.join("ringlet-load"))
            .args([
                "--addr",
                &server.addr,
                "--connections",
                &self.conns.to_string(),
            ])
            .args([
                "--size",
                &self.size.to_string(),
                "--duration",
                &self.duration.to_string(),
            ])
            .args(["--warmup", &self.warmup.to_string()]);
        if let Some(rate) = self.rate {
            cmd.args(["--rate", &rate.to_string()]);
        }
        let (cpu0, t0) = (cpu_secs(server.pid), Instant::now());
        let out = cmd.output().expect("run ringlet-load");
        let (cpu1, wall) = (cpu_secs(server.pid), t0.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |key: &str| -> f64 {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        assert!(
            get("corrupt=") == 0.0,
            "corrupted echo or failed run: {text}"
        );
        Sample {
            rate: get("messages_per_sec="),
            p50: get("p50_us="),
            p99: get("p99_us="),
            errors: get("errors="),
            total: get("total_messages="),
            load_cpu: get("cpu_secs=") / wall,
            server_cpu: (cpu1 - cpu0) / wall,
            server_cpu_secs: cpu1 - cpu0,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn list(v: &str) -> Vec<usize> {
    v.split(',')
        .map(|x| x.trim().parse().expect("a number"))
        .collect()
}

type Key = (usize, usize, usize, Server); // workers, size, connections, server

struct Config {
    out: PathBuf,
    svg: PathBuf,
    reps: usize,
    duration: f64,
    conns: Vec<usize>,
    sizes: Vec<usize>,
    rate: f64,
    idle: usize,
    efficiency: bool,
}

fn config() -> Config {
    let mut c = Config {
        out: "docs/benchmarks-matrix.md".into(),
        svg: "docs/echo-throughput.svg".into(),
        reps: 3,
        duration: 2.0,
        conns: vec![1, 50, 500, 2000],
        sizes: vec![64, 4096],
        rate: 50_000.0,
        idle: 10_000,
        efficiency: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--no-efficiency" {
            c.efficiency = false;
            continue;
        }
        let v = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => c.out = v.into(),
            "--svg" => c.svg = v.into(),
            "--reps" => c.reps = v.parse().expect("--reps N"),
            "--duration" => c.duration = v.parse().expect("--duration SECS"),
            "--connections" => c.conns = list(&v),
            "--sizes" => c.sizes = list(&v),
            "--rate" => c.rate = v.parse().expect("--rate MSGS_PER_SEC"),
            "--idle" => c.idle = v.parse().expect("--idle CONNECTIONS"),
            _ => panic!("unknown flag {flag}"),
        }
    }
    c
}

fn main() {
    let cfg = config();
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
                    for server in Server::ALL {
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
    std::fs::write(
        &cfg.svg,
        chart(&samples, worker_counts[0], &cfg.sizes, &cfg.conns),
    )
    .unwrap();
    eprintln!("wrote {} and {}", cfg.out.display(), cfg.svg.display());
}

/// Efficiency figures of one server at one worker.
#[derive(Default)]
struct Efficiency {
    /// Server CPU seconds per million messages at the fixed rate (median).
    cpu_per_million: f64,
    /// Messages per second actually echoed at the fixed rate (median).
    achieved: f64,
    /// p99 at the fixed rate, µs (median).
    p99: f64,
    syscalls_per_msg: f64,
    /// The three most frequent syscalls and their counts.
    top_syscalls: String,
    rss_per_idle: f64,
}

fn measure_efficiency(cfg: &Config, bin: &Path, load_cpu: usize) -> BTreeMap<Server, Efficiency> {
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
fn parse_strace(summary: &str) -> (f64, String) {
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
fn idle_rss(server: Server, bin: &Path, n: usize) -> f64 {
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

/// The machine, for the report: CPU model, CPU count, memory, kernel.
fn machine(cpus: usize) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpus} × {model}, {mem_gib:.0} GiB RAM, Linux {}",
        kernel.trim()
    )
}

fn report(
    cfg: &Config,
    samples: &BTreeMap<Key, Vec<Sample>>,
    worker_counts: &[usize],
    cpus: usize,
    load_cpu: usize,
    efficiency: Option<&BTreeMap<Server, Efficiency>>,
) -> String {
    let med = |k: &Key, f: fn(&Sample) -> f64| median(samples[k].iter().map(f).collect());
    let mut md = String::new();
    let w = &mut md;
    writeln!(w, "# Echo benchmark matrix\n").unwrap();
    writeln!(
        w,
        "Generated by `benches/run-matrix.sh`; every figure below comes from that run.\n"
    )
    .unwrap();
    writeln!(w, "- Machine: {}.", machine(cpus)).unwrap();
    writeln!(
        w,
        "- Servers on CPUs 0..workers, load generator (`ringlet-load`, one io_uring worker) \
         pinned to CPU {load_cpu}. With all workers on a {cpus}-CPU machine the server's last \
         worker shares that CPU with the load generator."
    )
    .unwrap();
    writeln!(
        w,
        "- Each cell: the three servers interleaved (A B C A B C ...), {} repetitions of {} s \
         after 0.5 s of warm-up, medians. Every echoed byte is verified.",
        cfg.reps, cfg.duration
    )
    .unwrap();
    writeln!(
        w,
        "- Ratios: ringlet msgs/s ÷ tokio msgs/s within each repetition (the runs of a \
         repetition are back to back, so slow drift of the machine cancels), median over \
         repetitions; above 1.00x ringlet is faster. The msgs/s columns are each server's \
         own median, so their quotient can differ from the paired ratio."
    )
    .unwrap();
    writeln!(
        w,
        "- CPU columns: share of one core used during the run by the server (all its threads) \
         and by the load generator; a server near 100% at one worker is the bottleneck, so \
         the load generator is not. Server CPU µs/msg: the server's CPU time over the run ÷ \
         messages echoed (warm-up included): how much of a core each message costs.\n"
    )
    .unwrap();
    writeln!(w, "## Throughput and latency\n").unwrap();
    writeln!(
        w,
        "| workers | size | conns | ringlet msgs/s | tokio ct msgs/s | tokio mt msgs/s | vs ct | vs mt | p99 µs r / ct / mt | server CPU r / ct / mt | server CPU µs/msg r / ct / mt | load CPU r / ct / mt | errors |"
    )
    .unwrap();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for &workers in worker_counts {
        for &size in &cfg.sizes {
            for &c in &cfg.conns {
                let k = |s| (workers, size, c, s);
                let each = |f: fn(&Sample) -> f64| Server::ALL.map(|s| med(&k(s), f));
                let [r, ct, mt] = each(|s| s.rate);
                // Ratios pair the runs of one repetition (run back to back), so drift
                // of the machine between repetitions cancels out.
                let paired = |other: Server| {
                    let (a, b) = (&samples[&k(Server::Ringlet)], &samples[&k(other)]);
                    median(a.iter().zip(b).map(|(a, b)| a.rate / b.rate).collect())
                };
                let p99 = each(|s| s.p99);
                let scpu = each(|s| s.server_cpu * 100.0);
                let per_msg = each(|s| s.server_cpu_secs / s.total * 1e6);
                let lcpu = each(|s| s.load_cpu * 100.0);
                let errors: f64 = Server::ALL
                    .iter()
                    .flat_map(|s| samples[&k(*s)].iter().map(|x| x.errors))
                    .sum();
                writeln!(
                    w,
                    "| {workers} | {} | {c} | {r:.0} | {ct:.0} | {mt:.0} | {:.2}x | {:.2}x | {:.0} / {:.0} / {:.0} | {:.0}% / {:.0}% / {:.0}% | {:.2} / {:.2} / {:.2} | {:.0}% / {:.0}% / {:.0}% | {errors} |",
                    size_name(size),
                    paired(Server::TokioCurrent),
                    paired(Server::TokioMulti),
                    p99[0],
                    p99[1],
                    p99[2],
                    scpu[0],
                    scpu[1],
                    scpu[2],
                    per_msg[0],
                    per_msg[1],
                    per_msg[2],
                    lcpu[0],
                    lcpu[1],
                    lcpu[2],
                )
                .unwrap();
            }
        }
    }
    if let Some(eff) = efficiency {
        writeln!(w, "\n## Efficiency (one server worker on CPU 0)\n").unwrap();
        writeln!(
            w,
            "- CPU per message: 50 connections of 64 B at a fixed offered load of {:.0} msgs/s for \
             3 s, server CPU time (all threads, /proc/PID/task/*/schedstat) ÷ messages echoed; \
             {} interleaved repetitions, medians.",
            cfg.rate, cfg.reps
        )
        .unwrap();
        writeln!(
            w,
            "- Syscalls per message: `strace -c -f` on the server over 2 s of 50 connections \
             of 64 B (closed loop, so the traced server runs slower than above), all syscalls \
             of the process ÷ messages echoed, connection setup included."
        )
        .unwrap();
        writeln!(
            w,
            "- RSS per idle connection: growth of the server's VmRSS with {} connections that \
             each echoed one byte, ÷ {}.",
            cfg.idle, cfg.idle
        )
        .unwrap();
        writeln!(
            w,
            "- `ringlet --coalesce-us 200`: the same echo server with completion coalescing \
             (`Builder::coalesce_completions(32, 200 µs)`): an idle worker wakes for 32 \
             completions or 200 µs after the first, trading latency for fewer wake-ups.\n"
        )
        .unwrap();
        writeln!(
            w,
            "| server | CPU s per million msgs | vs tokio ct | msgs/s achieved | p99 µs | syscalls / msg | most frequent syscalls | RSS per idle conn |"
        )
        .unwrap();
        writeln!(w, "|---|---|---|---|---|---|---|---|").unwrap();
        let base = eff[&Server::TokioCurrent].cpu_per_million;
        for (server, e) in eff {
            writeln!(
                w,
                "| {} | {:.2} | {:.2}x | {:.0} | {:.0} | {:.3} | {} | {:.0} B |",
                server.name(),
                e.cpu_per_million,
                e.cpu_per_million / base,
                e.achieved,
                e.p99,
                e.syscalls_per_msg,
                e.top_syscalls,
                e.rss_per_idle
            )
            .unwrap();
        }
    }
    writeln!(
        w,
        "\n![echo throughput against connections]({})",
        cfg.svg.file_name().unwrap().to_string_lossy()
    )
    .unwrap();
    md
}

fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Throughput against connections at `workers`, one panel per message size, one line per
/// server.
fn chart(
    samples: &BTreeMap<Key, Vec<Sample>>,
    workers: usize,
    sizes: &[usize],
    conns: &[usize],
) -> String {
    let (pw, h, left, bottom) = (420.0, 400.0, 70.0, 50.0);
    let w = pw * sizes.len() as f64;
    let rate = |s: Server, size: usize, c: usize| {
        median(
            samples[&(workers, size, c, s)]
                .iter()
                .map(|x| x.rate)
                .collect(),
        )
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (panel, &size) in sizes.iter().enumerate() {
        let x0 = pw * panel as f64;
        let max = Server::ALL
            .iter()
            .flat_map(|&s| conns.iter().map(move |&c| rate(s, size, c)))
            .fold(1.0, f64::max)
            * 1.15;
        let x =
            |i: usize| x0 + left + (pw - left - 20.0) * i as f64 / (conns.len().max(2) - 1) as f64;
        let y = |v: f64| h - bottom - (h - bottom - 30.0) * v / max;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"16\" text-anchor=\"middle\">Echo, {} messages, {workers} server worker(s)</text>\n\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
             <line x1=\"{}\" y1=\"30\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n",
            x0 + pw / 2.0,
            size_name(size),
            x0 + left,
            h - bottom,
            x0 + pw - 20.0,
            h - bottom,
            x0 + left,
            x0 + left,
            h - bottom
        );
        for (i, c) in conns.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{c}</text>",
                x(i),
                h - bottom + 16.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">connections</text>",
            x0 + pw / 2.0,
            h - 14.0
        );
        for t in 0..=4 {
            let v = max * t as f64 / 4.0;
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0}k/s</text>",
                x0 + left - 6.0,
                y(v) + 4.0,
                v / 1000.0
            );
        }
        for (n, (server, color)) in Server::ALL
            .iter()
            .zip(["#d62728", "#1f77b4", "#7f7f7f"])
            .enumerate()
        {
            let points: Vec<String> = conns
                .iter()
                .enumerate()
                .map(|(i, &c)| format!("{:.1},{:.1}", x(i), y(rate(*server, size, c))))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n\
                 <text x=\"{}\" y=\"{}\" fill=\"{color}\">{}</text>",
                points.join(" "),
                x0 + left + 10.0,
                46.0 + 16.0 * n as f64,
                server.name()
            );
        }
    }
    svg + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::parse_strace;

    #[test]
    fn strace_summary_is_parsed() {
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
