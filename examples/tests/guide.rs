//! docs/guide.md's examples: each runs and prints what the guide says, and the guide shows
//! each file exactly as it is.

mod common;

use std::process::Command;

fn run(bin: &str) -> String {
    let out = Command::new(bin).output().unwrap();
    assert!(out.status.success(), "{bin} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hello_prints_its_greeting() {
    assert_eq!(run(env!("CARGO_BIN_EXE_hello")), "hello, ringlet\n");
}

#[test]
fn tasks_gathers_results_and_errors_in_order() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_tasks")),
        "gather: [Ok(30), Err(\"fetch 2 failed\")]\ntask: Ok(10)\noverlapped: true\n"
    );
}

#[test]
fn cancel_runs_the_clean_up_before_reporting() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_cancel")),
        "clean-up: closed database\nthe task was cancelled\n"
    );
}

#[test]
fn wait_for_times_out_and_passes_through() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_wait_for")),
        "timed out: deadline has elapsed\nquick: Ok(42)\n"
    );
}

#[test]
fn lock_serializes_withdrawals() {
    assert_eq!(run(env!("CARGO_BIN_EXE_lock")), "balance: 50\n");
}

#[test]
fn semaphore_caps_downloads_in_flight() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_semaphore")),
        "downloaded 10 files, at most 3 at once\n"
    );
}

#[test]
fn the_guide_shows_each_example_file_verbatim() {
    let mut paths: Vec<String> = [
        "hello",
        "tasks",
        "cancel",
        "wait_for",
        "lock",
        "semaphore",
        "connections",
        "every_core",
        "scraper",
        "web",
        "heartbeat",
    ]
    .map(|name| format!("examples/src/bin/{name}.rs"))
    .into();
    paths.push("examples/src/chat.rs".into());
    common::assert_shows_verbatim("docs/guide.md", &paths);
}

/// "Thousands of connections": 10,000 clients connected at once, each echoed; a
/// half-close is answered in full; Ctrl-C stops the server once the clients are gone.
#[test]
fn connections_serves_ten_thousand_and_stops_on_ctrl_c() {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpStream};

    common::raise_fd_limit(10_500); // the server inherits it
    let (mut server, addr, mut lines) = start(env!("CARGO_BIN_EXE_connections"), &["127.0.0.1:0"]);
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let limit = lines.next().unwrap().unwrap();
    assert!(limit.starts_with("open files allowed: "), "{limit}");

    let mut clients: Vec<TcpStream> = (0..10_000)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client.write_all(&(i as u64).to_le_bytes()).unwrap();
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let mut back = [0u8; 8];
        client.read_exact(&mut back).unwrap();
        assert_eq!(u64::from_le_bytes(back), i as u64);
    }
    // A half-close: the rest is echoed, then the server closes its side.
    let mut last = clients.pop().unwrap();
    last.write_all(b"last words").unwrap();
    last.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    last.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"last words");

    // Ctrl-C: the server stops accepting and waits for the open connections.
    // SAFETY: kill(2) with a live child's pid and SIGINT.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGINT) }, 0);
    let stopping = lines.next().unwrap().unwrap();
    assert_eq!(stopping, "stopping: 9999 connections open");
    drop(clients);
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.is_empty(), "nothing was cut: {rest:?}");
}

/// "Every core": connections spread over one listener per worker, numbered by the counter
/// that lives on worker 0, and Ctrl-C stops the whole runtime.
#[test]
fn every_core_numbers_connections_from_every_worker() {
    use std::collections::BTreeSet;
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let mut server = Command::new(env!("CARGO_BIN_EXE_every_core"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let (addr, workers) = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.strip_suffix(" workers"))
        .and_then(|rest| rest.split_once(" with "))
        .unwrap_or_else(|| panic!("{first}"));
    let workers: usize = workers.parse().unwrap();
    let mut numbers = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        // The other workers may still be binding: a refused connect is retried.
        let mut stream = loop {
            match std::net::TcpStream::connect(addr) {
                Ok(stream) => break stream,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        };
        let mut line = String::new();
        stream.read_to_string(&mut line).unwrap();
        let (worker, number) = line
            .trim_end()
            .strip_prefix("worker ")
            .and_then(|rest| rest.split_once(", connection "))
            .unwrap_or_else(|| panic!("{line:?}"));
        seen.insert(worker.parse::<usize>().unwrap());
        assert!(numbers.insert(number.parse::<u64>().unwrap()), "{line}");
    }
    assert_eq!(numbers, (1..=200).collect(), "one counter for all workers");
    assert!(seen.iter().all(|&w| w < workers), "{seen:?}");
    assert_eq!(
        seen.len(),
        workers.min(2),
        "every listener took connections: {seen:?}"
    );
    // SAFETY: kill(2) with a live child's pid and SIGINT.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGINT) }, 0);
    assert!(server.wait().unwrap().success());
}

/// Starts an example server with `args` and returns it with its stdout lines, after its
/// `listening on ADDR` line.
/// "Cancel safety": a server that pings after 2 ms of quiet, so its reads time out all
/// the time, echoes 3,000 lines sent with random pauses: with the pings taken out, the
/// bytes that come back are exactly the bytes sent.
#[test]
fn heartbeat_loses_no_byte_to_its_timed_out_reads() {
    use std::io::{Read, Write};

    let (mut server, addr, _lines) = start(env!("CARGO_BIN_EXE_heartbeat"), &["127.0.0.1:0", "2"]);
    let mut client = std::net::TcpStream::connect(&addr).unwrap();
    let mut reader = client.try_clone().unwrap();
    let received = std::thread::spawn(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        all
    });
    let mut sent = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..3000u64 {
        let line = format!("{i:06}\n");
        client.write_all(line.as_bytes()).unwrap();
        sent.extend_from_slice(line.as_bytes());
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state.is_multiple_of(4) {
            std::thread::sleep(std::time::Duration::from_micros(state % 3000));
        }
    }
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let received = received.join().unwrap();
    let text = String::from_utf8(received).unwrap();
    assert!(text.contains("ping\n"), "the reads timed out along the way");
    // Digits and line ends cannot make "ping\n": taking the pings out leaves the echo.
    assert_eq!(text.replace("ping\n", ""), String::from_utf8(sent).unwrap());
    server.kill().unwrap();
    server.wait().unwrap();
}

fn start(
    bin: &str,
    args: &[&str],
) -> (
    std::process::Child,
    String,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut server = Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_string();
    (server, addr, lines)
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// "A web server": routes, a streamed body, an echo, keep-alive, and the same over TLS.
#[test]
fn web_serves_routes_streams_and_tls() {
    let (mut server, addr, _lines) = start(env!("CARGO_BIN_EXE_web"), &["127.0.0.1:0"]);
    let base = format!("http://{addr}");
    assert_eq!(curl(&[&format!("{base}/")]), "Hello, World!\n");
    assert_eq!(curl(&[&format!("{base}/hello/ada")]), "Hello, ada!\n");
    assert_eq!(curl(&[&format!("{base}/count")]), "1\n2\n3\n4\n5\n");
    let headers = curl(&["-D", "-", "-o", "/dev/null", &format!("{base}/count")]);
    assert!(
        headers
            .to_lowercase()
            .contains("transfer-encoding: chunked"),
        "{headers}"
    );
    let body: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    assert_eq!(
        curl(&["--data-binary", &body, &format!("{base}/echo")]),
        body
    );
    assert_eq!(
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{base}/nope")
        ]),
        "404"
    );
    // Two requests on one command line share one connection (keep-alive).
    let verbose = Command::new("curl")
        .args(["-sv", &format!("{base}/"), &format!("{base}/hello/again")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verbose.stderr).to_lowercase();
    assert!(
        stderr.contains("re-using existing") || stderr.contains("reusing existing"),
        "{stderr}"
    );
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, addr, mut lines) = start(env!("CARGO_BIN_EXE_web"), &["127.0.0.1:0", "--tls"]);
    let cert = lines.next().unwrap().unwrap();
    let cert = cert.strip_prefix("certificate in ").unwrap().to_string();
    let port = addr.rsplit(':').next().unwrap();
    let url = format!("https://localhost:{port}/hello/tls");
    let resolve = format!("localhost:{port}:127.0.0.1");
    assert_eq!(
        curl(&["--cacert", &cert, "--resolve", &resolve, &url]),
        "Hello, tls!\n"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_file(cert).unwrap();
}
