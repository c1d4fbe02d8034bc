//! Writing to a socket whose peer has gone never raises SIGPIPE: it is an `EPIPE` (or
//! `ECONNRESET`) error. A process with SIGPIPE's default disposition would be killed, so
//! this test counts SIGPIPEs with a handler of its own (its own test binary: the handler
//! is process-wide).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ringlet::net::{TcpListener, TcpStream, UnixStream};

static SIGPIPES: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_sigpipe(_: libc::c_int) {
    SIGPIPES.fetch_add(1, Ordering::SeqCst);
}

fn install_counter() {
    // SAFETY: a zeroed sigaction is a valid empty action; the handler only does an
    // atomic add (async-signal-safe).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_sigpipe as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGPIPE, &action, std::ptr::null_mut()),
            0
        );
    }
}

#[test]
fn socket_writes_to_a_gone_peer_raise_no_sigpipe() {
    install_counter();
    ringlet::Runtime::builder()
        .workers(1)
        .build()
        .unwrap()
        .block_on(async {
            // TCP: the peer resets; every write path.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            server.set_linger(Some(Duration::ZERO)).unwrap();
            drop(server);
            ringlet::time::sleep(Duration::from_millis(20)).await;
            for _ in 0..3 {
                // Results vary with timing (EPIPE or ECONNRESET); only signals matter here.
                let _ = client.writev(vec![b"a".to_vec(), b"b".to_vec()]).await;
                let _ = client.write(b"c".to_vec()).await;
                let _ = client.send_zc(b"d".to_vec()).await;
            }
            let (_, write_half) = client.into_split();
            let _ = write_half.writev(vec![b"e".to_vec()]).await;
            // Unix stream: the peer closed.
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            for _ in 0..3 {
                let (r, _) = a.write(b"f".to_vec()).await;
                assert!(r.is_err());
            }
        });
    assert_eq!(SIGPIPES.load(Ordering::SeqCst), 0, "SIGPIPE raised");
}
