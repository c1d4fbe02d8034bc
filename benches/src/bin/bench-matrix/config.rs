//! bench-matrix's command line.

use std::path::PathBuf;

use clap::Parser;

/// Runs the echo benchmark matrix and writes the report (docs/benchmarks-matrix.md) and
/// its charts.
#[derive(Parser, Debug)]
#[command(name = "bench-matrix", version)]
pub(crate) struct Config {
    /// The Markdown report.
    #[arg(long, value_name = "PATH", default_value = "docs/benchmarks-matrix.md")]
    pub(crate) out: PathBuf,
    /// The throughput chart (SVG).
    #[arg(long, value_name = "PATH", default_value = "docs/echo-throughput.svg")]
    pub(crate) svg: PathBuf,
    /// The server-CPU-per-message chart (SVG).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "docs/echo-cpu-per-message.svg"
    )]
    pub(crate) cpu_svg: PathBuf,
    /// Repetitions of every cell, servers interleaved.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) reps: u16,
    /// Seconds of load per run.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub(crate) duration: f64,
    /// Connection counts, comma-separated.
    #[arg(
        long = "connections",
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "1,50,500,2000"
    )]
    pub(crate) conns: Vec<usize>,
    /// Message sizes in bytes, comma-separated.
    #[arg(
        long,
        value_name = "BYTES,...",
        value_delimiter = ',',
        default_value = "64,4096"
    )]
    pub(crate) sizes: Vec<usize>,
    /// Offered load of the efficiency runs, messages per second.
    #[arg(long, value_name = "MSGS_PER_SEC", default_value_t = 50_000.0)]
    pub(crate) rate: f64,
    /// Idle connections for the memory measurement.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(crate) idle: usize,
    /// Skip the efficiency measurements (CPU per message, syscalls, memory).
    #[arg(long = "no-efficiency", action = clap::ArgAction::SetFalse)]
    pub(crate) efficiency: bool,
}
