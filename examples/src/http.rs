//! Just enough HTTP/1.1 for the examples: a GET over a fresh connection.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use ringlet::net::TcpStream;

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host name or address, as written.
    pub host: String,
    /// Port (80 when not given).
    pub port: u16,
    /// Path with query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an `http://` URL.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming what is wrong with it.
    pub fn parse(url: &str) -> io::Result<Url> {
        let invalid =
            |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url:?}: {why}"));
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| invalid("bad port"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The address to connect to; host names are resolved on the blocking pool, so the
    /// worker keeps running other tasks meanwhile.
    ///
    /// # Errors
    ///
    /// If the name does not resolve.
    pub async fn resolve(&self) -> io::Result<SocketAddr> {
        if let Ok(ip) = self.host.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let (host, port) = (self.host.clone(), self.port);
        ringlet::task::spawn_blocking(move || (host.as_str(), port).to_socket_addrs())
            .await
            .map_err(io::Error::from)??
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host resolved to nothing"))
    }
}

/// A response: status code and body.
#[derive(Debug)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The body (everything after the headers; the server closes the connection).
    pub body: Vec<u8>,
}

/// GETs `url` with `Connection: close` and reads the whole response.
///
/// # Errors
///
/// Connection errors, or `InvalidData` for a response that is not HTTP.
pub async fn get(url: &Url) -> io::Result<Response> {
    let stream = TcpStream::connect(url.resolve().await?).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        url.path, url.host
    );
    stream.write_all(request.into_bytes()).await.0?;
    let mut response = Vec::new();
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let (read, filled) = stream.read(buf).await;
        let n = read?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&filled[..n]);
        buf = filled;
    }
    parse_response(response)
}

fn parse_response(mut response: Vec<u8>) -> io::Result<Response> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("response ended inside its headers"))?;
    let head =
        std::str::from_utf8(&response[..head_end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| head.starts_with("HTTP/1."))
        .ok_or_else(|| invalid("no HTTP status line"))?;
    let body = response.split_off(head_end + 4);
    Ok(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = Url::parse("http://127.0.0.1:8080/a/b?c=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/a/b?c=1")
        );
        let u = Url::parse("http://example.org").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert!(Url::parse("https://x/").is_err());
        assert!(Url::parse("http://:80/").is_err());
    }

    #[test]
    fn parses_responses() {
        let r = parse_response(b"HTTP/1.1 404 Not Found\r\nA: b\r\n\r\nbody".to_vec()).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"body"[..]));
        assert!(parse_response(b"garbage".to_vec()).is_err());
    }
}
