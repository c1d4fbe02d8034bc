//! Task ids, names and spawn locations, and the stall detector that reports a task poll
//! running longer than a threshold with them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringlet::Runtime;
use ringlet::task::{Stall, TaskId};

/// A runtime of `workers` reporting stalls over 10 ms into the returned list.
fn watched(workers: usize, threshold_ms: u64) -> (Runtime, Arc<Mutex<Vec<Stall>>>) {
    let stalls = Arc::new(Mutex::new(Vec::new()));
    let sink = stalls.clone();
    let rt = Runtime::builder()
        .workers(workers)
        .detect_stalls(Duration::from_millis(threshold_ms))
        .on_stall(move |stall| sink.lock().unwrap().push(stall.clone()))
        .build()
        .unwrap();
    (rt, stalls)
}

#[test]
fn a_blocking_task_is_reported_once_with_its_id_and_spawn_location() {
    let (rt, stalls) = watched(1, 10);
    let (id, line) = rt.block_on(async {
        let line = line!() + 1;
        let task = ringlet::spawn(async { std::thread::sleep(Duration::from_millis(50)) });
        let id = task.id();
        assert_eq!(task.info().location().line(), line);
        task.await.unwrap();
        (id, line)
    });
    let stalls = stalls.lock().unwrap();
    assert_eq!(stalls.len(), 1, "{stalls:?}");
    let stall = &stalls[0];
    assert_eq!(stall.task().id(), id);
    assert_eq!(stall.worker(), 0);
    assert!(stall.duration() >= Duration::from_millis(50), "{stall}");
    assert!(stall.task().location().file().ends_with("stall.rs"));
    assert_eq!(stall.task().location().line(), line);
    assert_eq!(stall.task().name(), None);
    let text = stall.to_string();
    assert!(text.contains(&format!("{id}")), "{text}");
    assert!(text.contains(&format!("stall.rs:{line}")), "{text}");
}

#[test]
fn a_named_task_on_another_worker_and_the_block_on_future_are_reported_by_name_and_place() {
    let (rt, stalls) = watched(2, 10);
    let block_on_line = line!() + 1;
    let lines = rt.block_on(async {
        let named = ringlet::task::Builder::new()
            .name("blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(30)) });
        assert_eq!(named.info().name(), Some("blocker"));
        let named_line = named.info().location().line();
        named.await.unwrap();
        let remote_line = line!() + 1;
        let remote = ringlet::spawn_on(1, || async {
            std::thread::sleep(Duration::from_millis(30))
        });
        remote.await.unwrap();
        // The future block_on runs stalls too.
        std::thread::sleep(Duration::from_millis(30));
        (named_line, remote_line)
    });
    let stalls = stalls.lock().unwrap();
    let at = |line: u32| {
        stalls
            .iter()
            .find(|s| s.task().location().line() == line)
            .unwrap_or_else(|| panic!("no stall reported at line {line}: {stalls:?}"))
    };
    let named = at(lines.0);
    assert_eq!(named.task().name(), Some("blocker"));
    assert!(named.to_string().contains("\"blocker\""), "{named}");
    assert_eq!(named.worker(), 0);
    assert_eq!(at(lines.1).worker(), 1);
    assert_eq!(at(block_on_line).worker(), 0);
    assert_eq!(stalls.len(), 3, "{stalls:?}");
}

#[test]
fn tasks_that_yield_are_not_reported_and_the_detector_is_off_by_default() {
    let (rt, stalls) = watched(1, 200);
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                ringlet::spawn(async move {
                    ringlet::yield_now().await;
                    i * 2
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert!(stalls.lock().unwrap().is_empty());

    // A hook without a threshold: nothing is timed, nothing reported.
    let stalls = Arc::new(Mutex::new(Vec::<Stall>::new()));
    let sink = stalls.clone();
    let rt = Runtime::builder()
        .workers(1)
        .on_stall(move |stall| sink.lock().unwrap().push(stall.clone()))
        .build()
        .unwrap();
    rt.block_on(async {
        ringlet::spawn(async { std::thread::sleep(Duration::from_millis(30)) })
            .await
            .unwrap();
    });
    assert!(stalls.lock().unwrap().is_empty());
}

#[test]
fn task_ids_are_unique_and_increasing() {
    let ids: Vec<TaskId> = ringlet::run(async {
        let tasks: Vec<_> = (0..100).map(|_| ringlet::spawn(async {})).collect();
        let ids = tasks.iter().map(|t| t.id()).collect();
        for task in tasks {
            task.await.unwrap();
        }
        ids
    })
    .unwrap();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

/// What the child process of the test below does: a named task stalls, another panics,
/// with the default stall report (stderr).
fn child_scenario() {
    let rt = Runtime::builder()
        .workers(1)
        .detect_stalls(Duration::from_millis(10))
        .build()
        .unwrap();
    rt.block_on(async {
        let sleeper = ringlet::task::Builder::new()
            .name("sleeper")
            .spawn(async { std::thread::sleep(Duration::from_millis(30)) });
        sleeper.await.unwrap();
        // Printing the panic may take long enough to count as a stall too; the default
        // report shows at most one stall a second, so that one is left out.
        let exploder = ringlet::task::Builder::new()
            .name("exploder")
            .spawn(async { panic!("boom") });
        assert!(exploder.await.unwrap_err().is_panic());
    });
}

/// On stderr, by default: a panicking task is named beside the panic message, and a
/// stall is reported in one line with the task's id, name and place.
#[test]
fn panics_and_default_stall_reports_name_the_task_on_stderr() {
    if std::env::var_os("RINGLET_STALL_CHILD").is_some() {
        child_scenario();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panics_and_default_stall_reports_name_the_task_on_stderr",
            "--nocapture",
        ])
        .env("RINGLET_STALL_CHILD", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let panicked = stderr
        .lines()
        .find(|l| l.starts_with("ringlet: task ") && l.ends_with(" panicked"))
        .unwrap_or_else(|| panic!("no panic line naming the task: {stderr}"));
    assert!(
        panicked.contains("\"exploder\" (spawned at runtime/tests/stall.rs:"),
        "{panicked}"
    );
    let stalled = stderr
        .lines()
        .find(|l| l.contains("without yielding"))
        .unwrap_or_else(|| panic!("no stall line: {stderr}"));
    assert!(stalled.starts_with("ringlet: worker 0: task "), "{stalled}");
    assert!(
        stalled.contains("\"sleeper\" (spawned at runtime/tests/stall.rs:"),
        "{stalled}"
    );
}
