//! docs/diagnosing.md's three cases, as the page shows them: a task that blocks its
//! worker named by the stall detector, a buffer pool that runs dry seen in the counters,
//! and one busy worker beside an idle one.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ServerProcess;

#[test]
fn the_page_shows_the_stalls_example_verbatim() {
    common::assert_shows_verbatim("docs/diagnosing.md", &["examples/src/bin/stalls.rs".into()]);
}

#[test]
fn the_stall_detector_names_the_blocking_task_and_spawn_blocking_fixes_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_stalls")).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = stderr
        .lines()
        .find(|l| l.contains("\"report\""))
        .unwrap_or_else(|| panic!("no stall report: {stderr}"));
    assert!(report.starts_with("ringlet: worker 0: task "), "{report}");
    assert!(
        report.contains("(spawned at examples/src/bin/stalls.rs:24:"),
        "{report}"
    );
    assert!(report.contains("without yielding"), "{report}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let worst: u64 = stdout
        .trim()
        .strip_prefix("worst 1 ms tick: ")
        .and_then(|s| s.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .parse()
        .unwrap();
    assert!(
        worst >= 45,
        "the ticker waited out the 50 ms block: {worst} ms"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_stalls"))
        .arg("--fixed")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("\"report\""), "{stderr}");
}

/// Reads `--stats` lines until `found` accepts one (10 s at most).
fn stats_until(server: &mut ServerProcess, mut found: impl FnMut(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no such stats line");
        let mut line = String::new();
        assert!(server.stdout.read_line(&mut line).unwrap() > 0);
        if found(line.trim_end()) {
            return;
        }
    }
}

/// The value of `key` in one part of a stats line.
fn value(part: &str, key: &str) -> f64 {
    part.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} in {part:?}"))
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn a_two_buffer_pool_runs_dry_in_the_stats_and_loses_nothing() {
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_echo-server"),
        &[
            "--workers",
            "1",
            "--pool-buffers",
            "2",
            "--buffer-size",
            "64",
            "--stats",
            "0.1",
        ],
        Stdio::null(),
    );
    let mut client = TcpStream::connect(server.addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let payload: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let mut w = client.try_clone().unwrap();
        let payload = payload.clone();
        std::thread::spawn(move || w.write_all(&payload).unwrap())
    };
    let mut back = vec![0u8; payload.len()];
    client.read_exact(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == payload, "echo differs");
    let mut dry = 0.0;
    stats_until(&mut server, |line| {
        dry += value(line, "dry/s");
        dry > 0.0
    });
}

#[test]
fn one_connection_keeps_one_worker_busy_and_leaves_the_other_idle() {
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_echo-server"),
        &["--workers", "2", "--stats", "0.1"],
        Stdio::null(),
    );
    let mut client = TcpStream::connect(server.addr).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pinger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client.write_all(&[1u8; 64]).unwrap();
                let mut back = [0u8; 64];
                client.read_exact(&mut back).unwrap();
            }
        })
    };
    stats_until(&mut server, |line| {
        let parts: Vec<&str> = line.split(" | ").collect();
        let (w0, w1) = (parts[1], parts[2]);
        let (busy, idle) = match value(w0, "conns") == 1.0 {
            true => (w0, w1),
            false => (w1, w0),
        };
        value(busy, "conns") == 1.0
            && value(busy, "msgs/s") > 0.0
            && value(idle, "conns") == 0.0
            && value(idle, "msgs/s") == 0.0
            && value(idle, "parked") > 95.0
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    pinger.join().unwrap();
}
