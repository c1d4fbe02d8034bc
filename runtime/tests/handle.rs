//! `Runtime::handle`: spawning onto workers from threads outside the runtime, the
//! least-loaded choice, and clear errors for a bad index or a runtime that is gone.

use std::sync::mpsc;
use std::time::Duration;

use ringlet::{Handle, JoinError, Runtime, SpawnError};

#[test]
fn a_handle_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Handle>();
}

#[test]
fn a_std_thread_spawns_on_a_chosen_worker_and_waits_for_the_result() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    assert_eq!(handle.workers(), 2);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let task = handle
                    .spawn_on(1, move || async move {
                        // A !Send future with ringlet I/O and timers, built on worker 1.
                        ringlet::time::sleep(Duration::from_millis(5)).await;
                        let listener = ringlet::net::TcpListener::bind("127.0.0.1:0").unwrap();
                        drop(listener);
                        (i, ringlet::worker_index())
                    })
                    .unwrap();
                handle.block_on(task).unwrap()
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap(), (i, Some(1)));
    }
}

#[test]
fn worker_zero_runs_sent_tasks_while_block_on_runs() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let task = handle
            .spawn_on(0, || async { ringlet::worker_index() })
            .unwrap();
        tx.send(handle.block_on(task)).unwrap();
    });
    // The main thread is worker 0: the task runs while it blocks here.
    let got = rt.block_on(async {
        loop {
            if let Ok(got) = rx.try_recv() {
                break got;
            }
            ringlet::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(got.unwrap(), Some(0));
    thread.join().unwrap();
}

#[test]
fn spawn_picks_the_least_loaded_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    // Load worker 1 with 200 sleeping tasks, and let it publish its load.
    rt.block_on(async {
        ringlet::spawn_on(1, || async {
            for _ in 0..200 {
                drop(ringlet::spawn(ringlet::time::sleep(Duration::from_secs(
                    30,
                ))));
            }
            ringlet::time::sleep(Duration::from_millis(20)).await;
        })
        .await
        .unwrap();
    });
    let picked: Vec<Option<usize>> = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| handle.spawn(|| async { ringlet::worker_index() }).unwrap())
            .collect();
        ringlet::task::gather(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect()
    });
    assert!(picked.iter().all(|&w| w == Some(0)), "{picked:?}");
}

#[test]
fn spawn_blocking_work_spawns_back_onto_the_runtime() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    let got = rt.block_on(async move {
        ringlet::task::spawn_blocking(move || {
            let task = handle.spawn(|| async { 6 * 7 }).unwrap();
            handle.block_on(task).unwrap()
        })
        .await
    });
    assert_eq!(got.unwrap(), 42);
}

#[test]
fn current_is_the_workers_runtime() {
    assert!(Handle::current().is_none());
    let rt = Runtime::builder().workers(3).build().unwrap();
    let workers = rt.block_on(async { Handle::current().unwrap().workers() });
    assert_eq!(workers, 3);
}

#[test]
fn a_bad_index_and_a_dropped_runtime_are_clear_errors() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    let err = handle.spawn_on(5, || async {}).unwrap_err();
    assert_eq!(
        err,
        SpawnError::NoSuchWorker {
            index: 5,
            workers: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot spawn on worker 5: the runtime has 2 (0 to 1)"
    );
    // A task queued but never run when the runtime goes resolves as cancelled.
    let queued = handle.spawn_on(0, || async {}).unwrap();
    drop(rt);
    assert!(matches!(handle.block_on(queued), Err(JoinError::Cancelled)));
    for spawned in [
        handle.spawn_on(1, || async {}).map(drop),
        handle.spawn(|| async {}).map(drop),
    ] {
        let err = spawned.unwrap_err();
        assert_eq!(err, SpawnError::Shutdown);
        assert!(err.to_string().contains("shut down"), "{err}");
    }
}

#[test]
#[should_panic(expected = "await the future instead")]
fn block_on_refuses_to_block_a_worker() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let handle = rt.handle();
    rt.block_on(async move { handle.block_on(async {}) });
}
