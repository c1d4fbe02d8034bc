//! The protocol by which other threads hand work to a worker without a lost wake-up.
//!
//! Pushers lock the queue, push, unlock, then set `notified`; whoever flips it from clear
//! to set writes the worker's eventfd (the caller does, when told to). The worker clears
//! `notified` *before* it takes the queue, and blocks in the kernel only when it found
//! nothing to run; the read it keeps armed on the eventfd ends that block. A push the
//! worker's take missed has set `notified` after the clear, so it wrote the eventfd.
//!
//! Under `--cfg loom` the atomics and the lock are loom's, and the tests at the bottom
//! check every interleaving of that protocol (with the eventfd modelled as a counter
//! whose blocking read resets it): `RUSTFLAGS="--cfg loom" cargo test -p ringlet --lib
//! --release inbox`. Flags written from several threads are set with `swap`, not `store`:
//! loom 0.7 lets a plain store slip between the read and the write of another thread's
//! swap (tokio-rs/loom#254), which reports wake-ups lost that cannot be. On x86 a SeqCst
//! store is an `xchg` anyway.
//!
//! Owns: the remote queue and its `notified` flag. Must not block the pusher on the worker.

#[cfg(loom)]
use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, Ordering},
};
#[cfg(not(loom))]
use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, Ordering},
};

/// Items for one worker from other threads, with its wake-up flag.
pub(crate) struct Inbox<T> {
    queue: Mutex<Queue<T>>,
    /// Set once an eventfd write is pending; cleared by the worker before it takes the
    /// queue. Saves a syscall per push while the worker is awake anyway.
    notified: AtomicBool,
}

struct Queue<T> {
    items: Vec<T>,
    closed: bool,
}

impl<T> Inbox<T> {
    pub(crate) fn new() -> Self {
        Inbox {
            queue: Mutex::new(Queue {
                items: Vec::new(),
                closed: false,
            }),
            notified: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`. `Ok(true)`: the caller must wake the worker (write its eventfd).
    ///
    /// # Errors
    ///
    /// Gives `item` back once the inbox is closed.
    pub(crate) fn push(&self, item: T) -> Result<bool, T> {
        let mut queue = self.lock();
        if queue.closed {
            return Err(item);
        }
        queue.items.push(item);
        drop(queue);
        Ok(self.flag())
    }

    /// Marks a wake-up pending; `true` when the caller must deliver it, because no other
    /// pusher has since the worker last looked.
    pub(crate) fn flag(&self) -> bool {
        !self.notified.swap(true, Ordering::SeqCst)
    }

    /// Whether something was pushed since the last [`take`](Inbox::take) (a read only: it
    /// clears nothing, so the pusher's wake-up stays owed as before).
    pub(crate) fn is_flagged(&self) -> bool {
        // An RMW that changes nothing, not a load: it reads the latest value in the
        // flag's modification order, which the spinning handshake relies on.
        self.notified.fetch_or(false, Ordering::SeqCst)
    }

    /// Hands every queued item to `each`, after clearing `notified`. Skips the lock when
    /// `notified` was clear: nothing was pushed since the last take (this runs on every
    /// turn of the worker loop). `each` runs under the lock, so the queue keeps its
    /// capacity from one take to the next; it must not push to this inbox.
    pub(crate) fn take(&self, each: impl FnMut(T)) {
        if !self.notified.swap(false, Ordering::SeqCst) {
            return;
        }
        self.lock().items.drain(..).for_each(each);
    }

    /// Refuses further pushes and returns what was queued.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut queue = self.lock();
        queue.closed = true;
        std::mem::take(&mut queue.items)
    }
}

/// The protocol with real threads and a real (modelled) eventfd: what Miri runs, where
/// loom cannot. Every item pushed arrives exactly once, and whenever items wait, a
/// wake-up is pending.
#[cfg(all(test, not(loom)))]
mod thread_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::Inbox;

    #[test]
    fn every_push_arrives_once_and_is_announced() {
        let per_thread = if cfg!(miri) { 50 } else { 20_000 };
        let inbox = Arc::new(Inbox::new());
        // The eventfd: writes add up; the worker's read takes them all.
        let eventfd = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let pushers: Vec<_> = (0..2)
            .map(|t| {
                let (inbox, eventfd, done) = (inbox.clone(), eventfd.clone(), done.clone());
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        if inbox.push(t * per_thread + i).unwrap() {
                            eventfd.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        let mut seen = vec![false; 2 * per_thread];
        let mut received = 0;
        while received < seen.len() {
            let before = received;
            inbox.take(|item| {
                assert!(!seen[item], "item {item} delivered twice");
                seen[item] = true;
                received += 1;
            });
            if received > before {
                continue;
            }
            // Nothing to run: the worker blocks on its eventfd until a write arrives.
            loop {
                if eventfd.swap(0, Ordering::SeqCst) > 0 {
                    break;
                }
                if done.load(Ordering::SeqCst) == 2 && eventfd.load(Ordering::SeqCst) == 0 {
                    // Every pusher is finished and no wake-up is pending: anything still
                    // queued was pushed without one.
                    let mut stranded = 0;
                    inbox.take(|_| stranded += 1);
                    assert!(
                        received == seen.len(),
                        "lost wake-up: {stranded} items stranded"
                    );
                    break;
                }
                std::thread::yield_now();
            }
        }
        for pusher in pushers {
            pusher.join().unwrap();
        }
        assert!(inbox.close().is_empty());
        assert_eq!(inbox.push(0), Err(0), "a closed inbox refuses pushes");
    }
}

#[cfg(all(test, loom))]
mod tests {
    //! Exhaustive interleavings of pushers, a `block_on` waker and the worker loop.

    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    use super::Inbox;

    /// The worker's eventfd: writes add to a counter; the worker's armed read blocks
    /// until it is non-zero and resets it (as the read op completing does).
    #[derive(Default)]
    struct EventFd {
        count: Mutex<u64>,
        ready: Condvar,
    }

    impl EventFd {
        fn write(&self) {
            *self.count.lock().unwrap() += 1;
            self.ready.notify_one();
        }

        fn wait(&self) {
            let mut count = self.count.lock().unwrap();
            while *count == 0 {
                count = self.ready.wait(count).unwrap();
            }
            *count = 0;
        }

        /// A completed read reaped without waiting: takes what was written, if anything
        /// (what a spinning worker's non-blocking reap does to a wake-up).
        fn take(&self) {
            *self.count.lock().unwrap() = 0;
        }
    }

    struct Worker {
        inbox: Inbox<u32>,
        eventfd: EventFd,
        /// The `block_on` future's woken flag (`MainWaker`).
        main_woken: AtomicBool,
        /// `Shared::spinning`: set while the worker busy-polls before parking.
        spinning: AtomicBool,
    }

    impl Worker {
        /// `Shared::wake`: nothing while the worker spins (an RMW read of the flag).
        fn wake(&self) {
            if !self.spinning.fetch_or(false, Ordering::SeqCst) {
                self.eventfd.write();
            }
        }

        /// `Shared::schedule` from another thread.
        fn schedule(&self, item: u32) {
            if self.inbox.push(item).unwrap() {
                self.wake();
            }
        }

        /// `MainWaker::wake` from another thread.
        fn wake_main(&self) {
            self.main_woken.swap(true, Ordering::SeqCst);
            if self.inbox.flag() {
                self.wake();
            }
        }

        /// `Worker::spin_for_work` with `spins` turns: each reaps without waiting (which
        /// may eat a wake-up) and looks for work; `true` if it found some.
        fn spin(&self, spins: usize) -> bool {
            self.spinning.swap(true, Ordering::SeqCst);
            let mut found = false;
            for _ in 0..spins {
                self.eventfd.take();
                if self.inbox.is_flagged() || self.main_woken.load(Ordering::SeqCst) {
                    found = true;
                    break;
                }
                thread::yield_now();
            }
            self.spinning.swap(false, Ordering::SeqCst);
            found || self.inbox.is_flagged()
        }

        /// The worker loop (`Worker::block_on`): runs until it has seen `items` items and
        /// a main wake-up, spinning `spins` turns before each park. A lost wake-up leaves
        /// it blocked forever, which loom reports.
        fn run(&self, items: usize, spins: usize) {
            let mut seen = Vec::new();
            let mut main_seen = false;
            loop {
                main_seen |= self.main_woken.swap(false, Ordering::SeqCst);
                self.inbox.take(|item| seen.push(item));
                if seen.len() == items && main_seen {
                    break;
                }
                let idle = !self.main_woken.load(Ordering::SeqCst);
                if idle && !(spins > 0 && self.spin(spins)) {
                    self.eventfd.wait();
                }
            }
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..items as u32).collect::<Vec<_>>(),
                "lost or doubled"
            );
        }
    }

    fn worker() -> Arc<Worker> {
        Arc::new(Worker {
            inbox: Inbox::new(),
            eventfd: EventFd::default(),
            main_woken: AtomicBool::new(false),
            spinning: AtomicBool::new(false),
        })
    }

    /// A model bounded to 3 preemptions unless LOOM_MAX_PREEMPTIONS says otherwise (the
    /// long reliability run lifts the bound).
    fn bounded_model() -> loom::model::Builder {
        let mut model = loom::model::Builder::new();
        if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
            model.preemption_bound = Some(3);
        }
        model
    }

    #[test]
    fn inbox_two_pushers_and_a_main_wake_are_never_lost() {
        // Four threads: bounded to 3 preemptions unless LOOM_MAX_PREEMPTIONS says
        // otherwise (the long reliability run lifts the bound).
        let model = bounded_model();
        model.check(|| {
            let w = worker();
            let pushers: Vec<_> = (0..2)
                .map(|i| {
                    let w = w.clone();
                    thread::spawn(move || w.schedule(i))
                })
                .collect();
            let waker = {
                let w = w.clone();
                thread::spawn(move || w.wake_main())
            };
            w.run(2, 0);
            for p in pushers {
                p.join().unwrap();
            }
            waker.join().unwrap();
        });
    }

    #[test]
    fn inbox_one_pusher_twice_is_never_lost() {
        loom::model(|| {
            let w = worker();
            let pusher = {
                let w = w.clone();
                thread::spawn(move || {
                    w.schedule(0);
                    w.schedule(1);
                    w.wake_main();
                })
            };
            w.run(2, 0);
            pusher.join().unwrap();
        });
    }

    #[test]
    fn inbox_a_spinning_worker_loses_no_wake() {
        // A pusher that sees the worker spinning skips its wake-up, and a spin that reaps
        // may eat one: the worker must still never park with work waiting.
        let model = bounded_model();
        model.check(|| {
            let w = worker();
            let pusher = {
                let w = w.clone();
                thread::spawn(move || {
                    w.schedule(0);
                    w.schedule(1);
                })
            };
            let waker = {
                let w = w.clone();
                thread::spawn(move || w.wake_main())
            };
            w.run(2, 2);
            pusher.join().unwrap();
            waker.join().unwrap();
        });
    }

    #[test]
    fn inbox_closed_refuses_and_returns_what_was_queued() {
        loom::model(|| {
            let w = worker();
            let pusher = {
                let w = w.clone();
                thread::spawn(move || w.inbox.push(7).is_ok())
            };
            let queued = w.inbox.close();
            let accepted = pusher.join().unwrap();
            // Either the push came first and close returned it, or close refused it.
            assert_eq!(accepted, queued == [7]);
            assert!(w.inbox.push(8).is_err());
        });
    }
}
