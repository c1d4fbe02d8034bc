//! Both sync flavours are one implementation with one API: the same generic test body runs
//! on `Local` and on `Shared`, and the two places where the flavours used to differ
//! (the unbounded sender, the one-shot receiver) behave the same in both.

use std::rc::Rc;
use std::sync::Arc;

use ringlet::sync::generic::{Barrier, Event, Flavor, Local, Mutex, Notify, RwLock, Semaphore};
use ringlet::sync::{TryAcquireError, mpsc, oneshot, shared, watch};
use ringlet::yield_now;

/// Every waiting primitive, through the generic types: whatever `F` is, the behaviour is
/// the same, because the code is.
async fn primitives<F: Flavor>() {
    let sem: Semaphore<F> = Semaphore::new(2);
    let a = sem.acquire_many(2).await.unwrap();
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(a);
    assert_eq!(sem.available_permits(), 2);
    sem.close();
    assert!(sem.acquire().await.is_err());

    let mutex: Mutex<Vec<u32>, F> = Mutex::new(Vec::new());
    mutex.lock().await.push(1);
    {
        let _held = mutex.try_lock().expect("free");
        assert!(mutex.try_lock().is_none());
        assert!(format!("{mutex:?}").contains("<locked>"));
    }
    assert_eq!(*mutex.lock().await, [1]);
    assert_eq!(mutex.into_inner(), [1]);

    let lock: RwLock<u32, F> = RwLock::new(5);
    {
        let (r1, r2) = (lock.read().await, lock.read().await);
        assert_eq!(*r1 + *r2, 10);
        assert!(lock.try_write().is_none());
    }
    *lock.write().await += 1;
    assert_eq!(*lock.try_read().unwrap(), 6);

    let notify: Notify<F> = Notify::new();
    notify.notify_one();
    notify.notify_one(); // stores at most one
    notify.notified().await;
    let mut again = std::pin::pin!(notify.notified());
    assert!(futures_poll_once(again.as_mut()).is_pending());

    let event: Event<F> = Event::new();
    assert!(!event.is_set());
    event.set();
    event.wait().await;
    event.clear();
    assert!(!event.is_set());

    let barrier: Barrier<F> = Barrier::new(1);
    assert!(barrier.wait().await.is_leader());
}

fn futures_poll_once<T>(fut: std::pin::Pin<&mut impl Future<Output = T>>) -> std::task::Poll<T> {
    fut.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn one_generic_body_runs_on_both_flavours() {
    ringlet::run(async {
        primitives::<Local>().await;
        primitives::<shared::Shared>().await;
    })
    .unwrap();
}

#[test]
fn the_public_names_are_the_two_flavours_of_one_type() {
    fn same<A: 'static, B: 'static>() -> bool {
        std::any::TypeId::of::<A>() == std::any::TypeId::of::<B>()
    }
    assert!(same::<ringlet::sync::Semaphore, Semaphore<Local>>());
    assert!(same::<shared::Semaphore, Semaphore<shared::Shared>>());
    assert!(same::<ringlet::sync::Mutex<u8>, Mutex<u8, Local>>());
    assert!(same::<shared::RwLock<u8>, RwLock<u8, shared::Shared>>());
    assert!(same::<
        shared::oneshot::Sender<u8>,
        oneshot::Sender<u8, shared::Shared>,
    >());
    assert!(same::<
        shared::watch::Receiver<u8>,
        watch::Receiver<u8, shared::Shared>,
    >());
}

#[test]
fn send_and_sync_follow_from_the_flavour() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<shared::Semaphore>();
    send_sync::<shared::Mutex<Vec<u8>>>();
    send_sync::<shared::RwLock<u8>>();
    send_sync::<shared::Notify>();
    send_sync::<shared::Event>();
    send_sync::<shared::Barrier>();
    send_sync::<shared::OwnedSemaphorePermit>();
    send::<shared::oneshot::Sender<u8>>();
    send::<shared::oneshot::Receiver<u8>>();
    send::<shared::watch::Sender<u8>>();
    send::<shared::broadcast::Receiver<u8>>();
    send::<shared::mpsc::UnboundedSender<u8>>();
}

#[test]
fn unbounded_send_is_synchronous_in_both_flavours() {
    ringlet::run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.recv().await, Some(1));

        let (tx, mut rx) = shared::mpsc::unbounded_channel();
        for i in 0..1000 {
            tx.send(i).unwrap(); // no .await: never waits
        }
        assert_eq!(rx.len(), 1000);
        assert!(!rx.is_empty());
        assert_eq!(rx.recv().await, Some(0));
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(7).unwrap_err().0, 7);
    })
    .unwrap();
}

#[test]
fn oneshot_try_recv_in_both_flavours() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Ok(None));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(Some(3)));

    let (tx, mut rx) = shared::oneshot::channel::<u8>();
    assert_eq!(rx.try_recv(), Ok(None));
    drop(tx);
    assert!(rx.try_recv().is_err());
}

#[test]
fn watch_borrow_and_read_in_both_flavours() {
    ringlet::run(async {
        let (tx, mut rx) = watch::channel(1);
        tx.send(2).unwrap();
        assert_eq!(*rx.borrow(), 2);
        assert_eq!(rx.read_and_update(|v| *v), 2);
        let (a, b) = (rx.borrow(), tx.borrow()); // shared reads
        assert_eq!(*a + *b, 4);
        drop((a, b));

        let (tx, mut rx) = shared::watch::channel(1);
        tx.send(2).unwrap();
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), 2);
        assert_eq!(tx.read(|v| *v), 2);
        yield_now().await;
    })
    .unwrap();
}

#[test]
fn owned_permits_in_both_flavours() {
    ringlet::run(async {
        let local = Rc::new(ringlet::sync::Semaphore::new(1));
        let permit = local.clone().acquire_owned().await.unwrap();
        assert_eq!(permit.num_permits(), 1);
        assert_eq!(local.available_permits(), 0);
        drop(permit);
        assert_eq!(local.available_permits(), 1);

        let shared = Arc::new(shared::Semaphore::new(1));
        let permit = shared.clone().acquire_owned().await.unwrap();
        assert_eq!(shared.available_permits(), 0);
        permit.forget();
        assert_eq!(shared.available_permits(), 0);
    })
    .unwrap();
}
