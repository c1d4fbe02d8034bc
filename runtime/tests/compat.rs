//! The tokio and futures I/O traits over ringlet streams (`compat` feature).
#![cfg(feature = "compat")]

use std::future::poll_fn;
use std::pin::Pin;

use ringlet::compat::Compat;
use ringlet::net::{TcpListener, TcpStream, UnixStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The descriptor count of this process is only meaningful while no other test runs.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn tokio_traits_carry_a_megabyte_each_way_over_tcp() {
    let _g = serial();
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // The server echoes with the owned-buffer API until EOF.
        let server = ringlet::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            loop {
                let (n, b) = stream.read(buf).await;
                let n = n.unwrap();
                if n == 0 {
                    break;
                }
                let (r, b) = stream.write_all(ringlet::IoBuf::slice(b, ..n)).await;
                r.unwrap();
                buf = b.into_inner();
            }
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let io = Compat::new(TcpStream::connect(addr).await.unwrap());
        let (mut rd, mut wr) = tokio::io::split(io);
        let sent = pattern(1 << 20, 7);
        let writer = {
            let sent = sent.clone();
            ringlet::spawn(async move {
                // Odd-sized writes, so sends split and reassemble.
                for chunk in sent.chunks(7777) {
                    wr.write_all(chunk).await.unwrap();
                }
                wr.shutdown().await.unwrap();
            })
        };
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        server.await.unwrap();
        assert_eq!(back.len(), sent.len());
        assert!(back == sent, "echoed bytes differ");
    })
    .unwrap();
}

#[test]
fn futures_traits_read_write_and_close_over_a_unix_pair() {
    let _g = serial();
    use futures_io::{AsyncRead, AsyncWrite};
    ringlet::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Compat::new(a);
        let mut b = Compat::new(b);
        let msg = pattern(100_000, 3);
        let mut written = 0;
        while written < msg.len() {
            let n = poll_fn(|cx| Pin::new(&mut a).poll_write(cx, &msg[written..]))
                .await
                .unwrap();
            assert!(n > 0);
            written += n;
        }
        poll_fn(|cx| Pin::new(&mut a).poll_close(cx)).await.unwrap();
        let mut back = Vec::new();
        let mut buf = [0u8; 3000];
        loop {
            let n = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf))
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert!(back == msg, "bytes differ");
    })
    .unwrap();
}

#[test]
fn a_reset_peer_is_an_error_that_names_the_op() {
    let _g = serial();
    ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut io = Compat::new(stream);
        // Unread data at close makes the kernel send a reset.
        io.write_all(b"unread").await.unwrap();
        io.flush().await.unwrap();
        ringlet::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(client);
        ringlet::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut buf = [0u8; 16];
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
        assert!(err.to_string().contains("recv"), "{err}");
    })
    .unwrap();
}

#[test]
fn a_compat_stream_dropped_mid_read_leaks_nothing() {
    let _g = serial();
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    ringlet::run(async {
        for _ in 0..100 {
            let (a, _b) = UnixStream::pair().unwrap();
            let mut io = Compat::new(a);
            let mut buf = [0u8; 8];
            // The read is in flight (nothing to read) when the timeout drops it.
            let r = ringlet::time::timeout(std::time::Duration::from_millis(1), io.read(&mut buf))
                .await;
            assert!(r.is_err());
        }
    })
    .unwrap();
    assert_eq!(std::fs::read_dir("/proc/self/fd").unwrap().count(), fds);
}

#[test]
fn a_compat_reading_from_a_tiny_buffer_ring_loses_nothing() {
    let _g = serial();
    ringlet::run(async {
        // Two 64-byte buffers for 200 KB: the pool runs dry again and again, and the
        // multishot receive is re-armed each time a buffer comes back.
        let pool = ringlet::net::BufRing::new(2, 64).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut reader = Compat::with_buf_ring(a, &pool);
        let sent = pattern(200_000, 11);
        let writer = {
            let sent = sent.clone();
            ringlet::spawn(async move {
                let mut b = Compat::new(b);
                b.write_all(&sent).await.unwrap();
                b.shutdown().await.unwrap();
            })
        };
        let mut back = Vec::new();
        reader.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert!(back == sent, "bytes differ");
        drop(reader);
        assert_eq!(pool.available(), 2, "every ring buffer back");
    })
    .unwrap();
}

#[test]
fn vectored_writes_send_their_slices_in_order() {
    let _g = serial();
    ringlet::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Compat::new(a);
        let mut b = Compat::new(b);
        let head = pattern(100, 1);
        let body = pattern(100_000, 2);
        let mut sent = 0;
        while sent < head.len() + body.len() {
            // Whatever the first writes took, the rest goes out as two slices again.
            let (h, bd) = if sent < head.len() {
                (&head[sent..], &body[..])
            } else {
                (&head[..0], &body[sent - head.len()..])
            };
            let slices = [std::io::IoSlice::new(h), std::io::IoSlice::new(bd)];
            let n = a.write_vectored(&slices).await.unwrap();
            assert!(n > 0 && n <= 64 << 10, "{n}");
            sent += n;
        }
        a.shutdown().await.unwrap();
        let mut back = Vec::new();
        b.read_to_end(&mut back).await.unwrap();
        assert_eq!(back.len(), head.len() + body.len());
        assert!(
            back[..100] == head[..] && back[100..] == body[..],
            "order or bytes differ"
        );
    })
    .unwrap();
}
