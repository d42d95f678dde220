//! A webhook receiver as docs/audit-webhooks.md describes one, on a real local port: it
//! recomputes HMAC-SHA256 over `"<timestamp>.<raw body>"` with its own code (not the
//! server's), compares in constant time, refuses timestamps more than 5 minutes from its
//! wall clock, and acknowledges an event id it has already accepted without processing it
//! again (counted as a repeat). It answers whatever status the test sets (200 by default).
//! [`Receiver::start_tls`] serves https with a certificate from a CA made for the test.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::HOOK_SECRET;

/// One request the receiver got (whatever it answered).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub timestamp: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    deliveries: Mutex<Vec<Delivery>>,
    /// Event ids answered with 2xx.
    accepted: Mutex<HashSet<String>>,
    rejected: AtomicUsize,
    repeats: AtomicUsize,
    answer: AtomicU16,
}

pub struct Receiver {
    scheme: &'static str,
    port: u16,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// HMAC-SHA256 (RFC 2104) written out, independent of the server's implementation.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, String> {
    headers.get(name).and_then(|v| v.to_str().ok()).ok_or_else(|| format!("no {name} header"))
}

/// The documented check.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let timestamp = header(headers, "portcullis-timestamp")?;
    let signature = header(headers, "portcullis-signature")?;
    let sent: i64 = timestamp.parse().map_err(|_| "timestamp not a number".to_string())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - sent).abs() > 300 {
        return Err(format!("timestamp {sent} outside the replay window (now {now})"));
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let expected: String = hmac_sha256(HOOK_SECRET.as_bytes(), &signed).iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("v1={expected}");
    if !bool::from(signature.as_bytes().ct_eq(expected.as_bytes())) {
        return Err("signature mismatch".into());
    }
    Ok(())
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Err(reason) = verify(&headers, &body) {
        eprintln!("receiver rejected a delivery: {reason}");
        inner.rejected.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    let event_id = header(&headers, "portcullis-event-id").unwrap_or_default().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if body["id"] != event_id.as_str() {
        inner.rejected.fetch_add(1, Ordering::SeqCst);
        return StatusCode::BAD_REQUEST;
    }
    let content_type = header(&headers, "content-type").unwrap_or_default().to_string();
    let timestamp = header(&headers, "portcullis-timestamp").unwrap_or_default().to_string();
    let status = StatusCode::from_u16(inner.answer.load(Ordering::SeqCst)).unwrap();
    if status.is_success() && !inner.accepted.lock().unwrap().insert(event_id.clone()) {
        inner.repeats.fetch_add(1, Ordering::SeqCst);
    }
    inner.deliveries.lock().unwrap().push(Delivery { event_id, timestamp, content_type, body });
    status
}

impl Receiver {
    pub async fn start() -> Self {
        Self::serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    /// On a given port (one that was down until now).
    pub async fn start_on(port: u16) -> Self {
        Self::serve(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free again")).await
    }

    fn app() -> (Arc<Inner>, Router) {
        let inner = Arc::new(Inner { answer: AtomicU16::new(200), ..Inner::default() });
        (inner.clone(), Router::new().route("/hook", post(receive)).with_state(inner))
    }

    async fn serve(listener: tokio::net::TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let (inner, app) = Self::app();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { scheme: "http", port, inner, shutdown: Some(shutdown) }
    }

    /// An https receiver for 127.0.0.1, and the PEM of the CA that signed its certificate.
    pub async fn start_tls() -> (Self, String) {
        use hyper_util::rt::TokioIo;
        use hyper_util::service::TowerToHyperService;
        use tokio_rustls::rustls::ServerConfig;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

        let (ca_pem, cert, key) = pki::server_certificate();
        let config =
            ServerConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![CertificateDer::from(cert)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (inner, app) = Self::app();
        let (shutdown, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = tokio::select! {
                    accepted = listener.accept() => accepted.unwrap(),
                    _ = &mut stopped => return,
                };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let service = TowerToHyperService::new(app);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                });
            }
        });
        (Self { scheme: "https", port, inner, shutdown: Some(shutdown) }, ca_pem)
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}/hook", self.scheme, self.port)
    }

    /// The status the next deliveries get.
    pub fn answer(&self, status: u16) {
        self.inner.answer.store(status, Ordering::SeqCst);
    }

    /// Requests that passed the checks (whatever they were answered).
    pub fn count(&self) -> usize {
        self.inner.deliveries.lock().unwrap().len()
    }

    pub fn rejected(&self) -> usize {
        self.inner.rejected.load(Ordering::SeqCst)
    }

    /// Accepted event ids that came again.
    pub fn repeats(&self) -> usize {
        self.inner.repeats.load(Ordering::SeqCst)
    }

    /// The requests so far, once there are at least `n` (waiting up to 15 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..750 {
            let got = self.inner.deliveries.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the receiver got {} deliveries, expected {n}", self.count());
    }
}

/// A throw-away CA and a server certificate for `127.0.0.1` it signed (openssl).
mod pki {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
    use openssl::x509::{X509, X509Builder, X509Name};

    fn key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    fn name(cn: &str) -> X509Name {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        name.build()
    }

    fn builder(serial: u32, subject: &str, key: &PKey<Private>) -> X509Builder {
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap()).unwrap();
        b.set_subject_name(&name(subject)).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        b
    }

    /// (CA certificate PEM, server certificate DER, server key PKCS#8 DER).
    pub fn server_certificate() -> (String, Vec<u8>, Vec<u8>) {
        let ca_key = key();
        let mut ca = builder(1, "Portcullis test CA", &ca_key);
        ca.set_issuer_name(&name("Portcullis test CA")).unwrap();
        ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
        ca.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap()).unwrap();
        ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let ca = ca.build();

        let server_key = key();
        let mut server = builder(2, "127.0.0.1", &server_key);
        server.set_issuer_name(ca.subject_name()).unwrap();
        server.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
        server.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap()).unwrap();
        let san = SubjectAlternativeName::new().ip("127.0.0.1").build(&server.x509v3_context(Some(&ca), None)).unwrap();
        server.append_extension(san).unwrap();
        server.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let server = server.build();
        (
            String::from_utf8(ca.to_pem().unwrap()).unwrap(),
            server.to_der().unwrap(),
            server_key.private_key_to_pkcs8().unwrap(),
        )
    }
}
