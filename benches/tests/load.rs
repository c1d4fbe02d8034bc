//! The load generator checks every byte: it passes an honest echo server and catches one
//! that alters a byte.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

/// A thread-per-connection echo server that flips one byte every `corrupt_every` bytes
/// (never, if 0).
fn echo_server(corrupt_every: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut total = 0usize;
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if corrupt_every > 0 {
                        for (i, b) in buf[..n].iter_mut().enumerate() {
                            if (total + i) % corrupt_every == corrupt_every - 1 {
                                *b ^= 0x40;
                            }
                        }
                    }
                    total += n;
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn load(addr: SocketAddr) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringlet-load"))
        .args(["--addr", &addr.to_string()])
        .args([
            "--connections",
            "4",
            "--size",
            "128",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
        ])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn an_honest_server_passes() {
    let (ok, report) = load(echo_server(0));
    assert!(ok, "{report}");
    assert!(
        report.contains("corrupt=0") && report.contains("errors=0"),
        "{report}"
    );
    let rate: f64 = report
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("messages_per_sec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate > 0.0, "{report}");
}

#[test]
fn a_corrupting_server_is_caught() {
    let (ok, report) = load(echo_server(1000));
    assert!(!ok, "the run must fail: {report}");
    assert!(!report.contains("corrupt=0"), "{report}");
}
