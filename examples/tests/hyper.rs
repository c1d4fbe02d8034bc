//! hyper on ringlet: a hyper client against the hyper server, both on ringlet workers, and
//! `curl` against the `http-server` example binary.

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use ringlet::net::TcpListener;
use ringlet_examples::hyper_app::{self, Client};

mod common;

use common::{Rng, ServerProcess};

/// A body of random size and bytes: mostly small, one in 16 up to 1 MiB.
fn body(rng: &mut Rng) -> Bytes {
    let max = if rng.next().is_multiple_of(16) {
        1 << 20
    } else {
        16 << 10
    };
    let len = rng.below(max);
    rng.bytes(len).into()
}

#[test]
fn a_thousand_requests_with_random_bodies_come_back_byte_for_byte() {
    const CONNECTIONS: u64 = 8;
    const PER_CONNECTION: u64 = 125;
    let runtime = ringlet::Runtime::builder().workers(2).build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.into_std().unwrap();
    let (requests, bytes) = runtime.block_on(async move {
        // The server runs on worker 1, the clients on worker 0.
        let server = ringlet::spawn_on(1, move || async move {
            let stop = std::future::pending();
            hyper_app::serve_until(
                TcpListener::from(listener),
                &hyper_app::ServeOptions::default(),
                stop,
                Duration::ZERO,
            )
            .await
        });
        let clients = (0..CONNECTIONS).map(|c| async move {
            let mut rng = Rng(c * 7919 + 1);
            let mut client = Client::connect(addr, "localhost").await.unwrap();
            let mut bytes = 0;
            for _ in 0..PER_CONNECTION {
                let body = body(&mut rng);
                let (status, back) = client
                    .request(Method::POST, "/echo", body.clone())
                    .await
                    .unwrap();
                assert_eq!(status, StatusCode::OK);
                assert_eq!(back.len(), body.len());
                assert!(back == body, "echoed body differs");
                bytes += body.len();
            }
            let (status, hello) = client
                .request(Method::GET, "/", Bytes::new())
                .await
                .unwrap();
            assert_eq!(
                (status, &hello[..]),
                (StatusCode::OK, &b"Hello, World!"[..])
            );
            bytes
        });
        let bytes: usize = ringlet::task::gather(clients).await.into_iter().sum();
        server.cancel();
        (CONNECTIONS * PER_CONNECTION, bytes)
    });
    drop(runtime);
    println!("{requests} echo requests, {bytes} body bytes, all returned intact");
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is not installed (apt-get install curl; .ci/run installs it)")
}

#[test]
fn curl_gets_hello_and_an_echo_from_the_http_server_example() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_http-server"),
        &["--workers", "2"],
        Stdio::null(),
    );
    let base = format!("http://{}", server.addr);
    let out = curl(&["--include", &format!("{base}/")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello, World!"), "{text}");

    let path = std::env::temp_dir().join(format!("ringlet-curl-{}", std::process::id()));
    let body = Rng(99).bytes(300_000);
    std::fs::write(&path, &body).unwrap();
    let out = curl(&[
        "--data-binary",
        &format!("@{}", path.display()),
        &format!("{base}/echo"),
    ]);
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == body, "curl's echo differs");

    let out = curl(&[
        "--write-out",
        "%{http_code}",
        "--output",
        "/dev/null",
        &format!("{base}/missing"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
}

#[test]
fn a_rustls_client_handshakes_and_gets_its_body_echoed_over_tls() {
    use http_body_util::{BodyExt, Full};
    let tls = ringlet_examples::tls::self_signed().unwrap();
    let runtime = ringlet::Runtime::builder().workers(1).build().unwrap();
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let config = tls.config.clone();
        let _server = ringlet::spawn(async move {
            let options = hyper_app::ServeOptions {
                tls: Some(config),
                buffer_ring: true,
            };
            hyper_app::serve_until(listener, &options, std::future::pending(), Duration::ZERO).await
        });
        let stream = ringlet_examples::tls::connect(addr, "localhost", tls.cert_der.clone())
            .await
            .unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        let _conn = ringlet::spawn(conn);
        let mut rng = Rng(5);
        for _ in 0..20 {
            let body = body(&mut rng);
            let request = hyper::Request::post("/echo")
                .header(hyper::header::HOST, "localhost")
                .body(Full::new(body.clone()))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let back = response.into_body().collect().await.unwrap().to_bytes();
            assert!(back == body, "echo over TLS differs");
        }
        // A client that does not trust the certificate fails the handshake.
        let other = ringlet_examples::tls::self_signed().unwrap();
        let err = ringlet_examples::tls::connect(addr, "localhost", other.cert_der)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");
    });
}

#[test]
fn curl_over_tls_trusts_the_generated_certificate() {
    let pem = std::env::temp_dir().join(format!("ringlet-curl-cert-{}.pem", std::process::id()));
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_http-server"),
        &[
            "--workers",
            "1",
            "--tls",
            "--cert-out",
            pem.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = curl(&["--cacert", pem.to_str().unwrap(), &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, World!");
    // Without the certificate curl refuses the server (exit 60: peer certificate).
    let out = curl(&[&url]);
    assert_eq!(
        out.status.code(),
        Some(60),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
    std::fs::remove_file(&pem).unwrap();
}

/// SIGTERM (how systemd, Docker and Kubernetes stop a service) with a request in flight:
/// the server stops accepting, the request still gets its whole answer, and the server
/// exits 0.
#[test]
fn sigterm_lets_a_request_in_flight_finish_and_exits_0() {
    use std::io::{Read, Write};

    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_http-server"),
        &["--workers", "2"],
        Stdio::null(),
    );
    let body: Vec<u8> = (0..200_000u32).map(|i| b'0' + (i % 10) as u8).collect();
    let mut client = std::net::TcpStream::connect(server.addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).unwrap();
    client.write_all(&body[..body.len() / 2]).unwrap();
    // The server is told to stop while the request is half sent.
    // SAFETY: kill(2) takes no pointers; the pid is our own child's.
    let rc = unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(server.addr).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    client.write_all(&body[body.len() / 2..]).unwrap();
    let mut response = Vec::new();
    client.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole response head");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let mut rest = &response[split + 4..];
    let echoed = if head.contains("transfer-encoding: chunked") {
        let mut echoed = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break echoed;
            }
            echoed.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
    } else {
        rest.to_vec()
    };
    assert!(echoed == body, "the echo differs ({} bytes)", echoed.len());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "http-server exited with {status}");
}
