//! ringlet's chat server: a line-based chat on TCP.
//!
//! ```text
//! chat-server [--addr HOST:PORT]
//! ```
//!
//! Each line a client sends reaches every other client as `#ID: line`; joins and leaves
//! are announced with the number of clients online. Try it with two `nc 127.0.0.1 7879`.
//! SIGINT (Ctrl-C) or SIGTERM stops it.

use std::net::SocketAddr;

use clap::Parser;
use std::process::ExitCode;

use ringlet::net::TcpListener;
use ringlet_examples::chat;

/// ringlet's chat server: every line a client sends reaches every other client.
#[derive(Parser, Debug)]
#[command(name = "chat-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7879")]
    addr: SocketAddr,
}

fn main() -> ExitCode {
    let addr = Args::parse().addr;
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
    // Catch SIGINT and SIGTERM from now on (the workers' shutdown futures see a signal
    // caught before they start listening): a client that saw the line below may signal.
    drop(ringlet::signal::shutdown());
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("chat-server: listening, address unknown: {e}"),
    }
    match runtime.block_on(chat::serve(listener)) {
        Ok(report) => {
            eprintln!(
                "chat-server: stopped (SIGINT or SIGTERM): {} clients served, {} disconnected",
                report.accepted, report.cut
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chat-server: accept failed, stopping: {e}");
            ExitCode::FAILURE
        }
    }
}
