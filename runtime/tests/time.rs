//! Intervals and their missed-tick policies; spawn_blocking.

use std::time::{Duration, Instant};

use ringlet::task::spawn_blocking;
use ringlet::time::{MissedTickBehavior, interval, sleep};

#[test]
fn interval_ticks_on_schedule() {
    ringlet::run(async {
        let start = Instant::now();
        let mut ticks = interval(Duration::from_millis(20));
        let first = ticks.tick().await;
        assert!(
            first.duration_since(start) < Duration::from_millis(5),
            "first tick at once"
        );
        for _ in 0..4 {
            ticks.tick().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    })
    .unwrap();
}

/// Ticks once, blocks the worker past three deadlines, then reports how far apart the
/// scheduled instants of the next two ticks are and when they were delivered.
fn late_ticks(behavior: MissedTickBehavior) -> (Vec<Duration>, Duration) {
    ringlet::run(async move {
        let mut ticks = interval(Duration::from_millis(30));
        ticks.set_missed_tick_behavior(behavior);
        let t0 = ticks.tick().await;
        std::thread::sleep(Duration::from_millis(100)); // miss ticks at 30, 60, 90 ms
        let start = Instant::now();
        let mut scheduled = Vec::new();
        for _ in 0..2 {
            scheduled.push(ticks.tick().await.duration_since(t0));
        }
        (scheduled, start.elapsed())
    })
    .unwrap()
}

#[test]
fn missed_ticks_burst_delay_or_skip() {
    let (burst, took) = late_ticks(MissedTickBehavior::Burst);
    assert_eq!(
        burst,
        [Duration::from_millis(30), Duration::from_millis(60)]
    );
    assert!(
        took < Duration::from_millis(25),
        "burst fires at once: {took:?}"
    );

    let (skip, _) = late_ticks(MissedTickBehavior::Skip);
    assert_eq!(
        skip[0],
        Duration::from_millis(30),
        "the late tick fires first"
    );
    // Then the next multiple of the period after the ~100 ms block: 60 and 90 are skipped.
    assert!(skip[1] >= Duration::from_millis(120), "{skip:?}");
    assert_eq!(
        skip[1].as_nanos() % Duration::from_millis(30).as_nanos(),
        0,
        "{skip:?}"
    );

    // Delay reschedules from the moment each tick is taken, the first one included.
    let (delay, _) = late_ticks(MissedTickBehavior::Delay);
    assert!(delay[0] >= Duration::from_millis(30), "{delay:?}");
    assert!(delay[0] < Duration::from_millis(60), "{delay:?}");
    assert!(
        delay[1] >= Duration::from_millis(130),
        "one period after the late tick: {delay:?}"
    );
}

#[test]
fn dropping_a_tick_loses_nothing() {
    ringlet::run(async {
        let mut ticks = interval(Duration::from_millis(40));
        let t0 = ticks.tick().await;
        // Race the tick against a short sleep; the tick loses and is dropped.
        let raced = ringlet::task::select(sleep(Duration::from_millis(5)), ticks.tick()).await;
        assert!(matches!(raced, ringlet::task::Either::Left(())));
        let next = ticks.tick().await;
        assert_eq!(next.duration_since(t0), Duration::from_millis(40));
    })
    .unwrap();
}

#[test]
fn spawn_blocking_runs_off_the_worker_in_parallel() {
    ringlet::run(async {
        let start = Instant::now();
        let jobs: Vec<_> = (0..4u64)
            .map(|i| {
                spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    i
                })
            })
            .collect();
        // The worker stays responsive meanwhile.
        sleep(Duration::from_millis(10)).await;
        assert!(start.elapsed() < Duration::from_millis(90));
        let results = ringlet::task::gather(jobs).await;
        let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, [0, 1, 2, 3]);
        assert!(
            start.elapsed() < Duration::from_millis(350),
            "ran one after another"
        );
    })
    .unwrap();
}

#[test]
fn a_panicking_blocking_job_is_a_join_error() {
    let err = ringlet::run(spawn_blocking(|| -> u8 { panic!("blocking boom") }))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("blocking boom"));
}
