//! An echo server on monoio, written the way monoio's own examples write one: one
//! io_uring runtime per thread (`RuntimeBuilder::<IoUringDriver>` with its default 1024
//! entries), one task per connection, an owned buffer read and written back whole.
//!
//! ```text
//! monoio-echo [--addr HOST:PORT] [--workers N] [--buffer-size BYTES]
//! ```

use std::process::ExitCode;

use clap::Parser;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use ringlet_peers::{Args, run};

async fn echo(mut stream: TcpStream, buffer_size: usize) {
    let mut buf = Vec::with_capacity(buffer_size);
    loop {
        buf.clear();
        let (res, b) = stream.read(buf).await;
        buf = b;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, b) = stream.write_all(buf).await;
        buf = b;
        if res.is_err() {
            return;
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let buffer_size = args.buffer_size.max(1);
    let served = run("monoio-echo", &args, move |listener| {
        let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .build()
            .unwrap_or_else(|e| panic!("monoio-echo: cannot start an io_uring runtime: {e}"));
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("monoio-echo: listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                monoio::spawn(echo(stream, buffer_size));
            }
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monoio-echo: cannot listen on {}: {e}", args.addr);
            ExitCode::FAILURE
        }
    }
}
