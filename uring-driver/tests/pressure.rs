//! Ring pressure: a ring of 8 SQ entries (16 CQ entries) carries 100,000 ops queued at
//! once, and completions are made to overflow the CQ on purpose. Every op must resolve
//! exactly once, with its own result: nothing lost, nothing completed twice, nothing
//! delivered to the wrong op.
//!
//! `RINGLET_PRESSURE_OPS` sets the number of ops (default 100,000).

mod common;

use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{open_fds, pipe, serial};
use uring_driver::{Driver, Op, SharedFd};

fn ops() -> usize {
    std::env::var("RINGLET_PRESSURE_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn tiny_driver() -> Driver {
    let driver = Driver::builder().entries(8).cq_entries(16).build().unwrap();
    let f = driver.features();
    assert_eq!((f.sq_entries, f.cq_entries), (8, 16));
    driver
}

/// Polls every future until each has resolved, once; `check` sees each output with its
/// index. Fails if one is still pending after 60 s.
fn resolve_all<F: Future + Unpin>(
    driver: &Driver,
    futures: &mut [Option<F>],
    mut check: impl FnMut(usize, F::Output),
) {
    let mut cx = Context::from_waker(Waker::noop());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending = futures.iter().filter(|f| f.is_some()).count();
    while pending > 0 {
        for (i, slot) in futures.iter_mut().enumerate() {
            if let Some(fut) = slot
                && let Poll::Ready(out) = Pin::new(fut).poll(&mut cx)
            {
                *slot = None;
                pending -= 1;
                check(i, out);
            }
        }
        if pending > 0 {
            assert!(Instant::now() < deadline, "{pending} ops never completed");
            driver.park(Some(Duration::from_millis(10))).unwrap();
        }
    }
}

#[test]
fn a_tiny_ring_carries_every_queued_op_to_its_own_result() {
    let _g = serial();
    let n = ops();
    // Each 8-byte record holds its own index: a result routed to the wrong op shows.
    let path = std::env::temp_dir().join(format!("uring-driver-pressure-{}", std::process::id()));
    let records: Vec<u8> = (0..n as u64).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&path, &records).unwrap();
    let fds = open_fds();
    {
        let driver = tiny_driver();
        let file = SharedFd::new(std::fs::File::open(&path).unwrap().into());
        // All queued before any is polled: the SQ fills every 8 pushes and is submitted.
        let mut reads: Vec<_> = (0..n)
            .map(|i| Some(Op::read_at(&driver, &file, vec![0u8; 8], i as u64 * 8)))
            .collect();
        let mut nops: Vec<_> = (0..n / 4).map(|_| Some(Op::nop(&driver))).collect();
        let mut seen = vec![false; n];
        resolve_all(&driver, &mut reads, |i, (res, buf)| {
            assert_eq!(res.unwrap(), 8, "read {i}");
            let got = u64::from_le_bytes(buf[..8].try_into().unwrap());
            assert_eq!(got, i as u64, "read {i} got another op's result");
            assert!(!std::mem::replace(&mut seen[i], true), "read {i} twice");
        });
        resolve_all(&driver, &mut nops, |i, res| {
            res.unwrap_or_else(|e| panic!("nop {i}: {e}"));
        });
        assert!(seen.iter().all(|&s| s), "every read resolved");
        assert_eq!((driver.in_flight(), driver.slots()), (0, 0));
    }
    assert_eq!(open_fds(), fds);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn completions_that_overflow_the_cq_are_all_delivered() {
    let _g = serial();
    let n = ops();
    let fds = open_fds();
    {
        let driver = tiny_driver();
        let (r, w) = pipe();
        let r = SharedFd::new(r);
        // `n` polls wait on one pipe; one in 50 is dropped (each pushes a cancel through
        // the tiny SQ, and posts its own CQE); then one write readies all the rest at once,
        // far more completions than the 16-entry CQ holds. (Not more drops: the kernel
        // finds a poll to cancel in a hash table sized by the CQ, two buckets here, so
        // each cancel walks half the polls.)
        let mut polls: Vec<_> = (0..n)
            .map(|_| Some(Op::poll_add(&driver, &r, libc::POLLIN as u32)))
            .collect();
        let mut cx = Context::from_waker(Waker::noop());
        for (i, slot) in polls.iter_mut().enumerate() {
            if let Some(op) = slot {
                assert!(Pin::new(op).poll(&mut cx).is_pending(), "poll {i} early");
            }
            if i % 50 == 0 {
                *slot = None;
            }
        }
        driver.submit().unwrap();
        let before = driver.cq_overflow_flushes();
        std::fs::File::from(w).write_all(b"!").unwrap();
        let mut resolved = 0;
        resolve_all(&driver, &mut polls, |i, res| {
            let events = res.unwrap_or_else(|e| panic!("poll {i}: {e}"));
            assert_ne!(events & libc::POLLIN as u32, 0, "poll {i}: {events:#x}");
            resolved += 1;
        });
        assert_eq!(
            resolved,
            n - n.div_ceil(50),
            "every poll left resolved once"
        );
        let flushes = driver.cq_overflow_flushes() - before;
        assert!(
            flushes > 0,
            "the CQ never overflowed: the test proves nothing"
        );
        common::drain(&driver);
        assert_eq!(driver.slots(), 0);
        println!("{resolved} completions through a 16-entry CQ, {flushes} overflow flushes");
    }
    assert_eq!(open_fds(), fds);
}

#[test]
fn timeouts_expiring_together_overflow_and_all_fire_once() {
    let _g = serial();
    let n = ops() / 10;
    let driver = tiny_driver();
    // Absolute deadlines would be exact; relative ones of 200 ms, pushed within far less
    // time, still expire in one burst.
    let mut timers: Vec<_> = (0..n)
        .map(|_| Some(Op::timeout(&driver, Duration::from_millis(200))))
        .collect();
    driver.submit().unwrap();
    let before = driver.cq_overflow_flushes();
    let mut fired = vec![false; n];
    resolve_all(&driver, &mut timers, |i, res| {
        res.unwrap_or_else(|e| panic!("timeout {i}: {e}"));
        assert!(!std::mem::replace(&mut fired[i], true));
    });
    assert!(fired.iter().all(|&f| f));
    assert!(
        driver.cq_overflow_flushes() > before,
        "the CQ never overflowed"
    );
    assert_eq!((driver.in_flight(), driver.slots()), (0, 0));
}
