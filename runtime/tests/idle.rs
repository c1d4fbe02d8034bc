//! An idle runtime sleeps in the kernel: no polling, no busy loop.
//!
//! Alone in its own test binary so that no other test shares the measured thread's time.

use std::time::Duration;

/// User + system CPU time of the calling thread, in clock ticks (from /proc).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_runtime_uses_almost_no_cpu() {
    let rt = ringlet::Runtime::new().unwrap();
    let before = thread_cpu_ticks();
    rt.block_on(async {
        // Pending timers and a task parked forever: nothing is ready for 2 s.
        let parked = ringlet::spawn(std::future::pending::<()>());
        ringlet::time::sleep(Duration::from_secs(2)).await;
        parked.cancel();
    });
    let used = thread_cpu_ticks() - before;
    // Clock ticks are 10 ms; a busy loop would use ~200.
    assert!(used <= 2, "idle runtime used {used} ticks of CPU in 2 s");
}

#[test]
fn a_spinning_worker_spins_only_as_long_as_it_was_told_then_sleeps() {
    let rt = ringlet::Runtime::builder()
        .workers(1)
        .spin_before_park(Duration::from_millis(20))
        .build()
        .unwrap();
    let before = thread_cpu_ticks();
    rt.block_on(async {
        // Nothing to do for 2 s but wait for another thread: one spin of 20 ms, then
        // sleep until the eventfd wake.
        let (tx, rx) = ringlet::sync::shared::oneshot::channel::<()>();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            let _ = tx.send(());
        });
        rx.await.unwrap();
        waker.join().unwrap();
    });
    let used = thread_cpu_ticks() - before;
    // Clock ticks are 10 ms: the spin is ~2; spinning throughout would be ~200.
    assert!(used <= 10, "a 20 ms spin used {used} ticks of CPU in 2 s");
}
