//! The ring's counters against known work: exact counts of ops by opcode, kernel entries
//! by purpose, a full SQ, cancels, and ENOBUFS on a 2-buffer ring.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;

use common::{pipe, run, serial};
use uring_driver::{BufRing, Driver, MultishotOp, Op, SharedFd, opcode};

#[test]
fn ops_are_counted_by_opcode_when_submitted_and_when_completed() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let before = driver.stats();
    for i in 0..5u8 {
        let (res, _) = run(&driver, Op::write(&driver, &w, vec![i; 4]));
        assert_eq!(res.unwrap(), 4);
    }
    for _ in 0..5 {
        let (res, _) = run(&driver, Op::read(&driver, &r, vec![0u8; 4]));
        assert_eq!(res.unwrap(), 4);
    }
    for _ in 0..7 {
        run(&driver, Op::nop(&driver)).unwrap();
    }
    // A read left pending: submitted, not completed, in flight.
    let mut pending = Op::read(&driver, &r, vec![0u8; 64]);
    assert!(common::poll_once(&mut pending).is_pending());
    driver.submit().unwrap();
    let d = driver.stats().since(&before);
    let (write, read, nop) = (
        d.op(opcode::Write::CODE),
        d.op(opcode::Read::CODE),
        d.op(opcode::Nop::CODE),
    );
    assert_eq!((write.submitted, write.completed), (5, 5));
    assert_eq!(
        (read.submitted, read.completed, read.in_flight()),
        (6, 5, 1)
    );
    assert_eq!((nop.submitted, nop.completed), (7, 7));
    assert_eq!((write.name, read.name, nop.name), ("WRITE", "READ", "NOP"));
    assert_eq!(d.submitted(), 18);
    assert_eq!(d.completed(), 17);
    assert_eq!(d.in_flight(), 1);
    assert_eq!(d.ops.len(), 3, "{:?}", d.ops);
    assert_eq!(d.cqes, 17);
    // Each `run` waited at least once per op; no SQ filled, nothing overflowed.
    assert!(d.enter_wait >= 17, "{d:?}");
    assert_eq!((d.sq_full, d.cq_overflow, d.enter_flush), (0, 0, 0));

    // Dropping the pending read cancels it: one cancel, and its completion is counted.
    let before = driver.stats();
    drop(pending);
    common::drain(&driver);
    let d = driver.stats().since(&before);
    assert_eq!(d.cancels, 1);
    assert_eq!(d.op(opcode::Read::CODE).completed, 1);
    assert_eq!(d.op(opcode::Read::CODE).submitted, 0);
    assert_eq!(driver.stats().in_flight(), 0);
}

#[test]
fn a_full_submission_queue_is_counted() {
    let _g = serial();
    let driver = Driver::builder().entries(8).build().unwrap();
    let before = driver.stats();
    // 20 ops pushed without a turn in between: the 9th and the 17th find the SQ full.
    let ops: Vec<_> = (0..20).map(|_| Op::nop(&driver)).collect();
    for op in ops {
        run(&driver, op).unwrap();
    }
    let d = driver.stats().since(&before);
    assert_eq!(d.sq_full, 2, "{d:?}");
    assert_eq!(d.op(opcode::Nop::CODE).submitted, 20);
    assert_eq!(d.op(opcode::Nop::CODE).completed, 20);
    // The two forced submits are entries that did not wait.
    assert!(d.enter_submit >= 2, "{d:?}");
}

#[test]
fn a_two_buffer_ring_running_dry_is_counted_once() {
    let _g = serial();
    for bundles in [false, true] {
        let driver = Driver::builder().recv_bundles(bundles).build().unwrap();
        let ring = BufRing::new(&driver, 2, 16).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = SharedFd::new(a.into());
        b.write_all(&[7u8; 100]).unwrap();
        let before = driver.stats();
        let mut held = Vec::new();
        let mut stream = MultishotOp::recv_multi(&driver, &a, &ring);
        let mut enobufs = 0;
        while let Some(item) = run(&driver, stream.next()) {
            match item {
                Ok(Some(bundle)) => held.extend(bundle),
                Ok(None) => panic!("unexpected EOF"),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
                    enobufs += 1;
                }
            }
        }
        let d = driver.stats().since(&before);
        let recv = d.op(opcode::Recv::CODE);
        assert_eq!((recv.submitted, recv.completed), (1, 1), "{d:?}");
        // Without bundles the third chunk finds the ring dry (ENOBUFS); a bundle may take
        // both buffers and the kernel end the multishot with it: counted either way, once.
        assert!(enobufs <= 1 && (bundles || enobufs == 1), "{d:?}");
        assert_eq!(d.enobufs, 1, "bundles: {bundles}: {d:?}");
        drop(held);
    }
}

#[test]
fn a_reader_on_another_thread_sees_the_counts() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let reader = driver.stats_reader();
    for _ in 0..4 {
        run(&driver, Op::nop(&driver)).unwrap();
    }
    let seen = std::thread::spawn(move || reader.snapshot().op(opcode::Nop::CODE).completed)
        .join()
        .unwrap();
    assert_eq!(seen, 4);
}
