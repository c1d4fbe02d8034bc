//! Regression tests for the soundness defects found by review and chaos runs: one (or a
//! few) per defect, each failing on the code before its fix. docs/reliability.md lists
//! them with the check that would have caught each.
//!
//! Tests here count fds and CPU time, so they run one at a time.

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ringlet::net::{BufRing, TcpListener, TcpStream, UnixStream};
use ringlet::sync::{Notify, RwLock, Semaphore, shared};
use ringlet::time::{sleep, timeout};
use ringlet::{Runtime, spawn, spawn_on, yield_now};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

// ---- 1. A pinned task future is dropped in place ------------------------------------

/// A `!Unpin` future that records where it was polled and, when dropped, whether it is
/// still there (what an intrusive-list future relies on).
struct AddressCheck {
    polled_at: usize,
    ready_after: Option<usize>,
    polls: usize,
    moved: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
    _pin: PhantomPinned,
}

impl AddressCheck {
    fn new(ready_after: Option<usize>) -> (AddressCheck, Arc<AtomicBool>, Arc<AtomicBool>) {
        let moved = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let check = AddressCheck {
            polled_at: 0,
            ready_after,
            polls: 0,
            moved: moved.clone(),
            dropped: dropped.clone(),
            _pin: PhantomPinned,
        };
        (check, moved, dropped)
    }
}

impl Future for AddressCheck {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out; the address is only recorded.
        let this = unsafe { self.get_unchecked_mut() };
        this.polled_at = this as *mut AddressCheck as usize;
        this.polls += 1;
        if this.ready_after.is_some_and(|n| this.polls >= n) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for AddressCheck {
    fn drop(&mut self) {
        if self.polled_at != 0 && self.polled_at != self as *mut AddressCheck as usize {
            self.moved.store(true, Ordering::SeqCst);
        }
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn pinned_task_future_is_dropped_in_place_on_cancel() {
    let _serial = serial();
    rt(1).block_on(async {
        let (check, moved, dropped) = AddressCheck::new(None);
        let handle = spawn(check);
        yield_now().await;
        yield_now().await;
        assert!(handle.cancel());
        assert!(handle.await.unwrap_err().is_cancelled());
        assert!(dropped.load(Ordering::SeqCst));
        assert!(
            !moved.load(Ordering::SeqCst),
            "the future was moved before drop"
        );
    });
}

#[test]
fn pinned_task_future_is_dropped_in_place_on_completion() {
    let _serial = serial();
    rt(1).block_on(async {
        let (check, moved, dropped) = AddressCheck::new(Some(3));
        spawn(check).await.unwrap();
        assert!(dropped.load(Ordering::SeqCst));
        assert!(
            !moved.load(Ordering::SeqCst),
            "the future was moved before drop"
        );
    });
}

#[test]
fn pinned_task_future_is_dropped_in_place_on_runtime_drop() {
    let _serial = serial();
    for detach in [false, true] {
        let runtime = rt(1);
        let (check, moved, dropped) = AddressCheck::new(None);
        let handle = runtime.block_on(async {
            let handle = spawn(check);
            yield_now().await;
            // Kept (not awaited) so the task is still pending when the runtime drops.
            Some(handle)
        });
        let handle = handle.unwrap();
        let handle = if detach {
            drop(handle);
            None
        } else {
            Some(handle)
        };
        drop(runtime);
        assert!(
            dropped.load(Ordering::SeqCst),
            "detach {detach}: not dropped"
        );
        assert!(
            !moved.load(Ordering::SeqCst),
            "detach {detach}: moved before drop"
        );
        drop(handle);
    }
}

// ---- 3. A cancelled waiter for many permits does not block the queue -----------------

#[test]
fn cancelled_acquire_many_lets_the_next_waiter_in() {
    // Local flavour.
    let sem = Semaphore::new(2);
    let mut many = Box::pin(sem.acquire_many(3));
    assert!(poll_once(many.as_mut()).is_pending());
    let mut one = pin!(sem.acquire());
    assert!(poll_once(one.as_mut()).is_pending());
    drop(many);
    assert!(
        poll_once(one.as_mut()).is_ready(),
        "local: the waiter behind stays blocked"
    );
    // Shared flavour, and try_acquire after the cancel.
    let sem = shared::Semaphore::new(2);
    let mut many = Box::pin(sem.acquire_many(3));
    assert!(poll_once(many.as_mut()).is_pending());
    let mut one = pin!(sem.acquire());
    assert!(poll_once(one.as_mut()).is_pending());
    drop(many);
    assert!(
        poll_once(one.as_mut()).is_ready(),
        "shared: the waiter behind stays blocked"
    );
    let sem = Semaphore::new(2);
    let mut many = Box::pin(sem.acquire_many(3));
    assert!(poll_once(many.as_mut()).is_pending());
    drop(many);
    assert!(
        sem.try_acquire().is_ok(),
        "a cancelled waiter's stale entry blocks try_acquire"
    );
}

#[test]
fn timed_out_writer_does_not_block_readers() {
    let _serial = serial();
    rt(1).block_on(async {
        let lock = RwLock::new(0);
        let reader = lock.read().await;
        assert!(
            timeout(Duration::from_millis(5), lock.write())
                .await
                .is_err()
        );
        assert!(
            lock.try_read().is_some(),
            "local: try_read blocked by a gone writer"
        );
        let second = timeout(Duration::from_secs(5), lock.read()).await;
        assert!(
            second.is_ok(),
            "local: a reader queued behind a gone writer"
        );
        drop((reader, second));

        let lock = shared::RwLock::new(0);
        let reader = lock.read().await;
        assert!(
            timeout(Duration::from_millis(5), lock.write())
                .await
                .is_err()
        );
        let second = timeout(Duration::from_secs(5), lock.read()).await;
        assert!(
            second.is_ok(),
            "shared: a reader queued behind a gone writer"
        );
        drop((reader, second));
    });
}

// ---- 4. A panicking spawn_on factory ---------------------------------------------------

#[test]
fn panicking_spawn_on_factory_resolves_panicked_and_worker_carries_on() {
    let _serial = serial();
    let runtime = rt(2);
    runtime.block_on(async {
        for worker in [1, 0] {
            let handle = spawn_on(worker, || -> std::future::Ready<u32> {
                panic!("factory boom");
            });
            let error = timeout(Duration::from_secs(5), handle)
                .await
                .expect("the handle of a panicking factory never resolved")
                .unwrap_err();
            assert!(error.is_panic(), "worker {worker}: {error:?}");
            assert_eq!(error.panic_message(), Some("factory boom"));
            // The worker is still alive and serves the next one.
            let next = spawn_on(worker, || async { ringlet::worker_index() });
            let next = timeout(Duration::from_secs(5), next)
                .await
                .expect("the worker died with the factory");
            assert_eq!(next.unwrap(), Some(worker));
        }
    });
}

// ---- 5. Incoming re-arms a multishot accept the kernel ended -----------------------------

#[test]
fn incoming_survives_completion_queue_pressure() {
    let _serial = serial();
    const CONNECTIONS: usize = 64;
    let runtime = Runtime::builder()
        .workers(1)
        .ring_entries(4)
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<std::net::TcpStream> = (0..CONNECTIONS)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut incoming = listener.incoming();
        let mut accepted = Vec::new();
        while accepted.len() < CONNECTIONS {
            match timeout(Duration::from_secs(5), incoming.next()).await {
                Ok(Some(Ok(stream))) => accepted.push(stream),
                Ok(Some(Err(e))) => panic!("accept failed: {e}"),
                Ok(None) => panic!("incoming ended after {} connections", accepted.len()),
                Err(_) => panic!("incoming stalled after {} connections", accepted.len()),
            }
        }
        drop(clients);
    });
}

// ---- 6 and 12. Notify stores at most one notification, and never for notify_waiters ----

fn notify_stores_nothing_for_later<N>(
    notified: impl Fn(&N) -> Pin<Box<dyn Future<Output = ()> + '_>>,
    notify: N,
    notify_waiters: impl Fn(&N),
) {
    let mut waiter = notified(&notify);
    assert!(poll_once(waiter.as_mut()).is_pending());
    notify_waiters(&notify);
    drop(waiter); // woken, never polled
    let mut later = notified(&notify);
    assert!(
        poll_once(later.as_mut()).is_pending(),
        "notify_waiters left a permit for a later waiter"
    );
}

fn notify_stores_at_most_one<N>(
    notified: impl Fn(&N) -> Pin<Box<dyn Future<Output = ()> + '_>>,
    notify: N,
    notify_one: impl Fn(&N),
) {
    let mut waiter = notified(&notify);
    assert!(poll_once(waiter.as_mut()).is_pending());
    notify_one(&notify);
    notify_one(&notify);
    drop(waiter); // granted, never polled: its notification passes on
    let mut first = notified(&notify);
    assert!(poll_once(first.as_mut()).is_ready());
    let mut second = notified(&notify);
    assert!(
        poll_once(second.as_mut()).is_pending(),
        "Notify stored two notifications"
    );
}

#[test]
fn notify_waiters_stores_nothing() {
    notify_stores_nothing_for_later(
        |n: &Notify| Box::pin(n.notified()),
        Notify::new(),
        |n| n.notify_waiters(),
    );
    notify_stores_nothing_for_later(
        |n: &shared::Notify| Box::pin(n.notified()),
        shared::Notify::new(),
        |n| n.notify_waiters(),
    );
}

#[test]
fn notify_stores_at_most_one_notification() {
    notify_stores_at_most_one(
        |n: &Notify| Box::pin(n.notified()),
        Notify::new(),
        |n| n.notify_one(),
    );
    notify_stores_at_most_one(
        |n: &shared::Notify| Box::pin(n.notified()),
        shared::Notify::new(),
        |n| n.notify_one(),
    );
}

// ---- 8. No lost wake-up when arming the wake-up read fills the SQ ----------------------

#[test]
fn tiny_ring_does_not_sleep_through_ready_work() {
    let _serial = serial();
    let runtime = Runtime::builder()
        .workers(1)
        .ring_entries(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        for round in 0..20 {
            let (a, b) = UnixStream::pair().unwrap();
            let started = Instant::now();
            let reader = spawn(async move { a.read(Vec::with_capacity(16)).await });
            let (written, _) = b.write_all(b"ping".to_vec()).await;
            written.unwrap();
            let (read, buf) = timeout(Duration::from_secs(5), reader)
                .await
                .expect("the read never completed")
                .unwrap();
            assert_eq!(read.unwrap(), 4);
            assert_eq!(&buf[..], b"ping");
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(1),
                "round {round}: took {took:?}"
            );
        }
    });
}

// ---- 10. A receive stream out of buffers waits without spinning -------------------------

fn thread_cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live rusage the call fills.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn recv_stream_out_of_buffers_does_not_spin() {
    let _serial = serial();
    rt(1).block_on(async {
        let pool = BufRing::new(2, 16).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let a_client = TcpStream::connect(addr).await.unwrap();
        let (a_server, _) = listener.accept().await.unwrap();
        let b_client = TcpStream::connect(addr).await.unwrap();
        let (b_server, _) = listener.accept().await.unwrap();

        // Stream A takes both buffers and does not poll them.
        let mut a = a_server.recv_stream(&pool);
        let first = a_client.write_all(vec![b'a'; 16]).await;
        first.0.unwrap();
        let a_first = a.next().await.unwrap().unwrap();
        sleep(Duration::from_millis(20)).await;
        a_client.write_all(vec![b'a'; 16]).await.0.unwrap();
        sleep(Duration::from_millis(50)).await;
        yield_now().await;
        assert_eq!(pool.available(), 0, "both buffers are taken");

        // Stream B receives and finds the pool dry: it must wait, not spin.
        b_client.write_all(b"hello".to_vec()).await.0.unwrap();
        let mut b = b_server.recv_stream(&pool);
        let cpu = thread_cpu_time();
        let wall = Instant::now();
        assert!(timeout(Duration::from_millis(300), b.next()).await.is_err());
        let (cpu, wall) = (thread_cpu_time() - cpu, wall.elapsed());
        assert!(
            cpu < wall / 3,
            "waiting for a buffer burned {cpu:?} of CPU in {wall:?}"
        );
        assert_eq!(
            pool.available(),
            0,
            "available() counts buffers the kernel has not"
        );

        // A gives its buffers back: B gets its data.
        drop(a_first);
        let a_second = a.next().await.unwrap().unwrap();
        drop(a_second);
        let got = timeout(Duration::from_secs(5), b.next())
            .await
            .expect("B never got a buffer back")
            .unwrap()
            .unwrap();
        assert_eq!(&got[..], b"hello");
    });
}

// ---- 11. Dropping the runtime with a zero-copy send in flight --------------------------

#[test]
fn runtime_drop_with_zero_copy_send_in_flight_is_fast_and_leaks_nothing() {
    let _serial = serial();
    // Each round depends on where the kernel is when the runtime drops: a few rounds of
    // each make a stall near certain to show if the runtime can stall.
    for workers in [1, 2, 1, 2, 1, 2, 1, 2] {
        let baseline = open_fds();
        let runtime = rt(workers);
        let in_flight = Arc::new(AtomicUsize::new(0));
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // The receiving peer lives on worker 0 and reads slower than the sender
            // sends: unread zero-copy data waits in its socket, so the send's
            // notification comes only once the peer is closed. Its receive in flight
            // holds the peer's fd until that receive's final completion is reaped.
            let accept = spawn(async move {
                let (peer, _) = listener.accept().await.unwrap();
                loop {
                    let (read, _) = peer.read(vec![0u8; 512]).await;
                    if read.is_err() {
                        break;
                    }
                }
            });
            let sender_worker = workers - 1;
            let counter = in_flight.clone();
            drop(spawn_on(sender_worker, move || async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                // Several MiB: more than the socket buffers hold, so it stays in flight.
                loop {
                    let (sent, _) = stream.send_zc(vec![7u8; 1 << 20]).await;
                    if sent.is_err() {
                        break;
                    }
                }
            }));
            while in_flight.load(Ordering::SeqCst) == 0 {
                sleep(Duration::from_millis(1)).await;
            }
            sleep(Duration::from_millis(100)).await;
            drop(accept);
        });
        let started = Instant::now();
        drop(runtime);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "{workers} workers: runtime drop took {took:?}"
        );
        assert_eq!(open_fds(), baseline, "{workers} workers: fds leaked");
    }
}

// ---- 9. Vectored writes never raise SIGPIPE: see tests/sigpipe.rs (own process state) ---

// ---- 2. Buffer rings belong to their ring ----------------------------------------------

#[test]
fn buffer_ring_of_another_runtime_is_refused() {
    let _serial = serial();
    let first = rt(1);
    let pool = first.block_on(async { BufRing::new(4, 64).unwrap() });
    let second = rt(1);
    second.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"data".to_vec()).await.0.unwrap();
        let mut stream = server.recv_stream(&pool);
        let error = timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("no answer")
            .expect("an item")
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().contains("ring"), "{error}");
    });
    drop(pool);
}

// ---- Minor: wakers run after the shared channel's lock is released ----------------------

/// A waker that locks the channel when woken, as any waker may (a waker that polls
/// synchronously, say).
struct LocksChannel(shared::mpsc::Sender<u32>, Arc<AtomicUsize>);

impl std::task::Wake for LocksChannel {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.is_closed(); // takes the channel's lock
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shared_channel_wakes_outside_its_lock() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (tx, mut rx) = shared::mpsc::channel::<u32>(1);
        let woken = Arc::new(AtomicUsize::new(0));
        let waker = Waker::from(Arc::new(LocksChannel(tx.clone(), woken.clone())));
        let mut cx = Context::from_waker(&waker);
        {
            let mut recv = pin!(rx.recv());
            assert!(recv.as_mut().poll(&mut cx).is_pending());
            tx.try_send(1).unwrap(); // wakes the receiver
            assert!(matches!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(1))));
        }
        // A sender waiting for room, woken by the receiver taking a message.
        tx.try_send(2).unwrap();
        let mut send = pin!(tx.send(3));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Some(2)); // wakes the sender
        assert!(send.as_mut().poll(&mut cx).is_ready());
        done_tx.send(woken.load(Ordering::SeqCst)).unwrap();
    });
    let woken = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("deadlock: a waker ran under the channel's lock");
    assert_eq!(woken, 2);
}
