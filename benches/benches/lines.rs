//! A line protocol's read side, ringlet against tokio: a client on CPU 1 sends a million
//! 40-byte lines over loopback TCP as fast as it can; a server on CPU 0 takes them apart
//! line by line (counting lines and bytes) until EOF. Time from accept to EOF.
//!
//! - ringlet `BufReader::lines` and `FramedRead` + `LinesCodec` (owned buffers);
//! - ringlet `FramedRecv` + `LinesCodec` (decoded out of a buffer pool);
//! - tokio `BufReader::lines` and tokio-util `FramedRead` + `LinesCodec`, on a
//!   current-thread runtime.
//!
//! Prints lines per second for each (median of 7 runs) and the ratio to tokio-util's
//! `FramedRead` + `LinesCodec` (above 1.0: faster). Rerun with
//! `cargo bench -p ringlet-benches --bench lines`.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use ringlet_benches::{full_run, median, pin_to_cpu};

const LINE: &[u8] = b"line 000000 lorem ipsum dolor sit amet\r\n";
const RUNS: usize = 7;

/// What one server run counted: lines, and bytes in them.
type Count = (u64, u64);

fn payload(lines: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(lines * LINE.len());
    for i in 0..lines {
        let mut line = LINE.to_vec();
        line[5..11].copy_from_slice(format!("{:06}", i % 1_000_000).as_bytes());
        all.extend_from_slice(&line);
    }
    all
}

/// Sends `payload` to `addr` from a thread on CPU 1, then closes.
fn client(addr: SocketAddr, payload: &'static [u8]) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        pin_to_cpu(1);
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        for chunk in payload.chunks(64 << 10) {
            stream.write_all(chunk).expect("send");
        }
    })
}

fn ringlet_run<F, Fut>(payload: &'static [u8], read: F) -> (Duration, Count)
where
    F: Fn(ringlet::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Count> + 'static,
{
    let rt = ringlet::Runtime::builder()
        .workers(1)
        .pin_cores(true)
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = ringlet::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let sender = client(listener.local_addr().expect("addr"), payload);
        let (stream, _) = listener.accept().await.expect("accept");
        let start = Instant::now();
        let count = read(stream).await;
        let elapsed = start.elapsed();
        sender.join().expect("client");
        (elapsed, count)
    })
}

fn tokio_run<F>(payload: &'static [u8], read: F) -> (Duration, Count)
where
    F: FnOnce(tokio::net::TcpStream) -> Pin<Box<dyn Future<Output = Count>>> + Send + 'static,
{
    std::thread::spawn(move || {
        pin_to_cpu(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let sender = client(listener.local_addr().expect("addr"), payload);
            let (stream, _) = listener.accept().await.expect("accept");
            let start = Instant::now();
            let count = read(stream).await;
            let elapsed = start.elapsed();
            sender.join().expect("client");
            (elapsed, count)
        })
    })
    .join()
    .expect("tokio thread")
}

fn ringlet_lines(payload: &'static [u8]) -> (Duration, Count) {
    ringlet_run(payload, |stream| async move {
        let mut lines = ringlet::io::BufReader::new(stream).lines();
        let mut count = (0, 0);
        while let Some(line) = lines.next_line().await.expect("read") {
            count = (count.0 + 1, count.1 + line.len() as u64);
        }
        count
    })
}

fn ringlet_framed(payload: &'static [u8]) -> (Duration, Count) {
    ringlet_run(payload, |stream| async move {
        let codec = ringlet::io::LinesCodec::new();
        let mut lines = ringlet::io::FramedRead::new(stream, codec);
        let mut count = (0, 0);
        while let Some(line) = lines.next().await {
            count = (count.0 + 1, count.1 + line.expect("read").len() as u64);
        }
        count
    })
}

fn ringlet_framed_recv(payload: &'static [u8]) -> (Duration, Count) {
    ringlet_run(payload, |stream| async move {
        let pool = ringlet::net::BufRing::new(256, 4096).expect("pool");
        let codec = ringlet::io::LinesCodec::new();
        let mut lines = ringlet::io::FramedRecv::new(stream.recv_stream(&pool), codec);
        let mut count = (0, 0);
        while let Some(line) = lines.next().await {
            count = (count.0 + 1, count.1 + line.expect("read").len() as u64);
        }
        count
    })
}

fn tokio_lines(payload: &'static [u8]) -> (Duration, Count) {
    tokio_run(payload, |stream| {
        Box::pin(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stream).lines();
            let mut count = (0, 0);
            while let Some(line) = lines.next_line().await.expect("read") {
                count = (count.0 + 1, count.1 + line.len() as u64);
            }
            count
        })
    })
}

fn tokio_framed(payload: &'static [u8]) -> (Duration, Count) {
    tokio_run(payload, |stream| {
        Box::pin(async move {
            use futures_core::Stream;
            let codec = tokio_util::codec::LinesCodec::new();
            let mut lines = tokio_util::codec::FramedRead::new(stream, codec);
            let mut count = (0, 0);
            while let Some(line) =
                std::future::poll_fn(|cx| Pin::new(&mut lines).poll_next(cx)).await
            {
                count = (count.0 + 1, count.1 + line.expect("read").len() as u64);
            }
            count
        })
    })
}

fn main() {
    let lines = if full_run() { 1_000_000 } else { 2_000 };
    let payload: &'static [u8] = Box::leak(payload(lines).into_boxed_slice());
    let expected = (lines as u64, (lines * (LINE.len() - 2)) as u64);
    let runs = if full_run() { RUNS } else { 1 };
    type Run = fn(&'static [u8]) -> (Duration, Count);
    let variants: [(&str, Run); 5] = [
        ("tokio-util FramedRead+LinesCodec", tokio_framed),
        ("tokio BufReader::lines", tokio_lines),
        ("ringlet BufReader::lines", ringlet_lines),
        ("ringlet FramedRead+LinesCodec", ringlet_framed),
        ("ringlet FramedRecv+LinesCodec", ringlet_framed_recv),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    // Interleaved: each round runs every variant once.
    for _ in 0..runs {
        for (i, (name, run)) in variants.iter().enumerate() {
            let (elapsed, count) = run(payload);
            assert_eq!(count, expected, "{name}: every line, whole");
            times[i].push(elapsed);
        }
    }
    println!(
        "{lines} lines of {} bytes over loopback TCP, median of {runs} runs",
        LINE.len()
    );
    let baseline = median(times[0].clone());
    for ((name, _), times) in variants.iter().zip(times) {
        let time = median(times);
        println!(
            "{name:<34} {:>6.2} M lines/s  {:>7.1} ms  ratio {:.2}",
            lines as f64 / time.as_secs_f64() / 1e6,
            time.as_secs_f64() * 1e3,
            baseline.as_secs_f64() / time.as_secs_f64()
        );
    }
}
