//! hyper 1.x on ringlet: the routes and connection handling of the `http-server` example,
//! and the client side of `http-client`, over [`ringlet::compat`].

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use ringlet::compat::{Compat, HyperTimer};
use ringlet::net::{BufRing, Server, TcpListener, TcpStream};

use crate::accept::{log_accept_error, log_connection_error};

/// A response body: a fixed one, or the request's own, streamed back.
pub type Body = UnsyncBoxBody<Bytes, hyper::Error>;

/// `GET /` and `GET /plaintext`: `Hello, World!`; `POST /echo`: the request body streamed
/// back as it arrives; `GET /metrics`: the runtime's counters, every worker's, in the
/// Prometheus text format; anything else: 404.
pub async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/" | "/plaintext") => text(StatusCode::OK, "Hello, World!"),
        (&Method::POST, "/echo") => Response::new(req.into_body().boxed_unsync()),
        (&Method::GET, "/metrics") => metrics(),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    respond(status, Bytes::from_static(body.as_bytes()), "text/plain")
}

/// The runtime's counters for a Prometheus scrape.
fn metrics() -> Response<Body> {
    match ringlet::metrics::snapshot() {
        Some(snapshot) => respond(
            StatusCode::OK,
            Bytes::from(snapshot.prometheus()),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        None => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not in a ringlet runtime\n",
        ),
    }
}

fn respond(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// Serves HTTP/1.1 on one connection (keep-alive, pipelining) until the peer is done.
///
/// # Errors
///
/// hyper's, for a connection that broke or spoke something other than HTTP/1.1.
pub async fn serve_connection(stream: Compat<TcpStream>) -> Result<(), hyper::Error> {
    hyper::server::conn::http1::Builder::new()
        .timer(HyperTimer)
        .serve_connection(stream, service_fn(route))
        .await
}

/// Buffers in each worker's receive pool, and their size (2 MiB a worker).
const POOL_BUFFERS: u16 = 512;
const POOL_BUFFER_SIZE: usize = 4096;

/// How [`serve_until`] serves.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Receive into a per-worker buffer ring (one multishot receive per connection)
    /// rather than a buffer per connection.
    pub buffer_ring: bool,
}

/// Accepts on `listener` until `shutdown`, serving each connection on a task of its own
/// (as `options` say); then gives the open connections up to `grace` to finish.
/// Returns how many were still open after it (they are cut: their tasks cancelled, their
/// sockets closed).
///
/// # Errors
///
/// Only an error about the listener itself.
pub async fn serve_until(
    listener: TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<usize> {
    let pool = match options.buffer_ring {
        true => Some(BufRing::new(POOL_BUFFERS, POOL_BUFFER_SIZE)?),
        false => None,
    };
    let server = Server::new(listener)
        .grace(grace)
        .on_accept_error(|e| log_accept_error("http-server", e));
    let report = server.serve_until(shutdown, |stream, peer| {
        // Responses go out whole; Nagle would only hold back the next one.
        let _ = stream.set_nodelay(true);
        let stream = match &pool {
            Some(pool) => Compat::with_buf_ring(stream, pool),
            None => Compat::new(stream),
        };
        let tls = options.tls.clone();
        async move {
            let served = match tls {
                Some(config) => crate::tls::serve_https(stream, config).await,
                None => serve_connection(stream).await.map_err(io::Error::other),
            };
            if let Err(e) = served {
                log_error(peer, &e);
            }
        }
    });
    Ok(report.await?.cut)
}

/// Logs a connection's error, digging the I/O error out of hyper's when there is one.
fn log_error(peer: SocketAddr, e: &io::Error) {
    use std::error::Error as _;
    let hyper_io = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<hyper::Error>())
        .and_then(|h| h.source())
        .and_then(|s| s.downcast_ref::<io::Error>());
    log_connection_error("http-server", peer, hyper_io.unwrap_or(e));
}

/// One HTTP/1.1 connection from the client side: requests go out one after another on it.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("host", &self.host).finish()
    }
}

impl Client {
    /// Connects to `addr`; `host` is sent as the `Host` header.
    ///
    /// # Errors
    ///
    /// The connect's, or hyper's handshake error as `io::Error`.
    pub async fn connect(addr: SocketAddr, host: &str) -> io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(Compat::new(stream))
            .await
            .map_err(io::Error::other)?;
        // The connection task drives the socket; it ends when `sender` is dropped.
        drop(ringlet::spawn(async move {
            let _ = connection.await;
        }));
        Ok(Client {
            sender,
            host: host.to_string(),
        })
    }

    /// Sends `method path` with `body`; returns the status and the whole response body.
    ///
    /// # Errors
    ///
    /// hyper's, as `io::Error`, if the connection broke.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> io::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host)
            .body(Full::new(body))
            .map_err(io::Error::other)?;
        self.sender.ready().await.map_err(io::Error::other)?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        Ok((status, body))
    }
}
