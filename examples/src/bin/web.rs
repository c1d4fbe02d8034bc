//! A web server on hyper: the guide's "A web server".
//! Usage: `web [HOST:PORT] [--tls]` (default 127.0.0.1:8080; port 0 picks one).

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Channel, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ringlet::compat::{Compat, HyperTimer};
use ringlet::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A response body: whole, streamed by a task, or the request's own.
type Body = UnsyncBoxBody<Bytes, hyper::Error>;

#[ringlet::main(workers = 1)]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("listening on {}", listener.local_addr()?);
    let tls = match args.next().as_deref() {
        Some("--tls") => {
            let certificate = ringlet_examples::tls::self_signed()?;
            let path = std::env::temp_dir().join(format!("ringlet-web-{}.pem", std::process::id()));
            std::fs::write(&path, &certificate.cert_pem)?;
            println!("certificate in {}", path.display());
            Some(TlsAcceptor::from(certificate.config))
        }
        _ => None,
    };
    let mut incoming = listener.incoming();
    while let Some(stream) = incoming.next().await {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        stream.set_nodelay(true)?; // responses go out whole: no need to wait for more
        let tls = tls.clone();
        drop(ringlet::spawn(async move {
            // Compat gives hyper and rustls the tokio I/O traits over ringlet's socket.
            let stream = Compat::new(stream);
            // One connection, many requests (HTTP/1.1 keep-alive) until the client is done.
            let http = http1::Builder::new().timer(HyperTimer).clone();
            let served = match tls {
                None => http.serve_connection(stream, service_fn(route)).await,
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => {
                        http.serve_connection(TokioIo::new(stream), service_fn(route))
                            .await
                    }
                    Err(e) => return eprintln!("tls: {e}"),
                },
            };
            if let Err(e) = served {
                eprintln!("http: {e}");
            }
        }));
    }
    Ok(())
}

/// The routes: `GET /`, `GET /hello/NAME`, `GET /count` (streamed), `POST /echo`.
async fn route(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_string();
    Ok(match (request.method(), path.as_str()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, World!\n".into()),
        (&Method::GET, _) if path.starts_with("/hello/") => text(
            StatusCode::OK,
            format!("Hello, {}!\n", &path["/hello/".len()..]),
        ),
        (&Method::GET, "/count") => Response::new(count()),
        // The request body streamed back as it arrives: nothing is held whole.
        (&Method::POST, "/echo") => Response::new(request.into_body().boxed_unsync()),
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    })
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let body = Full::new(Bytes::from(body)).map_err(|never| match never {});
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = status;
    response
}

/// A body written by a task while the response is on its way: `1` to `5`, one line every
/// 20 ms (sent chunked, as its length is not known up front).
fn count() -> Body {
    let (mut sender, body) = Channel::<Bytes, hyper::Error>::new(1);
    drop(ringlet::spawn(async move {
        for i in 1..=5 {
            if sender
                .send_data(Bytes::from(format!("{i}\n")))
                .await
                .is_err()
            {
                return; // the client went away
            }
            ringlet::time::sleep(Duration::from_millis(20)).await;
        }
    }));
    body.boxed_unsync()
}
