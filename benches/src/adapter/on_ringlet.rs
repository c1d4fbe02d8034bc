//! The ringlet adapters: owned-buffer I/O ([`Ringlet`]) and tokio's I/O traits through
//! `ringlet::compat` ([`RingletCompat`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::tokio_io;
use super::{Files, Net, Ringlet, RingletCompat, Rt};

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
                // Worker i on CPU i; the building thread (worker 0) is unpinned afterwards.
                crate::keep_affinity(|| {
                    let mut b = ringlet::Runtime::builder().workers(2).pin_cores(true);
                    if std::env::var_os("NO_MSG_RING").is_some() {
                        b = b.without(ringlet::KernelFeature::MsgRing);
                    }
                    // SPIN_US=N: idle workers busy-poll N µs before they sleep.
                    if let Some(us) = std::env::var("SPIN_US").ok().and_then(|v| v.parse().ok()) {
                        b = b.spin_before_park(std::time::Duration::from_micros(us));
                    }
                    b.build().expect("a ringlet runtime").block_on(f)
                })
            }
            fn spawn<F: Future + 'static>(f: F) -> impl Future<Output = F::Output>
            where
                F::Output: 'static,
            {
                let handle = ringlet::spawn(f);
                async move { handle.await.expect("the task completes") }
            }
            fn spawn_remote<F>(worker: usize, f: F) -> impl Future<Output = F::Output> + Send
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
