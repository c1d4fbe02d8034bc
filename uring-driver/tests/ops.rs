//! Every op against real descriptors, success and error paths, driving the driver by hand.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{anonymous_file, open_fds, pipe, run, serial};
use uring_driver::op::{AcceptMulti, Timeout};
use uring_driver::{Driver, IoBuf, MultishotOp, Op, SharedFd, TaskrunMode, socket};

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("uring-driver-{}-{name}", std::process::id()))
}

#[test]
fn nop_completes() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    assert_eq!(driver.features().taskrun, TaskrunMode::Deferred);
    run(&driver, Op::nop(&driver)).unwrap();
    assert_eq!(driver.slots(), 0);
}

#[test]
fn cooperative_mode_works_too() {
    let _g = serial();
    let driver = Driver::builder().defer_taskrun(false).build().unwrap();
    assert_eq!(driver.features().taskrun, TaskrunMode::Cooperative);
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let (res, _) = run(&driver, Op::write(&driver, &w, b"coop".to_vec()));
    assert_eq!(res.unwrap(), 4);
    let (res, buf) = run(&driver, Op::read(&driver, &r, vec![0u8; 16]));
    assert_eq!(res.unwrap(), 4);
    assert_eq!(&buf[..4], b"coop");
}

#[test]
fn read_and_write_a_pipe() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let (res, buf) = run(&driver, Op::write(&driver, &w, "hello pipe"));
    assert_eq!(res.unwrap(), 10);
    assert_eq!(buf, "hello pipe");
    let (res, buf) = run(&driver, Op::read(&driver, &r, Vec::with_capacity(64)));
    assert_eq!(res.unwrap(), 10);
    assert_eq!(buf, b"hello pipe");
}

#[test]
fn read_at_eof_returns_zero() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    drop(w);
    let (res, buf) = run(&driver, Op::read(&driver, &SharedFd::new(r), vec![0u8; 8]));
    assert_eq!(res.unwrap(), 0);
    assert_eq!(buf.len(), 8, "the buffer comes back untouched");
}

#[test]
fn write_at_and_read_at_offsets_of_a_file() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let fd = SharedFd::new(anonymous_file("offsets"));
    let (res, _) = run(
        &driver,
        Op::write_at(&driver, &fd, b"0123456789".to_vec(), 0),
    );
    assert_eq!(res.unwrap(), 10);
    let (res, _) = run(&driver, Op::write_at(&driver, &fd, "abc", 4));
    assert_eq!(res.unwrap(), 3);
    let (res, buf) = run(&driver, Op::read_at(&driver, &fd, vec![0u8; 5], 2));
    assert_eq!(res.unwrap(), 5);
    assert_eq!(buf, b"23abc");
    let (res, buf) = run(
        &driver,
        Op::read_at(&driver, &fd, Vec::with_capacity(32), 8),
    );
    assert_eq!(res.unwrap(), 2);
    assert_eq!(buf, b"89");
}

#[test]
fn write_to_a_read_only_fd_is_ebadf_and_returns_the_buffer() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let path = temp_path("readonly");
    std::fs::write(&path, b"x").unwrap();
    let file = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let fd = SharedFd::new(file.into());
    let buf = b"data".to_vec();
    let ptr = buf.stable_ptr();
    let (res, buf) = run(&driver, Op::write_at(&driver, &fd, buf, 0));
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
    assert_eq!(buf.stable_ptr(), ptr, "the same buffer comes back");
    assert_eq!(buf, b"data");
}

#[test]
fn send_and_recv_on_a_socketpair() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (SharedFd::new(a.into()), SharedFd::new(b.into()));
    let (res, _) = run(&driver, Op::send(&driver, &a, b"ping".to_vec(), 0));
    assert_eq!(res.unwrap(), 4);
    let (res, buf) = run(&driver, Op::recv(&driver, &b, Vec::with_capacity(16), 0));
    assert_eq!(res.unwrap(), 4);
    assert_eq!(buf, b"ping");
}

#[test]
fn recv_after_peer_shutdown_is_eof_and_send_to_closed_peer_is_epipe() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let a = SharedFd::new(a.into());
    b.shutdown(std::net::Shutdown::Write).unwrap();
    let (res, _) = run(&driver, Op::recv(&driver, &a, vec![0u8; 8], 0));
    assert_eq!(res.unwrap(), 0);
    drop(b);
    let (res, buf) = run(&driver, Op::send(&driver, &a, "late", 0));
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EPIPE));
    assert_eq!(buf, "late");
}

#[test]
fn accept_and_connect_on_loopback() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener.into());
    let client = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM).unwrap());
    let mut accept = Op::accept(&driver, &listener);
    let connect = Op::connect(&driver, &client, addr);
    run(&driver, connect).unwrap();
    let (server, peer) = run(&driver, &mut accept).unwrap();
    assert_eq!(peer, Some(socket::local_addr(&client).unwrap()));
    let server = SharedFd::new(server);
    let (res, _) = run(&driver, Op::send(&driver, &client, "over tcp", 0));
    assert_eq!(res.unwrap(), 8);
    let (res, buf) = run(
        &driver,
        Op::recv(&driver, &server, Vec::with_capacity(8), 0),
    );
    assert_eq!(res.unwrap(), 8);
    assert_eq!(buf, b"over tcp");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let fd = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM).unwrap());
    let err = run(&driver, Op::connect(&driver, &fd, addr)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
}

#[test]
fn close_op_closes_the_descriptor() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let raw = r.as_raw_fd();
    let before = open_fds();
    run(&driver, Op::close(&driver, r)).unwrap();
    assert_eq!(open_fds(), before - 1);
    assert!(!std::path::Path::new(&format!("/proc/self/fd/{raw}")).exists());
    drop(w);
}

#[test]
fn timeout_fires_after_its_duration() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let start = Instant::now();
    run(&driver, Op::timeout(&driver, Duration::from_millis(50))).unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(50),
        "fired early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "fired late: {elapsed:?}");
}

#[test]
fn explicit_cancel_returns_ecanceled_and_the_buffer() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, _w) = pipe();
    let r = SharedFd::new(r);
    let buf = vec![0u8; 32];
    let ptr = buf.stable_ptr();
    let mut op = Op::read(&driver, &r, buf);
    assert!(common::poll_once(&mut op).is_pending());
    driver.submit().unwrap();
    op.cancel();
    let (res, buf) = run(&driver, op);
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    assert_eq!(buf.stable_ptr(), ptr);
    assert_eq!(driver.in_flight(), 0);
    assert_eq!(driver.slots(), 0);
}

#[test]
fn cancelling_a_timeout_reports_ecanceled() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let mut op: Op<Timeout> = Op::timeout(&driver, Duration::from_secs(60));
    driver.submit().unwrap();
    op.cancel();
    let err = run(&driver, op).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECANCELED));
}

#[test]
fn multishot_accept_yields_each_connection_until_cancelled() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener.into());
    let mut incoming: MultishotOp<AcceptMulti> = MultishotOp::accept_multi(&driver, &listener);
    let mut clients = Vec::new();
    for i in 0..3u8 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&[i]).unwrap();
        clients.push(c);
    }
    for i in 0..3u8 {
        let fd = run(&driver, incoming.next()).unwrap().unwrap();
        let mut s = TcpStream::from(fd);
        let mut byte = [0u8];
        s.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], i);
    }
    incoming.cancel();
    let last = run(&driver, incoming.next()).unwrap();
    assert_eq!(last.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    assert!(run(&driver, incoming.next()).is_none());
    assert_eq!(driver.in_flight(), 0);
    assert_eq!(driver.slots(), 0);
}

#[test]
fn a_ring_of_8_entries_survives_10_000_concurrent_ops() {
    let _g = serial();
    let driver = Driver::builder().entries(8).build().unwrap();
    assert_eq!(driver.features().sq_entries, 8);
    // Timeouts stay in flight together: the SQ fills over and over, and when they all fire
    // the 16-entry CQ overflows into the kernel's NODROP list. Pushing 10,000 takes ~15 ms
    // in a debug build: the timeout leaves ample room, so none fires early.
    let ops: Vec<Op<Timeout>> = (0..10_000)
        .map(|_| Op::timeout(&driver, Duration::from_millis(250)))
        .collect();
    assert_eq!(driver.in_flight(), 10_000);
    let mut done = 0;
    for op in ops {
        run(&driver, op).unwrap();
        done += 1;
    }
    assert_eq!(done, 10_000);
    assert_eq!(driver.in_flight(), 0);
    assert_eq!(driver.slots(), 0);
}

#[test]
fn ops_after_driver_drop_fail_and_ops_in_flight_resolve_cancelled() {
    let _g = serial();
    let fds_before = open_fds();
    let driver = Driver::new().unwrap();
    let handle = driver.handle().clone();
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut pending = Op::read(&handle, &r, vec![0u8; 16]);
    assert!(common::poll_once(&mut pending).is_pending());
    handle.submit().unwrap();
    drop(driver);
    assert!(handle.is_shut_down());
    assert_eq!(
        handle.in_flight(),
        0,
        "shutdown waited for the cancelled read"
    );
    let (res, buf) = common::poll_once(&mut pending)
        .map(Some)
        .into_ready()
        .unwrap();
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    assert_eq!(buf.len(), 16);
    let (res, buf) = common::poll_once(&mut Op::read(&handle, &r, vec![1u8; 4]))
        .map(Some)
        .into_ready()
        .unwrap();
    let err = res.unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    assert_eq!(buf, [1, 1, 1, 1]);
    drop((pending, handle, r, w));
    assert_eq!(open_fds(), fds_before, "ring and pipe fds all closed");
}

trait IntoReady<T> {
    fn into_ready(self) -> Option<T>;
}

impl<T> IntoReady<T> for std::task::Poll<Option<T>> {
    fn into_ready(self) -> Option<T> {
        match self {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => None,
        }
    }
}

#[test]
fn writev_gathers_and_readv_scatters_in_order() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let parts: Vec<&'static [u8]> = vec![b"alpha-", b"beta-", b"gamma"];
    let (res, parts) = run(&driver, Op::writev(&driver, &w, parts));
    assert_eq!(res.unwrap(), 16);
    assert_eq!(parts.len(), 3, "the buffers come back");
    let bufs = vec![
        Vec::with_capacity(4),
        Vec::with_capacity(8),
        Vec::with_capacity(16),
    ];
    let (res, bufs) = run(&driver, Op::readv(&driver, &r, bufs));
    assert_eq!(res.unwrap(), 16);
    assert_eq!(bufs[0], b"alph");
    assert_eq!(bufs[1], b"a-beta-g");
    assert_eq!(bufs[2], b"amma");
}

#[test]
fn readv_at_and_writev_at_use_offsets() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let fd = SharedFd::new(anonymous_file("vectored"));
    let (res, _) = run(
        &driver,
        Op::writev_at(&driver, &fd, vec!["0123", "4567"], 10),
    );
    assert_eq!(res.unwrap(), 8);
    let (res, bufs) = run(
        &driver,
        Op::readv_at(&driver, &fd, vec![vec![0u8; 3], vec![0u8; 3]], 12),
    );
    assert_eq!(res.unwrap(), 6);
    assert_eq!(
        (bufs[0].as_slice(), bufs[1].as_slice()),
        (&b"234"[..], &b"567"[..])
    );
}

fn tcp_pair() -> (SharedFd, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (SharedFd::new(client.into()), server)
}

#[test]
fn send_zc_sends_without_copy_and_returns_the_buffer_after_the_notification() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (client, server) = tcp_pair();
    let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let reader = std::thread::spawn(move || {
        let mut server = server;
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        got
    });
    let mut sent = 0;
    let mut buf = payload;
    while sent < expected.len() {
        let slice = buf.slice(sent..);
        let (res, back) = run(
            &driver,
            uring_driver::op::SendZcOp::send_zc(&driver, &client, slice, 0),
        );
        sent += res.unwrap();
        buf = back.into_inner();
    }
    assert_eq!(
        driver.in_flight(),
        0,
        "the notification arrived before the buffer came back"
    );
    drop(client);
    assert!(reader.join().unwrap() == expected);

    // A failed zero-copy send gives its buffer back too.
    let (client, server) = tcp_pair();
    drop(server);
    std::thread::sleep(Duration::from_millis(20));
    let mut failed = None;
    for _ in 0..10 {
        let (res, back) = run(
            &driver,
            uring_driver::op::SendZcOp::send_zc(&driver, &client, b"x".to_vec(), 0),
        );
        assert_eq!(back, b"x");
        if let Err(e) = res {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("sending to a closed peer fails");
    assert!(
        matches!(
            err.raw_os_error(),
            Some(libc::EPIPE) | Some(libc::ECONNRESET)
        ),
        "{err}"
    );
}

#[test]
fn shutdown_poll_add_and_timeout_remove() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (SharedFd::new(a.into()), SharedFd::new(b.into()));
    // poll_add waits for readiness without doing I/O.
    let mut ready = Op::poll_add(&driver, &b, libc::POLLIN as u32);
    assert!(common::poll_once(&mut ready).is_pending());
    driver.submit().unwrap();
    run(&driver, Op::send(&driver, &a, "x", 0)).0.unwrap();
    let events = run(&driver, ready).unwrap();
    assert!(events & libc::POLLIN as u32 != 0, "{events:#x}");
    // shutdown through the ring: the peer reads EOF after the data.
    run(
        &driver,
        Op::shutdown(&driver, &a, std::net::Shutdown::Write),
    )
    .unwrap();
    let (n, _) = run(&driver, Op::recv(&driver, &b, vec![0u8; 4], 0));
    assert_eq!(n.unwrap(), 1);
    let (n, _) = run(&driver, Op::recv(&driver, &b, vec![0u8; 4], 0));
    assert_eq!(n.unwrap(), 0);
    // shutdown of something that is not a socket is an error.
    let (r, _) = pipe();
    let err = run(
        &driver,
        Op::shutdown(&driver, &SharedFd::new(r), std::net::Shutdown::Both),
    );
    assert_eq!(err.unwrap_err().raw_os_error(), Some(libc::ENOTSOCK));
    // timeout remove: the removed timeout reports ECANCELED.
    let mut timeout: Op<Timeout> = Op::timeout(&driver, Duration::from_secs(3600));
    driver.submit().unwrap();
    timeout.remove();
    assert_eq!(
        run(&driver, timeout).unwrap_err().raw_os_error(),
        Some(libc::ECANCELED)
    );
    assert_eq!(driver.in_flight(), 0);
}

#[test]
fn link_timeouts_cancel_late_ops_and_spare_timely_ones() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let start = Instant::now();
    let late = driver.with_link_timeout(Duration::from_millis(50), || {
        Op::read(&driver, &r, vec![0u8; 8])
    });
    let (res, buf) = run(&driver, late);
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    assert_eq!(buf.len(), 8, "the buffer comes back");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(50) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    run(&driver, Op::write(&driver, &w, "ready")).0.unwrap();
    let timely = driver.with_link_timeout(Duration::from_secs(60), || {
        Op::read(&driver, &r, vec![0u8; 8])
    });
    let (res, buf) = run(&driver, timely);
    assert_eq!(&buf[..res.unwrap()], b"ready");
    assert_eq!(
        driver.in_flight(),
        0,
        "the unfired timeout went with its op"
    );
}

#[test]
fn linked_pairs_are_never_split_on_a_tiny_ring() {
    let _g = serial();
    let driver = Driver::builder().entries(8).build().unwrap();
    let (r, _w) = pipe();
    let r = SharedFd::new(r);
    let ops: Vec<_> = (0..500)
        .map(|_| {
            driver.with_link_timeout(Duration::from_millis(20), || {
                Op::read(&driver, &r, vec![0u8; 1])
            })
        })
        .collect();
    for op in ops {
        let (res, _) = run(&driver, op);
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    }
    assert_eq!(driver.in_flight(), 0);
}

#[test]
fn vectored_and_message_ops_report_errors_with_their_buffers() {
    let _g = serial();
    let driver = Driver::new().unwrap();
    // readv on a write-only pipe end, writev on a read-only one: EBADF, buffers back.
    let (r, w) = pipe();
    let (r, w) = (SharedFd::new(r), SharedFd::new(w));
    let (res, bufs) = run(
        &driver,
        Op::readv(&driver, &w, vec![vec![0u8; 4], vec![0u8; 4]]),
    );
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
    assert_eq!(bufs.len(), 2);
    let (res, bufs) = run(&driver, Op::writev(&driver, &r, vec!["a", "b"]));
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
    assert_eq!(bufs, ["a", "b"]);
    // sendmsg to a closed UDP port, then recvmsg reports the refusal.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    socket.connect(closed).unwrap();
    let socket = SharedFd::new(socket.into());
    let (res, _) = run(
        &driver,
        Op::send_to(&driver, &socket, b"x".to_vec(), closed),
    );
    res.unwrap();
    let (res, buf) = run(&driver, Op::recv_from(&driver, &socket, vec![0u8; 4]));
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECONNREFUSED));
    assert_eq!(buf.len(), 4);
}

#[test]
fn coalesced_waits_batch_completions_but_keep_short_timeouts() {
    let _g = serial();
    let delay = Duration::from_millis(300);
    let driver = Driver::builder()
        .coalesce_completions(8, delay)
        .build()
        .unwrap();
    if !driver.features().min_timeout {
        eprintln!("kernel without IORING_FEAT_MIN_TIMEOUT: waits are not coalesced");
        return;
    }
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut w = std::fs::File::from(w);

    // One completion 10 ms into the wait: the wait holds on for more, up to `delay`.
    let mut read = Op::read(&driver, &r, vec![0u8; 8]);
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        w.write_all(b"x").unwrap();
        w
    });
    while common::poll_once(&mut read).is_pending() {
        driver.park(None).unwrap();
    }
    let waited = start.elapsed();
    assert!(
        waited >= delay - Duration::from_millis(50),
        "not coalesced: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "held too long: {waited:?}");
    let mut w = writer.join().unwrap();

    // A full batch returns at once.
    let nops: Vec<_> = (0..8).map(|_| Op::nop(&driver)).collect();
    let start = Instant::now();
    driver.park(None).unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    for nop in nops {
        run(&driver, nop).unwrap();
    }

    // A timeout shorter than the delay (a timer due soon) is kept.
    let mut read = Op::read(&driver, &r, vec![0u8; 8]);
    let start = Instant::now();
    driver.park(Some(Duration::from_millis(20))).unwrap();
    let waited = start.elapsed();
    assert!(
        waited < Duration::from_millis(200),
        "timer delayed: {waited:?}"
    );
    assert!(common::poll_once(&mut read).is_pending());
    w.write_all(b"y").unwrap();
    let (res, buf) = run(&driver, read);
    assert_eq!((res.unwrap(), buf[0]), (1, b'y'));
}
