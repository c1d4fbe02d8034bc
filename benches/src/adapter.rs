//! The one small adapter every benchmark body is written against: each body is a generic
//! function over [`Rt`] (and [`Net`], [`Files`] where it needs them), so ringlet and tokio
//! run the same code by construction, and only these adapters differ.
//!
//! Fairness: ringlet's tasks are `!Send` and never move between threads, so the tokio side
//! runs its single-threaded benchmarks on a current-thread runtime with a `LocalSet`
//! (`spawn_local`), the way thread-per-core code runs on tokio. Cross-worker benchmarks use
//! a two-worker runtime on both sides (ringlet: two workers; tokio: multi-thread with two).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A runtime, as a benchmark body sees it.
pub trait Rt: 'static {
    /// Runs `f` on one thread: ringlet with one worker, tokio current-thread without its
    /// I/O and timer drivers (which slow its wake path when nothing needs them).
    fn block_on<F: Future>(f: F) -> F::Output;
    /// As [`block_on`](Rt::block_on), for bodies that use sockets or timers: tokio with its
    /// I/O and timer drivers (ringlet's ring is both).
    fn block_on_io<F: Future>(f: F) -> F::Output;
    /// Runs `f` on a runtime with two workers, for [`spawn_remote`](Rt::spawn_remote).
    fn block_on_two<F: Future>(f: F) -> F::Output;
    /// Spawns a task on this thread (the task need not be `Send`); the future joins it.
    fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
    where
        F::Output: 'static;
    /// Spawns a task on worker `worker` (0 or 1) of [`block_on_two`](Rt::block_on_two)'s
    /// runtime; tokio's work-stealing runtime picks a worker itself.
    fn spawn_remote<F>(worker: usize, f: F) -> impl Future<Output = F::Output>
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

fn ringlet_runtime(workers: usize) -> ringlet::Runtime {
    ringlet::Runtime::builder()
        .workers(workers)
        .build()
        .expect("a ringlet runtime")
}

/// `Rt` for a ringlet-based adapter.
macro_rules! ringlet_rt {
    ($t:ty) => {
        impl Rt for $t {
            fn block_on<F: Future>(f: F) -> F::Output {
                ringlet_runtime(1).block_on(f)
            }
            fn block_on_io<F: Future>(f: F) -> F::Output {
                ringlet_runtime(1).block_on(f)
            }
            fn block_on_two<F: Future>(f: F) -> F::Output {
                ringlet_runtime(2).block_on(f)
            }
            fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
            where
                F::Output: 'static,
            {
                let handle = ringlet::spawn(f);
                async move { handle.await.expect("the task completes") }
            }
            fn spawn_remote<F>(worker: usize, f: F) -> impl Future<Output = F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                let handle = ringlet::spawn_on(worker, move || f);
                async move { handle.await.expect("the task completes") }
            }
            fn sleep(d: Duration) -> impl Future<Output = ()> {
                ringlet::time::sleep(d)
            }

            type Mutex<T: 'static> = ringlet::sync::Mutex<T>;
            fn mutex<T: 'static>(v: T) -> Self::Mutex<T> {
                ringlet::sync::Mutex::new(v)
            }
            async fn with_lock<T: 'static, R>(
                m: &Self::Mutex<T>,
                f: impl FnOnce(&mut T) -> R,
            ) -> R {
                f(&mut *m.lock().await)
            }
            fn into_inner<T: 'static>(m: Self::Mutex<T>) -> T {
                m.into_inner()
            }

            type Semaphore = ringlet::sync::Semaphore;
            fn semaphore(permits: usize) -> Self::Semaphore {
                ringlet::sync::Semaphore::new(permits)
            }
            async fn acquire_release(s: &Self::Semaphore) {
                drop(s.acquire().await.expect("never closed"));
            }

            type Sender<T: 'static> = ringlet::sync::mpsc::Sender<T>;
            type Receiver<T: 'static> = ringlet::sync::mpsc::Receiver<T>;
            fn channel<T: 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
                ringlet::sync::mpsc::channel(capacity)
            }
            async fn send<T: 'static>(tx: &Self::Sender<T>, v: T) {
                assert!(tx.send(v).await.is_ok(), "the receiver is alive");
            }
            fn recv<T: 'static>(rx: &mut Self::Receiver<T>) -> impl Future<Output = Option<T>> {
                rx.recv()
            }

            type RemoteSender<T: Send + 'static> = ringlet::sync::shared::mpsc::Sender<T>;
            type RemoteReceiver<T: Send + 'static> = ringlet::sync::shared::mpsc::Receiver<T>;
            fn remote_channel<T: Send + 'static>(
                capacity: usize,
            ) -> (Self::RemoteSender<T>, Self::RemoteReceiver<T>) {
                ringlet::sync::shared::mpsc::channel(capacity)
            }
            async fn remote_send<T: Send + 'static>(tx: &Self::RemoteSender<T>, v: T) {
                assert!(tx.send(v).await.is_ok(), "the receiver is alive");
            }
            fn remote_recv<T: Send + 'static>(
                rx: &mut Self::RemoteReceiver<T>,
            ) -> impl Future<Output = Option<T>> + Send {
                rx.recv()
            }
        }
    };
}

ringlet_rt!(Ringlet);
ringlet_rt!(RingletCompat);

/// `Rt` for a tokio-based adapter.
macro_rules! tokio_rt {
    ($t:ty) => {
        impl Rt for $t {
            fn block_on<F: Future>(f: F) -> F::Output {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("a tokio runtime");
                tokio::task::LocalSet::new().block_on(&rt, f)
            }
            fn block_on_io<F: Future>(f: F) -> F::Output {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                tokio::task::LocalSet::new().block_on(&rt, f)
            }
            fn block_on_two<F: Future>(f: F) -> F::Output {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
                    .block_on(f)
            }
            fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
            where
                F::Output: 'static,
            {
                let handle = tokio::task::spawn_local(f);
                async move { handle.await.expect("the task completes") }
            }
            fn spawn_remote<F>(_worker: usize, f: F) -> impl Future<Output = F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                let handle = tokio::spawn(f);
                async move { handle.await.expect("the task completes") }
            }
            fn sleep(d: Duration) -> impl Future<Output = ()> {
                tokio::time::sleep(d)
            }

            type Mutex<T: 'static> = tokio::sync::Mutex<T>;
            fn mutex<T: 'static>(v: T) -> Self::Mutex<T> {
                tokio::sync::Mutex::new(v)
            }
            async fn with_lock<T: 'static, R>(
                m: &Self::Mutex<T>,
                f: impl FnOnce(&mut T) -> R,
            ) -> R {
                f(&mut *m.lock().await)
            }
            fn into_inner<T: 'static>(m: Self::Mutex<T>) -> T {
                m.into_inner()
            }

            type Semaphore = tokio::sync::Semaphore;
            fn semaphore(permits: usize) -> Self::Semaphore {
                tokio::sync::Semaphore::new(permits)
            }
            async fn acquire_release(s: &Self::Semaphore) {
                drop(s.acquire().await.expect("never closed"));
            }

            type Sender<T: 'static> = tokio::sync::mpsc::Sender<T>;
            type Receiver<T: 'static> = tokio::sync::mpsc::Receiver<T>;
            fn channel<T: 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
                tokio::sync::mpsc::channel(capacity)
            }
            async fn send<T: 'static>(tx: &Self::Sender<T>, v: T) {
                assert!(tx.send(v).await.is_ok(), "the receiver is alive");
            }
            fn recv<T: 'static>(rx: &mut Self::Receiver<T>) -> impl Future<Output = Option<T>> {
                rx.recv()
            }

            type RemoteSender<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
            type RemoteReceiver<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
            fn remote_channel<T: Send + 'static>(
                capacity: usize,
            ) -> (Self::RemoteSender<T>, Self::RemoteReceiver<T>) {
                tokio::sync::mpsc::channel(capacity)
            }
            async fn remote_send<T: Send + 'static>(tx: &Self::RemoteSender<T>, v: T) {
                assert!(tx.send(v).await.is_ok(), "the receiver is alive");
            }
            fn remote_recv<T: Send + 'static>(
                rx: &mut Self::RemoteReceiver<T>,
            ) -> impl Future<Output = Option<T>> + Send {
                rx.recv()
            }
        }
    };
}

tokio_rt!(Tokio);
tokio_rt!(TokioPread);

async fn ringlet_listen() -> (ringlet::net::TcpListener, SocketAddr) {
    let listener = ringlet::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("an address");
    (listener, addr)
}

async fn ringlet_connect(addr: SocketAddr) -> ringlet::net::TcpStream {
    let stream = ringlet::net::TcpStream::connect(addr)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
}

impl Net for Ringlet {
    type Listener = ringlet::net::TcpListener;
    type Stream = ringlet::net::TcpStream;
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> {
        ringlet_listen()
    }
    async fn accept(l: &Self::Listener) -> Self::Stream {
        l.accept().await.expect("accept").0
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream> {
        ringlet_connect(addr)
    }
    async fn read_exact(s: &mut Self::Stream, buf: Vec<u8>) -> Vec<u8> {
        let (r, buf) = s.read_exact(buf).await;
        r.expect("read");
        buf
    }
    async fn read(s: &mut Self::Stream, buf: Vec<u8>) -> (usize, Vec<u8>) {
        // ringlet fills from the start of the buffer's capacity; the length is kept.
        let (r, buf) = s.read(buf).await;
        (r.expect("read"), buf)
    }
    async fn write_all(s: &mut Self::Stream, buf: Vec<u8>) -> Vec<u8> {
        let (r, buf) = s.write_all(buf).await;
        r.expect("write");
        buf
    }
    async fn shutdown_write(s: &mut Self::Stream) {
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    }
}

/// tokio's I/O traits over a stream, for the adapters that use them.
mod tokio_io {
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    pub(super) async fn read_exact<S: AsyncRead + Unpin>(s: &mut S, mut buf: Vec<u8>) -> Vec<u8> {
        s.read_exact(&mut buf).await.expect("read");
        buf
    }
    pub(super) async fn read<S: AsyncRead + Unpin>(
        s: &mut S,
        mut buf: Vec<u8>,
    ) -> (usize, Vec<u8>) {
        let n = s.read(&mut buf).await.expect("read");
        (n, buf)
    }
    pub(super) async fn write_all<S: AsyncWrite + Unpin>(s: &mut S, buf: Vec<u8>) -> Vec<u8> {
        s.write_all(&buf).await.expect("write");
        s.flush().await.expect("flush");
        buf
    }
    pub(super) async fn shutdown<S: AsyncWrite + Unpin>(s: &mut S) {
        s.shutdown().await.expect("shutdown");
    }
}

impl Net for RingletCompat {
    type Listener = ringlet::net::TcpListener;
    type Stream = ringlet::compat::Compat<ringlet::net::TcpStream>;
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> {
        ringlet_listen()
    }
    async fn accept(l: &Self::Listener) -> Self::Stream {
        ringlet::compat::Compat::new(l.accept().await.expect("accept").0)
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        ringlet::compat::Compat::new(ringlet_connect(addr).await)
    }
    fn read_exact(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>> {
        tokio_io::read_exact(s, buf)
    }
    fn read(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = (usize, Vec<u8>)> {
        tokio_io::read(s, buf)
    }
    fn write_all(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>> {
        tokio_io::write_all(s, buf)
    }
    fn shutdown_write(s: &mut Self::Stream) -> impl Future<Output = ()> {
        tokio_io::shutdown(s)
    }
}

impl Net for Tokio {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        (listener, addr)
    }
    async fn accept(l: &Self::Listener) -> Self::Stream {
        l.accept().await.expect("accept").0
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream
    }
    fn read_exact(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>> {
        tokio_io::read_exact(s, buf)
    }
    fn read(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = (usize, Vec<u8>)> {
        tokio_io::read(s, buf)
    }
    fn write_all(s: &mut Self::Stream, buf: Vec<u8>) -> impl Future<Output = Vec<u8>> {
        tokio_io::write_all(s, buf)
    }
    fn shutdown_write(s: &mut Self::Stream) -> impl Future<Output = ()> {
        tokio_io::shutdown(s)
    }
}

impl Files for Ringlet {
    type File = ringlet::fs::File;
    async fn open(path: &'static Path) -> Self::File {
        ringlet::fs::File::open(path).await.expect("open")
    }
    async fn read_exact_at(f: &mut Self::File, buf: Vec<u8>, offset: u64) -> Vec<u8> {
        let (r, buf) = f.read_exact_at(buf, offset).await;
        r.expect("read");
        buf
    }
}

impl Files for Tokio {
    type File = tokio::fs::File;
    async fn open(path: &'static Path) -> Self::File {
        tokio::fs::File::open(path).await.expect("open")
    }
    async fn read_exact_at(f: &mut Self::File, mut buf: Vec<u8>, offset: u64) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        f.seek(std::io::SeekFrom::Start(offset))
            .await
            .expect("seek");
        f.read_exact(&mut buf).await.expect("read");
        buf
    }
}

impl Files for TokioPread {
    type File = std::sync::Arc<std::fs::File>;
    async fn open(path: &'static Path) -> Self::File {
        std::sync::Arc::new(std::fs::File::open(path).expect("open"))
    }
    async fn read_exact_at(f: &mut Self::File, mut buf: Vec<u8>, offset: u64) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let file = f.clone();
        tokio::task::spawn_blocking(move || {
            file.read_exact_at(&mut buf, offset).expect("read");
            buf
        })
        .await
        .expect("the blocking read completes")
    }
}
