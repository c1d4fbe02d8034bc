//! Provided-buffer rings with multishot receive, with receive bundles and without: buffers
//! lease and return, a dry ring ends the stream with ENOBUFS without losing data, dropping
//! the stream returns them all, and bundles from many sockets sharing one ring keep every
//! byte in order.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{drain, open_fds, poll_once, run, serial};
use uring_driver::op::RecvMulti;
use uring_driver::{BufRing, Bundle, Driver, MultishotOp, RingBuf, SharedFd};

/// A driver receiving with bundles (where the kernel has them) or without.
fn driver(bundles: bool) -> Driver {
    let driver = Driver::builder().recv_bundles(bundles).build().unwrap();
    assert!(bundles || !driver.features().recv_bundle);
    driver
}

fn bytes(bundle: Bundle) -> Vec<u8> {
    bundle.flat_map(|buf| buf.to_vec()).collect()
}

#[test]
fn chunks_arrive_in_leased_buffers_that_return_on_drop() {
    let _g = serial();
    for bundles in [false, true] {
        let driver = driver(bundles);
        let ring = BufRing::new(&driver, 8, 64).unwrap();
        assert_eq!(
            (ring.available(), ring.buf_size(), ring.entries()),
            (8, 64, 8)
        );
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = SharedFd::new(a.into());
        let mut stream: MultishotOp<RecvMulti> = MultishotOp::recv_multi(&driver, &a, &ring);
        b.write_all(b"first").unwrap();
        let mut bundle = run(&driver, stream.next()).unwrap().unwrap().unwrap();
        assert_eq!((bundle.len(), bundle.bytes()), (1, 5));
        let first = bundle.next().unwrap();
        assert_eq!(&first[..], b"first");
        assert!(bundle.is_empty());
        assert_eq!(ring.available(), 7, "leased while held");
        b.write_all(&[7u8; 100]).unwrap(); // two buffers' worth
        let mut got = Vec::new();
        let mut completions = 0;
        while got.len() < 100 {
            let bundle = run(&driver, stream.next()).unwrap().unwrap().unwrap();
            completions += 1;
            let bufs: Vec<RingBuf> = bundle.collect();
            assert!(bufs.iter().all(|buf| buf.len() <= 64));
            bufs.iter().for_each(|buf| got.extend_from_slice(buf));
        }
        assert_eq!(got, [7u8; 100]);
        let one_completion = driver.features().recv_bundle;
        assert_eq!(completions == 1, one_completion, "bundles: {bundles}");
        drop(first);
        assert_eq!(ring.available(), 8, "every buffer back once dropped");
        drop(b);
        assert!(
            run(&driver, stream.next()).unwrap().unwrap().is_none(),
            "EOF"
        );
        assert!(run(&driver, stream.next()).is_none(), "the stream ended");
        assert_eq!(ring.available(), 8, "EOF took no buffer for good");
    }
}

#[test]
fn a_bundle_dropped_unread_returns_its_buffers() {
    let _g = serial();
    let driver = driver(true);
    let ring = BufRing::new(&driver, 8, 16).unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = SharedFd::new(a.into());
    b.write_all(&[3u8; 70]).unwrap(); // five buffers' worth
    let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
    let mut got = 0;
    while got < 70 {
        let mut bundle = run(&driver, stream.next()).unwrap().unwrap().unwrap();
        got += bundle.bytes();
        let first = bundle.next().unwrap();
        assert_eq!(first.len(), 16.min(first.len() + bundle.bytes()));
        let leased = 8 - ring.available();
        drop(bundle); // the rest, never handed out
        drop(first);
        assert!(
            8 - ring.available() < leased,
            "the bundle's buffers went back"
        );
    }
    assert_eq!(got, 70);
    drop(stream);
    drain(&driver);
    assert_eq!(ring.available(), 8);
}

#[test]
fn a_dry_ring_ends_the_stream_with_enobufs_and_no_data_is_lost() {
    let _g = serial();
    for bundles in [false, true] {
        let driver = driver(bundles);
        let ring = BufRing::new(&driver, 2, 16).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = SharedFd::new(a.into());
        let payload: Vec<u8> = (0..100u8).collect();
        b.write_all(&payload).unwrap();
        let mut held = Vec::new();
        let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
        // The multishot ends with ENOBUFS, or (a bundle that emptied the ring) with its
        // last data.
        while let Some(item) = run(&driver, stream.next()) {
            match item {
                Ok(Some(bundle)) => held.extend(bundle),
                Ok(None) => panic!("unexpected EOF"),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
                    assert!(
                        run(&driver, stream.next()).is_none(),
                        "ENOBUFS ends the multishot"
                    );
                    break;
                }
            }
        }
        assert_eq!(held.len(), 2);
        let mut got: Vec<u8> = held.iter().flat_map(|b| b.iter().copied()).collect();
        drop(held);
        // Re-arm and collect the rest: nothing was dropped while the ring was dry.
        while got.len() < payload.len() {
            let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
            while let Some(item) = run(&driver, stream.next()) {
                match item {
                    Ok(Some(bundle)) => got.extend(bytes(bundle)),
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
        assert_eq!(got, payload, "bundles: {bundles}");
    }
}

#[test]
fn a_dropped_multishot_recv_returns_every_buffer() {
    let _g = serial();
    for bundles in [false, true] {
        let fds = open_fds();
        let driver = driver(bundles);
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
}

/// xorshift64*: a seed replays exactly.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Sockets sharing one small ring, written in random chunks, received with buffers held
/// and released in random order (so the ring's order drifts from the ids' order, and
/// completions of different sockets interleave): every socket's bytes arrive exactly, the
/// ring never hands out a buffer twice, and every buffer is back at the end.
#[test]
fn bundles_from_many_sockets_sharing_a_ring_keep_every_byte() {
    let _g = serial();
    const SOCKETS: usize = 6;
    for bundles in [false, true] {
        for seed in 1..=8u64 {
            let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let driver = driver(bundles);
            let ring = BufRing::new(&driver, 16, 8).unwrap();
            let mut peers = Vec::new();
            let mut streams = Vec::new();
            for _ in 0..SOCKETS {
                let (a, b) = UnixStream::pair().unwrap();
                let a = SharedFd::new(a.into());
                streams.push(Some(MultishotOp::recv_multi(&driver, &a, &ring)));
                peers.push((a, b));
            }
            let mut sent = vec![Vec::new(); SOCKETS];
            let mut got = vec![Vec::new(); SOCKETS];
            let mut held: Vec<RingBuf> = Vec::new();
            let mut counter = 0u8;
            let mut multi = 0;
            for _ in 0..300 {
                let i = (next(&mut rng) % SOCKETS as u64) as usize;
                let n = 1 + (next(&mut rng) % 40) as usize;
                let chunk: Vec<u8> = (0..n)
                    .map(|_| {
                        counter = counter.wrapping_add(1);
                        counter
                    })
                    .collect();
                peers[i].1.write_all(&chunk).unwrap();
                sent[i].extend_from_slice(&chunk);
                driver.park(Some(Duration::ZERO)).unwrap();
                for (i, slot) in streams.iter_mut().enumerate() {
                    let stream = slot.get_or_insert_with(|| {
                        MultishotOp::recv_multi(&driver, &peers[i].0, &ring)
                    });
                    let mut ended = false;
                    while let std::task::Poll::Ready(item) = poll_once(&mut Box::pin(stream.next()))
                    {
                        match item {
                            Some(Ok(Some(bundle))) => {
                                multi += usize::from(bundle.len() > 1);
                                for buf in bundle {
                                    got[i].extend_from_slice(&buf);
                                    if next(&mut rng).is_multiple_of(2) {
                                        held.push(buf);
                                    }
                                }
                            }
                            Some(Ok(None)) => panic!("unexpected EOF"),
                            Some(Err(e)) => {
                                assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "seed {seed}");
                                ended = true; // re-armed next turn
                                break;
                            }
                            None => {
                                ended = true;
                                break;
                            }
                        }
                    }
                    if ended {
                        *slot = None;
                    }
                }
                // Give back a random few of the held buffers, in random order.
                while !held.is_empty() && !next(&mut rng).is_multiple_of(3) {
                    let at = (next(&mut rng) % held.len() as u64) as usize;
                    drop(held.swap_remove(at));
                }
            }
            held.clear();
            // Drain what is left in the sockets.
            for (i, slot) in streams.iter_mut().enumerate() {
                while got[i].len() < sent[i].len() {
                    let stream = slot.get_or_insert_with(|| {
                        MultishotOp::recv_multi(&driver, &peers[i].0, &ring)
                    });
                    match run(&driver, stream.next()) {
                        Some(Ok(Some(bundle))) => got[i].extend(bytes(bundle)),
                        Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => *slot = None,
                        None => *slot = None,
                        other => panic!("seed {seed}: {other:?}"),
                    }
                }
            }
            assert_eq!(got, sent, "bundles {bundles}, seed {seed}");
            let expected = driver.features().recv_bundle;
            assert_eq!(
                multi > 0,
                expected,
                "bundles {bundles}, seed {seed}: {multi}"
            );
            drop(streams);
            drain(&driver);
            assert_eq!(ring.available(), 16, "bundles {bundles}, seed {seed}");
        }
    }
}

#[test]
fn multishot_recvmsg_yields_datagrams_with_their_senders() {
    use uring_driver::op::RecvMsgMulti;
    let _g = serial();
    let driver = Driver::new().unwrap();
    // 144 bytes of header and address, then 16 bytes of room for the payload.
    let ring = BufRing::new(&driver, 4, 160).unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let socket = SharedFd::new(socket.into());
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut stream: MultishotOp<RecvMsgMulti> =
        MultishotOp::recv_msg_multi(&driver, &socket, &ring);
    for payload in [&b"one"[..], b"", b"a datagram longer than the room"] {
        sender.send_to(payload, addr).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let Some(item) = run(&driver, stream.next()) else {
            // The kernel ends a multishot recvmsg after an empty datagram: arm again.
            stream = MultishotOp::recv_msg_multi(&driver, &socket, &ring);
            continue;
        };
        let datagram = item.unwrap();
        assert_eq!(datagram.source, Some(sender.local_addr().unwrap()));
        got.push((
            datagram.buf[datagram.payload.clone()].to_vec(),
            datagram.truncated,
        ));
    }
    assert_eq!(
        got,
        [
            (b"one".to_vec(), false),
            (Vec::new(), false),
            (b"a datagram longe".to_vec(), true),
        ]
    );
    drop(stream);
    // Dropped with datagrams queued and in flight: their buffers come back too.
    let mut stream = MultishotOp::recv_msg_multi(&driver, &socket, &ring);
    assert!(poll_once(&mut Box::pin(stream.next())).is_pending());
    sender.send_to(b"queued", addr).unwrap();
    driver.park(Some(Duration::from_millis(100))).unwrap();
    drop(stream);
    sender.send_to(b"late", addr).unwrap();
    drain(&driver);
    assert_eq!(driver.slots(), 0);
    assert_eq!(ring.available(), 4, "every buffer back");
}
