//! The chat-server binary with 50 clients: every message reaches every other client once,
//! and clients leave cleanly.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

mod common;

use common::ServerProcess;

fn start() -> (ServerProcess, SocketAddr) {
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_chat-server"), &[], Stdio::inherit());
    let addr = server.addr;
    (server, addr)
}

struct Client {
    id: u64,
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let welcome = read_line(&mut reader);
        let id = welcome
            .strip_prefix("* welcome, you are client #")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected welcome {welcome:?}"));
        Client {
            id,
            writer: stream,
            reader,
        }
    }

    /// The next chat line (not a `*` notice).
    fn next_message(&mut self) -> String {
        loop {
            let line = read_line(&mut self.reader);
            if !line.starts_with('*') {
                return line;
            }
        }
    }

    /// Reads notices until one contains `needle`.
    fn wait_for_notice(&mut self, needle: &str) -> String {
        loop {
            let line = read_line(&mut self.reader);
            if line.starts_with('*') && line.contains(needle) {
                return line;
            }
        }
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    let n = reader.read_line(&mut line).expect("a line within 10 s");
    assert!(n > 0, "the server closed the connection");
    line.trim_end().to_string()
}

#[test]
fn fifty_clients_each_get_every_other_message_once() {
    let (_server, addr) = start();
    let mut clients: Vec<Client> = (0..50).map(|_| Client::connect(addr)).collect();
    for c in &mut clients {
        writeln!(c.writer, "hello from {}", c.id).unwrap();
    }
    let ids: BTreeSet<u64> = clients.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 50);
    for c in &mut clients {
        let mut from = BTreeSet::new();
        for _ in 0..49 {
            let msg = c.next_message();
            let (sender, text) = msg
                .strip_prefix('#')
                .and_then(|m| m.split_once(": "))
                .unwrap_or_else(|| panic!("unexpected line {msg:?}"));
            let sender: u64 = sender.parse().unwrap();
            assert_eq!(text, format!("hello from {sender}"));
            assert!(from.insert(sender), "client {} got #{sender} twice", c.id);
        }
        let expected: BTreeSet<u64> = ids.iter().copied().filter(|&i| i != c.id).collect();
        assert_eq!(from, expected, "client {} missed messages", c.id);
    }
}

#[test]
fn leaving_clients_are_announced_and_counted() {
    let (_server, addr) = start();
    let mut stay = Client::connect(addr);
    let leaving: Vec<Client> = (0..5).map(|_| Client::connect(addr)).collect();
    stay.wait_for_notice("(6 online)");
    let mut gone: BTreeSet<u64> = leaving.iter().map(|c| c.id).collect();
    drop(leaving);
    // The five leave in any order; wait for every notice.
    while !gone.is_empty() {
        let notice = stay.wait_for_notice(" left (");
        let id: u64 = notice
            .strip_prefix("* client #")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected notice {notice:?}"));
        assert!(gone.remove(&id), "unexpected or repeated leave of #{id}");
    }
    let newcomer = Client::connect(addr);
    let joined = stay.wait_for_notice(&format!("client #{} joined", newcomer.id));
    assert!(joined.contains("(2 online)"), "{joined}");
}

#[test]
fn nicknames_are_announced_used_and_unique() {
    let (_server, addr) = start();
    let mut alice = Client::connect(addr);
    let mut bob = Client::connect(addr);
    alice.wait_for_notice("(2 online)");
    writeln!(alice.writer, "/nick alice").unwrap();
    let renamed = bob.wait_for_notice("is now alice");
    assert_eq!(renamed, format!("* #{} is now alice", alice.id));
    writeln!(alice.writer, "hi").unwrap();
    assert_eq!(bob.next_message(), "alice: hi");
    writeln!(bob.writer, "/nick alice").unwrap();
    assert_eq!(bob.wait_for_notice("taken"), "* the name alice is taken");
    writeln!(bob.writer, "/nick two words").unwrap();
    assert!(bob.wait_for_notice("no spaces").starts_with("* a name is"));
    // Once alice leaves, her name is free again.
    drop(alice);
    bob.wait_for_notice(" left (");
    writeln!(bob.writer, "/nick alice").unwrap();
    writeln!(bob.writer, "/nick bob").unwrap();
    let mut third = Client::connect(addr);
    writeln!(third.writer, "/nick alice").unwrap();
    let renamed = bob.wait_for_notice(&format!("#{} is now", third.id));
    assert_eq!(renamed, format!("* #{} is now alice", third.id));
}

/// A client that reads nothing cannot stall the others: they get every line at once, and
/// it is told how many lines it missed when it reads again.
#[test]
fn a_client_that_stops_reading_misses_lines_but_stalls_nobody() {
    let (_server, addr) = start();
    let mut slow = Client::connect(addr);
    let mut sender = Client::connect(addr);
    let mut reader = Client::connect(addr);
    slow.wait_for_notice("(3 online)");
    sender.wait_for_notice("(3 online)");
    let body = "x".repeat(200);
    // In rounds the reader keeps up with (the channel keeps 1024 lines for anyone behind),
    // 10 MB in all: more than the slow client's socket buffers hold.
    let (rounds, per_round) = (100, 500);
    for round in 0..rounds {
        let batch: String = (0..per_round)
            .map(|i| format!("{} {body}\n", round * per_round + i))
            .collect();
        sender.writer.write_all(batch.as_bytes()).unwrap();
        for i in 0..per_round {
            let msg = reader.next_message();
            assert_eq!(
                msg,
                format!("#{}: {} {body}", sender.id, round * per_round + i)
            );
        }
    }
    let missed = slow.wait_for_notice("you missed");
    assert!(missed.starts_with("* you missed "), "{missed}");
    drop(sender.reader);
}

/// SIGTERM (how systemd, Docker and Kubernetes stop a service) stops the chat: the
/// server exits 0 saying how many it served, and its clients read the end of the stream.
#[test]
fn sigterm_stops_the_chat_and_disconnects_its_clients() {
    use std::io::Read;

    let (mut server, addr) = start();
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(addr)).collect();
    // SAFETY: kill(2) takes no pointers; the pid is our own child's.
    let rc = unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    for client in &mut clients {
        let mut rest = Vec::new();
        client.reader.read_to_end(&mut rest).unwrap();
    }
    let status = server.child.wait().unwrap();
    assert!(status.success(), "chat-server exited with {status}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "the listener is closed once the server has stopped"
    );
}
