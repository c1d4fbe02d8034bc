//! TCP over the runtime: accept, connect, owned-buffer reads and writes, and errors.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use ringlet::net::{TcpListener, TcpStream};
use ringlet::spawn;

#[test]
fn echo_round_trip_between_a_listener_and_a_client() {
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (stream, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, stream.peer_addr().unwrap());
            let (n, buf) = stream.read(Vec::with_capacity(64)).await;
            assert_eq!(n.unwrap(), 5);
            let (res, _) = stream.write_all(buf).await;
            res.unwrap();
            let (n, _) = stream.read(vec![0u8; 8]).await;
            assert_eq!(n.unwrap(), 0, "EOF after the client's shutdown");
        });
        let client = TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        let (res, _) = client.write_all(b"hello".to_vec()).await;
        res.unwrap();
        let (res, buf) = client.read_exact(vec![0u8; 5]).await;
        res.unwrap();
        assert_eq!(buf, b"hello");
        client.shutdown(Shutdown::Write).unwrap();
        server.await.unwrap();
    })
    .unwrap();
}

#[test]
fn connect_refused_is_an_error_not_a_panic() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = ringlet::run(TcpStream::connect(addr)).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert!(
        err.to_string().starts_with(&format!("connect to {addr}: ")),
        "{err}"
    );
    assert_eq!(ringlet::error::raw_os_error(&err), Some(libc::ECONNREFUSED));
}

#[test]
fn bind_to_a_taken_address_is_addr_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = TcpListener::bind(taken.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

#[test]
fn read_exact_reports_eof_mid_message_and_keeps_the_bytes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"abc").unwrap();
    });
    ringlet::run(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (res, buf) = stream.read_exact(vec![0u8; 10]).await;
        let err = res.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("3 of 10"), "{err}");
        assert_eq!(&buf[..3], b"abc");
    })
    .unwrap();
    peer.join().unwrap();
}

#[test]
fn a_peer_reset_is_an_error_on_that_connection_only() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        // Linger 0: close sends RST instead of FIN.
        uring_driver::socket::set_linger(&s, Some(Duration::ZERO)).unwrap();
        drop(s);
        let (mut ok, _) = listener.accept().unwrap();
        let mut b = [0u8; 2];
        ok.read_exact(&mut b).unwrap();
        ok.write_all(&b).unwrap();
    });
    ringlet::run(async move {
        let doomed = TcpStream::connect(addr).await.unwrap();
        let (res, _) = doomed.read(vec![0u8; 8]).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::ConnectionReset);
        let fine = TcpStream::connect(addr).await.unwrap();
        let (res, _) = fine.write_all("hi").await;
        res.unwrap();
        let (res, buf) = fine.read_exact(vec![0u8; 2]).await;
        res.unwrap();
        assert_eq!(buf, b"hi");
    })
    .unwrap();
    peer.join().unwrap();
}

#[test]
fn incoming_yields_many_connections_from_one_multishot_accept() {
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = spawn(async move {
            let mut streams = Vec::new();
            for i in 0..20u8 {
                let s = TcpStream::connect(addr).await.unwrap();
                let (r, _) = s.write_all(vec![i]).await;
                r.unwrap();
                streams.push(s);
            }
            streams
        });
        let mut incoming = listener.incoming();
        let mut seen = Vec::new();
        for _ in 0..20 {
            let stream = incoming.next().await.unwrap().unwrap();
            let (r, b) = stream.read_exact(vec![0u8; 1]).await;
            r.unwrap();
            seen.push(b[0]);
        }
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<u8>>());
        drop(clients.await.unwrap());
    })
    .unwrap();
}

#[test]
fn connect_by_host_name_and_with_a_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    ringlet::run(async move {
        let s = TcpStream::connect_host(&format!("localhost:{port}"))
            .await
            .unwrap();
        assert_eq!(s.peer_addr().unwrap().port(), port);
        let err = TcpStream::connect_host("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty());
        // A loopback listener whose accept queue is full: the kernel drops further SYNs,
        // so a connect hangs until the timeout cancels it.
        let full = {
            let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
            let fd = uring_driver::socket::socket_for(&addr, libc::SOCK_STREAM).unwrap();
            uring_driver::socket::bind(&fd, &addr).unwrap();
            uring_driver::socket::listen(&fd, 0).unwrap();
            std::net::TcpListener::from(fd)
        };
        let full_addr = full.local_addr().unwrap();
        let mut fillers = Vec::new();
        let started = std::time::Instant::now();
        let err = loop {
            match TcpStream::connect_timeout(full_addr, std::time::Duration::from_millis(300)).await
            {
                Ok(s) => fillers.push(s), // queued: the backlog is not full yet
                Err(e) => break e,
            }
            assert!(fillers.len() < 64, "the backlog never filled");
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(err.to_string().contains("timed out after 300ms"), "{err}");
        assert!(err.to_string().starts_with("connect to "), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    })
    .unwrap();
    drop(listener);
}

#[test]
fn split_halves_and_vectored_io() {
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, write) = stream.into_split();
            // A reader task and a writer task share the connection.
            let echo = spawn(async move {
                let mut total = 0;
                loop {
                    let (n, bufs) = read
                        .readv(vec![Vec::with_capacity(3), Vec::with_capacity(64)])
                        .await;
                    let n = n.unwrap();
                    if n == 0 {
                        return total;
                    }
                    total += n;
                    let (w, _) = write.writev(bufs).await;
                    assert_eq!(w.unwrap(), n);
                }
                // `write` drops here: FIN to the client
            });
            echo.await.unwrap()
        });
        let client = TcpStream::connect(addr).await.unwrap();
        let (res, _) = client.writev(vec!["split ", "and ", "vectored"]).await;
        assert_eq!(res.unwrap(), 18);
        client.shutdown(Shutdown::Write).unwrap();
        let (res, buf) = client.read_exact(vec![0u8; 18]).await;
        res.unwrap();
        assert_eq!(buf, b"split and vectored");
        let (n, _) = client.read(vec![0u8; 4]).await;
        assert_eq!(n.unwrap(), 0, "the dropped write half sent FIN");
        assert_eq!(server.await.unwrap(), 18);
    })
    .unwrap();
}

#[test]
fn send_zc_delivers_a_large_buffer() {
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
        let expected = payload.clone();
        let sender = spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut buf = payload;
            let mut sent = 0;
            while sent < buf.len() {
                let (res, back) = stream.send_zc(ringlet::IoBuf::slice(buf, sent..)).await;
                sent += res.unwrap();
                buf = back.into_inner();
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let (res, got) = stream.read_exact(vec![0u8; expected.len()]).await;
        res.unwrap();
        assert!(got == expected);
        sender.await.unwrap();
    })
    .unwrap();
}

/// 20 connections, each echoing 100 numbered messages through one worker built by
/// `builder`: every byte back in order.
fn concurrent_echoes(builder: ringlet::Builder) {
    let rt = builder.workers(1).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _connection = spawn(async move {
                    let mut buf = Vec::with_capacity(64);
                    loop {
                        buf.clear();
                        let (n, b) = stream.read(buf).await;
                        if n.unwrap() == 0 {
                            return;
                        }
                        let (res, b) = stream.write_all(b).await;
                        res.unwrap();
                        buf = b;
                    }
                });
            }
        });
        let clients: Vec<_> = (0..20u32)
            .map(|c| {
                spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    for i in 0..100u32 {
                        let msg = [c.to_le_bytes(), i.to_le_bytes()].concat();
                        let (res, _) = stream.write_all(msg.clone()).await;
                        res.unwrap();
                        let (res, back) = stream.read_exact(vec![0u8; 8]).await;
                        res.unwrap();
                        assert_eq!(back, msg, "connection {c}, message {i}");
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
}

#[test]
fn connections_echo_without_the_sq_array() {
    concurrent_echoes(ringlet::Builder::default().without(ringlet::KernelFeature::NoSqArray));
}

#[test]
fn connections_echo_through_a_tiny_ring() {
    // 8 SQ entries and a 16-entry CQ for 40 sockets: submissions and completions both
    // come in more batches than the ring holds.
    concurrent_echoes(ringlet::Builder::default().ring_entries(8).cq_entries(16));
}

#[test]
fn connections_echo_through_a_ring_with_an_sq_poll_thread() {
    concurrent_echoes(ringlet::Builder::default().sqpoll(Duration::from_millis(2)));
}

/// 8 connections streaming 256 KiB each through `recv_stream` on one pool smaller than the
/// data in flight (so it runs dry and re-arms), the server echoing each buffer as it
/// comes: every byte back in order, and every buffer back in the pool at the end.
fn echo_through_a_buffer_ring(builder: ringlet::Builder) {
    use ringlet::net::BufRing;
    const LEN: usize = 256 * 1024;
    let rt = builder.workers(1).build().unwrap();
    rt.block_on(async {
        let pool = BufRing::new(32, 4096).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server_pool = pool.clone();
        let _server = spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let pool = server_pool.clone();
                let _connection = spawn(async move {
                    let mut incoming = stream.recv_stream(&pool);
                    while let Some(buf) = incoming.next().await {
                        let (res, _) = stream.write_all(buf.unwrap()).await;
                        res.unwrap();
                    }
                    stream.shutdown(Shutdown::Write).unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..8u8)
            .map(|c| {
                spawn(async move {
                    let stream = std::rc::Rc::new(TcpStream::connect(addr).await.unwrap());
                    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8 ^ c).collect();
                    let writer = {
                        let (stream, data) = (stream.clone(), data.clone());
                        spawn(async move {
                            for chunk in data.chunks(64 * 1024) {
                                let (res, _) = stream.write_all(chunk.to_vec()).await;
                                res.unwrap();
                            }
                        })
                    };
                    let (res, back) = stream.read_exact(vec![0u8; LEN]).await;
                    res.unwrap();
                    assert!(back == data, "connection {c}: the bytes differ");
                    writer.await.unwrap();
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        // The connections' tasks end at EOF; then no buffer is leased any more.
        for _ in 0..100 {
            if pool.available() == pool.entries() {
                break;
            }
            ringlet::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(pool.available(), pool.entries());
    });
}

#[test]
fn large_messages_echo_through_a_buffer_ring_with_receive_bundles() {
    echo_through_a_buffer_ring(ringlet::Builder::default());
}

#[test]
fn large_messages_echo_through_a_buffer_ring_without_receive_bundles() {
    echo_through_a_buffer_ring(
        ringlet::Builder::default().without(ringlet::KernelFeature::RecvBundle),
    );
}

#[ringlet::test]
async fn split_halves_reunite_and_the_read_half_receives_through_a_pool() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (read, write) = server.into_split();
    client.write_all(b"ping".to_vec()).await.0.unwrap();
    let pool = ringlet::net::BufRing::new(4, 64).unwrap();
    let mut received = read.recv_stream(&pool);
    assert_eq!(&received.next().await.unwrap().unwrap()[..], b"ping");
    drop(received);

    // Halves of two different streams are refused, and handed back.
    let other_client = TcpStream::connect(addr).await.unwrap();
    let (other, _) = listener.accept().await.unwrap();
    let (other_read, other_write) = other.into_split();
    let ringlet::net::ReuniteError(read, other_write) = read.reunite(other_write).unwrap_err();
    drop((other_read, other_write, other_client));

    // The right pair makes the stream whole again: the write side was not shut down.
    let server = write.reunite(read).unwrap();
    server.write_all(b"pong".to_vec()).await.0.unwrap();
    let (res, back) = client.read_exact(vec![0u8; 4]).await;
    res.unwrap();
    assert_eq!(back, b"pong");
    drop(server);
    let (n, _) = client.read(vec![0u8; 4]).await;
    assert_eq!(n.unwrap(), 0, "dropping the reunited stream closes it");
}

/// Registered (direct) sockets: reads and writes by slot, on both ends and through split
/// halves; more connections than the table has slots, one after another.
#[ringlet::test]
async fn registered_streams_echo_by_their_slot_and_free_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for round in 0..5000u32 {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.register().unwrap();
        if round % 2 == 0 {
            server.register().unwrap();
        }
        assert!(client.is_registered());
        client
            .write_all(round.to_le_bytes().to_vec())
            .await
            .0
            .unwrap();
        let (res, got) = server.read_exact(vec![0u8; 4]).await;
        res.unwrap();
        server.write_all(got).await.0.unwrap();
        if round % 1000 == 0 {
            // Through the halves of a registered stream.
            let (read, write) = client.into_split();
            let (res, back) = read.read_exact(vec![0u8; 4]).await;
            res.unwrap();
            assert_eq!(back, round.to_le_bytes());
            client = read.reunite(write).unwrap();
            assert!(client.is_registered());
        } else {
            let (res, back) = client.read_exact(vec![0u8; 4]).await;
            res.unwrap();
            assert_eq!(back, round.to_le_bytes());
        }
    }
}

/// `connect` takes what `bind` takes: addresses, strings, host names with a port.
#[ringlet::test]
async fn connect_takes_addresses_strings_and_host_names() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let accepting = spawn(async move {
        for _ in 0..6 {
            drop(listener.accept().await.unwrap());
        }
    });
    drop(TcpStream::connect(addr).await.unwrap());
    drop(TcpStream::connect(&addr).await.unwrap());
    drop(
        TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap(),
    );
    drop(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    // "localhost" may resolve to ::1 first, where nothing listens: the next address is
    // tried.
    drop(TcpStream::connect(("localhost", port)).await.unwrap());
    drop(
        TcpStream::connect(format!("localhost:{port}").as_str())
            .await
            .unwrap(),
    );
    accepting.await.unwrap();
    let err = TcpStream::connect("no-such-host.invalid:80")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}
