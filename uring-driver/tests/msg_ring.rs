//! Waking one ring from another with `IORING_OP_MSG_RING` (`Handle::post_wake`), and its
//! fallbacks: the opcode disabled, a target that is not a ring.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use io_uring::opcode;
use uring_driver::{Driver, RingTarget};

/// A target ring, by a duplicate of its fd, that records refusals.
#[derive(Clone)]
struct Target {
    fd: Arc<OwnedFd>,
    refused: Rc<Mutex<Vec<io::Error>>>,
}

// SAFETY: the fd is an `OwnedFd` in an `Arc` that every clone of `Target` shares: open,
// naming the same file, while any clone lives.
unsafe impl RingTarget for Target {
    fn ring_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn undelivered(&self, error: io::Error) {
        self.refused.lock().unwrap().push(error);
    }
}

#[test]
fn a_posted_wake_ends_another_rings_wait_and_is_not_routed_to_any_op() {
    let (fd_tx, fd_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let sleeper = std::thread::spawn(move || {
        let driver = Driver::new().unwrap();
        fd_tx.send(driver.clone_ring_fd().unwrap()).unwrap();
        for _ in 0..3 {
            let started = Instant::now();
            // Nothing is in flight: only a posted CQE (or the 20 s bound) ends this wait.
            let reaped = driver.park(Some(Duration::from_secs(20))).unwrap();
            assert_eq!(reaped, 1, "the wake is one CQE");
            assert!(started.elapsed() < Duration::from_secs(10));
            assert_eq!(driver.in_flight(), 0);
            done_tx.send(()).unwrap();
        }
    });
    let fd = Arc::new(fd_rx.recv().unwrap());
    let driver = Driver::new().unwrap();
    let target = Target {
        fd,
        refused: Rc::default(),
    };
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(20)); // let the sleeper block
        // Sent at once: this thread need not enter its ring again for the wake to go.
        assert!(driver.post_wake(target.clone()).is_ok());
        done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    // The sending ring's own CQEs free their slots (and the targets they kept).
    while driver.in_flight() > 0 {
        driver.park(Some(Duration::from_secs(1))).unwrap();
    }
    assert_eq!(Arc::strong_count(&target.fd), 1);
    assert!(target.refused.lock().unwrap().is_empty());
    sleeper.join().unwrap();
}

#[test]
fn with_msg_ring_disabled_the_target_is_given_back() {
    let driver = uring_driver::Builder::default()
        .disable_opcode(opcode::MsgRingData::CODE)
        .build()
        .unwrap();
    assert!(!driver.is_supported(opcode::MsgRingData::CODE));
    let other = Driver::new().unwrap();
    let target = Target {
        fd: Arc::new(other.clone_ring_fd().unwrap()),
        refused: Rc::default(),
    };
    let Err(back) = driver.post_wake(target) else {
        panic!("posted with MSG_RING disabled");
    };
    assert_eq!(Arc::strong_count(&back.fd), 1);
    assert_eq!(driver.in_flight(), 0);
}

#[test]
fn a_refused_wake_is_reported_to_the_target() {
    let driver = Driver::new().unwrap();
    // An fd that is not an io_uring: the kernel refuses the message (EBADFD).
    let (r, _w) = io::pipe().unwrap();
    let target = Target {
        fd: Arc::new(OwnedFd::from(r)),
        refused: Rc::default(),
    };
    assert!(driver.post_wake(target.clone()).is_ok());
    while driver.in_flight() > 0 {
        driver.park(Some(Duration::from_secs(1))).unwrap();
    }
    let refused = target.refused.lock().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(Arc::strong_count(&target.fd), 1);
}
