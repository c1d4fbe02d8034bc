//! Structured concurrency: gather, try_gather, select and TaskGroup.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringlet::task::{Either, GroupError, TaskGroup, gather, select, try_gather};
use ringlet::time::sleep;
use ringlet::{JoinError, spawn, yield_now};

struct DropGuard(Rc<Cell<u32>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn gathered_sleeps_overlap() {
    ringlet::run(async {
        let start = Instant::now();
        let out = gather([200u64, 100].map(|ms| async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        }))
        .await;
        let elapsed = start.elapsed();
        assert_eq!(out, [200, 100]);
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(290),
            "ran in sequence: {elapsed:?}"
        );
    })
    .unwrap();
}

#[test]
fn gather_returns_ok_and_err_results_in_order() {
    ringlet::run(async {
        let out = gather((0..6u64).map(|i| async move {
            sleep(Duration::from_millis(30 - 5 * i)).await; // finish in reverse order
            if i % 2 == 0 {
                Ok(i)
            } else {
                Err(format!("odd {i}"))
            }
        }))
        .await;
        assert_eq!(
            out,
            [
                Ok(0),
                Err("odd 1".into()),
                Ok(2),
                Err("odd 3".into()),
                Ok(4),
                Err("odd 5".into())
            ]
        );
    })
    .unwrap();
}

#[test]
fn gather_of_join_handles_collects_panics_and_values() {
    ringlet::run(async {
        let handles = vec![
            spawn(async { 1 }),
            spawn(async {
                yield_now().await;
                panic!("second task failed")
            }),
            spawn(async { 3 }),
        ];
        let out = gather(handles).await;
        assert_eq!(out[0].as_ref().unwrap(), &1);
        assert_eq!(
            out[1].as_ref().unwrap_err().panic_message(),
            Some("second task failed")
        );
        assert_eq!(out[2].as_ref().unwrap(), &3);
    })
    .unwrap();
}

#[test]
fn gather_ten_thousand_futures() {
    let n = ringlet::run(async {
        gather((0..10_000u32).map(|i| async move {
            yield_now().await;
            i
        }))
        .await
        .len()
    })
    .unwrap();
    assert_eq!(n, 10_000);
}

#[test]
fn try_gather_returns_the_first_error_and_cancels_the_siblings() {
    ringlet::run(async {
        let dropped = Rc::new(Cell::new(0));
        let futures = (0..4u64).map(|i| {
            let guard = DropGuard(dropped.clone());
            async move {
                let _guard = guard;
                if i == 2 {
                    sleep(Duration::from_millis(10)).await;
                    return Err(format!("task {i} failed"));
                }
                sleep(Duration::from_secs(3600)).await;
                Ok(i)
            }
        });
        let start = Instant::now();
        let result = try_gather(futures).await;
        assert_eq!(result, Err("task 2 failed".to_string()));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(dropped.get(), 4, "every sibling's destructors ran");
    })
    .unwrap();
}

#[test]
fn select_returns_the_first_and_drops_the_loser() {
    ringlet::run(async {
        let dropped = Rc::new(Cell::new(0));
        let guard = DropGuard(dropped.clone());
        let winner = select(
            async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
                "slow"
            },
            async {
                sleep(Duration::from_millis(5)).await;
                7
            },
        )
        .await;
        assert_eq!(winner, Either::Right(7));
        assert_eq!(dropped.get(), 1);
    })
    .unwrap();
}

#[test]
fn task_group_joins_in_completion_order() {
    ringlet::run(async {
        let mut group = TaskGroup::new();
        for ms in [30u64, 10, 20] {
            group.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        assert_eq!(group.len(), 3);
        let mut order = Vec::new();
        while let Some(result) = group.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [10, 20, 30]);
        assert!(group.is_empty());
    })
    .unwrap();
}

#[test]
fn dropping_a_task_group_cancels_its_tasks() {
    ringlet::run(async {
        let dropped = Rc::new(Cell::new(0));
        let mut group = TaskGroup::new();
        for _ in 0..5 {
            let guard = DropGuard(dropped.clone());
            group.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
            });
        }
        yield_now().await;
        drop(group);
        yield_now().await; // the worker drops the cancelled futures
        assert_eq!(dropped.get(), 5);
    })
    .unwrap();
}

#[test]
fn try_join_all_cancels_the_rest_on_the_first_failure() {
    ringlet::run(async {
        let dropped = Rc::new(Cell::new(0));
        let mut group = TaskGroup::new();
        for i in 0..4u32 {
            let guard = DropGuard(dropped.clone());
            group.spawn(async move {
                let _guard = guard;
                if i == 1 {
                    sleep(Duration::from_millis(10)).await;
                    return Err(std::io::Error::other("child 1 broke"));
                }
                sleep(Duration::from_secs(3600)).await;
                Ok(i)
            });
        }
        match group.try_join_all().await {
            Err(GroupError::Failed(e)) => assert_eq!(e.to_string(), "child 1 broke"),
            other => panic!("expected the child's error, got {other:?}"),
        }
        assert_eq!(
            dropped.get(),
            4,
            "every child's clean-up ran before it returned"
        );
    })
    .unwrap();
}

#[test]
fn try_join_all_reports_a_panicking_child() {
    ringlet::run(async {
        let mut group = TaskGroup::new();
        group.spawn(async { Ok::<u8, std::io::Error>(1) });
        group.spawn(async {
            yield_now().await;
            panic!("child panicked")
        });
        match group.try_join_all().await {
            Err(GroupError::Join(JoinError::Panicked(p))) => {
                assert_eq!(p.downcast_ref::<&str>(), Some(&"child panicked"))
            }
            other => panic!("expected a panic, got {other:?}"),
        }
    })
    .unwrap();
}

#[ringlet::test]
async fn a_task_groups_abort_handle_cancels_that_task_alone() {
    let mut group = TaskGroup::new();
    let slow = group.spawn(async {
        sleep(Duration::from_secs(30)).await;
        "slow"
    });
    group.spawn(async { "fast" });
    assert!(!slow.is_finished());
    assert!(slow.cancel());
    let mut results = Vec::new();
    while let Some(result) = group.join_next().await {
        results.push(result.map_err(|e| e.is_cancelled()));
    }
    results.sort();
    assert_eq!(results, [Ok("fast"), Err(true)]);
    assert!(slow.is_finished());
    assert!(!slow.cancel(), "a finished task cannot be cancelled");
}

#[ringlet::test]
async fn join_all_returns_outputs_in_spawn_order() {
    let mut group = TaskGroup::new();
    for ms in [30u64, 20, 10, 0] {
        group.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        });
    }
    assert_eq!(group.join_all().await, [30, 20, 10, 0]);
}

#[ringlet::test]
async fn join_all_resumes_a_panic_after_cancelling_the_rest() {
    let cleaned = Rc::new(Cell::new(0));
    let guard = cleaned.clone();
    let outer = spawn(async move {
        let mut group = TaskGroup::new();
        for _ in 0..3 {
            let guard = DropGuard(guard.clone());
            group.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(30)).await;
            });
        }
        group.spawn(async { panic!("task failed") });
        group.join_all().await
    });
    let err = outer.await.unwrap_err();
    assert_eq!(err.panic_message(), Some("task failed"));
    assert_eq!(
        cleaned.get(),
        3,
        "the other tasks were cancelled and joined first"
    );
}

#[ringlet::test]
async fn try_join_all_after_join_next_keeps_spawn_order() {
    let mut group = TaskGroup::new();
    group.spawn(async { Ok::<u32, String>(1) });
    assert_eq!(group.join_next().await.unwrap().unwrap(), Ok(1));
    for i in 2..=4u32 {
        group.spawn(async move {
            sleep(Duration::from_millis(u64::from(10 * (5 - i)))).await;
            Ok(i)
        });
    }
    assert_eq!(group.try_join_all().await.unwrap(), [2, 3, 4]);
}

#[ringlet::test]
async fn a_long_lived_group_runs_many_tasks_through_few_slots() {
    let mut group = TaskGroup::new();
    let mut total = 0u64;
    for i in 0..10_000u64 {
        group.spawn(async move { i });
        if group.len() >= 4 {
            total += group.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(result) = group.join_next().await {
        total += result.unwrap();
    }
    assert_eq!(total, (0..10_000).sum::<u64>());
}

/// The guide's recipe for asyncio's `gather` without `return_exceptions`: gathering the
/// tasks' handles returns the first error and leaves the other tasks running (a dropped
/// `JoinHandle` detaches its task).
#[ringlet::test]
async fn try_gather_over_join_handles_leaves_the_other_tasks_running() {
    let finished = Rc::new(Cell::new(0));
    let handles = [0u64, 1, 2].map(|i| {
        let finished = finished.clone();
        spawn(async move {
            if i == 0 {
                return Err(format!("task {i} failed"));
            }
            sleep(Duration::from_millis(20)).await;
            finished.set(finished.get() + 1);
            Ok(i)
        })
    });
    let first_error = try_gather(handles.map(|h| async { h.await.expect("not cancelled") })).await;
    assert_eq!(first_error, Err("task 0 failed".to_string()));
    sleep(Duration::from_millis(60)).await;
    assert_eq!(finished.get(), 2, "the others ran to the end");
}

#[ringlet::test]
async fn join_set_is_the_task_group_by_tokios_name() {
    let mut set: ringlet::task::JoinSet<u32> = ringlet::task::JoinSet::new();
    let slow = set.spawn(async {
        sleep(Duration::from_secs(30)).await;
        1
    });
    set.spawn(async { 2 });
    assert_eq!(set.join_next().await.unwrap().unwrap(), 2);
    set.abort_all();
    assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    assert!(slow.is_finished());
    assert!(set.is_empty());
}
