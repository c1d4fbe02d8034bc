//! An echo server on compio, written the way compio's own examples write one: one runtime
//! per thread on its io_uring proactor, with the settings compio documents for throughput
//! (`coop_taskrun` and `taskrun_flag`), one task per connection, an owned buffer read and
//! written back whole.
//!
//! ```text
//! compio-echo [--addr HOST:PORT] [--workers N] [--buffer-size BYTES]
//! ```

use std::process::ExitCode;

use clap::Parser;
use compio::driver::ProactorBuilder;
use compio::io::{AsyncRead, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use compio::runtime::RuntimeBuilder;
use ringlet_peers::{Args, run};

async fn echo(mut stream: TcpStream, buffer_size: usize) {
    let mut buf = Vec::with_capacity(buffer_size);
    loop {
        buf.clear();
        let (res, b) = stream.read(buf).await.into();
        buf = b;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, b) = stream.write_all(buf).await.into();
        buf = b;
        if res.is_err() {
            return;
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let buffer_size = args.buffer_size.max(1);
    let served = run("compio-echo", &args, move |listener| {
        let mut proactor = ProactorBuilder::new();
        proactor.coop_taskrun(true).taskrun_flag(true);
        let rt = RuntimeBuilder::new()
            .with_proactor(proactor)
            .build()
            .unwrap_or_else(|e| panic!("compio-echo: cannot start a runtime: {e}"));
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("compio-echo: listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                compio::runtime::spawn(echo(stream, buffer_size)).detach();
            }
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compio-echo: cannot listen on {}: {e}", args.addr);
            ExitCode::FAILURE
        }
    }
}
