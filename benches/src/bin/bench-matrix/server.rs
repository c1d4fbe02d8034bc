//! The servers under test: how each is started (pinned, optionally under strace) and
//! what is read from /proc about it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Server {
    Ringlet,
    /// ringlet's echo server waking for batches of completions (efficiency runs only).
    RingletCoalesced,
    /// The no-runtime io_uring loop (`raw-echo`): the floor. One worker only.
    Raw,
    TokioCurrent,
    TokioMulti,
    /// monoio (`benches/peers`): one io_uring runtime per worker thread.
    Monoio,
    /// compio (`benches/peers`): one io_uring runtime per worker thread.
    Compio,
}

impl Server {
    pub(crate) const ALL: [Server; 6] = [
        Server::Ringlet,
        Server::Raw,
        Server::TokioCurrent,
        Server::TokioMulti,
        Server::Monoio,
        Server::Compio,
    ];
    pub(crate) const EFFICIENCY: [Server; 7] = [
        Server::Ringlet,
        Server::RingletCoalesced,
        Server::Raw,
        Server::TokioCurrent,
        Server::TokioMulti,
        Server::Monoio,
        Server::Compio,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Ringlet => "ringlet",
            Server::RingletCoalesced => "ringlet --coalesce-us 200",
            Server::Raw => "raw io_uring loop",
            Server::TokioCurrent => "tokio current-thread",
            Server::TokioMulti => "tokio multi-thread",
            Server::Monoio => "monoio",
            Server::Compio => "compio",
        }
    }

    /// Whether the server runs with `workers` workers (the raw loop has one thread).
    pub(crate) fn runs_with(self, workers: usize) -> bool {
        self != Server::Raw || workers == 1
    }

    /// The servers of the throughput runs at `workers` workers.
    pub(crate) fn at(workers: usize) -> Vec<Server> {
        Server::ALL
            .into_iter()
            .filter(|s| s.runs_with(workers))
            .collect()
    }

    /// The server's own command line (program and arguments).
    pub(crate) fn argv(self, bin: &Path, workers: usize) -> Vec<String> {
        let mut argv = match self {
            Server::Ringlet => vec![bin.join("echo-server").display().to_string()],
            Server::RingletCoalesced => vec![
                bin.join("echo-server").display().to_string(),
                "--coalesce-us".into(),
                "200".into(),
            ],
            Server::Raw => vec![bin.join("raw-echo").display().to_string()],
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
            Server::Monoio => vec![bin.join("monoio-echo").display().to_string()],
            Server::Compio => vec![bin.join("compio-echo").display().to_string()],
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
pub(crate) struct Running {
    pub(crate) child: Child,
    /// The server's pid (a child of `child` when it runs under strace).
    pub(crate) pid: u32,
    pub(crate) addr: String,
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
pub(crate) fn start(
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
pub(crate) fn cpu_secs(pid: u32) -> f64 {
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

pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
