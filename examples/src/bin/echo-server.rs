//! ringlet's echo server.
//!
//! ```text
//! echo-server [--addr HOST:PORT] [--buffer-size BYTES]
//! ```
//!
//! Prints `listening on ADDR` once bound, logs peer resets and carries on, and exits with
//! status 1 and a clear message if the address is in use or io_uring is unavailable.

use std::net::SocketAddr;
use std::process::ExitCode;

use ringlet::net::TcpListener;
use ringlet_examples::echo;

const USAGE: &str = "\
usage: echo-server [--addr HOST:PORT] [--buffer-size BYTES]

  --addr HOST:PORT     address to listen on (default 127.0.0.1:7878; port 0 picks one)
  --buffer-size BYTES  per-connection buffer (default 4096)";

struct Args {
    addr: SocketAddr,
    buffer_size: usize,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
        buffer_size: 4096,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?} is not HOST:PORT: {e}"))?;
            }
            "--buffer-size" => {
                let v = value("--buffer-size")?;
                args.buffer_size = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--buffer-size {v:?} is not a positive number")),
                };
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("echo-server: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match ringlet::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.addr) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "echo-server: cannot listen on {}: address already in use \
                 (is another server running on that port? pick another with --addr)",
                args.addr
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("echo-server: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => eprintln!("echo-server: listening, address unknown: {e}"),
    }
    match runtime.block_on(echo::serve(listener, args.buffer_size)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-server: accept failed, stopping: {e}");
            ExitCode::FAILURE
        }
    }
}
