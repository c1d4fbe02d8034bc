//! One run of the load generator against a running server, and what it reported.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::server::{Running, Server, cpu_secs};

/// A cell of the matrix: workers, message size, connections, server.
pub(crate) type Key = (usize, usize, usize, Server);

/// One load-generator run, as it reported it.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Sample {
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) errors: f64,
    pub(crate) total: f64,
    /// Load generator CPU, as a fraction of one core over its whole run.
    pub(crate) load_cpu: f64,
    /// Server CPU over the same run, as a fraction of one core.
    pub(crate) server_cpu: f64,
    /// Server CPU seconds over the run.
    pub(crate) server_cpu_secs: f64,
}

pub(crate) struct Load<'a> {
    pub(crate) bin: &'a Path,
    pub(crate) cpu: usize,
    pub(crate) conns: usize,
    pub(crate) size: usize,
    pub(crate) duration: f64,
    pub(crate) warmup: f64,
    pub(crate) rate: Option<f64>,
}

impl Load<'_> {
    /// Runs the load generator against `server`, measuring the server's CPU meanwhile.
    pub(crate) fn run(&self, server: &Running) -> Sample {
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

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
