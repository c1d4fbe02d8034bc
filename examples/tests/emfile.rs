//! The echo server out of file descriptors: it backs off, keeps serving the connections
//! it has, and accepts the waiting ones once descriptors free up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn emfile_on_accept_backs_off_and_recovers_when_fds_free_up() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_echo-server"));
    cmd.args(["--addr", "127.0.0.1:0", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe, and the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let (log_tx, log) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });

    // More clients than the server has descriptors for; each sends one byte.
    let mut clients: Vec<TcpStream> = (0..80u8)
        .map(|i| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c.write_all(&[i]).unwrap();
            c
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(l) if l.contains("out of file descriptors") => break,
            Ok(_) => continue,
            Err(e) => panic!("the server never reported running out of descriptors: {e}"),
        }
    }
    // The first clients were accepted: they are served while the server is at its limit.
    let mut b = [0u8; 1];
    clients[0].read_exact(&mut b).unwrap();
    assert_eq!(b[0], 0);
    // Free descriptors: the waiting clients must now be accepted and echoed.
    let waiting = clients.split_off(40);
    drop(clients);
    for (i, mut c) in waiting.into_iter().enumerate() {
        c.read_exact(&mut b)
            .unwrap_or_else(|e| panic!("client {} never served: {e}", i + 40));
        assert_eq!(b[0] as usize, i + 40);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server kept running"
    );
    let _ = child.kill();
    let _ = child.wait();
}
