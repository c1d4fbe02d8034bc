//! `bytes::Bytes` and `BytesMut` as owned buffers (feature `bytes`, on in the workspace's
//! test run through the examples).
#![cfg(feature = "bytes")]

use bytes::{Bytes, BytesMut};
use ringlet::net::{TcpListener, TcpStream};

#[ringlet::test]
async fn bytes_are_written_and_bytes_mut_is_read_into() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let message = Bytes::from_static(b"shared, immutable bytes");
    let (res, sent) = client.write_all(message.clone()).await;
    res.unwrap();
    assert_eq!(sent, message, "the Bytes come back");
    // Read into a BytesMut's spare capacity; its length follows what the kernel wrote.
    let mut received = BytesMut::new();
    while received.len() < message.len() {
        let (n, buf) = server.read(BytesMut::with_capacity(8)).await;
        let n = n.unwrap();
        assert!(n > 0 && buf.len() == n, "{n} bytes, length {}", buf.len());
        received.extend_from_slice(&buf);
    }
    assert_eq!(&received[..], &message[..]);
    // Frozen, it is written back without a copy.
    let (res, _) = server.write_all(received.freeze()).await;
    res.unwrap();
    let (res, back) = client.read_exact(vec![0u8; message.len()]).await;
    res.unwrap();
    assert_eq!(back, message);
}
