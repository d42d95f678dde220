//! Outgoing mail. Requests never talk to SMTP: the domain renders a typed [`Mail`] and
//! writes it to the outbox table inside the transaction of the change that caused it; the
//! [`worker`] delivers it with retries, over SMTP or into a directory of `.eml` files.
//!
//! Mail at rest: a queued message is sealed (AES-256-GCM under a key derived from
//! `SECRET_KEY` for this purpose alone) together with its id and recipient, and the worker
//! blanks it once delivered or given up, so the outbox never lets a database or backup
//! reader follow a live reset or confirmation link. Jobs (work decided off the request path,
//! see [`worker::Jobs`]) carry a payload sealed under a key of their own.

/// Typed messages and their html + txt templates.
pub mod messages;
/// SMTP or the outbox directory.
pub mod transport;
/// The delivery loop.
pub mod worker;

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use zeroize::Zeroizing;

pub use messages::Mail;

use crate::branding::Branding;
use crate::crypto::SecretBox;
use crate::identity::email::Email;
use crate::secret::Secret;
use crate::store::Store;
use crate::store::mail_jobs::{self, StoredJob};
use crate::store::outbox::{self, StoredMail};

/// A message ready for the transport: opened, checked against its row.
pub struct Outgoing {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text: Zeroizing<String>,
    pub html: Zeroizing<String>,
}

/// What is sealed for one message. The id and recipient are inside, so a sealed body moved
/// to another row (or a row whose recipient was changed) does not open as that row's mail.
#[derive(Serialize, Deserialize)]
struct SealedBody {
    id: String,
    to: String,
    text: String,
    html: String,
}

/// Renders messages into the outbox and wakes the worker.
#[derive(Debug, Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    public_url: Arc<str>,
    bodies: SecretBox,
    jobs: SecretBox,
    /// The operator's mail template overrides (none by default).
    branding: Arc<Branding>,
}

impl Outbox {
    /// Keys: HMAC-derived from `secret_key` for "mail-outbox" and "mail-jobs" (domain-separated
    /// from every other sealed value).
    pub fn new(public_url: &str, secret_key: &Secret) -> anyhow::Result<Self> {
        Ok(Self {
            wake: Arc::new(Notify::new()),
            public_url: public_url.trim_end_matches('/').into(),
            bodies: SecretBox::derive(secret_key, "mail-outbox")?,
            jobs: SecretBox::derive(secret_key, "mail-jobs")?,
            branding: Arc::new(Branding::default()),
        })
    }

    /// Renders mail with the operator's template overrides.
    pub fn with_branding(mut self, branding: Arc<Branding>) -> Self {
        self.branding = branding;
        self
    }

    /// An absolute link to `path` on this server, from the configured issuer (never from a
    /// request's Host header).
    pub fn link(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.public_url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish());
        }
        url
    }

    /// Renders `mail` for `to` in the language of the request being served, seals it and
    /// queues it on `s` (the caller's transaction).
    pub async fn queue(&self, s: &impl Store, to: &Email, mail: Mail, now: i64) -> anyhow::Result<()> {
        self.queue_in(s, to, None, mail, now).await
    }

    /// [`queue`](Self::queue) in the recipient's own language when they chose one (their
    /// profile), else in the language of the request being served.
    pub async fn queue_in(
        &self,
        s: &impl Store,
        to: &Email,
        locale: Option<crate::i18n::Lang>,
        mail: Mail,
        now: i64,
    ) -> anyhow::Result<()> {
        let rendered = mail.render_with(&self.branding.overrides, locale.unwrap_or_else(crate::i18n::current))?;
        let id = uuid::Uuid::now_v7().to_string();
        let body = SealedBody { id: id.clone(), to: to.as_str().to_string(), text: rendered.text, html: rendered.html };
        let plain = Zeroizing::new(serde_json::to_vec(&body).context("encoding a mail body")?);
        let stored = StoredMail {
            id,
            recipient: body.to.clone(),
            subject: rendered.subject,
            sealed: Some(self.bodies.seal(&plain)?),
            legacy_text: String::new(),
            legacy_html: String::new(),
            attempts: 0,
        };
        drop(Zeroizing::new(body.text));
        drop(Zeroizing::new(body.html));
        outbox::enqueue(s, &stored, now).await
    }

    /// The message a claimed row holds. Fails (for good) when the sealed body does not open
    /// with this key or does not belong to the row.
    pub fn open(&self, stored: &StoredMail) -> anyhow::Result<Outgoing> {
        let (text, html) = match &stored.sealed {
            Some(sealed) => {
                let plain = self.bodies.open(sealed).context("opening a sealed mail")?;
                let body: SealedBody = serde_json::from_slice(&plain).context("decoding a sealed mail")?;
                anyhow::ensure!(
                    body.id == stored.id && body.to == stored.recipient,
                    "the sealed mail belongs to another row"
                );
                (Zeroizing::new(body.text), Zeroizing::new(body.html))
            }
            None => (Zeroizing::new(stored.legacy_text.clone()), Zeroizing::new(stored.legacy_html.clone())),
        };
        Ok(Outgoing {
            id: stored.id.clone(),
            recipient: stored.recipient.clone(),
            subject: stored.subject.clone(),
            text,
            html,
        })
    }

    /// Queues a job of `kind` whose `payload` the worker reads back with [`Outbox::open_job`].
    pub async fn queue_job(&self, s: &impl Store, kind: &str, payload: &[u8], now: i64) -> anyhow::Result<()> {
        let id = uuid::Uuid::now_v7().to_string();
        // The id and kind are authenticated with the payload: it opens only as this job.
        let mut plain = Zeroizing::new(Vec::with_capacity(payload.len() + 64));
        plain.extend_from_slice(format!("{id}\n{kind}\n").as_bytes());
        plain.extend_from_slice(payload);
        let job = StoredJob { id, kind: kind.to_string(), sealed: self.jobs.seal(&plain)?, attempts: 0 };
        mail_jobs::enqueue(s, &job, now).await
    }

    /// A claimed job's payload.
    pub fn open_job(&self, job: &StoredJob) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let plain = self.jobs.open(&job.sealed).context("opening a mail job")?;
        let header = format!("{}\n{}\n", job.id, job.kind);
        let payload = plain.strip_prefix(header.as_bytes()).context("the sealed job belongs to another row")?;
        Ok(Zeroizing::new(payload.to_vec()))
    }

    /// Tells the worker new mail is committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> Outbox {
        Outbox::new("https://id.example", &Secret::new("root-key-material-root-key-material")).unwrap()
    }

    fn stored(id: &str, to: &str, sealed: String) -> StoredMail {
        StoredMail {
            id: id.into(),
            recipient: to.into(),
            subject: "Reset your password".into(),
            sealed: Some(sealed),
            legacy_text: String::new(),
            legacy_html: String::new(),
            attempts: 1,
        }
    }

    fn seal(outbox: &Outbox, id: &str, to: &str, text: &str) -> String {
        let body = SealedBody { id: id.into(), to: to.into(), text: text.into(), html: String::new() };
        outbox.bodies.seal(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    #[test]
    fn a_sealed_body_opens_only_for_its_own_row_and_recipient() {
        let outbox = outbox();
        let sealed = seal(&outbox, "m1", "alice@example.com", "https://id.example/reset?token=abc");
        assert!(!sealed.contains("token=abc"));
        let opened = outbox.open(&stored("m1", "alice@example.com", sealed.clone())).unwrap();
        assert_eq!(opened.text.as_str(), "https://id.example/reset?token=abc");
        assert!(outbox.open(&stored("m2", "alice@example.com", sealed.clone())).is_err(), "moved to another row");
        assert!(outbox.open(&stored("m1", "mallory@example.com", sealed.clone())).is_err(), "recipient changed");
        let other_key = Outbox::new("https://id.example", &Secret::new("another-root-key-material-00000")).unwrap();
        assert!(other_key.open(&stored("m1", "alice@example.com", sealed)).is_err(), "another SECRET_KEY");
    }

    #[test]
    fn a_job_payload_opens_only_as_its_own_job() {
        let outbox = outbox();
        let plain = b"m1\npassword_reset\nalice@example.com";
        let job =
            |id: &str, kind: &str, sealed: String| StoredJob { id: id.into(), kind: kind.into(), sealed, attempts: 1 };
        let sealed = outbox.jobs.seal(plain).unwrap();
        assert_eq!(&*outbox.open_job(&job("m1", "password_reset", sealed.clone())).unwrap(), b"alice@example.com");
        assert!(outbox.open_job(&job("m2", "password_reset", sealed.clone())).is_err());
        assert!(outbox.open_job(&job("m1", "other_kind", sealed)).is_err());
        let body_key_sealed = outbox.bodies.seal(plain).unwrap();
        assert!(outbox.open_job(&job("m1", "password_reset", body_key_sealed)).is_err(), "keys are per purpose");
    }
}
