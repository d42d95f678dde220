//! Outgoing mail. Requests never talk to SMTP: the domain renders a typed [`Mail`] and
//! writes it to the outbox table inside the transaction of the change that caused it; the
//! [`worker`] delivers it with retries, over SMTP or into a directory of `.eml` files.

/// Typed messages and their html + txt templates.
pub mod messages;
/// SMTP or the outbox directory.
pub mod transport;
/// The delivery loop.
pub mod worker;

use std::sync::Arc;

use tokio::sync::Notify;

pub use messages::Mail;

use crate::identity::email::Email;
use crate::store::Store;
use crate::store::outbox::{self, StoredMail};

/// Renders messages into the outbox and wakes the worker.
#[derive(Debug, Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    public_url: Arc<str>,
}

impl Outbox {
    pub fn new(public_url: &str) -> Self {
        Self { wake: Arc::new(Notify::new()), public_url: public_url.trim_end_matches('/').into() }
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

    /// Renders `mail` for `to` and queues it on `s` (the caller's transaction).
    pub async fn queue(&self, s: &impl Store, to: &Email, mail: Mail, now: i64) -> anyhow::Result<()> {
        let rendered = mail.render()?;
        let stored = StoredMail {
            id: uuid::Uuid::now_v7().to_string(),
            recipient: to.as_str().to_string(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            attempts: 0,
        };
        outbox::enqueue(s, &stored, now).await
    }

    /// Tells the worker new mail is committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}
