//! The task model: spawn, join, cancel, panics, detaching, wakes from other threads,
//! sleeping, and runtime shutdown with tasks pending.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use ringlet::time::{sleep, timeout};
use ringlet::{JoinError, Runtime, spawn, yield_now};

/// Sets its flag when dropped: observes that a cancelled task's destructors ran.
struct DropGuard(Rc<Cell<bool>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn block_on_returns_the_output_and_run_works() {
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    assert_eq!(ringlet::run(async { "done" }).unwrap(), "done");
}

#[test]
fn spawned_tasks_run_and_join_in_any_order() {
    let out = ringlet::run(async {
        let handles: Vec<_> = (0..1000u64)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i * 2
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles.into_iter().rev() {
            sum += h.await.unwrap();
        }
        sum
    })
    .unwrap();
    assert_eq!(out, 999 * 1000);
}

#[test]
fn cancel_drops_the_future_runs_destructors_and_cancels_its_sleep() {
    ringlet::run(async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropGuard(dropped.clone());
        let handle = spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
            "never"
        });
        yield_now().await; // let it start and park on its sleep
        assert!(!handle.is_finished());
        assert!(handle.cancel());
        let result = handle.await;
        assert!(matches!(result, Err(JoinError::Cancelled)), "{result:?}");
        assert!(dropped.get(), "the cancelled task's destructors ran");
    })
    .unwrap();
}

#[test]
fn cancel_before_first_poll_and_after_completion() {
    ringlet::run(async {
        let polled = Rc::new(Cell::new(false));
        let p = polled.clone();
        let h = spawn(async move { p.set(true) });
        assert!(h.cancel());
        assert!(h.await.unwrap_err().is_cancelled());
        assert!(!polled.get(), "cancelled before it ever ran");

        let h = spawn(async { 7 });
        yield_now().await;
        assert!(h.is_finished());
        assert!(!h.cancel(), "cancel of a finished task reports false");
        assert_eq!(h.await.unwrap(), 7, "and keeps its result");
    })
    .unwrap();
}

#[test]
fn a_panicking_task_reports_its_payload_and_the_runtime_keeps_running() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let h = spawn(async {
            yield_now().await;
            panic!("boom in a task");
        });
        let err = h.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom in a task"));
        assert_eq!(err.to_string(), "task panicked: boom in a task");
        assert_eq!(spawn(async { 5 }).await.unwrap(), 5);
    });
    assert_eq!(rt.block_on(async { spawn(async { 6 }).await.unwrap() }), 6);
}

#[test]
fn a_detached_task_runs_to_completion() {
    ringlet::run(async {
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        drop(spawn(async move {
            sleep(Duration::from_millis(5)).await;
            r.set(true);
        }));
        sleep(Duration::from_millis(50)).await;
        assert!(ran.get());
    })
    .unwrap();
}

/// A future that, when first polled, hands its waker to another thread, which sets a flag
/// and wakes it 20 ms later.
fn woken_from_another_thread() -> impl std::future::Future<Output = ()> {
    let flag = Arc::new(AtomicBool::new(false));
    let mut started = false;
    std::future::poll_fn(move |cx| {
        if flag.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if !started {
            started = true;
            let waker = cx.waker().clone();
            let flag = flag.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                flag.store(true, Ordering::SeqCst);
                waker.wake();
            });
        }
        Poll::Pending
    })
}

#[test]
fn a_waker_woken_on_another_thread_resumes_the_task() {
    ringlet::run(async {
        let h = spawn(async {
            woken_from_another_thread().await;
            "resumed"
        });
        assert_eq!(h.await.unwrap(), "resumed");
    })
    .unwrap();
}

#[test]
fn the_main_future_woken_from_another_thread_resumes() {
    ringlet::run(woken_from_another_thread()).unwrap();
}

#[test]
fn ten_thousand_cross_thread_wakes_in_lockstep_lose_none() {
    // Another thread publishes a value and wakes the task, then waits until the task has
    // seen it before publishing the next. One lost wake stalls the lockstep (caught by the
    // deadline instead of hanging).
    const ROUNDS: u64 = 10_000;
    let published = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let waker_slot: Arc<Mutex<Option<std::task::Waker>>> = Arc::new(Mutex::new(None));
    let waker_thread = {
        let (published, seen, waker_slot) = (published.clone(), seen.clone(), waker_slot.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            for i in 1..=ROUNDS {
                published.store(i, Ordering::SeqCst);
                while seen.load(Ordering::SeqCst) < i {
                    if let Some(w) = waker_slot.lock().unwrap().take() {
                        w.wake();
                        break;
                    }
                    assert!(Instant::now() < deadline, "task never parked for round {i}");
                    std::thread::yield_now();
                }
                while seen.load(Ordering::SeqCst) < i {
                    assert!(Instant::now() < deadline, "wake for round {i} was lost");
                    std::thread::yield_now();
                }
            }
        })
    };
    ringlet::run(async move {
        spawn(std::future::poll_fn(move |cx| {
            let value = published.load(Ordering::SeqCst);
            seen.store(value, Ordering::SeqCst);
            if value == ROUNDS {
                return Poll::Ready(());
            }
            *waker_slot.lock().unwrap() = Some(cx.waker().clone());
            // Published between the load and parking the waker: poll again ourselves.
            if published.load(Ordering::SeqCst) != value {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }))
        .await
        .unwrap();
    })
    .unwrap();
    waker_thread.join().unwrap();
}

#[test]
fn sleep_waits_at_least_its_duration_and_sleeps_overlap() {
    ringlet::run(async {
        let start = Instant::now();
        let a = spawn(sleep(Duration::from_millis(200)));
        let b = spawn(sleep(Duration::from_millis(100)));
        a.await.unwrap();
        b.await.unwrap();
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(290),
            "sleeps ran one after the other: {elapsed:?}"
        );
    })
    .unwrap();
}

#[test]
fn timeout_elapses_and_passes_through() {
    ringlet::run(async {
        let r = timeout(Duration::from_millis(20), sleep(Duration::from_secs(3600))).await;
        assert!(r.is_err());
        let r = timeout(Duration::from_secs(5), async { 3 }).await;
        assert_eq!(r.unwrap(), 3);
    })
    .unwrap();
}

#[test]
fn dropping_the_runtime_cancels_pending_tasks_and_runs_their_destructors() {
    let dropped = Rc::new(Cell::new(false));
    let rt = Runtime::new().unwrap();
    let guard = DropGuard(dropped.clone());
    let mut handle = None;
    rt.block_on(async {
        let h = spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
        yield_now().await;
        handle = Some(h);
    });
    let mut handle = handle.unwrap();
    assert!(!dropped.get());
    drop(rt);
    assert!(dropped.get(), "the pending task's future was dropped");
    assert!(handle.is_finished());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        matches!(
            std::pin::Pin::new(&mut handle).poll(&mut cx),
            Poll::Ready(Err(JoinError::Cancelled))
        ),
        "the handle reports the task cancelled"
    );
}

#[test]
#[should_panic(expected = "block_on called from inside a runtime")]
fn nested_block_on_panics_with_a_clear_message() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let inner = Runtime::new().unwrap();
        inner.block_on(async {});
    });
}

#[test]
#[should_panic(expected = "outside a ringlet runtime")]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    drop(spawn(async {}));
}

#[test]
fn an_always_ready_task_does_not_starve_io_or_timers() {
    use ringlet::net::{TcpListener, TcpStream};
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let spins = Rc::new(Cell::new(0u64));
        let s = spins.clone();
        // Always ready: never waits on the kernel, only yields.
        let hog = spawn(async move {
            loop {
                s.set(s.get() + 1);
                yield_now().await;
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = Vec::with_capacity(64);
            loop {
                let (n, b) = stream.read(buf).await;
                let n = n.unwrap();
                if n == 0 {
                    return;
                }
                let (r, b) = stream.write_all(ringlet::IoBuf::slice(b, ..n)).await;
                r.unwrap();
                buf = b.into_inner();
            }
        });
        let client = async {
            let c = TcpStream::connect(addr).await.unwrap();
            for i in 0..200u32 {
                let (r, _) = c.write_all(i.to_le_bytes().to_vec()).await;
                r.unwrap();
                let (r, b) = c.read_exact(vec![0u8; 4]).await;
                r.unwrap();
                assert_eq!(u32::from_le_bytes(b.try_into().unwrap()), i);
            }
            sleep(Duration::from_millis(20)).await; // a timer fires too
        };
        timeout(Duration::from_secs(20), client)
            .await
            .expect("the echo client starved behind an always-ready task");
        drop(server);
        assert!(spins.get() > 200, "the hog kept running meanwhile");
        hog.cancel();
    });
}
