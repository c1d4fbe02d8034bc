//! Provided-buffer rings with multishot receive: buffers lease and return, a dry ring ends
//! the stream with ENOBUFS without losing data, and dropping the stream returns them all.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{drain, open_fds, poll_once, run, serial};
use uring_driver::op::RecvMulti;
use uring_driver::{BufRing, Driver, MultishotOp, SharedFd};

#[test]
fn chunks_arrive_in_leased_buffers_that_return_on_drop() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let ring = BufRing::new(&driver, 8, 64).unwrap();
    assert_eq!(
        (ring.available(), ring.buf_size(), ring.entries()),
        (8, 64, 8)
    );
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = SharedFd::new(a.into());
    let mut stream: MultishotOp<RecvMulti> = MultishotOp::recv_multi(&driver, &a, &ring);
    b.write_all(b"first").unwrap();
    let first = run(&driver, stream.next()).unwrap().unwrap().unwrap();
    assert_eq!(&first[..], b"first");
    assert_eq!(ring.available(), 7, "leased while held");
    b.write_all(&[7u8; 100]).unwrap(); // two buffers' worth
    let mut got = Vec::new();
    while got.len() < 100 {
        let buf = run(&driver, stream.next()).unwrap().unwrap().unwrap();
        assert!(buf.len() <= 64);
        got.extend_from_slice(&buf);
    }
    assert_eq!(got, [7u8; 100]);
    drop(first);
    assert_eq!(ring.available(), 8, "every buffer back once dropped");
    drop(b);
    assert!(
        run(&driver, stream.next()).unwrap().unwrap().is_none(),
        "EOF"
    );
    assert!(run(&driver, stream.next()).is_none(), "the stream ended");
}

#[test]
fn a_dry_ring_ends_the_stream_with_enobufs_and_no_data_is_lost() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let ring = BufRing::new(&driver, 2, 16).unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = SharedFd::new(a.into());
    let payload: Vec<u8> = (0..100u8).collect();
    b.write_all(&payload).unwrap();
    let mut held = Vec::new();
    let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
    let enobufs = loop {
        match run(&driver, stream.next()).unwrap() {
            Ok(Some(buf)) => held.push(buf),
            Ok(None) => panic!("unexpected EOF"),
            Err(e) => break e,
        }
    };
    assert_eq!(enobufs.raw_os_error(), Some(libc::ENOBUFS));
    assert!(
        run(&driver, stream.next()).is_none(),
        "ENOBUFS ends the multishot"
    );
    assert_eq!(held.len(), 2);
    let mut got: Vec<u8> = held.iter().flat_map(|b| b.iter().copied()).collect();
    drop(held);
    // Re-arm and collect the rest: nothing was dropped while the ring was dry.
    while got.len() < payload.len() {
        let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
        loop {
            match run(&driver, stream.next()).unwrap() {
                Ok(Some(buf)) => got.extend_from_slice(&buf),
                Ok(None) => panic!("unexpected EOF"),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
                    break;
                }
            }
            if got.len() == payload.len() {
                break;
            }
        }
    }
    assert_eq!(got, payload);
}

#[test]
fn a_dropped_multishot_recv_returns_every_buffer() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    let ring = BufRing::new(&driver, 4, 32).unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = SharedFd::new(a.into());
    let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
    assert!(poll_once(&mut Box::pin(stream.next())).is_pending());
    b.write_all(&[1u8; 40]).unwrap();
    driver.park(Some(Duration::from_millis(100))).unwrap(); // CQEs queue, unpolled
    drop(stream);
    b.write_all(&[2u8; 40]).unwrap(); // may land in the dying op: cleaned up too
    drain(&driver);
    assert_eq!(driver.slots(), 0);
    assert_eq!(ring.available(), 4, "queued and late buffers all went back");
    drop((ring, driver, a, b));
    assert_eq!(open_fds(), fds);
}
