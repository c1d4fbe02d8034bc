//! Connection churn against the echo-server binary: waves of connections opened, used
//! and closed in every way a peer on the internet closes them — politely, half-closed,
//! reset mid-write, silent, full of garbage — and slow readers that must not make the
//! server buffer without bound. Afterwards the server's descriptor count is back at its
//! baseline and its RSS has not grown.
//!
//! A wave is `RINGLET_CHURN_CONNS` connections (default 10,000) of those kinds, from four
//! client threads, then half as many again held open all at once; `RINGLET_CHURN_WAVES`
//! waves (default 2) follow a warm-up wave.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

mod common;

use common::{Rng, ServerProcess, raise_fd_limit};

struct Server(ServerProcess);

impl std::ops::Deref for Server {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl Server {
    fn start(mode: &str) -> Server {
        // Every reset is logged; thousands of lines are not the point here.
        Server(ServerProcess::start(
            env!("CARGO_BIN_EXE_echo-server"),
            &["--workers", "1", "--recv", mode],
            Stdio::null(),
        ))
    }

    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Waits until the server holds `fds` descriptors (it closes asynchronously).
    fn settle_to(&self, fds: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.fds();
            if now == fds || Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn assert_alive(&mut self) {
        assert!(
            self.0.child.try_wait().unwrap().is_none(),
            "the server exited"
        );
    }
}

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: SO_LINGER on an open socket, with a live `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(stream);
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// One connection's life, chosen by `n`.
fn churn_one(addr: SocketAddr, n: u64) {
    let mut rng = Rng(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    match n % 6 {
        // A request and its whole echo.
        0 => {
            let mut s = connect(addr);
            let msg = {
                let len = 1 + rng.below(16_384);
                rng.bytes(len)
            };
            s.write_all(&msg).unwrap();
            let mut back = vec![0u8; msg.len()];
            s.read_exact(&mut back).unwrap();
            assert!(back == msg, "echo differs");
        }
        // Half-close: everything sent is echoed, then the server closes.
        1 => {
            let mut s = connect(addr);
            let msg = {
                let len = 1 + rng.below(4096);
                rng.bytes(len)
            };
            s.write_all(&msg).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).unwrap();
            assert!(back == msg, "half-closed echo differs");
        }
        // Reset while the server is writing back a large echo.
        2 => {
            let mut s = connect(addr);
            let msg = rng.bytes(64 << 10);
            s.write_all(&msg).unwrap();
            let mut first = [0u8; 1];
            s.read_exact(&mut first).unwrap();
            reset(s);
        }
        // Garbage, then gone without reading the echo.
        3 => {
            let mut s = connect(addr);
            let len = 1 + rng.below(2048);
            let _ = s.write_all(&rng.bytes(len));
            drop(s);
        }
        // Connects and closes without a byte.
        4 => drop(connect(addr)),
        // Connects and resets without a byte.
        _ => reset(connect(addr)),
    }
}

/// `conns` connections, on four client threads, each holding up to 32 open at once.
fn wave(addr: SocketAddr, conns: usize, base: u64) {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for i in (t..conns as u64).step_by(4) {
                    churn_one(addr, base + i);
                    // Some stay open a while, so closes and opens interleave.
                    if i % 7 == 0 {
                        held.push(connect(addr));
                        if held.len() > 32 {
                            let s = held.remove(0);
                            if i % 2 == 0 { reset(s) } else { drop(s) }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Then half as many held open at once, each used, closed half by reset.
    let mut burst: Vec<TcpStream> = (0..conns / 2)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"?").unwrap();
            s
        })
        .collect();
    for s in &mut burst {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"?");
    }
    for (i, s) in burst.into_iter().enumerate() {
        if i % 2 == 0 { reset(s) } else { drop(s) }
    }
}

#[test]
fn churned_connections_leave_no_descriptor_and_no_memory_behind() {
    raise_fd_limit(12_000);
    let conns = env_or("RINGLET_CHURN_CONNS", 10_000);
    let waves = env_or("RINGLET_CHURN_WAVES", 2);
    for mode in ["buffer-ring", "owned"] {
        let mut server = Server::start(mode);
        // One connection first: the server sets up its Ctrl-C eventfd on its first turn
        // with a connection, once per process.
        churn_one(server.addr, 0);
        std::thread::sleep(Duration::from_millis(200));
        let idle_fds = server.fds();
        let rss_idle = server.rss_kib();
        // The warm-up wave brings allocator pools and the ring to their working size.
        wave(server.addr, conns, 0);
        assert_eq!(
            server.settle_to(idle_fds),
            idle_fds,
            "{mode}: fds after warm-up"
        );
        let rss_base = server.rss_kib();
        let started = Instant::now();
        for w in 1..=waves {
            wave(server.addr, conns, (w * conns) as u64);
            server.assert_alive();
        }
        let fds = server.settle_to(idle_fds);
        let rss = server.rss_kib();
        println!(
            "churn ({mode}): {} connections in {:.1} s after a warm-up wave; \
             fds {idle_fds} -> {fds}; RSS {rss_idle} KiB idle, {rss_base} KiB after the \
             warm-up wave, {rss} KiB after the churn",
            (conns + conns / 2) * waves,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(fds, idle_fds, "{mode}: a descriptor leaked");
        // The allocator keeps its high-water mark from the warm-up wave; a leak would
        // grow past it with every wave.
        assert!(
            rss <= rss_base + 2048,
            "{mode}: RSS grew from {rss_base} KiB to {rss} KiB over the churn"
        );
    }
}

#[test]
fn slow_readers_do_not_make_the_server_buffer_without_bound() {
    raise_fd_limit(12_000);
    const CLIENTS: usize = 64;
    const BYTES: usize = 4 << 20;
    let mut server = Server::start("buffer-ring");
    let rss_base = server.rss_kib();
    // Each client sends 4 MiB and reads nothing for a while: the server's writes block,
    // so it must stop reading; what is in flight sits in socket buffers, not in the heap.
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(server.addr)).collect();
    let writers: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut w = c.try_clone().unwrap();
            std::thread::spawn(move || {
                let msg = Rng(i as u64 + 1).bytes(BYTES);
                w.write_all(&msg).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
                msg
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let rss_stalled = server.rss_kib();
    server.assert_alive();
    // Now read everything back, in full and in order.
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            std::thread::spawn(move || {
                let mut back = Vec::with_capacity(BYTES);
                c.read_to_end(&mut back).unwrap();
                back
            })
        })
        .collect();
    for (w, r) in writers.into_iter().zip(readers) {
        let sent = w.join().unwrap();
        let back = r.join().unwrap();
        assert_eq!(back.len(), sent.len());
        assert!(back == sent, "a slow reader's echo differs");
    }
    let grown = rss_stalled.saturating_sub(rss_base);
    println!(
        "slow readers: {CLIENTS} x {} MiB stalled; server RSS {rss_base} KiB -> {rss_stalled} \
         KiB while stalled",
        BYTES >> 20
    );
    // Bounded: a few KiB per connection, nowhere near the 256 MiB the clients sent.
    assert!(
        grown < 16 << 10,
        "server RSS grew {grown} KiB with {CLIENTS} stalled readers"
    );
}
