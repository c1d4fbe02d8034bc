//! The echo server under load in-process, and the echo-server binary as a user runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ringlet::net::{TcpListener, TcpStream as RingletStream};
use ringlet_examples::echo;

mod common;

use common::{Rng, ServerProcess, raise_fd_limit};

fn start_in_process_server() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        ringlet::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            echo::serve(listener, 4096).await
        })
        .unwrap()
        .unwrap();
    });
    rx.recv().unwrap()
}

#[test]
fn two_hundred_clients_echo_a_thousand_random_messages_each() {
    const CLIENTS: u64 = 200;
    const MESSAGES: usize = 1000;
    let addr = start_in_process_server();
    let total: u64 = ringlet::run(async move {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                ringlet::spawn(async move {
                    let stream = RingletStream::connect(addr).await?;
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1));
                    let mut echoed = 0u64;
                    let mut reply = vec![0u8; 0];
                    for _ in 0..MESSAGES {
                        let len = 1 + (rng.next() % 2048) as usize;
                        let seed = rng.next();
                        let msg: Vec<u8> = (0..len)
                            .map(|i| (seed >> (i % 57)) as u8 ^ i as u8)
                            .collect();
                        let (res, msg) = stream.write_all(msg).await;
                        res?;
                        reply.clear();
                        reply.reserve_exact(len);
                        let (res, back) = stream.read_exact(reply.slice_to(len)).await;
                        res?;
                        reply = back.into_inner();
                        assert_eq!(reply[..len], msg[..], "client {id}: corrupted echo");
                        echoed += len as u64;
                    }
                    Ok::<u64, std::io::Error>(echoed)
                })
            })
            .collect();
        let mut total = 0;
        for c in clients {
            total += c.await.unwrap().unwrap();
        }
        total
    })
    .unwrap();
    assert!(total > CLIENTS * MESSAGES as u64, "every message echoed");
}

#[test]
fn a_tiny_shared_pool_serves_many_clients_without_losing_bytes() {
    // 16 buffers of 512 bytes for 50 clients sending up to 4 KiB at a time: the pool runs
    // dry constantly (ENOBUFS), receives re-arm as buffers return, and every byte must
    // still come back in order.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
        rt.block_on(async move {
            let pool = ringlet::net::BufRing::new(16, 512).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let pool = pool.clone();
                drop(ringlet::spawn(async move {
                    echo::echo_pooled(&stream, &pool).await.unwrap();
                }));
            }
        });
    });
    let addr: SocketAddr = rx.recv().unwrap();
    let clients: Vec<_> = (0..50u64)
        .map(|id| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut rng = Rng(0x51_7cc1_b727_220a ^ (id + 1));
                for _ in 0..40 {
                    let len = 1 + (rng.next() % 4096) as usize;
                    let seed = rng.next();
                    let msg: Vec<u8> = (0..len)
                        .map(|i| (seed >> (i % 57)) as u8 ^ i as u8)
                        .collect();
                    stream.write_all(&msg).unwrap();
                    let mut back = vec![0u8; len];
                    stream.read_exact(&mut back).unwrap();
                    assert!(back == msg, "client {id}: corrupted echo");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

/// A slice of the first `len` bytes of a vector's capacity.
trait SliceTo: Sized {
    fn slice_to(self, len: usize) -> ringlet::Slice<Self>;
}

impl SliceTo for Vec<u8> {
    fn slice_to(self, len: usize) -> ringlet::Slice<Self> {
        ringlet::IoBuf::slice(self, ..len)
    }
}

/// The echo-server binary, killed when dropped; stderr lines arrive on a channel.
struct Server {
    process: ServerProcess,
    addr: SocketAddr,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut process =
            ServerProcess::start(env!("CARGO_BIN_EXE_echo-server"), extra, Stdio::piped());
        let (tx, stderr) = mpsc::channel();
        let err = process.child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            addr: process.addr,
            process,
            stderr,
        }
    }

    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("no log line containing {needle:?}: {e}"),
            }
        }
    }
}

#[test]
fn half_close_gets_everything_echoed_then_the_server_closes() {
    half_close_round_trip(&["--buffer-size", "1000", "--recv", "owned"]);
}

#[test]
fn half_close_through_the_buffer_ring() {
    half_close_round_trip(&["--buffer-size", "1000", "--recv", "buffer-ring"]);
}

fn half_close_round_trip(args: &[&str]) {
    let server = Server::start(args);
    let mut client = TcpStream::connect(server.addr).unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let mut w = client.try_clone().unwrap();
        let payload = payload.clone();
        std::thread::spawn(move || {
            w.write_all(&payload).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        })
    };
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert_eq!(back.len(), payload.len());
    assert!(back == payload, "echoed bytes differ");
}

#[test]
fn a_peer_reset_is_logged_and_the_server_carries_on() {
    let server = Server::start(&[]);
    {
        let mut doomed = TcpStream::connect(server.addr).unwrap();
        doomed.write_all(b"about to vanish").unwrap();
        let mut b = [0u8; 15];
        doomed.read_exact(&mut b).unwrap();
        doomed.write_all(b"more").unwrap();
        ringlet::net::TcpStream::from(doomed)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    } // dropped with linger 0: RST
    let line = server.wait_for_log("reset by peer");
    assert!(line.starts_with("echo-server: 127.0.0.1:"), "{line}");
    let mut fine = TcpStream::connect(server.addr).unwrap();
    fine.write_all(b"still serving").unwrap();
    let mut b = [0u8; 13];
    fine.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"still serving");
}

#[test]
fn many_concurrent_connections_are_served_by_every_worker() {
    raise_fd_limit(5000);
    many_connections(&["--workers", "2", "--recv", "owned"]);
}

#[test]
fn many_concurrent_connections_through_the_buffer_ring() {
    raise_fd_limit(5000);
    many_connections(&["--workers", "2", "--recv", "buffer-ring"]);
}

fn many_connections(args: &[&str]) {
    // SO_REUSEPORT hashes connections over both workers' listeners: a worker that did not
    // serve would leave about half of them unanswered (caught by the read timeout).
    let server = Server::start(args);
    server.wait_for_log("2 workers");
    let conns: Vec<TcpStream> = (0..2000)
        .map(|_| {
            let c = TcpStream::connect(server.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c
        })
        .collect();
    for (i, mut c) in conns.iter().enumerate() {
        c.write_all(&(i as u32).to_le_bytes()).unwrap();
    }
    for (i, mut c) in conns.iter().enumerate() {
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), i as u32);
    }
}

#[test]
fn address_in_use_exits_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .args(["--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("address already in use"), "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .args(["--buffer-size", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value '0' for '--buffer-size <BYTES>': is not a positive number"),
        "{stderr}"
    );
    assert!(stderr.contains("--help"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .args(["--workers", "zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value 'zero' for '--workers <N>'"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--buffer-size",
        "--workers",
        "--recv",
        "--pool-buffers",
        "--coalesce-us",
        "--stats",
    ] {
        assert!(
            stdout.contains(flag),
            "{flag} missing from --help: {stdout}"
        );
    }
}

#[test]
fn sigint_mid_stream_stops_accepting_lets_clients_finish_and_exits_0() {
    stop_mid_stream(libc::SIGINT);
}

/// SIGTERM (how systemd, Docker and Kubernetes stop a service) stops it the same way.
#[test]
fn sigterm_mid_stream_stops_accepting_lets_clients_finish_and_exits_0() {
    stop_mid_stream(libc::SIGTERM);
}

/// `signal` mid-stream: the server stops accepting, lets its clients finish, exits 0.
fn stop_mid_stream(signal: libc::c_int) {
    let mut server = Server::start(&["--workers", "2"]);
    server.wait_for_log("2 workers");
    let payload: Arc<Vec<u8>> = Arc::new((0..2_000_000u32).map(|i| (i % 253) as u8).collect());
    let (halfway_tx, halfway_rx) = mpsc::channel();
    let mut go = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..8 {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        go.push(go_tx);
        let mut writer = stream.try_clone().unwrap();
        let (payload_w, halfway) = (payload.clone(), halfway_tx.clone());
        let write = std::thread::spawn(move || {
            let half = payload_w.len() / 2;
            writer.write_all(&payload_w[..half]).unwrap();
            halfway.send(()).unwrap();
            go_rx.recv().unwrap(); // the server has been told to stop meanwhile
            writer.write_all(&payload_w[half..]).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut reader = stream;
        let read = std::thread::spawn(move || {
            let mut back = Vec::new();
            reader.read_to_end(&mut back).unwrap();
            back
        });
        clients.push((write, read));
    }
    for _ in 0..8 {
        halfway_rx.recv().unwrap();
    }
    let pid = server.process.pid() as i32;
    // SAFETY: kill(2) takes no pointers; the pid is our own child's.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0);
    server.wait_for_log("no longer accepting");
    // New connections are refused once every worker closed its listener.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(server.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in go {
        g.send(()).unwrap();
    }
    for (write, read) in clients {
        write.join().unwrap();
        let back = read.join().unwrap();
        assert_eq!(
            back.len(),
            payload.len(),
            "a client lost bytes in the shutdown"
        );
        assert!(back == *payload);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.process.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after its clients left"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    server.wait_for_log("stopped");
}

#[test]
fn features_prints_the_kernels_offer_and_exits() {
    let out = Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .arg("--features")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("io_uring on Linux "), "{stdout}");
    for name in [
        "IORING_SETUP_DEFER_TASKRUN",
        "IORING_OP_MSG_RING",
        "IORING_OP_SEND_ZC",
    ] {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
}
