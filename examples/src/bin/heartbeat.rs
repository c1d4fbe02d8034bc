//! A server that pings quiet clients: the guide's "Cancel safety". What a client sends is
//! echoed back; a client quiet for the ping interval gets "ping\n". The read raced
//! against the interval is cancel safe: bytes that arrive as it times out are the next
//! read's, never lost.
//! Usage: `heartbeat [HOST:PORT] [PING_MS]` (default 127.0.0.1:7880, 1000 ms).

use std::io;
use std::time::Duration;

use ringlet::net::{TcpListener, TcpStream};
use ringlet::time::timeout;

#[ringlet::main(workers = 1)]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7880".to_string());
    let ping_ms = args.next().map_or(Ok(1000), |ms| ms.parse());
    let ping = Duration::from_millis(ping_ms.map_err(io::Error::other)?);
    let listener = TcpListener::bind(addr.as_str())?;
    println!("listening on {}", listener.local_addr()?);
    let mut incoming = listener.incoming();
    while let Some(stream) = incoming.next().await {
        let stream = stream?;
        drop(ringlet::spawn(async move {
            if let Err(e) = serve(stream, ping).await {
                eprintln!("connection: {e}");
            }
        }));
    }
    Ok(())
}

/// Echoes what the client sends; pings it after `ping` of quiet.
async fn serve(stream: TcpStream, ping: Duration) -> io::Result<()> {
    loop {
        match timeout(ping, stream.read(Vec::with_capacity(4096))).await {
            Ok((n, buf)) => {
                if n? == 0 {
                    return Ok(()); // the client closed its side
                }
                stream.write_all(buf).await.0?;
            }
            // The read timed out and was dropped. It stays in the kernel: whatever it
            // receives is what the next read returns, first and in order.
            Err(_) => stream.write_all(b"ping\n".to_vec()).await.0?,
        }
    }
}
