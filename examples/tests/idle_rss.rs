//! RSS of the echo server per idle connection, owned buffers against the buffer ring.
//!
//! A measurement, not a pass/fail check; run it with
//! `cargo test --release -p ringlet-examples --test idle_rss -- --ignored --nocapture`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

mod common;

use common::{ServerProcess, raise_fd_limit};
use std::time::Duration;

const CONNECTIONS: usize = 10_000;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Bytes of server RSS per connection, with `CONNECTIONS` idle connections that each
/// echoed one byte (so each has received once).
fn measure(args: &[&str]) -> f64 {
    let mut worker_args = vec!["--workers", "1"];
    worker_args.extend_from_slice(args);
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_echo-server"),
        &worker_args,
        Stdio::null(),
    );
    let addr = server.addr;
    // Warm up: one connection, so one-off allocations are in the baseline.
    let mut warm = TcpStream::connect(addr).unwrap();
    warm.write_all(b"w").unwrap();
    warm.read_exact(&mut [0u8; 1]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(server.pid());
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        c.read_exact(&mut [0u8; 1]).unwrap();
        conns.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(server.pid());
    drop(conns);
    drop(server);
    (after.saturating_sub(before) * 1024) as f64 / CONNECTIONS as f64
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn rss_per_idle_connection() {
    raise_fd_limit(CONNECTIONS as u64 + 100);
    let owned = measure(&["--recv", "owned"]);
    let ring = measure(&["--recv", "buffer-ring"]);
    println!("{CONNECTIONS} idle connections, echo-server RSS per connection:");
    println!("  owned 4 KiB buffers: {owned:>7.0} bytes");
    println!("  buffer ring (512):   {ring:>7.0} bytes");
}
