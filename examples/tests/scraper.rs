//! The scraper against a local HTTP server that counts requests in flight.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Reads an HTTP request's head; `None` if the client closes or fails first.
fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&request).into_owned())
}

/// A thread-per-connection HTTP server; each request takes 20 ms. Tracks the most
/// requests it ever had in flight.
fn start_server(requests: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let peak_out = peak.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            std::thread::spawn(move || {
                let request = read_request(&mut stream).expect("request cut short");
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let path = request.split(' ').nth(1).unwrap_or("?").to_string();
                let body = format!("page {path}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).unwrap();
            });
        }
    });
    (addr, peak_out)
}

#[test]
fn the_semaphore_caps_requests_in_flight() {
    let (addr, peak) = start_server(40);
    let urls: Vec<String> = (0..40).map(|i| format!("http://{addr}/item/{i}")).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .args(["--max-in-flight", "5"])
        .args(&urls)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for (i, url) in urls.iter().enumerate() {
        let body_len = format!("page /item/{i}").len();
        assert_eq!(
            lines[i],
            format!("200 {body_len} {url}"),
            "results in the order given"
        );
    }
    assert_eq!(lines[40], "fetched 40 of 40 URLs");
    assert_eq!(
        peak.load(Ordering::SeqCst),
        5,
        "at most 5 in flight, and the cap was used"
    );
}

#[test]
fn a_failed_fetch_is_reported_and_the_rest_complete() {
    let (addr, _) = start_server(2);
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let urls = [
        format!("http://{addr}/a"),
        format!("http://{closed}/gone"),
        "ftp://nope/".to_string(),
        format!("http://{addr}/b"),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("200 "), "{stdout}");
    assert!(
        lines[1].starts_with(&format!("error http://{closed}/gone")),
        "{stdout}"
    );
    assert!(lines[1].contains("refused"), "{stdout}");
    assert!(
        lines[2].contains("only http:// URLs are supported"),
        "{stdout}"
    );
    assert!(lines[3].starts_with("200 "), "{stdout}");
    assert_eq!(lines[4], "fetched 2 of 4 URLs");
}

/// A server whose pages behave by path: `/ok/N` answers at once, `/slow` after 2 s,
/// `/flaky` fails with 503 on its first request and then answers, `/down` always fails
/// with 500.
fn start_moody_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let flaky_seen = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let flaky_seen = flaky_seen.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&mut stream) else {
                    return; // the client went away
                };
                let path = request.split(' ').nth(1).unwrap_or("?").to_string();
                let status = match path.as_str() {
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(2));
                        "200 OK"
                    }
                    "/flaky" if flaky_seen.fetch_add(1, Ordering::SeqCst) == 0 => {
                        "503 Service Unavailable"
                    }
                    "/down" => "500 Internal Server Error",
                    _ => "200 OK",
                };
                let body = format!("page {path}");
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    addr
}

/// The guide's scraping chapter: slow pages time out, failing ones are retried, results
/// stay in input order, and the errors are gathered with the successes.
#[test]
fn slow_and_failing_pages_time_out_retry_and_keep_their_order() {
    let addr = start_moody_server();
    let urls = [
        format!("http://{addr}/ok/1"),
        format!("http://{addr}/slow"),
        format!("http://{addr}/flaky"),
        format!("http://{addr}/down"),
        format!("http://{addr}/ok/2"),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .args([
            "--max-in-flight",
            "2",
            "--timeout-ms",
            "300",
            "--retries",
            "1",
        ])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("200 10 {}", urls[0]), "{stdout}");
    assert_eq!(
        lines[1],
        format!("error {}: no answer within 300ms (2 attempts)", urls[1]),
        "{stdout}"
    );
    assert_eq!(lines[2], format!("200 11 {}", urls[2]), "retried: {stdout}");
    assert_eq!(
        lines[3],
        format!("error {}: status 500 (2 attempts)", urls[3]),
        "{stdout}"
    );
    assert_eq!(lines[4], format!("200 10 {}", urls[4]), "{stdout}");
    assert_eq!(lines[5], "fetched 3 of 5 URLs");
}
