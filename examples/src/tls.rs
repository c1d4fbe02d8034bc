//! TLS on ringlet: rustls (through tokio-rustls) over [`ringlet::compat::Compat`], with a
//! self-signed certificate made at start. The `https-server` example serves the hyper
//! routes of [`crate::hyper_app`] over it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ringlet::compat::{Compat, HyperTimer};
use ringlet::net::TcpStream;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::hyper_app::route;

/// A server certificate, and the configuration to serve it.
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate in PEM, for clients to trust (`curl --cacert`).
    pub cert_pem: String,
    /// The certificate in DER.
    pub cert_der: CertificateDer<'static>,
    /// A rustls server configuration offering HTTP/1.1 by ALPN.
    pub config: Arc<rustls::ServerConfig>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes a self-signed certificate for `localhost` and 127.0.0.1.
///
/// # Errors
///
/// If key generation or the rustls configuration fails.
pub fn self_signed() -> io::Result<SelfSigned> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let cert_der = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        cert_pem: certified.cert.pem(),
        cert_der,
        config: Arc::new(config),
    })
}

/// Completes the TLS handshake on `stream`, then serves HTTP/1.1 on it.
///
/// # Errors
///
/// The handshake's error, or hyper's.
pub async fn serve_https(
    stream: Compat<TcpStream>,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<()> {
    let tls = TlsAcceptor::from(config).accept(stream).await?;
    hyper::server::conn::http1::Builder::new()
        .timer(HyperTimer)
        .serve_connection(TokioIo::new(tls), service_fn(route))
        .await
        .map_err(io::Error::other)
}

/// A TLS client connection to `addr` that trusts only `cert`, as server `name`,
/// offering HTTP/1.1 by ALPN.
///
/// # Errors
///
/// The connect's or the handshake's error (an untrusted certificate among them).
pub async fn connect(
    addr: SocketAddr,
    name: &str,
    cert: CertificateDer<'static>,
) -> io::Result<tokio_rustls::client::TlsStream<Compat<TcpStream>>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).map_err(io::Error::other)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from(name.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stream = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(config))
        .connect(name, Compat::new(stream))
        .await
}
