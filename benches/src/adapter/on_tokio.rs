//! The tokio adapters: [`Tokio`] (epoll, `tokio::fs`), [`TokioPread`] (files read on
//! tokio's blocking pool) and [`TokioPinned`] (two pinned current-thread runtimes for the
//! cross-worker benchmarks).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::tokio_io;
use super::{Files, Net, Rt, Tokio, TokioPinned, TokioPread};

/// How a tokio adapter runs the two workers of the cross-worker benchmarks.
trait TwoWorkers {
    fn block_on_two<F: Future>(f: F) -> F::Output;
    fn spawn_remote<F>(worker: usize, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// tokio's multi-thread runtime with two workers, pinned to CPUs 0 and 1 as they start;
/// its scheduler picks the worker of each task.
macro_rules! multi_thread {
    ($t:ty) => {
        impl TwoWorkers for $t {
            fn block_on_two<F: Future>(f: F) -> F::Output {
                let next_cpu = std::sync::atomic::AtomicUsize::new(0);
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .on_thread_start(move || {
                        crate::pin_to_cpu(
                            next_cpu.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        )
                    })
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
                    .block_on(f)
            }
            fn spawn_remote<F>(_worker: usize, f: F) -> tokio::task::JoinHandle<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                tokio::spawn(f)
            }
        }
    };
}

multi_thread!(Tokio);
multi_thread!(TokioPread);

/// The two pinned current-thread runtimes of [`TokioPinned`] while `block_on_two` runs.
static PINNED: std::sync::Mutex<Vec<tokio::runtime::Handle>> = std::sync::Mutex::new(Vec::new());

impl TwoWorkers for TokioPinned {
    fn block_on_two<F: Future>(f: F) -> F::Output {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (started, handles) = std::sync::mpsc::channel();
        let threads: Vec<_> = (0..2)
            .map(|cpu| {
                let (started, mut stopped) = (started.clone(), stopped.clone());
                std::thread::spawn(move || {
                    crate::pin_to_cpu(cpu);
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a tokio runtime");
                    started.send((cpu, rt.handle().clone())).unwrap();
                    rt.block_on(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    });
                })
            })
            .collect();
        let mut pair: Vec<_> = handles.iter().take(2).collect();
        pair.sort_by_key(|(cpu, _)| *cpu);
        *PINNED.lock().unwrap() = pair.into_iter().map(|(_, h)| h).collect();
        let out = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(f);
        PINNED.lock().unwrap().clear();
        stop.send(true).unwrap();
        for t in threads {
            t.join().unwrap();
        }
        out
    }
    fn spawn_remote<F>(worker: usize, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = PINNED.lock().unwrap()[worker].clone();
        handle.spawn(f)
    }
}

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
                <$t as TwoWorkers>::block_on_two(f)
            }
            fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
            where
                F::Output: 'static,
            {
                let handle = tokio::task::spawn_local(f);
                async move { handle.await.expect("the task completes") }
            }
            fn spawn_remote<F>(worker: usize, f: F) -> impl Future<Output = F::Output> + Send
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                let handle = <$t as TwoWorkers>::spawn_remote(worker, f);
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
tokio_rt!(TokioPinned);

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
