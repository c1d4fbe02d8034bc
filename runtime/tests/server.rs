//! `ringlet::net::Server`: accepts until shutdown, resets no connection the kernel
//! accepted (the accept in flight and the backlog are served), gives open connections a
//! grace period, cuts the rest, and reports each count.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use ringlet::net::{ServeReport, Server, TcpListener, TcpStream};
use ringlet::sync::oneshot;
use ringlet::time::sleep;

/// Replies "bye" and closes.
async fn bye(stream: TcpStream) {
    let _ = stream.write_all(b"bye".to_vec()).await;
}

#[test]
fn serves_until_shutdown_and_reports_what_it_served() {
    let report = ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = ringlet::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let echo = |stream: TcpStream, _| async move {
                loop {
                    let (n, buf) = stream.read(Vec::with_capacity(64)).await;
                    match n {
                        Ok(n) if n > 0 => drop(stream.write_all(buf).await),
                        _ => return,
                    }
                }
            };
            Server::new(listener).serve_until(shutdown, echo).await
        });
        for i in 0..5u8 {
            let client = TcpStream::connect(addr).await.unwrap();
            client.write_all(vec![i; 3]).await.0.unwrap();
            let (done, buf) = client.read_exact(vec![0u8; 3]).await;
            done.unwrap();
            assert_eq!(buf, [i; 3]);
        }
        let _ = stop.send(());
        server.await.unwrap().unwrap()
    })
    .unwrap();
    assert_eq!(report.accepted, 5);
    assert_eq!(report.cut, 0, "every client had closed");
    assert_eq!(report.accept_errors, 0);
}

/// Clients whose connects completed in the backlog while the server stopped are served,
/// not reset: each reads "bye".
#[test]
fn the_backlog_at_shutdown_is_served_not_reset() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let report = ringlet::run(async move {
        let listener = TcpListener::from(listener);
        // Already stopped: everything queued is served through the drain.
        Server::new(listener)
            .serve_until(async {}, |stream, _| bye(stream))
            .await
            .unwrap()
    })
    .unwrap();
    assert_eq!(report.accepted, 8);
    assert!(report.drained >= 7, "{report:?}");
    for mut client in clients {
        let mut got = Vec::new();
        client.read_to_end(&mut got).expect("served, not reset");
        assert_eq!(got, b"bye");
    }
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener is closed"
    );
}

/// Connections that finish within the grace period are waited for; those that do not
/// are cut, and their clients see the connection close.
#[test]
fn open_connections_get_the_grace_period_then_are_cut() {
    let (report, finished) = ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let finished = Rc::new(Cell::new(0));
        let count = finished.clone();
        let server = ringlet::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // Connections with a first byte of 0 finish 50 ms after it; the others never.
            let handler = move |stream: TcpStream, _| {
                let count = count.clone();
                async move {
                    let (_, first) = stream.read_exact(vec![0u8; 1]).await;
                    if first[0] == 0 {
                        sleep(Duration::from_millis(50)).await;
                        count.set(count.get() + 1);
                        bye(stream).await;
                    } else {
                        std::future::pending::<()>().await;
                    }
                }
            };
            Server::new(listener)
                .grace(Duration::from_millis(300))
                .serve_until(shutdown, handler)
                .await
        });
        let mut clients = Vec::new();
        for i in 0..6u8 {
            let client = TcpStream::connect(addr).await.unwrap();
            client.write_all(vec![i % 2]).await.0.unwrap();
            clients.push(client);
        }
        sleep(Duration::from_millis(10)).await;
        let _ = stop.send(());
        let report: ServeReport = server.await.unwrap().unwrap();
        for (i, client) in clients.iter().enumerate() {
            let (n, buf) = client.read(Vec::with_capacity(8)).await;
            match i % 2 {
                0 => assert_eq!(&buf[..n.unwrap()], b"bye"),
                // Cut: closed without a reply (EOF or a reset).
                _ => assert!(n.map_or(true, |n| n == 0), "a cut connection is closed"),
            }
        }
        (report, finished.get())
    })
    .unwrap();
    assert_eq!(report.accepted, 6);
    assert_eq!(report.open_at_shutdown, 6);
    assert_eq!(report.cut, 3, "{report:?}");
    assert_eq!(
        finished, 3,
        "the finishing ones finished within the grace period"
    );
}

/// Dropping the serve future cancels its connections at once.
#[test]
fn dropping_the_server_cancels_its_connections() {
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let serve =
            Server::new(listener).serve_until(std::future::pending(), |stream, _| async move {
                let _keep = stream;
                std::future::pending::<()>().await;
            });
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let _ = ringlet::time::timeout(Duration::from_millis(50), serve).await;
        // The connection's task was cancelled and its socket closed.
        sleep(Duration::from_millis(10)).await;
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut rest = Vec::new();
        assert!(client.read_to_end(&mut rest).map_or(true, |n| n == 0));
        let _ = client.write_all(b"x");
    })
    .unwrap();
}

/// A listener that fails (shut down under the server) ends `serve` with its error, but
/// only after the open connections' grace period: a connection in progress finishes.
#[test]
fn a_failed_listener_ends_serve_after_the_grace_period() {
    use std::os::fd::AsRawFd;

    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = listener.as_raw_fd();
        let server = ringlet::spawn(async move {
            Server::new(listener)
                .grace(Duration::from_secs(5))
                .on_accept_error(|_| {})
                .serve_until(std::future::pending(), |stream: TcpStream, _| async move {
                    sleep(Duration::from_millis(50)).await;
                    bye(stream).await;
                })
                .await
        });
        let client = TcpStream::connect(addr).await.unwrap();
        sleep(Duration::from_millis(10)).await;
        // SAFETY: shutdown(2) takes no pointers; `fd` is the listener's, still open.
        assert_eq!(unsafe { libc::shutdown(fd, libc::SHUT_RDWR) }, 0);
        let error = server.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
        let (n, buf) = client.read(Vec::with_capacity(8)).await;
        assert_eq!(
            &buf[..n.unwrap()],
            b"bye",
            "the open connection finished first"
        );
    })
    .unwrap();
}
