//! A line-based chat over TCP: each line a client sends reaches every other client once.
//!
//! Every client has a reader task (its lines go to a broadcast channel) and a writer task
//! (the channel's lines go to its socket, except its own). A line is broadcast as one
//! shared `Rc<[u8]>`: every writer sends the same bytes, none copies them. A client too
//! slow to keep up with `HISTORY` lines is told how many it missed, not disconnected:
//! the channel keeps the last `HISTORY` lines, so a slow client never holds up the others
//! or the server's memory. `/nick NAME` picks a name (unique among those online).

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use ringlet::io::BufReader;
use ringlet::net::{ServeReport, Server, TcpListener, TcpStream};
use ringlet::sync::broadcast::{self, RecvError};

use crate::accept::log_connection_error;

/// Lines kept for clients that are behind.
const HISTORY: usize = 1024;
/// Longest line accepted; a longer one disconnects its client.
const MAX_LINE: usize = 64 * 1024;

#[derive(Clone)]
struct Line {
    from: u64,
    /// For one client only (a reply to it), or `None` for everyone else.
    to: Option<u64>,
    bytes: Rc<[u8]>,
}

/// The names in use, so two clients cannot take the same.
type Names = Rc<RefCell<HashSet<String>>>;

/// Runs the chat on `listener` until SIGINT or SIGTERM. Chat clients never leave on
/// their own, so at that point they are disconnected at once (no grace period).
///
/// # Errors
///
/// Only an accept error about the listener itself.
pub async fn serve(listener: TcpListener) -> io::Result<ServeReport> {
    // Holding one receiver keeps the channel open with no client connected.
    let (lines, _idle) = broadcast::channel::<Line>(HISTORY);
    let online = Rc::new(Cell::new(0usize));
    let names = Names::default();
    let mut next_id = 0u64;
    let on_connection = |stream, peer| {
        next_id += 1;
        let state = (online.clone(), names.clone());
        client(Rc::new(stream), peer, next_id, lines.clone(), state)
    };
    let server = Server::new(listener).grace(std::time::Duration::ZERO);
    server.serve(on_connection).await
}

fn text(from: u64, text: String) -> Line {
    Line {
        from,
        to: None,
        bytes: Rc::from(text.into_bytes()),
    }
}

fn reply(to: u64, text: String) -> Line {
    Line {
        to: Some(to),
        ..self::text(to, text)
    }
}

async fn client(
    stream: Rc<TcpStream>,
    peer: SocketAddr,
    id: u64,
    lines: broadcast::Sender<Line>,
    (online, names): (Rc<Cell<usize>>, Names),
) {
    // Subscribe before the welcome: a client that saw its welcome misses nothing after it.
    let inbox = lines.subscribe();
    online.set(online.get() + 1);
    let _ = lines.send(text(
        id,
        format!("* client #{id} joined ({} online)\n", online.get()),
    ));
    let welcome = format!(
        "* welcome, you are client #{id} ({} online)\n",
        online.get()
    );
    let (sent, _) = stream.write_all(welcome.into_bytes()).await;
    let result = match sent {
        Ok(()) => {
            let writer = ringlet::spawn(forward(stream.clone(), inbox, id));
            let mut name = format!("#{id}");
            let read = read_lines(&stream, |line| {
                let line = match line.strip_prefix("/nick ") {
                    Some(new) => rename(id, &mut name, new.trim(), &names),
                    None => text(id, format!("{name}: {line}\n")),
                };
                let _ = lines.send(line);
            })
            .await;
            writer.cancel();
            names.borrow_mut().remove(&name);
            read
        }
        Err(e) => Err(e),
    };
    online.set(online.get() - 1);
    let _ = lines.send(text(
        id,
        format!("* client #{id} left ({} online)\n", online.get()),
    ));
    if let Err(e) = result {
        log_connection_error("chat-server", peer, &e);
    }
}

/// Handles `/nick NEW` from client `id`: the line to send (a notice to all, or a reply
/// to the client if the name is not acceptable).
fn rename(id: u64, name: &mut String, new: &str, names: &Names) -> Line {
    if new.is_empty() || new.len() > 32 || new.starts_with('#') || new.contains(char::is_whitespace)
    {
        return reply(
            id,
            "* a name is 1 to 32 characters, no spaces, not starting with #\n".into(),
        );
    }
    if !names.borrow_mut().insert(new.to_string()) {
        return reply(id, format!("* the name {new} is taken\n"));
    }
    names.borrow_mut().remove(name.as_str());
    let old = std::mem::replace(name, new.to_string());
    text(id, format!("* {old} is now {new}\n"))
}

/// Writes every line from others (and replies to this client) to the client, until it
/// goes away.
async fn forward(stream: Rc<TcpStream>, mut inbox: broadcast::Receiver<Line>, id: u64) {
    loop {
        let bytes = match inbox.recv().await {
            Ok(line) if line.to == Some(id) => line.bytes,
            Ok(line) if line.from == id || line.to.is_some() => continue,
            Ok(line) => line.bytes,
            Err(RecvError::Lagged(n)) => Rc::from(format!("* you missed {n} lines\n").into_bytes()),
            Err(RecvError::Closed) => return,
        };
        if stream.write_all(bytes).await.0.is_err() {
            return; // the reader sees the same failure and reports it
        }
    }
}

/// Calls `on_line` with each line the client sends (without its line ending), until EOF.
/// A line that is not UTF-8, or longer than `MAX_LINE`, is an error: the client goes.
async fn read_lines(stream: &TcpStream, mut on_line: impl FnMut(&str)) -> io::Result<()> {
    let mut lines = BufReader::new(stream).lines().max_length(MAX_LINE);
    while let Some(line) = lines.next_line().await? {
        on_line(&line);
    }
    Ok(())
}
