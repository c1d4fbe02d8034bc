//! Cancellation storm: ops of every kind are created and dropped at random moments (fixed
//! seed), while the kernel may be completing them. At the end no slot, buffer, leased
//! ring buffer or descriptor may be left, and no buffer may have been freed twice.
//!
//! `RINGLET_STORM_OPS` sets how many ops are created (default 100,000);
//! `RINGLET_STORM_SEED` the seed. Under valgrind memcheck (`.ci/run` runs it there, with
//! `--fair-sched=yes` so the thread draining the zero-copy peer gets to run), a buffer
//! freed while the kernel still touches it is an error.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use common::{Canary, drain, open_fds, pipe, serial};
use uring_driver::op::SendZcOp;
use uring_driver::{BufRing, Driver, MultishotOp, Op, SharedFd};

/// xorshift64*: a fixed seed gives the same storm every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Read,
    Recv,
    Accept,
    Connect,
    Timeout,
    SendZc,
    RecvMulti,
    FileRead,
    FileWrite,
}

const KINDS: [Kind; 9] = [
    Kind::Read,
    Kind::Recv,
    Kind::Accept,
    Kind::Connect,
    Kind::Timeout,
    Kind::SendZc,
    Kind::RecvMulti,
    Kind::FileRead,
    Kind::FileWrite,
];

type Task = Pin<Box<dyn Future<Output = ()>>>;

const FILE_LEN: u64 = 64 << 10;

/// Everything the ops work on, and the peers that make them ready.
struct Storm {
    driver: Driver,
    rng: Rng,
    live: Rc<Cell<i64>>,
    pipes: Vec<(SharedFd, std::fs::File)>,
    streams: Vec<(SharedFd, UnixStream)>,
    listener: SharedFd,
    listener_std: TcpListener,
    listen_addr: SocketAddr,
    clients: Vec<TcpStream>,
    zc_fd: SharedFd,
    file: SharedFd,
    ring: BufRing,
    window: Vec<Task>,
    /// Ops created, per kind.
    created: [u64; KINDS.len()],
    /// Ops dropped before they resolved.
    dropped: u64,
    /// Ops that ran to their result.
    finished: Rc<Cell<u64>>,
}

fn nonblocking(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: F_GETFL/F_SETFL on an open descriptor this test owns.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0);
        assert_eq!(
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK),
            0
        );
    }
}

impl Storm {
    fn new_op(&mut self, kind: Kind) -> Task {
        let live = &self.live;
        let finished = self.finished.clone();
        let done = move || finished.set(finished.get() + 1);
        let d = &self.driver;
        match kind {
            Kind::Read => {
                let (r, _) = &self.pipes[self.rng.below(self.pipes.len())];
                let op = Op::read(d, r, Canary::counted(1 + self.rng.below(256), live));
                Box::pin(async move {
                    let (res, buf) = op.await;
                    assert!(res.unwrap() <= buf.len());
                    done();
                })
            }
            Kind::Recv => {
                let (a, _) = &self.streams[self.rng.below(self.streams.len())];
                let op = Op::recv(d, a, Canary::counted(1 + self.rng.below(256), live), 0);
                Box::pin(async move {
                    let (res, buf) = op.await;
                    assert!(res.unwrap() <= buf.len());
                    done();
                })
            }
            Kind::Accept => {
                let op = Op::accept(d, &self.listener);
                Box::pin(async move {
                    let (fd, _) = op.await.unwrap();
                    drop(fd);
                    done();
                })
            }
            Kind::Connect => {
                let fd =
                    uring_driver::socket::socket_for(&self.listen_addr, libc::SOCK_STREAM).unwrap();
                let op = Op::connect(d, &SharedFd::new(fd), self.listen_addr);
                Box::pin(async move {
                    // Refused once the backlog is full: a result all the same.
                    let _ = op.await;
                    done();
                })
            }
            Kind::Timeout => {
                let op = Op::timeout(d, Duration::from_micros(self.rng.below(3000) as u64));
                Box::pin(async move {
                    op.await.unwrap();
                    done();
                })
            }
            Kind::SendZc => {
                let len = 1 + self.rng.below(128 << 10);
                let op = SendZcOp::send_zc(d, &self.zc_fd, Canary::counted(len, live), 0);
                Box::pin(async move {
                    let (res, buf) = op.await;
                    assert!(res.unwrap() <= buf.len());
                    done();
                })
            }
            Kind::RecvMulti => {
                let (a, _) = &self.streams[self.rng.below(self.streams.len())];
                let mut stream = MultishotOp::recv_multi(d, a, &self.ring);
                let hold = self.rng.below(3);
                Box::pin(async move {
                    // Holds up to `hold` leased buffers until the task ends or is dropped.
                    let mut held = Vec::new();
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(Some(buf)) if held.len() < hold => held.push(buf),
                            Ok(Some(buf)) => drop(buf),
                            Ok(None) => break,
                            // ENOBUFS: every buffer is leased; the stream has ended.
                            Err(e) => {
                                assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
                                break;
                            }
                        }
                    }
                    done();
                })
            }
            Kind::FileRead => {
                let offset = self.rng.below(FILE_LEN as usize) as u64;
                let buf = Canary::counted(1 + self.rng.below(8192), live);
                let op = Op::read_at(d, &self.file, buf, offset);
                Box::pin(async move {
                    let (res, buf) = op.await;
                    assert!(res.unwrap() <= buf.len());
                    done();
                })
            }
            Kind::FileWrite => {
                let offset = self.rng.below(FILE_LEN as usize) as u64;
                let buf = Canary::counted(1 + self.rng.below(8192), live);
                let op = Op::write_at(d, &self.file, buf, offset);
                Box::pin(async move {
                    let (res, buf) = op.await;
                    assert_eq!(res.unwrap(), buf.len());
                    done();
                })
            }
        }
    }

    /// Makes some op kinds ready: bytes into a pipe or socket, a connection.
    fn stimulate(&mut self) {
        match self.rng.below(4) {
            0 => {
                let i = self.rng.below(self.pipes.len());
                let (_, w) = &mut self.pipes[i];
                let _ = w.write(&[1u8; 100]);
            }
            1 => {
                let i = self.rng.below(self.streams.len());
                let (_, b) = &mut self.streams[i];
                let _ = b.write(&[2u8; 300]);
            }
            2 => {
                self.flush_backlog();
                if let Ok(c) = TcpStream::connect(self.listen_addr) {
                    self.clients.push(c);
                }
                if self.clients.len() > 16 {
                    self.clients.remove(0);
                }
            }
            _ => {
                // Drain the peers, so writers and sends can go on.
                let mut sink = [0u8; 4096];
                for (_, b) in &mut self.streams {
                    while matches!(b.read(&mut sink), Ok(n) if n > 0) {}
                }
            }
        }
    }

    /// Accepts and closes queued connections, so the backlog never fills.
    fn flush_backlog(&mut self) {
        while self.listener_std.accept().is_ok() {}
    }

    fn poll_window(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        self.window
            .retain_mut(|task| task.as_mut().poll(&mut cx).is_pending());
    }

    fn drop_random(&mut self) {
        if !self.window.is_empty() {
            let i = self.rng.below(self.window.len());
            drop(self.window.swap_remove(i));
            self.dropped += 1;
        }
    }
}

#[test]
fn cancellation_storm_loses_nothing_and_frees_everything() {
    let _g = serial();
    let ops: u64 = std::env::var("RINGLET_STORM_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("RINGLET_STORM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d);

    let path = std::env::temp_dir().join(format!("uring-driver-storm-{}", std::process::id()));
    std::fs::write(&path, vec![0u8; FILE_LEN as usize]).unwrap();
    let fds = open_fds();
    let live = Rc::new(Cell::new(0));
    let started = Instant::now();
    let (created, dropped, finished, zc_received) = {
        let driver = Driver::new().unwrap();
        let pipes = (0..4)
            .map(|_| {
                let (r, w) = pipe();
                nonblocking(&w);
                (SharedFd::new(r), std::fs::File::from(w))
            })
            .collect();
        let streams = (0..4)
            .map(|_| {
                let (a, b) = UnixStream::pair().unwrap();
                b.set_nonblocking(true).unwrap();
                (SharedFd::new(OwnedFd::from(a)), b)
            })
            .collect();
        let listener_std = TcpListener::bind("127.0.0.1:0").unwrap();
        listener_std.set_nonblocking(true).unwrap();
        let listen_addr = listener_std.local_addr().unwrap();
        let listener = SharedFd::new(OwnedFd::from(listener_std.try_clone().unwrap()));
        // The zero-copy sends go to a peer a thread drains until EOF.
        let zc_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let zc_client = TcpStream::connect(zc_listener.local_addr().unwrap()).unwrap();
        let (mut zc_peer, _) = zc_listener.accept().unwrap();
        let zc_reader = std::thread::spawn(move || {
            let mut sink = vec![0u8; 1 << 16];
            let mut total = 0u64;
            while let Ok(n @ 1..) = zc_peer.read(&mut sink) {
                total += n as u64;
            }
            total
        });
        let zc_fd = SharedFd::new(OwnedFd::from(zc_client.try_clone().unwrap()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let ring = BufRing::new(&driver, 16, 512).unwrap();
        let mut storm = Storm {
            // Mixed, so that nearby seeds give unrelated storms (xorshift needs non-zero).
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            live: live.clone(),
            pipes,
            streams,
            listener,
            listener_std,
            listen_addr,
            clients: Vec::new(),
            zc_fd,
            file: SharedFd::new(file.into()),
            ring,
            window: Vec::new(),
            created: [0; KINDS.len()],
            dropped: 0,
            finished: Rc::new(Cell::new(0)),
            driver,
        };
        let mut made = 0u64;
        while made < ops {
            match storm.rng.below(100) {
                0..60 => {
                    let kind = KINDS[storm.rng.below(KINDS.len())];
                    storm.created[kind as usize] += 1;
                    made += 1;
                    let mut task = storm.new_op(kind);
                    let mut cx = Context::from_waker(Waker::noop());
                    match storm.rng.below(4) {
                        // Dropped before the kernel saw it.
                        0 => storm.dropped += 1,
                        // Dropped once the kernel holds it.
                        1 => {
                            if task.as_mut().poll(&mut cx).is_pending() {
                                storm.driver.submit().unwrap();
                                storm.dropped += 1;
                            }
                        }
                        // Left to run; dropped later, or finished.
                        2 => {
                            if task.as_mut().poll(&mut cx).is_pending() {
                                storm.window.push(task);
                            }
                        }
                        _ => storm.window.push(task),
                    }
                }
                60..72 => storm.drop_random(),
                72..84 => storm.stimulate(),
                84..94 => storm.poll_window(),
                _ => {
                    storm.driver.park(Some(Duration::ZERO)).unwrap();
                }
            }
            while storm.window.len() > 64 {
                storm.drop_random();
            }
        }
        // Whatever is left is dropped in flight too.
        storm.dropped += storm.window.len() as u64;
        storm.window.clear();
        drain(&storm.driver);
        assert_eq!(storm.driver.slots(), 0, "every slot freed");
        assert_eq!(
            storm.ring.available(),
            storm.ring.entries(),
            "every ring buffer back from lease"
        );
        assert_eq!(live.get(), 0, "every buffer freed once its op ended");
        let Storm {
            driver,
            created,
            dropped,
            finished,
            zc_fd,
            ..
        } = storm;
        drop(driver);
        drop(zc_fd);
        drop(zc_client);
        let zc_received = zc_reader.join().unwrap();
        (created, dropped, finished.get(), zc_received)
    };
    assert_eq!(live.get(), 0);
    assert_eq!(open_fds(), fds, "no descriptor leaked");
    std::fs::remove_file(&path).unwrap();
    let per_kind: Vec<String> = KINDS
        .iter()
        .zip(created)
        .map(|(k, n)| format!("{k:?} {n}"))
        .collect();
    println!(
        "storm: {ops} ops ({}), {dropped} dropped before their result, {finished} finished, \
         {zc_received} bytes sent zero-copy, in {:.1} s; 0 slots, 0 buffers, 0 fds left",
        per_kind.join(", "),
        started.elapsed().as_secs_f64()
    );
}
