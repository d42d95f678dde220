//! The HTTP server loop. Like `axum::serve`, plus a header-read timeout (hyper only enforces
//! one with a timer, which `axum::serve` does not set): a client that trickles its headers
//! (slowloris) is cut off instead of holding a connection forever. The first request head of
//! each connection is read here and checked against the head limits (`http::limits`) before
//! hyper sees it: an oversized one is answered 431 or 414 and the connection closed gently, so
//! the client reads the answer instead of a reset. On shutdown the listener closes and
//! in-flight requests finish.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::config::Settings;
use crate::http::limits::{HeadLimits, HeadScan, Refusal};

/// Longest wait for in-flight requests after a shutdown signal.
const DRAIN_SECS: u64 = 30;
/// After refusing a head, how long and how much of the rest of the request we read and drop
/// before closing, so the client is not reset while it is still sending (a "lingering close").
const LINGER_SECS: u64 = 2;
const LINGER_BYTES: usize = 1024 * 1024;

/// What the server loop enforces itself.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub head: HeadLimits,
    /// `Strict-Transport-Security` for the answers written here (the layers add it to the rest).
    pub hsts: Option<String>,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(settings.http.header_read_timeout_secs.max(1)),
            head: HeadLimits::from_settings(&settings.http),
            hsts: settings.hsts(),
        }
    }
}

pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Later requests on a kept-alive connection: hyper refuses a head that does not fit.
        .max_buf_size(limits.head.max_header_bytes.max(crate::config::MIN_HEADER_BYTES));
    let limits = std::sync::Arc::new(limits);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone().layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let limits = limits.clone();
        tokio::spawn(async move {
            let Some(stream) = first_head(stream, &limits).await else { return };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(DRAIN_SECS), graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still open after {DRAIN_SECS} s");
    }
    Ok(())
}

/// Reads the connection's first request head and checks it. Within the limits, the stream is
/// handed on with the bytes read so far replayed; over a limit, the answer is written here and
/// the connection closed (None). A client that sends no complete head within the header-read
/// timeout is dropped, as hyper would; one that stops early is left to hyper.
async fn first_head(mut stream: TcpStream, limits: &Limits) -> Option<Replay> {
    let mut received = Vec::with_capacity(4096);
    let scanned = tokio::time::timeout(limits.header_read_timeout, async {
        loop {
            received.reserve(4096);
            match stream.read_buf(&mut received).await {
                // The client stopped sending (EOF) before its head was complete.
                Ok(0) => return Ok(None),
                Ok(_) => match limits.head.scan(&received) {
                    HeadScan::Incomplete => continue,
                    done => return Ok(Some(done)),
                },
                Err(err) => return Err(err),
            }
        }
    })
    .await;
    match scanned {
        // A head that ended early (EOF) goes to hyper too: it answers it as it always did.
        Ok(Ok(None | Some(HeadScan::Complete | HeadScan::Incomplete))) => {
            Some(Replay { replay: received, at: 0, stream })
        }
        Ok(Ok(Some(HeadScan::Refuse(refusal)))) => {
            refuse(stream, limits, refusal).await;
            None
        }
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "reading the first request head failed");
            None
        }
        Err(_) => None,
    }
}

/// Writes the 431/414 answer, stops sending, then reads and drops what the client still sends
/// (bounded in time and bytes) so the close does not reset the connection before it reads it.
async fn refuse(mut stream: TcpStream, limits: &Limits, refusal: Refusal) {
    let peer = stream.peer_addr().ok();
    tracing::info!(?refusal, ?peer, "request head over its limit refused");
    let answer = limits.head.raw_response(refusal, limits.hsts.as_deref());
    if stream.write_all(&answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = vec![0u8; 16 * 1024];
        let mut total = 0;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(LINGER_SECS), drain).await;
}

/// A TCP stream that first gives back the bytes already read from it.
struct Replay {
    replay: Vec<u8>,
    at: usize,
    stream: TcpStream,
}

impl AsyncRead for Replay {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.replay.len() {
            let n = (this.replay.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.replay[this.at..this.at + n]);
            this.at += n;
            if this.at == this.replay.len() {
                this.replay = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
