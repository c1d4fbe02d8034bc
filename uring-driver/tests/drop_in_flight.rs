//! Dropping an op while the kernel still holds it: the buffer outlives the dropped future
//! until the final CQE, the slot is freed, and no descriptor leaks.
//!
//! Each scenario runs twice: the fd becomes ready after the drop was noticed by the kernel,
//! and before (so the completion races the cancel). Run these under valgrind too (see
//! `.ci/run`): a use-after-free of a buffer would be an error there.

mod common;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{Canary, drain, open_fds, pipe, poll_once, serial};
use uring_driver::op::{AcceptMulti, Read, Recv};
use uring_driver::{Driver, MultishotOp, Op, SharedFd};

#[derive(Clone, Copy, Debug)]
enum Race {
    /// The kernel sees the cancel before the fd is ready.
    CancelFirst,
    /// The fd is ready before the kernel sees the cancel.
    ReadyFirst,
}

const RACES: [Race; 2] = [Race::CancelFirst, Race::ReadyFirst];

fn settle(driver: &Driver, race: Race) {
    if let Race::CancelFirst = race {
        driver.submit().unwrap();
    }
}

#[test]
fn dropped_read_keeps_its_buffer_until_the_final_cqe() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let (r, w) = pipe();
        let r = SharedFd::new(r);
        let (buf, dropped) = Canary::new(64);
        let mut op: Op<Read<Canary>> = Op::read(&driver, &r, buf);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        assert!(
            !dropped.get(),
            "{race:?}: buffer freed while the kernel holds it"
        );
        assert_eq!(driver.in_flight(), 1);
        settle(&driver, race);
        let mut w = std::fs::File::from(w);
        w.write_all(b"made ready").unwrap();
        drain(&driver);
        assert!(dropped.get(), "{race:?}: buffer freed after the final CQE");
        assert_eq!(driver.slots(), 0, "{race:?}: slot freed");
        drop((driver, r, w));
        assert_eq!(open_fds(), fds, "{race:?}: no fd leaked");
    }
}

#[test]
fn dropped_recv_keeps_its_buffer_until_the_final_cqe() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = SharedFd::new(a.into());
        let (buf, dropped) = Canary::new(64);
        let mut op: Op<Recv<Canary>> = Op::recv(&driver, &a, buf, 0);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        assert!(
            !dropped.get(),
            "{race:?}: buffer freed while the kernel holds it"
        );
        settle(&driver, race);
        b.write_all(b"made ready").unwrap();
        drain(&driver);
        assert!(dropped.get());
        assert_eq!(driver.slots(), 0);
        drop((driver, a, b));
        assert_eq!(open_fds(), fds, "{race:?}: no fd leaked");
    }
}

#[test]
fn dropped_accept_closes_a_late_connection() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = SharedFd::new(listener.into());
        let mut op = Op::accept(&driver, &listener);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        settle(&driver, race);
        let client = TcpStream::connect(addr).unwrap();
        drain(&driver);
        assert_eq!(driver.slots(), 0);
        drop((driver, listener, client));
        assert_eq!(open_fds(), fds, "{race:?}: an accepted fd leaked");
    }
}

#[test]
fn accept_completed_but_never_polled_is_closed_on_drop() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener.into());
    let op = Op::accept(&driver, &listener);
    let client = TcpStream::connect(addr).unwrap();
    drain(&driver);
    assert_eq!(driver.slots(), 1, "completed, waiting to be polled");
    drop(op);
    assert_eq!(driver.slots(), 0);
    drop((driver, listener, client));
    assert_eq!(open_fds(), fds);
}

#[test]
fn dropped_timeout_is_cancelled_and_its_slot_freed() {
    let _g = serial();
    for race in RACES {
        let driver = Driver::new().unwrap();
        let mut op = Op::timeout(&driver, Duration::from_millis(30));
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        settle(&driver, race);
        std::thread::sleep(Duration::from_millis(40));
        drain(&driver);
        assert_eq!(driver.slots(), 0, "{race:?}");
    }
}

#[test]
fn dropped_multishot_accept_closes_queued_and_late_connections() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener.into());
    let incoming: MultishotOp<AcceptMulti> = MultishotOp::accept_multi(&driver, &listener);
    let early: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    driver.park(Some(Duration::from_millis(200))).unwrap();
    driver.submit().unwrap();
    drop(incoming);
    let late: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    drain(&driver);
    assert_eq!(driver.slots(), 0);
    drop((driver, listener, early, late));
    assert_eq!(open_fds(), fds, "queued or late accepted fds leaked");
}

#[test]
fn dropped_write_and_connect_are_sound() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    // A write into a full pipe stays in flight until the reader drains it.
    let (r, w) = pipe();
    let w = SharedFd::new(w);
    let big = vec![7u8; 1 << 20];
    let mut op = Op::write(&driver, &w, big);
    assert!(poll_once(&mut op).is_pending());
    driver.submit().unwrap();
    drop(op);
    drop(r);
    // A connect to a listener whose backlog is full stays in flight.
    let addr = "127.0.0.1:0".parse().unwrap();
    let fd = SharedFd::new(uring_driver::socket::socket_for(&addr, libc::SOCK_STREAM).unwrap());
    let listener = TcpListener::bind(addr).unwrap();
    let op = Op::connect(&driver, &fd, listener.local_addr().unwrap());
    drop(op);
    drain(&driver);
    assert_eq!(driver.slots(), 0);
    drop((driver, w, fd, listener));
    assert_eq!(open_fds(), fds);
}

#[test]
fn driver_dropped_with_ops_in_flight_cancels_and_drains_them() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut canaries = Vec::new();
    for _ in 0..100 {
        let (buf, dropped) = Canary::new(16);
        let mut op = Op::read(&driver, &r, buf);
        assert!(poll_once(&mut op).is_pending());
        drop(op);
        canaries.push(dropped);
    }
    let sleeps: Vec<_> = (0..100)
        .map(|_| Op::timeout(&driver, Duration::from_secs(3600)))
        .collect();
    driver.submit().unwrap();
    drop(driver);
    assert!(
        canaries.iter().all(|d| d.get()),
        "every parked buffer freed after its CQE"
    );
    drop((sleeps, r, w));
    assert_eq!(open_fds(), fds, "ring fd and pipes closed");
}

#[test]
fn dropped_openat_closes_the_file_it_opened_late() {
    let _g = serial();
    let path = std::env::temp_dir().join(format!("uring-driver-openat-{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    for _ in 0..50 {
        let mut op = Op::openat(&driver, c_path.clone(), libc::O_RDONLY, 0);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op); // opened or cancelled: either way no descriptor may survive
    }
    drain(&driver);
    assert_eq!(driver.slots(), 0);
    drop(driver);
    assert_eq!(open_fds(), fds, "an fd opened for a dropped openat leaked");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn dropped_readv_keeps_every_buffer_until_the_final_cqe() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let (r, w) = pipe();
        let r = SharedFd::new(r);
        let (bufs, flags): (Vec<Canary>, Vec<_>) = (0..3).map(|_| Canary::new(16)).unzip();
        let mut op = Op::readv(&driver, &r, bufs);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        assert!(
            flags.iter().all(|d| !d.get()),
            "{race:?}: freed while the kernel holds them"
        );
        settle(&driver, race);
        std::fs::File::from(w).write_all(b"made ready").unwrap();
        drain(&driver);
        assert!(
            flags.iter().all(|d| d.get()),
            "{race:?}: freed after the final CQE"
        );
        assert_eq!(driver.slots(), 0);
        drop((driver, r));
        assert_eq!(open_fds(), fds, "{race:?}: no fd leaked");
    }
}

#[test]
fn dropped_recvmsg_keeps_its_buffer_and_header_until_the_final_cqe() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let fd = SharedFd::new(socket.into());
        let (buf, dropped) = Canary::new(64);
        let mut op = Op::recv_from(&driver, &fd, buf);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        assert!(!dropped.get(), "{race:?}: freed while the kernel holds it");
        settle(&driver, race);
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"made ready", addr).unwrap();
        drain(&driver);
        assert!(dropped.get());
        assert_eq!(driver.slots(), 0);
        drop((driver, fd, sender));
        assert_eq!(open_fds(), fds, "{race:?}: no fd leaked");
    }
}

/// Sets socket buffer `option` (`SO_SNDBUF` or `SO_RCVBUF`) to 16 KiB.
fn small_buffers(socket: &impl std::os::fd::AsRawFd, option: libc::c_int) {
    let size: libc::c_int = 16 << 10;
    // SAFETY: the value points to a live c_int of the size passed, on an open socket.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const size).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

#[test]
fn dropped_send_zc_keeps_its_buffer_until_the_notification() {
    let _g = serial();
    let fds = open_fds();
    let driver = Driver::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // Small socket buffers (the accepted socket inherits the listener's), so that 256 KiB
    // stay in flight until the peer reads them; a small transfer keeps the test quick
    // under valgrind, which lets the reader thread run only between ring waits.
    small_buffers(&listener, libc::SO_RCVBUF);
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    small_buffers(&client, libc::SO_SNDBUF);
    let (mut server, _) = listener.accept().unwrap();
    let client = SharedFd::new(client.into());
    let (buf, dropped) = Canary::new(256 << 10);
    let mut op = uring_driver::op::SendZcOp::send_zc(&driver, &client, buf, 0);
    assert!(poll_once(&mut op).is_pending());
    driver.submit().unwrap();
    drop(op);
    assert!(!dropped.get(), "freed while the kernel reads it");
    let reader = std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        let mut total = 0;
        loop {
            match std::io::Read::read(&mut server, &mut sink) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    });
    drain(&driver);
    assert!(dropped.get(), "freed after the final CQE");
    assert_eq!(driver.slots(), 0);
    drop((driver, client));
    reader.join().unwrap();
    drop(listener);
    assert_eq!(open_fds(), fds);
}

#[test]
fn dropped_poll_add_frees_its_slot() {
    let _g = serial();
    for race in RACES {
        let fds = open_fds();
        let driver = Driver::new().unwrap();
        let (r, w) = pipe();
        let r = SharedFd::new(r);
        let mut op = Op::poll_add(&driver, &r, libc::POLLIN as u32);
        assert!(poll_once(&mut op).is_pending());
        driver.submit().unwrap();
        drop(op);
        settle(&driver, race);
        std::fs::File::from(w).write_all(b"ready").unwrap();
        drain(&driver);
        assert_eq!(driver.slots(), 0, "{race:?}");
        drop((driver, r));
        assert_eq!(open_fds(), fds, "{race:?}: no fd leaked");
    }
}

#[test]
fn every_other_op_kind_dropped_in_flight_frees_its_slot_and_fds() {
    use std::ffi::CString;

    use uring_driver::FixedBufPool;
    use uring_driver::op::SendZcOp;

    let _g = serial();
    let dir = std::env::temp_dir().join(format!("uring-driver-drop-kinds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let c = |name: &str| CString::new(dir.join(name).to_str().unwrap()).unwrap();
    std::fs::write(dir.join("file"), b"data").unwrap();
    let fds = open_fds();
    {
        let driver = Driver::new().unwrap();
        let file = SharedFd::new(std::fs::File::open(dir.join("file")).unwrap().into());
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (SharedFd::new(a.into()), SharedFd::new(b.into()));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let udp = SharedFd::new(udp.into());
        let pool = FixedBufPool::new(&driver, 1, 64).unwrap();
        let (pipe_r, pipe_w) = pipe();
        let pipe_w = SharedFd::new(pipe_w);
        let (canary, canary_dropped) = Canary::new(32);
        // Each op is created, submitted, and dropped at once, whatever state it is in.
        drop(Op::nop(&driver));
        drop(Op::close(
            &driver,
            std::fs::File::open(dir.join("file")).unwrap().into(),
        ));
        drop(Op::fsync(&driver, &file, false));
        drop(Op::statx_fd(&driver, &file));
        drop(Op::statx_path(&driver, c("file")));
        drop(Op::mkdirat(&driver, c("made"), 0o700));
        drop(Op::renameat(&driver, c("file"), c("renamed")));
        drop(Op::unlinkat(&driver, c("missing"), false));
        drop(Op::linkat(&driver, c("file"), c("hard")));
        drop(Op::symlinkat(&driver, c("file"), c("soft")));
        drop(Op::shutdown(&driver, &a, std::net::Shutdown::Write));
        drop(Op::send_to(&driver, &udp, b"dgram".to_vec(), udp_addr));
        drop(Op::writev(&driver, &b, vec![b"x".to_vec(), b"y".to_vec()]));
        drop(Op::write_fixed_at(
            &driver,
            &pipe_w,
            pool.try_get().unwrap(),
            u64::MAX,
        ));
        drop(Op::write(&driver, &pipe_w, canary));
        drop(SendZcOp::send_zc(&driver, &b, b"zc".to_vec(), 0));
        driver.submit().unwrap();
        drain(&driver);
        assert_eq!(driver.slots(), 0, "every slot freed");
        assert!(
            canary_dropped.get(),
            "the buffer was freed after its final CQE"
        );
        assert_eq!(pool.available(), 1, "the fixed buffer went back");
        drop((pipe_r, pipe_w, a, b, udp, file, pool, driver));
    }
    assert_eq!(open_fds(), fds, "no fd leaked");
    std::fs::remove_dir_all(&dir).unwrap();
}
