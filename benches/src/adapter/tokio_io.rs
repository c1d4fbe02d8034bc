//! tokio's I/O traits over a stream, for the adapters that use them (tokio's own streams
//! and ringlet's through `compat`).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub(super) async fn read_exact<S: AsyncRead + Unpin>(s: &mut S, mut buf: Vec<u8>) -> Vec<u8> {
    s.read_exact(&mut buf).await.expect("read");
    buf
}
pub(super) async fn read<S: AsyncRead + Unpin>(s: &mut S, mut buf: Vec<u8>) -> (usize, Vec<u8>) {
    let n = s.read(&mut buf).await.expect("read");
    (n, buf)
}
pub(super) async fn write_all<S: AsyncWrite + Unpin>(s: &mut S, buf: Vec<u8>) -> Vec<u8> {
    s.write_all(&buf).await.expect("write");
    s.flush().await.expect("flush");
    buf
}
pub(super) async fn shutdown<S: AsyncWrite + Unpin>(s: &mut S) {
    s.shutdown().await.expect("shutdown");
}
