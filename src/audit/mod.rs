//! The audit log's domain: what a security event is ([`Event`]), who caused it ([`Actor`]),
//! and how the log is read ([`Filter`], [`Recorded`]). Events are written by the code that
//! makes the change, through `store::audit::append` on the same transaction, so an event
//! exists exactly when its change was committed. Nothing here knows HTTP or SQL.
//!
//! ```ignore
//! let tx = db.begin().await?;
//! store::users::set_password_hash(&tx, id, &hash, now).await?;
//! store::audit::append(&tx, clock.now_ms(), &Event::new(EventKind::PasswordChanged).actor(Actor::User(id)).user(id)).await?;
//! tx.commit().await?;
//! ```

/// Where the current request came from (IP, user agent, request id).
pub mod context;
/// The event kinds and their stable text names.
pub mod kind;
/// Reading the log: pages with a cursor, the tail, follow.
pub mod read;
/// Optional webhooks: signed POSTs of every event from a durable queue.
pub mod webhook;

use serde::Serialize;
use serde_json::{Map, Value};

pub use self::context::RequestMeta;
pub use self::kind::EventKind;
use crate::identity::user::UserId;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Nobody signed in (a failed sign-in, a reset request).
    Anonymous,
    /// A person acting on their own account.
    User(UserId),
    /// An administrator acting through the console or the admin API.
    Admin(UserId),
    /// An OAuth client acting for itself (client credentials, revocation).
    Client(String),
    /// The operator through the command line.
    Cli,
    /// A configuration file, applied by `portcullis apply` or `serve --apply`.
    Config,
    /// The server itself (housekeeping, scheduled rotation, reuse detection).
    System,
}

impl Actor {
    /// The stored text form (`user:<id>`, `admin:<id>`, `client:<id>`, `cli`, `system`), or
    /// `None` for anonymous.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Self::Anonymous => None,
            Self::User(id) => Some(format!("user:{id}")),
            Self::Admin(id) => Some(format!("admin:{id}")),
            Self::Client(id) => Some(format!("client:{id}")),
            Self::Cli => Some("cli".into()),
            Self::Config => Some("config".into()),
            Self::System => Some("system".into()),
        }
    }
}

/// One event to record. Build it where the change is made; the request it happened in is
/// picked up from [`context::current`].
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub actor: Actor,
    pub user: Option<UserId>,
    pub client: Option<String>,
    pub detail: Map<String, Value>,
    pub request: RequestMeta,
}

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            actor: Actor::Anonymous,
            user: None,
            client: None,
            detail: Map::new(),
            request: context::current(),
        }
    }

    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// The account the event is about.
    pub fn user(mut self, user: UserId) -> Self {
        self.user = Some(user);
        self
    }

    pub fn client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// One field of the small JSON detail. Never a password, token, code or secret.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
}

/// An event as stored and read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    /// UUID v7: sorts by time; the pagination cursor.
    pub id: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: Value,
}

/// Which events to read, newest first. `before` is the cursor: the id of the last event of
/// the previous page.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user: Option<String>,
    pub kinds: Vec<EventKind>,
    pub client: Option<String>,
    /// Inclusive lower bound, Unix milliseconds.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound, Unix milliseconds.
    pub until_ms: Option<i64>,
    pub before: Option<String>,
    pub limit: u32,
}

/// The most events one page returns.
pub const MAX_PAGE: u32 = 500;
