//! Ring setup choices and their fallbacks: the CQ size (a burst of completions that fits
//! does not overflow; one that does not is flushed, nothing lost) and the SQ without its
//! index array (`IORING_SETUP_NO_SQARRAY`), on and forced off, carrying ops across many
//! wraps of the SQ either way.

mod common;

use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{drain, pipe, run, serial};
use uring_driver::{DEFAULT_CQ_ENTRIES, Driver, Op, SharedFd, TaskrunMode};

/// The running kernel's (major, minor) version, from uname(2).
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Resolves every future, each exactly once, parking the driver in between.
fn resolve_all<T, F: Future<Output = std::io::Result<T>> + Unpin>(
    driver: &Driver,
    ops: &mut [Option<F>],
) {
    let mut cx = Context::from_waker(Waker::noop());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut left = ops.iter().flatten().count();
    while left > 0 {
        for slot in ops.iter_mut() {
            if let Some(op) = slot
                && let Poll::Ready(res) = Pin::new(op).poll(&mut cx)
            {
                res.unwrap();
                *slot = None;
                left -= 1;
            }
        }
        assert!(Instant::now() < deadline, "{left} ops never completed");
        if left > 0 {
            driver.park(Some(Duration::from_millis(10))).unwrap();
        }
    }
    assert_eq!(driver.slots(), 0);
}

/// `n` completions arriving at once: `n` polls wait on one pipe, then one write readies
/// them all between two turns of the loop.
fn burst_of_completions(driver: &Driver, n: usize) {
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut polls: Vec<_> = (0..n)
        .map(|_| Some(Op::poll_add(driver, &r, libc::POLLIN as u32)))
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    for poll in polls.iter_mut().flatten() {
        assert!(Pin::new(poll).poll(&mut cx).is_pending());
    }
    driver.submit().unwrap();
    std::fs::File::from(w).write_all(b"!").unwrap();
    resolve_all(driver, &mut polls);
}

/// Pushes `n` NOPs at once (the SQ is submitted whenever it fills) and resolves them.
fn burst_of_nops(driver: &Driver, n: usize) {
    let mut nops: Vec<_> = (0..n).map(|_| Some(Op::nop(driver))).collect();
    resolve_all(driver, &mut nops);
}

#[test]
fn the_default_cq_holds_a_burst_of_thousands_of_completions() {
    let _g = serial();
    let f = Driver::new().unwrap().features();
    assert_eq!((f.sq_entries, f.cq_entries), (256, DEFAULT_CQ_ENTRIES));
    // Cooperative task running: completions are posted as they happen, so the ones that
    // find the CQ full overflow. (With DEFER_TASKRUN, recent kernels run only as much
    // deferred work per enter as the CQ has room for: no overflow, but more enters.)
    let driver = Driver::builder().defer_taskrun(false).build().unwrap();
    burst_of_completions(&driver, 3000);
    assert_eq!(
        driver.cq_overflow_flushes(),
        0,
        "a 4096-entry CQ overflowed"
    );
}

#[test]
fn a_small_cq_overflows_and_loses_nothing() {
    let _g = serial();
    let driver = Driver::builder()
        .entries(16)
        .cq_entries(32)
        .defer_taskrun(false)
        .build()
        .unwrap();
    assert_eq!(driver.features().cq_entries, 32);
    burst_of_completions(&driver, 3000);
    assert!(driver.cq_overflow_flushes() > 0, "the CQ never overflowed");
}

#[test]
fn the_cq_is_never_smaller_than_twice_the_sq_and_huge_sizes_are_clamped() {
    let _g = serial();
    let driver = Driver::builder().entries(64).cq_entries(4).build().unwrap();
    assert_eq!(driver.features().cq_entries, 128);
    let driver = Driver::builder()
        .entries(64)
        .cq_entries(u32::MAX)
        .build()
        .unwrap();
    assert!(driver.features().cq_entries >= 1 << 16);
    run(&driver, Op::nop(&driver)).unwrap();
}

/// Ops through `driver` across many wraps of its 8-entry SQ: NOPs in bursts, and a pipe
/// written and read back in order.
fn ops_across_sq_wraps(driver: &Driver) {
    burst_of_nops(driver, 1000);
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    for i in 0..200u32 {
        let msg = i.to_le_bytes().to_vec();
        let (res, _) = run(driver, Op::write(driver, &w, msg));
        assert_eq!(res.unwrap(), 4);
        let (res, buf) = run(driver, Op::read(driver, &r, vec![0u8; 4]));
        assert_eq!(res.unwrap(), 4);
        assert_eq!(buf, i.to_le_bytes());
    }
}

#[test]
fn no_sqarray_is_used_where_the_kernel_has_it() {
    let _g = serial();
    let driver = Driver::builder().entries(8).build().unwrap();
    let expected = kernel_version() >= (6, 6);
    assert_eq!(driver.features().no_sqarray, expected);
    ops_across_sq_wraps(&driver);
}

#[test]
fn the_sq_array_fallback_carries_the_same_ops() {
    let _g = serial();
    let driver = Driver::builder()
        .entries(8)
        .no_sqarray(false)
        .build()
        .unwrap();
    assert!(!driver.features().no_sqarray);
    ops_across_sq_wraps(&driver);
}

#[test]
fn no_sqarray_works_in_every_task_running_mode() {
    let _g = serial();
    let driver = Driver::builder()
        .entries(8)
        .defer_taskrun(false)
        .build()
        .unwrap();
    assert_eq!(driver.features().no_sqarray, kernel_version() >= (6, 6));
    ops_across_sq_wraps(&driver);
}

fn sqpoll_driver(entries: u32, idle: Duration) -> Driver {
    let driver = Driver::builder()
        .entries(entries)
        .sqpoll(idle)
        .build()
        .unwrap();
    let f = driver.features();
    assert!(f.sqpoll, "this kernel (5.11+) allows unprivileged SQPOLL");
    assert_ne!(
        f.taskrun,
        TaskrunMode::Deferred,
        "SQPOLL excludes DEFER_TASKRUN"
    );
    driver
}

#[test]
fn an_sqpoll_ring_carries_ops_across_sq_wraps_and_bursts() {
    let _g = serial();
    let driver = sqpoll_driver(8, Duration::from_millis(20));
    ops_across_sq_wraps(&driver);
    burst_of_completions(&driver, 500);
    // Waits bounded by a timeout still return on time.
    let start = Instant::now();
    driver.park(Some(Duration::from_millis(30))).unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(25), "{waited:?}");
    run(&driver, Op::timeout(&driver, Duration::from_millis(5))).unwrap();
}

#[test]
fn a_sleeping_sq_poll_thread_is_woken_for_new_ops() {
    let _g = serial();
    let driver = sqpoll_driver(64, Duration::from_millis(1));
    run(&driver, Op::nop(&driver)).unwrap();
    for _ in 0..20 {
        // Idle for far longer than the thread's 1 ms: it sleeps, and the next op must
        // wake it, or it would never be submitted.
        std::thread::sleep(Duration::from_millis(10));
        let (r, w) = pipe();
        let (r, w) = (SharedFd::new(r), SharedFd::new(w));
        let (res, _) = run(&driver, Op::write(&driver, &w, b"up".to_vec()));
        assert_eq!(res.unwrap(), 2);
        let (res, buf) = run(&driver, Op::read(&driver, &r, vec![0u8; 2]));
        assert_eq!(res.unwrap(), 2);
        assert_eq!(buf, b"up");
    }
    assert!(driver.sqpoll_wakeups() > 0, "the thread never slept");
}

#[test]
fn an_sqpoll_ring_cancels_dropped_ops_and_drains() {
    let _g = serial();
    let driver = sqpoll_driver(16, Duration::from_millis(20));
    let (r, _w) = pipe();
    let r = SharedFd::new(r);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..50 {
        let mut read = Op::read(&driver, &r, vec![0u8; 8]);
        assert!(Pin::new(&mut read).poll(&mut cx).is_pending());
        drop(read); // in flight: cancelled, its buffer kept until the final CQE
    }
    drain(&driver);
    assert_eq!(driver.slots(), 0);
}
