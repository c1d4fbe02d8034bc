//! Unix-domain stream and datagram sockets.

use std::io::ErrorKind;
use std::path::PathBuf;

use ringlet::net::{UnixDatagram, UnixListener, UnixStream};
use ringlet::spawn;

fn sock(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ringlet-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn stream_listener_accepts_and_echoes() {
    let path = sock("stream");
    let p = path.clone();
    ringlet::run(async move {
        let listener = UnixListener::bind(&p).unwrap();
        assert_eq!(listener.local_path(), p);
        let server = spawn(async move {
            let stream = listener.accept().await.unwrap();
            let (n, buf) = stream.read(Vec::with_capacity(64)).await;
            let n = n.unwrap();
            stream.write_all(buf).await.0.unwrap();
            n
        });
        let client = UnixStream::connect(&p).await.unwrap();
        assert_eq!(client.peer_path().unwrap().as_deref(), Some(p.as_path()));
        client
            .write_all(b"over a unix socket".to_vec())
            .await
            .0
            .unwrap();
        let (res, back) = client.read_exact(vec![0u8; 18]).await;
        res.unwrap();
        assert_eq!(back, b"over a unix socket");
        assert_eq!(server.await.unwrap(), 18);
        let taken = UnixListener::bind(&p).unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AddrInUse);
    })
    .unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connect_errors_and_pairs() {
    ringlet::run(async {
        let missing = UnixStream::connect(sock("missing")).await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let long = std::env::temp_dir().join("x".repeat(200));
        assert_eq!(
            UnixStream::connect(&long).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all("pair".to_string()).await.0.unwrap();
        drop(a);
        let (res, buf) = b.read_exact(vec![0u8; 4]).await;
        res.unwrap();
        assert_eq!(buf, b"pair");
        let (n, _) = b.read(vec![0u8; 4]).await;
        assert_eq!(n.unwrap(), 0, "EOF after the peer closed");
    })
    .unwrap();
}

#[test]
fn datagrams_carry_their_sender_path() {
    let (pa, pb) = (sock("dgram-a"), sock("dgram-b"));
    let (a_path, b_path) = (pa.clone(), pb.clone());
    ringlet::run(async move {
        let a = UnixDatagram::bind(&a_path).unwrap();
        let b = UnixDatagram::bind(&b_path).unwrap();
        assert_eq!(a.local_path().unwrap().as_deref(), Some(a_path.as_path()));
        a.send_to(b"one".to_vec(), &b_path).await.0.unwrap();
        let (res, buf) = b.recv_from(vec![0u8; 16]).await;
        let (n, from) = res.unwrap();
        assert_eq!(
            (&buf[..n], from.as_deref()),
            (&b"one"[..], Some(a_path.as_path()))
        );
        let anon = UnixDatagram::unbound().unwrap();
        anon.send_to(b"two".to_vec(), &b_path).await.0.unwrap();
        let (res, _) = b.recv_from(vec![0u8; 16]).await;
        assert_eq!(res.unwrap(), (3, None), "an unbound sender has no path");
        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"three".to_vec()).await.0.unwrap();
        let (n, buf) = y.recv(vec![0u8; 16]).await;
        assert_eq!(&buf[..n.unwrap()], b"three");
    })
    .unwrap();
    std::fs::remove_file(&pa).unwrap();
    std::fs::remove_file(&pb).unwrap();
}

#[ringlet::test]
async fn incoming_accepts_many_unix_connections_and_recv_stream_reads_through_a_pool() {
    let path = sock("incoming");
    let listener = UnixListener::bind(&path).unwrap();
    let pool = ringlet::net::BufRing::new(8, 64).unwrap();
    let clients: Vec<_> = (0..5u8)
        .map(|i| {
            let path = path.clone();
            spawn(async move {
                let stream = UnixStream::connect(&path).await.unwrap();
                stream.write_all(vec![i; 100]).await.0.unwrap();
                stream.shutdown(std::net::Shutdown::Write).unwrap();
                stream
            })
        })
        .collect();
    let mut incoming = listener.incoming();
    let mut totals = Vec::new();
    for _ in 0..5 {
        let stream = incoming.next().await.unwrap().unwrap();
        let mut received = stream.recv_stream(&pool);
        let mut got = Vec::new();
        while let Some(buf) = received.next().await {
            got.extend_from_slice(&buf.unwrap());
        }
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|&b| b == got[0]));
        totals.push(got[0]);
    }
    totals.sort();
    assert_eq!(totals, [0, 1, 2, 3, 4]);
    for client in clients {
        drop(client.await.unwrap());
    }
    assert_eq!(pool.available(), 8);
    std::fs::remove_file(&path).unwrap();
}
