//! Zero allocations per echoed message in steady state: a counting global allocator
//! records every allocation made on the worker's thread while a client runs 10,000
//! round trips (after 2,000 of warm-up), for both receive paths of the echo server
//! (a buffer per connection, and the worker's buffer ring).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ringlet::IoBuf;
use ringlet::net::{BufRing, TcpListener, TcpStream};

struct Counting;

static MEASURING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the thread that runs the server.
    static SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if MEASURING.load(Ordering::Relaxed) && SERVER_THREAD.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator; counting touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: usize = 2_000;
const MEASURED: usize = 10_000;

/// Runs `WARM_UP + MEASURED` 64-byte round trips against `addr` from a plain thread,
/// measuring the server's allocations during the last `MEASURED`.
fn client(addr: SocketAddr) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_nodelay(true).unwrap();
        let mut msg = [0u8; 64];
        let mut back = [0u8; 64];
        for i in 0..WARM_UP + MEASURED {
            if i == WARM_UP {
                MEASURING.store(true, Ordering::SeqCst);
            }
            msg.fill(i as u8);
            conn.write_all(&msg).unwrap();
            conn.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
        }
        MEASURING.store(false, Ordering::SeqCst);
    })
}

async fn echo_owned(stream: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (n, filled) = stream.read(buf).await;
        let n = n.unwrap();
        if n == 0 {
            return;
        }
        let (written, slice) = stream.write_all(filled.slice(..n)).await;
        written.unwrap();
        buf = slice.into_inner();
    }
}

async fn echo_pooled(stream: TcpStream, pool: BufRing) {
    let mut incoming = stream.recv_stream(&pool);
    while let Some(chunk) = incoming.next().await {
        stream.write_all(chunk.unwrap()).await.0.unwrap();
    }
}

fn allocations_per_message(pooled: bool) -> f64 {
    // The counters are global: one measurement at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    ALLOCATIONS.store(0, Ordering::SeqCst);
    let rt = ringlet::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async move {
        SERVER_THREAD.with(|s| s.set(true));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = client(listener.local_addr().unwrap());
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        if pooled {
            echo_pooled(stream, BufRing::new(64, 4096).unwrap()).await;
        } else {
            echo_owned(stream).await;
        }
        SERVER_THREAD.with(|s| s.set(false));
        client.join().unwrap();
    });
    ALLOCATIONS.load(Ordering::SeqCst) as f64 / MEASURED as f64
}

#[test]
fn echoing_with_a_buffer_per_connection_allocates_nothing_per_message() {
    assert_eq!(allocations_per_message(false), 0.0);
}

#[test]
fn echoing_from_the_buffer_ring_allocates_nothing_per_message() {
    assert_eq!(allocations_per_message(true), 0.0);
}
