//! Model-based tests: random operations on the real wait list, each checked against a
//! plain reference model and the rules above. Pure logic, so they run under Miri too.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use super::*;
use crate::sync::flavor::{Local, Shared};

/// xorshift64*: a seed replays exactly.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Counts its wakes, so the test sees exactly who was woken.
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Model {
    Queued,
    Granted(Grant),
}

/// The reference: permits, a FIFO of waiting ids, and what each waiter holds.
struct Reference {
    permits: usize,
    cap: usize,
    queue: VecDeque<u32>,
    waiters: HashMap<u32, (usize, Model)>,
}

impl Reference {
    fn add(&mut self, n: usize) {
        self.permits = (self.permits + n).min(self.cap);
    }

    fn grant(&mut self) {
        while let Some(&id) = self.queue.front() {
            let (needed, model) = self.waiters.get_mut(&id).unwrap();
            if *needed > self.permits {
                break;
            }
            self.permits -= *needed;
            *model = Model::Granted(Grant::Permits);
            self.queue.pop_front();
        }
    }
}

struct Live {
    key: Option<usize>,
    waker: Arc<CountWaker>,
}

/// One random run of `steps` operations against a wait list of `permits` (capped at
/// `cap`, with `notify_waiters` in the mix when `notify`).
fn run<F: Flavor>(core: Core<F>, seed: u64, steps: usize, permits: usize, cap: usize) {
    run_with(core, seed, steps, permits, cap, &[]);
}

/// As `run`, with acquires drawn from `needs` (an `RwLock`: 1 for a read, all
/// permits for a write) instead of from 1 to one more than the permits.
fn run_with<F: Flavor>(
    core: Core<F>,
    seed: u64,
    steps: usize,
    permits: usize,
    cap: usize,
    needs: &[usize],
) {
    let notify = cap == 1;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut reference = Reference {
        permits,
        cap,
        queue: VecDeque::new(),
        waiters: HashMap::new(),
    };
    let mut live: HashMap<u32, Live> = HashMap::new();
    let mut held: Vec<usize> = Vec::new();
    let mut next_id = 0u32;
    let mut total = permits;
    let max_need = if notify { 1 } else { permits.max(1) as u64 + 1 };
    for step in 0..steps {
        let ctx = || format!("seed {seed} step {step}");
        match rng.below(8) {
            // acquire(n), polled once
            0 | 1 => {
                let needed = match needs {
                    [] => 1 + rng.below(max_need) as usize,
                    needs => needs[rng.below(needs.len() as u64) as usize],
                };
                let id = next_id;
                next_id += 1;
                let waker = Arc::new(CountWaker(AtomicUsize::new(0)));
                let mut key = None;
                let w = Waker::from(waker.clone());
                let poll = core.poll_acquire(needed, &mut key, &mut Context::from_waker(&w));
                if reference.queue.is_empty() && reference.permits >= needed {
                    assert!(poll.is_ready(), "{}: free permits not taken", ctx());
                    reference.permits -= needed;
                    held.push(needed);
                } else {
                    assert!(poll.is_pending(), "{}: jumped the queue", ctx());
                    reference.queue.push_back(id);
                    reference.waiters.insert(id, (needed, Model::Queued));
                    live.insert(id, Live { key, waker });
                }
            }
            // try_acquire(n)
            2 => {
                let needed = match needs {
                    [] => 1 + rng.below(max_need) as usize,
                    needs => needs[rng.below(needs.len() as u64) as usize],
                };
                let got = core.try_acquire(needed).unwrap();
                let expect = reference.queue.is_empty() && reference.permits >= needed;
                assert_eq!(got, expect, "{}: try_acquire({needed})", ctx());
                if got {
                    reference.permits -= needed;
                    held.push(needed);
                }
            }
            // release a held permit (or notify_one)
            3 => {
                if notify {
                    core.notify_one();
                    reference.add(1);
                    reference.grant();
                } else if !held.is_empty() {
                    let n = held.swap_remove(rng.below(held.len() as u64) as usize);
                    core.release(n);
                    reference.add(n);
                    reference.grant();
                }
            }
            // cancel (drop) a waiter, granted or not
            4 => {
                let Some(&id) = pick(&mut rng, &live) else {
                    continue;
                };
                let l = live.remove(&id).unwrap();
                core.cancel_acquire(l.key.unwrap());
                let (needed, model) = reference.waiters.remove(&id).unwrap();
                match model {
                    Model::Queued => reference.queue.retain(|&q| q != id),
                    Model::Granted(Grant::Permits) => reference.add(needed),
                    Model::Granted(Grant::Broadcast) => {}
                }
                reference.grant();
            }
            // poll a waiter
            5 | 6 => {
                let Some(&id) = pick(&mut rng, &live) else {
                    continue;
                };
                let l = live.get_mut(&id).unwrap();
                let (needed, model) = reference.waiters[&id];
                let w = Waker::from(l.waker.clone());
                let poll = core.poll_acquire(needed, &mut l.key, &mut Context::from_waker(&w));
                match model {
                    Model::Queued => assert!(poll.is_pending(), "{}: early grant", ctx()),
                    Model::Granted(_) => {
                        assert!(poll.is_ready(), "{}: grant not seen", ctx());
                        live.remove(&id);
                        reference.waiters.remove(&id);
                        if model == Model::Granted(Grant::Permits) && !notify {
                            held.push(needed);
                        }
                    }
                }
            }
            // notify_waiters, or add permits to a semaphore
            _ => {
                if notify {
                    core.notify_waiters();
                    for id in reference.queue.drain(..) {
                        reference.waiters.get_mut(&id).unwrap().1 =
                            Model::Granted(Grant::Broadcast);
                    }
                } else {
                    let n = rng.below(3) as usize;
                    total += n;
                    core.release(n);
                    reference.add(n);
                    reference.grant();
                }
            }
        }
        // After every step: the same permits, the same waiters granted, rules hold.
        assert_eq!(core.available(), reference.permits, "{}: permits", ctx());
        core.inspect(State::check);
        for (id, l) in &live {
            let granted = matches!(reference.waiters[id].1, Model::Granted(_));
            let woken = l.waker.0.load(Ordering::SeqCst) > 0;
            if granted {
                assert!(woken, "{}: waiter {id} granted but never woken", ctx());
            }
        }
        if !notify {
            // Conservation: free + held + granted-unpolled = initial + added.
            let granted: usize = reference
                .waiters
                .values()
                .filter(|(_, m)| matches!(m, Model::Granted(_)))
                .map(|(n, _)| n)
                .sum();
            let accounted = granted + held.iter().sum::<usize>() + reference.permits;
            assert_eq!(accounted, total, "{}: permits lost or made", ctx());
        }
    }
    // Drop every waiter left: nothing may remain queued.
    for (_, l) in live {
        core.cancel_acquire(l.key.unwrap());
    }
    core.inspect(|s| {
        assert!(
            s.queue.is_empty() && s.waiters.is_empty(),
            "seed {seed}: leftovers"
        );
    });
}

fn pick<'a>(rng: &mut Rng, live: &'a HashMap<u32, Live>) -> Option<&'a u32> {
    if live.is_empty() {
        return None;
    }
    let mut ids: Vec<&u32> = live.keys().collect();
    ids.sort();
    Some(ids[rng.below(ids.len() as u64) as usize])
}

/// Seeds and steps per run: `RINGLET_MODEL_SEEDS` overrides the count (the long
/// reliability run uses 20,000); Miri, ~1000x slower, runs a few short ones.
fn seeds() -> (u64, usize) {
    if cfg!(miri) {
        return (3, 150);
    }
    let seeds = std::env::var("RINGLET_MODEL_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    (seeds, 400)
}

#[test]
fn semaphore_matches_model_both_flavours() {
    let (n, steps) = seeds();
    for seed in 0..n {
        let permits = (seed % 5) as usize;
        let state = || State::new(permits);
        run(
            Core::<Local>::new(state()),
            seed,
            steps,
            permits,
            usize::MAX,
        );
        run(
            Core::<Shared>::new(state()),
            seed,
            steps,
            permits,
            usize::MAX,
        );
    }
    println!("model: semaphore (local, shared) matched its reference in {n} seeds x {steps} steps");
}

#[test]
fn notify_matches_model_both_flavours() {
    let (n, steps) = seeds();
    for seed in 0..n {
        run(Core::<Local>::new(State::with_cap(0, 1)), seed, steps, 0, 1);
        run(
            Core::<Shared>::new(State::with_cap(0, 1)),
            seed,
            steps,
            0,
            1,
        );
    }
    println!("model: notify (local, shared) matched its reference in {n} seeds x {steps} steps");
}

/// The `RwLock` shape: reads take one permit, writes all of them; with cancelled
/// (timed-out) writers in the mix, readers must never wait behind a gone writer.
#[test]
fn rwlock_matches_model_both_flavours() {
    let (n, steps) = seeds();
    const READERS: usize = 6;
    for seed in 0..n {
        let needs = [1, 1, 1, READERS];
        run_with(
            Core::<Local>::new(State::new(READERS)),
            seed,
            steps,
            READERS,
            usize::MAX,
            &needs,
        );
        run_with(
            Core::<Shared>::new(State::new(READERS)),
            seed,
            steps,
            READERS,
            usize::MAX,
            &needs,
        );
    }
    println!("model: rwlock (local, shared) matched its reference in {n} seeds x {steps} steps");
}
