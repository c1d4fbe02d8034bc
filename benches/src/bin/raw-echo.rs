//! The limit: an echo server on io_uring with no runtime at all, written against the
//! `io-uring` crate directly. It is the floor the benchmark matrix measures ringlet's
//! overhead against.
//!
//! ```text
//! raw-echo [--addr HOST:PORT] [--buffer-size BYTES] [--pool-buffers N] [--workers 1]
//!          [--direct] [--bundle]
//! ```
//!
//! One thread, one ring (`SINGLE_ISSUER | DEFER_TASKRUN`), a multishot accept, one
//! multishot receive per connection on a shared buffer ring, each chunk sent back from the
//! buffer it arrived in (one send in flight per connection, so chunks keep their order),
//! the buffer returned to the ring when its send completes, and one `submit_and_wait(1)`
//! per turn. No tasks, wakers, timers or futures: what is left is what the kernel costs.
//!
//! `--direct`: connections are accepted straight into the ring's file table (direct
//! descriptors, no entry in the process's descriptor table) and every op names them by
//! index, so the kernel skips the descriptor lookup and reference count per op; TCP_NODELAY
//! is set on the listener, which accepted sockets inherit. What that lever buys at most.
//!
//! `--bundle`: receive bundles (`IORING_RECVSEND_BUNDLE`, Linux 6.10): one completion may
//! carry several buffers, taken from the ring in order, when more than one buffer of data
//! waits. On exit of the last connection it prints to stderr how many completions carried
//! how many buffers.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU16, Ordering};

use clap::Parser;
use io_uring::types::{BufRingEntry, Fd, Fixed};
use io_uring::{IoUring, cqueue, opcode};
use slab::Slab;

/// A no-runtime io_uring echo server (the benchmark's floor).
#[derive(Parser, Debug)]
#[command(name = "raw-echo", version)]
struct Args {
    /// Address to listen on (port 0 picks one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Size of each buffer in the receive pool, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    buffer_size: u32,
    /// Buffers in the receive pool (a power of two up to 32768).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pool_buffers: u16,
    /// Accepted for the matrix's sake; only 1 is supported.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1))]
    workers: u16,
    /// Accept into the ring's file table and name connections by index (direct
    /// descriptors).
    #[arg(long)]
    direct: bool,
    /// Receive bundles: one completion may carry several buffers.
    #[arg(long)]
    bundle: bool,
}

/// Slots of the file table in `--direct` mode (also bounded by RLIMIT_NOFILE).
const DIRECT_SLOTS: u32 = 16384;

/// Builds opcode `$op` on connection descriptor `$fd`: a direct descriptor's index or a
/// plain descriptor, as `$direct` says (the two are different types to the builders).
macro_rules! on_conn {
    ($direct:expr, $fd:expr, |$t:ident| $build:expr) => {
        if $direct {
            let $t = Fixed($fd as u32);
            $build
        } else {
            let $t = Fd($fd);
            $build
        }
    };
}

const BGID: u16 = 0;
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
const CLOSE: u64 = 3;

fn user_data(kind: u64, conn: usize) -> u64 {
    kind << 56 | conn as u64
}

/// The receive pool: `n` buffers of `size` bytes and the ring the kernel takes them from.
struct Pool {
    ring: *mut BufRingEntry,
    ring_len: usize,
    memory: Box<[u8]>,
    size: u32,
    mask: u16,
    tail: u16,
    /// The buffer id written at each ring position, and the position of each buffer id
    /// given back: a bundle takes consecutive positions from its first buffer's on. (By
    /// position, not by completion order: completions of different receives need not
    /// arrive in the order their buffers were taken.)
    order: Vec<u16>,
    position: Vec<u16>,
}

impl Pool {
    fn new(uring: &IoUring, n: u16, size: u32) -> io::Result<Pool> {
        if !n.is_power_of_two() || n > 32768 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--pool-buffers must be a power of two up to 32768",
            ));
        }
        let ring_len = usize::from(n) * size_of::<BufRingEntry>();
        // SAFETY: an anonymous private mapping; no pointer argument is read.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut pool = Pool {
            ring: ring.cast(),
            ring_len,
            memory: vec![0; usize::from(n) * size as usize].into_boxed_slice(),
            size,
            mask: n - 1,
            tail: 0,
            order: vec![0; usize::from(n)],
            position: vec![0; usize::from(n)],
        };
        // SAFETY: the mapping is `n` entries long and lives in `pool`, which `run` drops
        // after the ring (the server holding the ring is declared after the pool).
        unsafe {
            uring
                .submitter()
                .register_buf_ring_with_flags(ring as u64, n, BGID, 0)?;
        }
        for bid in 0..n {
            pool.give_back(bid);
        }
        Ok(pool)
    }

    /// The buffers a completion that selected `first` and carried `len` bytes took, with
    /// their lengths, in order: `first` and the ones after it in the ring.
    fn taken(&self, first: u16, len: u32) -> impl ExactSizeIterator<Item = (u16, u32)> + '_ {
        let count = len.div_ceil(self.size).max(1);
        let start = self.position[usize::from(first)];
        (0..count).map(move |i| {
            let bid = self.order[usize::from(start.wrapping_add(i as u16) & self.mask)];
            (bid, (len - i * self.size).min(self.size))
        })
    }

    fn buffer(&self, bid: u16) -> *const u8 {
        self.memory[usize::from(bid) * self.size as usize..].as_ptr()
    }

    /// Hands buffer `bid` back to the kernel.
    fn give_back(&mut self, bid: u16) {
        let addr = self.buffer(bid) as u64;
        // SAFETY: `tail & mask` indexes the `mask + 1` entries of the mapping; the kernel
        // reads an entry only once the tail below has moved past it.
        let entry = unsafe { &mut *self.ring.add(usize::from(self.tail & self.mask)) };
        entry.set_addr(addr);
        entry.set_len(self.size);
        entry.set_bid(bid);
        self.order[usize::from(self.tail & self.mask)] = bid;
        self.position[usize::from(bid)] = self.tail;
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail field overlays entry 0's `resv`, inside the mapping; the kernel
        // reads it concurrently, hence the atomic release store.
        let tail = unsafe { &*BufRingEntry::tail(self.ring).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.ring.cast(), self.ring_len) };
    }
}

struct Conn {
    fd: RawFd,
    /// Received chunks waiting to go back: (buffer id, length, bytes already sent).
    queue: VecDeque<(u16, u32, u32)>,
    sending: bool,
    receiving: bool,
    closing: bool,
}

struct Server {
    uring: IoUring,
    conns: Slab<Conn>,
    /// `--bundle`: receives may carry several buffers; completions by buffer count.
    bundle: bool,
    buffers_per_recv: Vec<u64>,
    /// `--direct`: `Conn::fd` is an index into the ring's file table.
    direct: bool,
}

impl Server {
    fn accept(&mut self, listener: RawFd) {
        let entry = opcode::AcceptMulti::new(Fd(listener))
            .allocate_file_index(self.direct)
            .build();
        self.push(entry.user_data(user_data(ACCEPT, 0)));
    }

    fn push(&mut self, entry: io_uring::squeue::Entry) {
        // SAFETY: every buffer an entry points at (pool memory) outlives the ring, and a
        // buffer is not handed back to the pool until its send's CQE.
        while unsafe { self.uring.submission().push(&entry) }.is_err() {
            self.uring.submit().expect("submit");
        }
    }

    fn recv(&mut self, conn: usize) {
        let fd = self.conns[conn].fd;
        self.conns[conn].receiving = true;
        let entry = match self.bundle {
            true => on_conn!(self.direct, fd, |t| opcode::RecvMultiBundle::new(t, BGID)
                .build()),
            false => on_conn!(self.direct, fd, |t| opcode::RecvMulti::new(t, BGID).build()),
        };
        self.push(entry.user_data(user_data(RECV, conn)));
    }

    fn send_next(&mut self, pool: &Pool, conn: usize) {
        let c = &mut self.conns[conn];
        if c.sending {
            return;
        }
        let Some(&(bid, len, sent)) = c.queue.front() else {
            return;
        };
        c.sending = true;
        let fd = c.fd;
        // SAFETY: `sent < len <= size`, inside buffer `bid`.
        let ptr = unsafe { pool.buffer(bid).add(sent as usize) };
        let entry = on_conn!(self.direct, fd, |t| opcode::Send::new(t, ptr, len - sent)
            .build());
        self.push(entry.user_data(user_data(SEND, conn)));
    }

    /// Closes `conn` once nothing of it is in flight.
    fn maybe_close(&mut self, pool: &mut Pool, conn: usize) {
        let c = &self.conns[conn];
        if !c.closing || c.sending || c.receiving {
            return;
        }
        let c = self.conns.remove(conn);
        for (bid, _, _) in c.queue {
            pool.give_back(bid);
        }
        if self.bundle && self.conns.is_empty() {
            let counts: Vec<String> = (1..self.buffers_per_recv.len())
                .filter(|&n| self.buffers_per_recv[n] > 0)
                .map(|n| format!("{n}: {}", self.buffers_per_recv[n]))
                .collect();
            eprintln!(
                "raw-echo: receive completions by buffers carried: {}",
                counts.join(", ")
            );
        }
        let entry = on_conn!(self.direct, c.fd, |t| opcode::Close::new(t).build());
        self.push(entry.user_data(user_data(CLOSE, 0)));
    }

    fn complete(&mut self, pool: &mut Pool, listener: RawFd, cqe: cqueue::Entry) {
        let kind = cqe.user_data() >> 56;
        let conn = (cqe.user_data() & 0xffff_ffff) as usize;
        let res = cqe.result();
        match kind {
            ACCEPT => {
                if res >= 0 && !self.direct {
                    let _ = set_nodelay(res);
                }
                if res >= 0 {
                    let conn = self.conns.insert(Conn {
                        fd: res,
                        queue: VecDeque::new(),
                        sending: false,
                        receiving: false,
                        closing: false,
                    });
                    self.recv(conn);
                }
                if !cqueue::more(cqe.flags()) {
                    self.accept(listener);
                }
            }
            RECV => {
                let more = cqueue::more(cqe.flags());
                if let Some(bid) = cqueue::buffer_select(cqe.flags())
                    && self.bundle
                {
                    let taken = pool.taken(bid, res.max(0) as u32);
                    let n = taken.len().min(self.buffers_per_recv.len() - 1);
                    self.buffers_per_recv[n] += 1;
                    if res > 0 {
                        let queue = &mut self.conns[conn].queue;
                        queue.extend(taken.map(|(bid, len)| (bid, len, 0)));
                        self.send_next(pool, conn);
                    } else {
                        drop(taken);
                        pool.give_back(bid);
                    }
                } else if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
                    if res > 0 {
                        self.conns[conn].queue.push_back((bid, res as u32, 0));
                        self.send_next(pool, conn);
                    } else {
                        pool.give_back(bid);
                    }
                }
                if !more {
                    self.conns[conn].receiving = false;
                    if res == -libc::ENOBUFS || (res > 0 && !self.conns[conn].closing) {
                        self.recv(conn); // the pool ran dry or the kernel ended the shot
                    } else {
                        self.conns[conn].closing = true; // EOF or an error
                        self.maybe_close(pool, conn);
                    }
                }
            }
            SEND => {
                let c = &mut self.conns[conn];
                c.sending = false;
                if res < 0 {
                    for (bid, _, _) in c.queue.drain(..) {
                        pool.give_back(bid);
                    }
                    c.closing = true;
                    // Stop receiving too: the socket is shut for reading, which ends the
                    // multishot receive with a final CQE.
                    let fd = c.fd;
                    if self.direct {
                        let entry = opcode::Shutdown::new(Fixed(fd as u32), libc::SHUT_RDWR);
                        self.push(entry.build().user_data(user_data(CLOSE, 0)));
                    } else {
                        // SAFETY: shutdown(2) takes no pointers.
                        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
                    }
                    self.maybe_close(pool, conn);
                    return;
                }
                let front = c.queue.front_mut().expect("a send in flight");
                front.2 += res as u32;
                if front.2 == front.1 {
                    let (bid, _, _) = c.queue.pop_front().expect("checked");
                    pool.give_back(bid);
                }
                self.send_next(pool, conn);
                self.maybe_close(pool, conn);
            }
            _ => {}
        }
    }
}

/// Sets TCP_NODELAY on socket `fd`.
fn set_nodelay(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a live c_int of the length passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&raw const one).cast(),
            size_of::<libc::c_int>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn run(args: &Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr)?;
    // std listens with a backlog of 128; thousands of connections arrive at once.
    // SAFETY: listen(2) takes no pointers; a second call only resizes the backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), 4096) } != 0 {
        return Err(io::Error::last_os_error());
    }
    println!("listening on {}", listener.local_addr()?);
    let uring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(16384)
        .build(4096)?;
    let mut pool = Pool::new(&uring, args.pool_buffers, args.buffer_size)?;
    let lfd = listener.as_raw_fd();
    if args.direct {
        // The table can hold no more than RLIMIT_NOFILE descriptors.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a live rlimit the call fills.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let slots = DIRECT_SLOTS.min(u32::try_from(limit.rlim_cur).unwrap_or(u32::MAX));
        uring.submitter().register_files_sparse(slots)?;
        // Accepted sockets inherit TCP_NODELAY from the listener (a direct descriptor has
        // no descriptor for setsockopt).
        set_nodelay(lfd)?;
    }
    let mut server = Server {
        uring,
        conns: Slab::new(),
        direct: args.direct,
        bundle: args.bundle,
        buffers_per_recv: vec![0; 65],
    };
    server.accept(lfd);
    let mut cqes = Vec::with_capacity(1024);
    loop {
        server.uring.submit_and_wait(1)?;
        cqes.extend(server.uring.completion());
        for cqe in cqes.drain(..) {
            server.complete(&mut pool, lfd, cqe);
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = args.workers;
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-echo: {e}");
            ExitCode::FAILURE
        }
    }
}
