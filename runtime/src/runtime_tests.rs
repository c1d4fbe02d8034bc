//! Unit tests of `runtime.rs`: workers wake each other through their rings (with and
//! without SQ poll threads), and through the eventfd where MSG_RING is turned off.

use super::{Builder, KernelFeature};
use crate::sync::shared::mpsc;

/// Ping-pongs `rounds` messages between worker 0 and worker 1; returns each worker's
/// (posted, eventfd) wake counts.
fn ping_pong(builder: Builder, rounds: u32) -> Vec<(u64, u64)> {
    let rt = builder.workers(2).build().unwrap();
    rt.block_on(async {
        let (ping, mut pings) = mpsc::channel::<u32>(1);
        let (pong, mut pongs) = mpsc::channel::<u32>(1);
        let echo = crate::spawn_on(1, move || async move {
            while let Some(i) = pings.recv().await {
                pong.send(i).await.unwrap();
            }
        });
        for i in 0..rounds {
            ping.send(i).await.unwrap();
            assert_eq!(pongs.recv().await, Some(i));
        }
        drop(ping);
        echo.await.unwrap();
    });
    (0..2)
        .map(|i| rt.set.get(i).unwrap().wake_counts())
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "io_uring is a syscall Miri does not emulate")]
fn workers_wake_each_other_through_their_rings() {
    let counts = ping_pong(Builder::default(), 2_000);
    for (worker, &(posted, written)) in counts.iter().enumerate() {
        // Many rounds find the other worker parked; the odd eventfd write would be the
        // fallback of a post made from inside a driver call.
        assert!(posted >= 100, "worker {worker}: {counts:?}");
        assert!(written < posted / 10, "worker {worker}: {counts:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "io_uring is a syscall Miri does not emulate")]
fn workers_with_sq_poll_threads_wake_each_other_through_their_rings() {
    let builder = Builder::default().sqpoll(std::time::Duration::from_millis(2));
    let counts = ping_pong(builder, 2_000);
    for (worker, &(posted, written)) in counts.iter().enumerate() {
        assert!(posted >= 100, "worker {worker}: {counts:?}");
        assert!(written < posted / 10, "worker {worker}: {counts:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "io_uring is a syscall Miri does not emulate")]
fn without_msg_ring_workers_wake_each_other_through_the_eventfd() {
    let counts = ping_pong(Builder::default().without(KernelFeature::MsgRing), 2_000);
    for (worker, &(posted, written)) in counts.iter().enumerate() {
        assert_eq!(posted, 0, "worker {worker}: {counts:?}");
        assert!(written >= 100, "worker {worker}: {counts:?}");
    }
}
