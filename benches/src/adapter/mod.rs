//! The one small adapter every benchmark body is written against: each body is a generic
//! function over [`Rt`] (and [`Net`], [`Files`] where it needs them), so ringlet and tokio
//! run the same code by construction, and only these adapters differ.
//!
//! Fairness: ringlet's tasks are `!Send` and never move between threads, so the tokio side
//! runs its single-threaded benchmarks on a current-thread runtime with a `LocalSet`
//! (`spawn_local`), the way thread-per-core code runs on tokio. Cross-worker benchmarks use
//! two workers pinned to CPUs 0 and 1 on both sides: ringlet's two workers; tokio's
//! multi-thread runtime with two workers ([`Tokio`], whose scheduler may run both ends of
//! a conversation on one worker), and two pinned current-thread runtimes ([`TokioPinned`],
//! where a message always crosses cores, as in ringlet).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// A runtime, as a benchmark body sees it.
pub trait Rt: 'static {
    /// Runs `f` on one thread: ringlet with one worker, tokio current-thread without its
    /// I/O and timer drivers (which slow its wake path when nothing needs them).
    fn block_on<F: Future>(f: F) -> F::Output;
    /// As [`block_on`](Rt::block_on), for bodies that use sockets or timers: tokio with its
    /// I/O and timer drivers (ringlet's ring is both).
    fn block_on_io<F: Future>(f: F) -> F::Output;
    /// Runs `f` on a runtime with two workers pinned to CPUs 0 and 1, for
    /// [`spawn_remote`](Rt::spawn_remote).
    fn block_on_two<F: Future>(f: F) -> F::Output;
    /// Spawns a task on this thread (the task need not be `Send`); the future joins it.
    fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
    where
        F::Output: 'static;
    /// Spawns a task on worker `worker` (0 or 1) of [`block_on_two`](Rt::block_on_two)'s
    /// runtime; tokio's multi-thread runtime picks a worker itself.
    fn spawn_remote<F>(worker: usize, f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Sleeps `d`.
    fn sleep(d: Duration) -> impl Future<Output = ()>;

    /// The runtime's async mutex for tasks of one thread.
    type Mutex<T: 'static>;
    /// A mutex holding `v`.
    fn mutex<T: 'static>(v: T) -> Self::Mutex<T>;
    /// Locks `m`, runs `f` on the value, unlocks.
    fn with_lock<T: 'static, R>(
        m: &Self::Mutex<T>,
        f: impl FnOnce(&mut T) -> R,
    ) -> impl Future<Output = R>;
    /// The value, mutex gone.
    fn into_inner<T: 'static>(m: Self::Mutex<T>) -> T;

    /// The runtime's semaphore for tasks of one thread.
    type Semaphore;
    /// A semaphore with `permits`.
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Acquires one permit and releases it.
    fn acquire_release(s: &Self::Semaphore) -> impl Future<Output = ()>;

    /// The sending side of a bounded channel between tasks of one thread.
    type Sender<T: 'static>;
    /// Its receiving side.
    type Receiver<T: 'static>;
    /// A bounded channel of `capacity`.
    fn channel<T: 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>);
    /// Sends `v`, waiting for room.
    fn send<T: 'static>(tx: &Self::Sender<T>, v: T) -> impl Future<Output = ()>;
    /// The next message; `None` once every sender is gone.
    fn recv<T: 'static>(rx: &mut Self::Receiver<T>) -> impl Future<Output = Option<T>>;

    /// The sending side of a bounded channel across workers.
    type RemoteSender<T: Send + 'static>: Send + 'static;
    /// Its receiving side.
    type RemoteReceiver<T: Send + 'static>: Send + 'static;
    /// A bounded channel across workers of `capacity`.
    fn remote_channel<T: Send + 'static>(
        capacity: usize,
    ) -> (Self::RemoteSender<T>, Self::RemoteReceiver<T>);
    /// Sends `v` across workers, waiting for room.
    fn remote_send<T: Send + 'static>(
        tx: &Self::RemoteSender<T>,
        v: T,
    ) -> impl Future<Output = ()> + Send;
    /// The next message from another worker.
    fn remote_recv<T: Send + 'static>(
        rx: &mut Self::RemoteReceiver<T>,
    ) -> impl Future<Output = Option<T>> + Send;
}

/// TCP, as a benchmark body sees it: owned buffers in, owned buffers out (a runtime with
/// borrowed-buffer I/O reads into the vector and hands it back).
pub trait Net: Rt {
    /// A listener.
    type Listener: 'static;
    /// A connected stream.
    type Stream: 'static;
    /// A listener on a free loopback port, and its address.
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)>;
    /// The next connection.
    fn accept(l: &Self::Listener) -> impl Future<Output = Self::Stream>;
    /// A connection to `addr`, `TCP_NODELAY` set.
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream>;
    /// Fills `buf` (its length) from `s`.
    fn read_exact(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>>;
    /// Some bytes into `buf` (its length); 0 at EOF.
    fn read(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = (usize, Vec<u8>)>;
    /// Writes all of `buf`, and flushes.
    fn write_all(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>>;
    /// Sends FIN.
    fn shutdown_write(s: &mut Self::Stream) -> impl Future<Output = ()>;
}

/// Files, as a benchmark body sees them.
pub trait Files: Rt {
    /// An open file.
    type File: 'static;
    /// Opens `path` for reading.
    fn open(path: &'static Path) -> impl Future<Output = Self::File>;
    /// Fills `buf` from `offset`.
    fn read_exact_at(
        f: &mut Self::File,
        buf: Vec<u8>,
        offset: u64,
    ) -> impl Future<Output = Vec<u8>>;
}

/// ringlet, with owned-buffer I/O.
#[derive(Debug)]
pub enum Ringlet {}

/// ringlet's streams behind `ringlet::compat::Compat` (tokio's I/O traits over owned
/// buffers, with the copies that costs).
#[derive(Debug)]
pub enum RingletCompat {}

/// tokio (epoll).
#[derive(Debug)]
pub enum Tokio {}

/// tokio, with files read by positioned reads on its blocking pool instead of `tokio::fs`.
#[derive(Debug)]
pub enum TokioPread {}

/// tokio as thread-per-core code uses it: for the cross-worker benchmarks, two
/// current-thread runtimes, each on its own thread pinned to CPU 0 or 1, with tasks sent
/// to a chosen one (`Handle::spawn`); everything else as [`Tokio`].
#[derive(Debug)]
pub enum TokioPinned {}

mod on_ringlet;
mod on_tokio;
mod tokio_io;

/// The body two benchmarks share (the runtime's and the compat layer's): `n` round trips
/// of a 64-byte ping-pong over one loopback TCP connection, both ends on one thread.
pub fn tcp_ping_pong_64<R: Net>(n: u64) -> Duration {
    R::block_on_io(async move {
        let (listener, addr) = R::listen().await;
        let server = R::spawn(async move {
            let mut s = R::accept(&listener).await;
            let mut buf = vec![0u8; 64];
            for _ in 0..n {
                buf = R::read_exact(&mut s, buf).await;
                buf = R::write_all(&mut s, buf).await;
            }
        });
        let mut c = R::connect(addr).await;
        let mut buf = vec![7u8; 64];
        let start = Instant::now();
        for _ in 0..n {
            buf = R::write_all(&mut c, buf).await;
            buf = R::read_exact(&mut c, buf).await;
        }
        let elapsed = start.elapsed();
        server.await;
        elapsed
    })
}
