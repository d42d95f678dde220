//! Where mail goes: an SMTP relay (STARTTLS, TLS or plain per configuration, pooled, with a
//! timeout), or, with no relay configured, `.eml` files in the outbox directory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Outgoing;
use crate::config::{MailSettings, MailTls};

/// Whether a failed delivery may succeed later.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {0}")]
    Transient(String),
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, timeout: Duration },
    Directory(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { .. } => f.write_str("Transport::Smtp"),
            Self::Directory(dir) => write!(f, "Transport::Directory({})", dir.display()),
        }
    }
}

impl Transport {
    pub fn from_settings(settings: &MailSettings, outbox_dir: PathBuf) -> anyhow::Result<Self> {
        if settings.server.is_empty() {
            std::fs::create_dir_all(&outbox_dir).with_context(|| format!("creating {}", outbox_dir.display()))?;
            return Ok(Self::Directory(outbox_dir));
        }
        let timeout = Duration::from_secs(settings.send_timeout_secs);
        let builder = match settings.tls {
            MailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.server)?,
            MailTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.server)?,
            MailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.server),
        };
        let mut builder = builder.port(settings.port).timeout(Some(timeout));
        if !settings.username.is_empty() {
            builder = builder
                .credentials(Credentials::new(settings.username.clone(), settings.password.expose().to_string()));
        }
        Ok(Self::Smtp { transport: builder.build(), timeout })
    }

    /// Delivers one message; a hanging server is cut off by the timeout.
    pub async fn send(&self, mail: &Outgoing, sender: &str) -> Result<(), SendError> {
        let message = build(mail, sender)?;
        match self {
            Self::Smtp { transport, timeout } => {
                match tokio::time::timeout(*timeout + Duration::from_secs(1), transport.send(message)).await {
                    Err(_) => Err(SendError::Transient("the SMTP server did not answer in time".into())),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
                }
            }
            Self::Directory(dir) => {
                let path = dir.join(format!("{}.eml", mail.id));
                let tmp = dir.join(format!(".{}.eml.tmp", mail.id));
                let bytes = message.formatted();
                let write = async {
                    use tokio::io::AsyncWriteExt;
                    // The file holds live links in clear: readable by this user only.
                    let mut options = tokio::fs::OpenOptions::new();
                    options.write(true).create(true).truncate(true);
                    #[cfg(unix)]
                    options.mode(0o600);
                    let mut file = options.open(&tmp).await?;
                    file.write_all(&bytes).await?;
                    file.flush().await?;
                    drop(file);
                    tokio::fs::rename(&tmp, &path).await
                };
                write.await.map_err(|e| SendError::Transient(format!("writing {}: {e}", path.display())))?;
                tracing::info!(path = %path.display(), "mail written to the outbox directory");
                Ok(())
            }
        }
    }
}

fn build(mail: &Outgoing, sender: &str) -> Result<Message, SendError> {
    let from: Mailbox = sender.parse().map_err(|e| SendError::Permanent(format!("sender address: {e}")))?;
    let to: Mailbox = mail.recipient.parse().map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(mail.text.to_string(), mail.html.to_string()))
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

/// Housekeeping for the outbox directory: removes `.eml` files (and interrupted `.tmp`
/// writes) last modified before `cutoff`. The file's mtime is when the message was written,
/// i.e. when its links went out; the caller picks `cutoff` from the application clock.
pub async fn purge_directory(dir: &std::path::Path, cutoff: std::time::SystemTime) -> anyhow::Result<u64> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await.with_context(|| format!("reading {}", dir.display()))? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.ends_with(".eml") || name.ends_with(".eml.tmp")) {
            continue;
        }
        let Ok(meta) = tokio::fs::symlink_metadata(entry.path()).await else { continue };
        if !meta.is_file() || meta.modified().is_ok_and(|m| m >= cutoff) {
            continue;
        }
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", entry.path().display())),
        }
    }
    Ok(removed)
}
