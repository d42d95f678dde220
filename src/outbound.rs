//! Outbound HTTP: one HTTP/1.1 POST per connection over plain TCP or TLS (rustls with
//! the ring provider and the Mozilla roots of `webpki-roots`, the stack lettre already
//! builds, or an endpoint's own CA certificates), the whole exchange bounded by one timeout. It reads the status line and headers
//! only, never the receiver's body, and follows no redirect (a 3xx is a failed attempt).
//! Used by the audit webhooks, whose URL is the operator's configuration, not a client's
//! input, so it may name a host on the private network (the usual place for a SIEM
//! collector). A neutral module: it imports no layer; callers that fetch what a client names
//! must add their own SSRF guard.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::rt::{Read, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};
use url::{Host, Position, Url};

/// The client; cheap to clone.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("webhook::Client")
    }
}

impl Client {
    /// A client trusting the public roots, or only the CA certificates in `ca_pem`.
    pub fn new(ca_pem: Option<&[u8]>) -> anyhow::Result<Self> {
        let roots = match ca_pem {
            None => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
            Some(pem) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    roots.add(cert.context("reading a PEM certificate")?).context("adding a CA certificate")?;
                }
                anyhow::ensure!(!roots.is_empty(), "no CERTIFICATE in the PEM file");
                roots
            }
        };
        let mut config = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("configuring TLS for webhooks")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { tls: TlsConnector::from(Arc::new(config)) })
    }

    /// POSTs `body` with `headers` to `url`; the answer's status, or why there was none.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<u16, String> {
        match tokio::time::timeout(timeout, self.exchange(url, headers, body)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f32())),
        }
    }

    async fn exchange(&self, url: &Url, headers: &[(&'static str, String)], body: Vec<u8>) -> Result<u16, String> {
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.to_string(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("the URL has no host".into()),
        };
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connecting: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let mut request = hyper::Request::post(&url[Position::BeforePath..Position::AfterQuery])
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONNECTION, "close")
            .header(hyper::header::USER_AGENT, concat!("Portcullis-Webhooks/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| format!("building the request: {e}"))?;
        if url.scheme() == "https" {
            let name = ServerName::try_from(host).map_err(|e| format!("TLS server name: {e}"))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| format!("TLS handshake: {e}"))?;
            send(TokioIo::new(tls), request).await
        } else {
            send(TokioIo::new(tcp), request).await
        }
    }
}

async fn send<T>(io: T, request: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    T: Read + Write + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    let connection = tokio::spawn(connection);
    let answer = sender.send_request(request).await.map_err(|e| format!("sending: {e}"));
    // The receiver's body is never read: the status decides, and the connection closes.
    connection.abort();
    Ok(answer?.status().as_u16())
}
