//! Registered (fixed) buffers: read_fixed/write_fixed, checkout, one table per ring, and
//! a dropped op returning its buffer only after its final CQE.

mod common;

use std::io::Write;

use common::{anonymous_file, drain, pipe, poll_once, run, serial};
use uring_driver::{Driver, FixedBufPool, Op, SharedFd};

#[test]
fn write_fixed_then_read_fixed_through_a_file() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let pool = FixedBufPool::new(&driver, 4, 4096).unwrap();
    assert_eq!((pool.available(), pool.buf_size()), (4, 4096));
    let fd = SharedFd::new(anonymous_file("fixed"));
    let mut out = pool.try_get().unwrap();
    assert_eq!(out.fill(b"registered bytes"), 16);
    assert_eq!(pool.available(), 3);
    let (res, out) = run(&driver, Op::write_fixed_at(&driver, &fd, out, 100));
    assert_eq!(res.unwrap(), 16);
    drop(out);
    assert_eq!(pool.available(), 4, "back in the pool");
    let buf = pool.try_get().unwrap();
    let (res, buf) = run(&driver, Op::read_fixed_at(&driver, &fd, buf, 100));
    assert_eq!(res.unwrap(), 16);
    assert_eq!(&buf[..], b"registered bytes");
    let all: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
    assert_eq!(all.len(), 3, "only the free ones");
    assert!(pool.try_get().is_none());
}

#[test]
fn one_table_per_ring() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let _pool = FixedBufPool::new(&driver, 2, 512).unwrap();
    let err = FixedBufPool::new(&driver, 2, 512).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ResourceBusy, "{err}");
    assert!(FixedBufPool::new(&driver, 0, 512).is_err());
}

#[test]
fn a_dropped_read_fixed_returns_its_buffer_after_the_final_cqe() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let pool = FixedBufPool::new(&driver, 1, 256).unwrap();
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut op = Op::read_fixed_at(&driver, &r, pool.try_get().unwrap(), u64::MAX);
    assert!(poll_once(&mut op).is_pending());
    driver.submit().unwrap();
    drop(op);
    assert_eq!(pool.available(), 0, "held while the kernel may write it");
    std::fs::File::from(w).write_all(b"late").unwrap();
    drain(&driver);
    assert_eq!(pool.available(), 1, "returned after the final CQE");
    assert_eq!(driver.slots(), 0);
}

#[test]
fn write_fixed_on_a_pipe() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let pool = FixedBufPool::new(&driver, 1, 64).unwrap();
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let mut buf = pool.try_get().unwrap();
    buf.fill(b"through the table");
    let (res, _) = run(&driver, Op::write_fixed_at(&driver, &w, buf, u64::MAX));
    assert_eq!(res.unwrap(), 17);
    let (res, got) = run(&driver, Op::read(&driver, &r, vec![0u8; 32]));
    assert_eq!(&got[..res.unwrap()], b"through the table");
}
