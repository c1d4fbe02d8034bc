//! Signals beyond Ctrl-C: SIGTERM, SIGHUP, SIGUSR1 with several listeners on several
//! workers. Its own test binary: the handlers it installs are process-wide.

use std::time::Duration;

use ringlet::signal::{SignalKind, shutdown, signal};
use ringlet::time::{sleep, timeout};
use ringlet::{Runtime, spawn_on};

fn raise_after(signal: libc::c_int, delay: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: kill(2) takes no pointers; we signal our own process.
        unsafe { libc::kill(libc::getpid(), signal) };
    });
}

#[test]
fn every_listener_on_every_worker_sees_each_signal() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let mut here = signal(SignalKind::user_defined1()).unwrap();
        let mut also_here = signal(SignalKind::user_defined1()).unwrap();
        let there = spawn_on(1, || async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            usr1.recv().await.unwrap();
            ringlet::worker_index()
        });
        sleep(Duration::from_millis(20)).await;
        raise_after(libc::SIGUSR1, Duration::from_millis(20));
        let seen = timeout(Duration::from_secs(10), async {
            here.recv().await.unwrap();
            also_here.recv().await.unwrap();
            there.await.unwrap()
        })
        .await
        .expect("a listener missed SIGUSR1");
        assert_eq!(seen, Some(1));
    });
}

#[test]
fn deliveries_between_two_recvs_complete_one_and_later_ones_the_next() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let mut hangups = signal(SignalKind::hangup()).unwrap();
        for _ in 0..3 {
            // SAFETY: kill(2) takes no pointers; we signal our own process.
            unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
        }
        sleep(Duration::from_millis(20)).await;
        timeout(Duration::from_secs(10), hangups.recv())
            .await
            .unwrap()
            .unwrap();
        // Nothing new: the next recv waits.
        assert!(
            timeout(Duration::from_millis(50), hangups.recv())
                .await
                .is_err()
        );
        raise_after(libc::SIGHUP, Duration::from_millis(10));
        timeout(Duration::from_secs(10), hangups.recv())
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn shutdown_completes_on_sigterm_without_terminating_the_process() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let stop = shutdown();
        raise_after(libc::SIGTERM, Duration::from_millis(20));
        timeout(Duration::from_secs(10), stop)
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn signals_that_cannot_be_caught_are_refused() {
    for raw in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 99] {
        let err = signal(SignalKind::from_raw(raw)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{raw}: {err}");
    }
    assert_eq!(SignalKind::terminate().as_raw(), libc::SIGTERM);
}

/// A request to stop is a state: a `shutdown()` made after SIGTERM was caught completes
/// at once (so every worker's server stops, however late it started listening), while a
/// `ctrl_c()`-style listener made after it waits for the next delivery.
#[test]
fn shutdown_made_after_the_signal_still_completes() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let first = shutdown();
        raise_after(libc::SIGTERM, Duration::from_millis(10));
        timeout(Duration::from_secs(10), first)
            .await
            .unwrap()
            .unwrap();
        let late = shutdown();
        timeout(Duration::from_millis(500), late)
            .await
            .expect("a shutdown() made after the signal completes at once")
            .unwrap();
    });
}
