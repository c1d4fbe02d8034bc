//! The tokio adapters: [`Tokio`] (epoll, `tokio::fs`) and [`TokioPread`] (files read on
//! tokio's blocking pool).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::tokio_io;
use super::{Files, Net, Rt, Tokio, TokioPread};

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
                // Its two workers on CPUs 0 and 1, as ringlet's.
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
            fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
            where
                F::Output: 'static,
            {
                let handle = tokio::task::spawn_local(f);
                async move { handle.await.expect("the task completes") }
            }
            fn spawn_remote<F>(_worker: usize, f: F) -> impl Future<Output = F::Output> + Send
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
