//! ctrl_c: one SIGINT completes every waiter on every worker. Its own test binary: the
//! handler it installs is process-wide.

use std::time::Duration;

use ringlet::signal::ctrl_c;
use ringlet::time::{sleep, timeout};
use ringlet::{Runtime, spawn_on};

fn raise_sigint_after(delay: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: kill(2) takes no pointers; we signal our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    });
}

#[test]
fn sigint_completes_waiters_on_every_worker_and_survives_a_dropped_reader() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        // The first waiter becomes the reader; drop it before any signal: the role must
        // pass to the waiters that remain.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut reader = Box::pin(ctrl_c());
        assert!(reader.as_mut().poll(&mut cx).is_pending());
        let remote = spawn_on(1, || async { ctrl_c().await });
        let local = ringlet::spawn(async { ctrl_c().await });
        sleep(Duration::from_millis(20)).await;
        drop(reader);
        raise_sigint_after(Duration::from_millis(50));
        let both = timeout(Duration::from_secs(10), async {
            (remote.await.unwrap(), local.await.unwrap())
        })
        .await
        .expect("a waiter missed the signal");
        assert!(both.0.is_ok() && both.1.is_ok());

        // A later ctrl_c waits for a later signal, not the one already seen.
        let mut again = Box::pin(ctrl_c());
        assert!(again.as_mut().poll(&mut cx).is_pending());
        raise_sigint_after(Duration::from_millis(20));
        timeout(Duration::from_secs(10), again)
            .await
            .expect("the second signal was missed")
            .unwrap();
    });
}
