//! Echo throughput, owned buffers against the buffer ring: a measurement to choose the
//! echo server's default receive mode. Run it with
//! `cargo test --release -p ringlet-examples --test recv_modes -- --ignored --nocapture`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ringlet::net::TcpStream;

const CONNECTIONS: usize = 50;
const MESSAGE: usize = 64;
const RUN: Duration = Duration::from_secs(3);

/// Round trips per second against an echo server started with `args`, the server pinned
/// to CPU 0 and this client (one ringlet worker) to CPU 1.
fn round_trips_per_second(args: &[&str]) -> f64 {
    let mut child = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_echo-server")])
        .args(["--addr", "127.0.0.1:0", "--workers", "1"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskset (util-linux) runs the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
    let total: u64 = rt.block_on(async move {
        let deadline = Instant::now() + RUN;
        let clients = (0..CONNECTIONS).map(|_| async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = vec![7u8; MESSAGE];
            let mut n = 0u64;
            while Instant::now() < deadline {
                let (r, b) = stream.write_all(buf).await;
                r.unwrap();
                let (r, b) = stream.read_exact(b).await;
                r.unwrap();
                buf = b;
                n += 1;
            }
            n
        });
        ringlet::task::gather(clients).await.into_iter().sum()
    });
    let _ = child.kill();
    let _ = child.wait();
    total as f64 / RUN.as_secs_f64()
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn owned_against_buffer_ring() {
    // The client runs on this thread: keep it off the server's CPU.
    let pinned = Command::new("taskset")
        .args(["-cp", "1", &std::process::id().to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(pinned, "taskset could not pin the client");
    let (mut owned, mut ring) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        owned.push(round_trips_per_second(&["--recv", "owned"]));
        ring.push(round_trips_per_second(&["--recv", "buffer-ring"]));
    }
    owned.sort_by(f64::total_cmp);
    ring.sort_by(f64::total_cmp);
    println!("{CONNECTIONS} connections, {MESSAGE} B ping-pong, median of 3 interleaved runs:");
    println!("  owned:       {:>9.0} round trips/s", owned[1]);
    println!(
        "  buffer-ring: {:>9.0} round trips/s ({:.2}x owned)",
        ring[1],
        ring[1] / owned[1]
    );
}
