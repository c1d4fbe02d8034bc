//! Helpers for driving a `Driver` by hand: no executor, just push, park, reap and poll.
#![allow(dead_code, unreachable_pub)]

use std::cell::Cell;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use uring_driver::{Driver, IoBuf, IoBufMut};

/// Tests that count descriptors must not overlap with tests that open them.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `fut` to completion, parking in the driver between polls. Fails after 10 s.
pub fn run<F: Future>(driver: &Driver, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        assert!(Instant::now() < deadline, "op did not complete within 10 s");
        driver.park(Some(Duration::from_millis(100))).unwrap();
    }
}

/// Polls `fut` once (which submits nothing by itself) and returns it still pending.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    std::pin::Pin::new(fut).poll(&mut cx)
}

/// Turns the driver until no op is in flight. Fails after 30 s.
///
/// Waits are short: under valgrind, which does not let other threads run while one is
/// blocked in `io_uring_enter`, a peer thread that must act for an op to complete (one
/// draining a zero-copy send) runs only between them.
pub fn drain(driver: &Driver) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while driver.in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} ops still in flight after 30 s",
            driver.in_flight()
        );
        driver.park(Some(Duration::from_millis(1))).unwrap();
    }
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A new, empty file opened for reading and writing, already unlinked: `name` tells the
/// tests' files apart while they exist.
pub fn anonymous_file(name: &str) -> OwnedFd {
    let path = std::env::temp_dir().join(format!("uring-driver-{}-{name}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.into()
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = std::io::pipe().unwrap();
    (r.into(), w.into())
}

/// A zero-filled buffer that records when it is dropped, to prove that the driver keeps
/// it alive until the kernel is done.
pub struct Canary {
    data: Vec<u8>,
    dropped: Rc<Cell<bool>>,
    /// Counts canaries alive, for tests that make too many to keep each flag.
    live: Option<Rc<Cell<i64>>>,
}

impl Canary {
    pub fn new(len: usize) -> (Canary, Rc<Cell<bool>>) {
        let dropped = Rc::new(Cell::new(false));
        (
            Canary {
                data: vec![0; len],
                dropped: dropped.clone(),
                live: None,
            },
            dropped,
        )
    }

    /// A canary counted in `live` from now until it is dropped.
    pub fn counted(len: usize, live: &Rc<Cell<i64>>) -> Canary {
        live.set(live.get() + 1);
        let (mut canary, _) = Canary::new(len);
        canary.live = Some(live.clone());
        canary
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        assert!(!self.dropped.replace(true), "canary dropped twice");
        if let Some(live) = &self.live {
            live.set(live.get() - 1);
        }
    }
}

// SAFETY: delegates to the Vec, whose heap memory is stable.
unsafe impl IoBuf for Canary {
    fn stable_ptr(&self) -> *const u8 {
        self.data.stable_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.data.len()
    }
    fn bytes_total(&self) -> usize {
        self.data.len()
    }
}

// SAFETY: delegates to the Vec; the whole vector is initialized already.
unsafe impl IoBufMut for Canary {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}
