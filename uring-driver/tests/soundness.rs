//! Regression tests for the driver's soundness defects: objects used on a ring they do not
//! belong to, a close that could not be submitted, lost wake-ups when a push reaps, a link
//! timeout left set by a panic, and wakers run while the driver is borrowed.

mod common;

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{anonymous_file, drain, pipe, poll_once, run, serial};
use uring_driver::{BufRing, Driver, FileTable, FixedBufPool, Handle, MultishotOp, Op, SharedFd};

fn assert_foreign_ring_error(error: std::io::Error) {
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
    assert!(
        error.to_string().contains("belongs to io_uring ring"),
        "{error}"
    );
}

#[test]
fn buffer_ring_used_on_another_driver_is_refused() {
    let _g = serial();
    let (a, b) = (Driver::new().unwrap(), Driver::new().unwrap());
    let ring_a = BufRing::new(&a, 4, 64).unwrap();
    // Both drivers get group 0: ids restart per ring, which is why the ring is checked.
    let ring_b = BufRing::new(&b, 4, 64).unwrap();
    assert_eq!(ring_a.group(), ring_b.group());
    let (x, mut y) = UnixStream::pair().unwrap();
    let x = SharedFd::new(OwnedFd::from(x));
    y.write_all(b"for ring a").unwrap();
    let mut wrong = MultishotOp::recv_multi(&b, &x, &ring_a);
    let item = run(&b, wrong.next()).expect("one item");
    assert_foreign_ring_error(item.unwrap_err());
    assert!(run(&b, wrong.next()).is_none());
    assert_eq!(
        ring_b.available(),
        4,
        "the other ring's buffers were untouched"
    );
    assert_eq!(b.in_flight(), 0);
    // The right ring still works.
    let mut right = MultishotOp::recv_multi(&a, &x, &ring_a);
    let mut bundle = run(&a, right.next()).unwrap().unwrap().unwrap();
    let buf = bundle.next().unwrap();
    assert_eq!((&buf[..], bundle.len()), (&b"for ring a"[..], 0));
    drop((buf, right));
    drain(&a);
}

#[test]
fn registered_file_used_on_another_driver_is_refused() {
    let _g = serial();
    let (a, b) = (Driver::new().unwrap(), Driver::new().unwrap());
    let table_a = FileTable::new(&a, 4).unwrap();
    let table_b = FileTable::new(&b, 4).unwrap();
    let (r, w) = pipe();
    let r_a = table_a.register(r).unwrap();
    // Slot 0 of ring b holds another file: a read by slot on ring b would read it.
    let (other_r, _other_w) = pipe();
    let r_b = table_b.register(other_r).unwrap();
    assert_eq!(r_a.index(), r_b.index());
    std::fs::File::from(w).write_all(b"file a").unwrap();
    let (res, _) = run(&b, Op::read_at_registered(&b, &r_a, vec![0u8; 8], u64::MAX));
    assert_foreign_ring_error(res.unwrap_err());
    let (res, _) = run(&b, Op::write_registered(&b, &r_a, b"x".to_vec()));
    assert_foreign_ring_error(res.unwrap_err());
    let (res, buf) = run(&a, Op::read_at_registered(&a, &r_a, vec![0u8; 8], u64::MAX));
    assert_eq!(res.unwrap(), 6);
    assert_eq!(&buf[..6], b"file a");
}

#[test]
fn fixed_buffer_used_on_another_driver_is_refused() {
    let _g = serial();
    let (a, b) = (Driver::new().unwrap(), Driver::new().unwrap());
    let pool_a = FixedBufPool::new(&a, 2, 64).unwrap();
    let _pool_b = FixedBufPool::new(&b, 2, 64).unwrap();
    let fd = SharedFd::new(anonymous_file("foreign-fixed"));
    let mut buf = pool_a.try_get().unwrap();
    buf.fill(b"fixed");
    let (res, buf) = run(&b, Op::write_fixed_at(&b, &fd, buf, 0));
    assert_foreign_ring_error(res.unwrap_err());
    let (res, buf) = run(&b, Op::read_fixed_at(&b, &fd, buf, 0));
    assert_foreign_ring_error(res.unwrap_err());
    let (res, _) = run(&a, Op::write_fixed_at(&a, &fd, buf, 0));
    assert_eq!(res.unwrap(), 5);
}

#[test]
fn close_that_was_never_submitted_still_closes_when_dropped() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let handle: Handle = driver.handle().clone();
    drop(driver); // ops on this handle can no longer be submitted
    let (r, w) = pipe();
    let close = Op::close(&handle, w);
    drop(close); // never polled
    // Every write end is closed: the read end sees EOF at once, not "would block".
    let mut r = std::fs::File::from(r);
    set_nonblocking(&r);
    let mut byte = [0u8; 1];
    assert_eq!(r.read(&mut byte).unwrap(), 0, "the write end leaked");
}

fn set_nonblocking(file: &std::fs::File) {
    // SAFETY: fcntl on a descriptor the file owns, with integer arguments.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        assert!(libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) == 0);
    }
}

#[test]
fn a_push_that_reaps_makes_the_next_wait_return() {
    let _g = serial();
    // A one-entry SQ: the second push must submit the first, which completes at once.
    let driver = Driver::builder().entries(1).build().unwrap();
    let (r, w) = pipe();
    std::fs::File::from(w).write_all(b"ready").unwrap();
    let r = SharedFd::new(r);
    let (idle_r, _idle_w) = pipe();
    let idle_r = SharedFd::new(idle_r);
    let mut ready = Box::pin(Op::read(&driver, &r, vec![0u8; 8]));
    assert!(poll_once(&mut ready).is_pending());
    // Pushing this read submits the first one, and reaps its completion.
    let mut idle = Box::pin(Op::read(&driver, &idle_r, vec![0u8; 8]));
    assert!(poll_once(&mut idle).is_pending());
    let started = Instant::now();
    driver.park(Some(Duration::from_secs(5))).unwrap();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "park slept {waited:?} with a completion already reaped"
    );
    let Poll::Ready((res, _)) = poll_once(&mut ready) else {
        panic!("the first read did not complete")
    };
    assert_eq!(res.unwrap(), 5);
    drop(idle);
    drain(&driver);
}

#[test]
fn a_link_timeout_does_not_outlive_a_panicking_closure() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        driver.with_link_timeout(Duration::from_millis(1), || panic!("before the op"));
    }));
    assert!(panicked.is_err());
    // The next, unrelated op must not get the 1 ms timeout.
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut read = Box::pin(Op::read(&driver, &r, vec![0u8; 8]));
    assert!(poll_once(&mut read).is_pending());
    driver.park(Some(Duration::from_millis(50))).unwrap();
    driver.park(Some(Duration::from_millis(50))).unwrap();
    assert!(
        poll_once(&mut read).is_pending(),
        "the read was cancelled by a stale link timeout"
    );
    std::fs::File::from(w).write_all(b"late").unwrap();
    let (res, buf) = run(&driver, read);
    assert_eq!(res.unwrap(), 4);
    assert_eq!(&buf[..4], b"late");
}

/// A waker that uses the driver when woken: legal for any waker.
struct UsesDriver {
    handle: Handle,
    woken: std::sync::atomic::AtomicUsize,
}

/// `Wake` needs `Send + Sync`, which `Handle` (an `Rc`) is not: the waker reaches the
/// driver through a pointer, and the test only wakes it on its own thread.
struct LocalWake(std::sync::Mutex<Option<*const UsesDriver>>);
// SAFETY: only ever woken on the test's own thread, while `UsesDriver` is alive.
unsafe impl Send for LocalWake {}
// SAFETY: as above.
unsafe impl Sync for LocalWake {}

impl Wake for LocalWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(ptr) = *self.0.lock().unwrap() {
            // SAFETY: the pointee outlives every wake (see the test).
            let uses = unsafe { &*ptr };
            // This borrows the driver: it must not be borrowed already.
            let _ = uses.handle.in_flight();
            uses.woken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[test]
fn wakers_run_after_the_driver_borrow_is_released() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let uses = UsesDriver {
        handle: driver.handle().clone(),
        woken: 0.into(),
    };
    let wake = Arc::new(LocalWake(std::sync::Mutex::new(Some(&raw const uses))));
    let waker = Waker::from(wake.clone());
    let mut cx = Context::from_waker(&waker);
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut read = Box::pin(Op::read(&driver, &r, vec![0u8; 8]));
    assert!(read.as_mut().poll(&mut cx).is_pending());
    std::fs::File::from(w).write_all(b"wake").unwrap();
    driver.park(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(uses.woken.load(std::sync::atomic::Ordering::SeqCst), 1);
    let Poll::Ready((res, _)) = read.as_mut().poll(&mut cx) else {
        panic!("not complete")
    };
    assert_eq!(res.unwrap(), 4);
    *wake.0.lock().unwrap() = None;
}
