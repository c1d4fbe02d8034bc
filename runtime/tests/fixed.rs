//! Registered buffers at the runtime level: a pool per worker, reads and writes on files
//! and TCP streams, waiting for a buffer, and misuse.

use std::io::ErrorKind;

use ringlet::buf::FixedBufPool;
use ringlet::fs::File;
use ringlet::net::{TcpListener, TcpStream};

#[ringlet::test]
async fn files_read_and_write_through_registered_buffers() {
    let path = std::env::temp_dir().join(format!("ringlet-fixed-{}", std::process::id()));
    let pool = FixedBufPool::new(2, 8192).unwrap();
    assert_eq!((pool.available(), pool.buf_size()), (2, 8192));
    let file = ringlet::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .await
        .unwrap();
    let mut buf = pool.get().await;
    let data: Vec<u8> = (0..8192u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(buf.fill(&data), 8192);
    let (n, buf) = file.write_fixed_at(buf, 4096).await;
    assert_eq!(n.unwrap(), 8192);
    let (n, mut buf) = file.read_fixed_at(buf, 4096).await;
    assert_eq!(n.unwrap(), 8192);
    assert!(buf[..] == data[..]);
    buf.clear();
    let (n, buf) = file.read_fixed_at(buf, 4096 + 8000).await;
    assert_eq!(n.unwrap(), 192);
    assert_eq!(
        &buf[..],
        &data[8000..],
        "a cleared buffer shows only the new bytes"
    );
    drop(buf);
    assert_eq!(pool.available(), 2);
    std::fs::remove_file(&path).unwrap();
}

#[ringlet::test]
async fn tcp_streams_read_and_write_through_registered_buffers() {
    let pool = FixedBufPool::new(4, 4096).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    for round in 0..100u32 {
        let mut out = pool.get().await;
        out.fill(&round.to_le_bytes().repeat(64));
        let (n, out) = client.write_fixed(out).await;
        assert_eq!(n.unwrap(), 256);
        drop(out);
        let mut got = Vec::new();
        while got.len() < 256 {
            let (n, buf) = server.read_fixed(pool.get().await).await;
            let n = n.unwrap();
            assert!(n > 0, "early EOF");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, round.to_le_bytes().repeat(64));
    }
    drop(client);
    let (n, _) = server.read_fixed(pool.get().await).await;
    assert_eq!(n.unwrap(), 0, "EOF");
    assert_eq!(pool.available(), 4);
}

#[ringlet::test]
async fn get_waits_for_a_buffer_to_come_back() {
    let pool = FixedBufPool::new(1, 64).unwrap();
    let held = pool.try_get().unwrap();
    assert!(pool.try_get().is_none());
    let waiter = {
        let pool = pool.clone();
        ringlet::spawn(async move { pool.get().await.len() })
    };
    // A second waiter that gives up must not take the wake-up with it.
    let quitter = {
        let pool = pool.clone();
        ringlet::spawn(async move { drop(pool.get().await) })
    };
    ringlet::task::yield_now().await;
    quitter.cancel();
    ringlet::time::sleep(std::time::Duration::from_millis(5)).await;
    drop(held);
    assert_eq!(waiter.await.unwrap(), 0, "an empty buffer");
}

#[ringlet::test(workers = 2)]
async fn one_pool_per_worker_and_not_across_workers() {
    let pool = FixedBufPool::new(1, 64).unwrap();
    let err = FixedBufPool::new(1, 64).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceBusy, "{err}");
    assert!(err.to_string().contains("already"), "{err}");
    assert_eq!(
        FixedBufPool::new(0, 64).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Worker 1 has its own pool; a buffer of worker 0's cannot be used there.
    let made_there = ringlet::spawn_on(1, || async {
        FixedBufPool::new(1, 64).map(|p| p.available())
    });
    assert_eq!(made_there.await.unwrap().unwrap(), 1);
    // A FixedBuf is !Send, so it cannot reach another worker's ops; on its own it works.
    let path = std::env::temp_dir().join(format!("ringlet-fixed-x-{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let file = File::open(&path).await.unwrap();
    let (n, _) = file.read_fixed_at(pool.try_get().unwrap(), 0).await;
    assert_eq!(n.unwrap(), 1);
    std::fs::remove_file(&path).unwrap();
}
