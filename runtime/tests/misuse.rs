//! Misuse gets a clear error or a documented outcome, never undefined behaviour: I/O
//! outside a runtime, a socket outliving its runtime, a sleep polled outside one.
//! (Spawning outside a runtime, nested `block_on` and a runtime dropped with pending
//! tasks are in `tasks.rs`; a task panicking while holding a lock in `sync.rs`.)

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ringlet::net::{TcpListener, TcpStream};

/// Polls `fut` once, on no runtime at all.
fn poll_bare<F: Future>(fut: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(fut).poll(&mut cx)
}

#[test]
fn io_outside_a_runtime_is_an_error_that_says_so() {
    let connect = poll_bare(TcpStream::connect("127.0.0.1:9"));
    let Poll::Ready(Err(e)) = connect else {
        panic!("connect outside a runtime did not fail at once")
    };
    assert!(e.to_string().contains("outside a ringlet runtime"), "{e}");

    let read = poll_bare(ringlet::fs::read("/etc/hostname"));
    let Poll::Ready(Err(e)) = read else {
        panic!("fs::read outside a runtime did not fail at once")
    };
    assert!(e.to_string().contains("outside a ringlet runtime"), "{e}");

    // Binding is plain socket setup and works anywhere; accepting needs a ring.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let Poll::Ready(Err(e)) = poll_bare(listener.accept()) else {
        panic!("accept outside a runtime did not fail at once")
    };
    assert!(e.to_string().contains("outside a ringlet runtime"), "{e}");
}

#[test]
fn a_stream_outlives_its_runtime_and_works_in_the_next() {
    let (stream, mut peer) = ringlet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::net::TcpStream::connect(addr).unwrap();
        let stream = listener.accept().await.unwrap().0;
        (stream, peer)
    })
    .unwrap();
    // A socket is a descriptor, not bound to a ring: its ops go to the ring of the
    // worker that runs them.
    std::io::Write::write_all(&mut peer, b"hello").unwrap();
    let (n, buf) = ringlet::run(async move {
        let (n, buf) = stream.read(vec![0u8; 8]).await;
        (n.unwrap(), buf)
    })
    .unwrap();
    assert_eq!(&buf[..n], b"hello");
}

#[test]
#[should_panic(expected = "outside a ringlet runtime")]
fn a_sleep_polled_outside_a_runtime_panics_with_a_clear_message() {
    let _ = poll_bare(ringlet::time::sleep(std::time::Duration::from_millis(1)));
}
