//! ringlet's chat server: a line-based chat on TCP.
//!
//! ```text
//! chat-server [--addr HOST:PORT]
//! ```
//!
//! Each line a client sends reaches every other client as `#ID: line`; joins and leaves
//! are announced with the number of clients online. Try it with two `nc 127.0.0.1 7879`.

use std::net::SocketAddr;
use std::process::ExitCode;

use ringlet::net::TcpListener;
use ringlet_examples::chat;

const USAGE: &str = "usage: chat-server [--addr HOST:PORT]   (default 127.0.0.1:7879)";

fn main() -> ExitCode {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 7879));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(v)) => match v.parse() {
                Ok(a) => addr = a,
                Err(e) => {
                    eprintln!("chat-server: --addr {v:?} is not HOST:PORT: {e}\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            ("-h" | "--help", _) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("chat-server: unexpected argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    // The chat's state lives on one worker; one is all it needs.
    let runtime = match ringlet::Runtime::builder().workers(1).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("chat-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("chat-server: listening, address unknown: {e}"),
    }
    match runtime.block_on(chat::serve(listener)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: accept failed, stopping: {e}");
            ExitCode::FAILURE
        }
    }
}
