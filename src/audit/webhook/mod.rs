//! Audit webhooks: every event is POSTed as JSON to the configured endpoints, signed
//! ([`signature`]), from a durable queue. `store::audit::append` writes one delivery row per
//! endpoint whose type filter matches, in the event's own transaction (the [`Fanout`] the
//! store's `Db` carries), and the [`worker::Worker`] delivers them: leased so nodes sharing the
//! database never send one twice at once, retried with backoff, at least once across restarts.
//! Nothing here knows axum or SQL; the HTTP client is [`client`].

/// The `Portcullis-Signature` scheme: HMAC-SHA256 over `"<timestamp>.<body>"`, and its check.
pub mod signature;
/// The delivery loop.
pub mod worker;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;
use url::Url;

use super::EventKind;
use crate::config::WebhookSettings;
use crate::outbound::Client;
use crate::secret::Secret;

/// An endpoint's stable id: the first 128 bits of SHA-256 over its URL, in hex. The queue
/// keeps it, so a restart (or another node) with the same URL continues the same deliveries;
/// changing the secret keeps the id, changing the URL makes a new endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointId(String);

impl EndpointId {
    pub fn of(url: &Url) -> Self {
        let hash = crate::secret::token_hash(url.as_str());
        Self(hash[..32].to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EndpointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which event types an endpoint receives: exact names (`sign_in.failed`) or families
/// (`sign_in.*`); empty means every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter(Vec<Pattern>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(EventKind),
    /// The text before `*`, dot included (`sign_in.`).
    Family(String),
}

impl TypeFilter {
    /// Parses the configured names; each must name a kind or a family with at least one kind.
    pub fn parse(types: &[String]) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for name in types {
            let pattern = match name.strip_suffix('*') {
                Some(prefix) if prefix.ends_with('.') => {
                    if !EventKind::ALL.iter().any(|k| k.as_str().starts_with(prefix)) {
                        return Err(format!("{name:?} matches no event type"));
                    }
                    Pattern::Family(prefix.to_string())
                }
                _ => Pattern::Exact(EventKind::parse(name).ok_or_else(|| format!("{name:?} is not an event type"))?),
            };
            patterns.push(pattern);
        }
        Ok(Self(patterns))
    }

    pub fn matches(&self, kind: &str) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|p| match p {
                Pattern::Exact(k) => k.as_str() == kind,
                Pattern::Family(prefix) => kind.starts_with(prefix.as_str()),
            })
    }
}

/// A configured receiver.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: EndpointId,
    pub url: Url,
    pub secret: Secret,
    pub filter: TypeFilter,
    /// Trusting the public roots, or the endpoint's `ca_file`.
    pub client: Client,
}

impl Endpoint {
    /// The endpoints of `[[audit.webhooks]]` (URLs and secrets were checked when the settings
    /// loaded; type names and CA files are read here, the error naming the setting).
    pub fn from_settings(hooks: &[WebhookSettings]) -> anyhow::Result<Vec<Self>> {
        hooks
            .iter()
            .enumerate()
            .map(|(i, hook)| {
                let url = Url::parse(&hook.url).with_context(|| format!("`audit.webhooks[{i}].url`"))?;
                let filter = TypeFilter::parse(&hook.types)
                    .map_err(|e| anyhow::anyhow!("invalid configuration: `audit.webhooks[{i}].types`: {e}"))?;
                let ca = match &hook.ca_file {
                    Some(path) => Some(std::fs::read(path).with_context(|| {
                        format!("invalid configuration: `audit.webhooks[{i}].ca_file`: reading {}", path.display())
                    })?),
                    None => None,
                };
                let client = Client::new(ca.as_deref())
                    .with_context(|| format!("invalid configuration: `audit.webhooks[{i}].ca_file`"))?;
                Ok(Self { id: EndpointId::of(&url), url, secret: hook.secret.clone(), filter, client })
            })
            .collect()
    }
}

/// What the store needs to queue deliveries as events are appended: each endpoint's id and
/// filter (no URL, no secret), and the worker's wake-up, rung once a transaction with queued
/// deliveries commits.
#[derive(Debug)]
pub struct Fanout {
    pub subscriptions: Vec<(EndpointId, TypeFilter)>,
    pub wake: Arc<Notify>,
}

impl Fanout {
    /// `None` when no endpoint is configured: then appending an event writes nothing more.
    pub fn new(endpoints: &[Endpoint]) -> Option<Arc<Self>> {
        (!endpoints.is_empty()).then(|| {
            Arc::new(Self {
                subscriptions: endpoints.iter().map(|e| (e.id.clone(), e.filter.clone())).collect(),
                wake: Arc::new(Notify::new()),
            })
        })
    }

    /// The endpoints an event of `kind` goes to.
    pub fn targets(&self, kind: &str) -> Vec<&EndpointId> {
        self.subscriptions.iter().filter(|(_, filter)| filter.matches(kind)).map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(types: &[&str]) -> Vec<String> {
        types.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_filter_takes_exact_types_and_families_and_empty_means_everything() {
        let all = TypeFilter::parse(&[]).unwrap();
        assert!(all.matches("sign_in.failed") && all.matches("user.deleted"));
        let some = TypeFilter::parse(&names(&["sign_in.*", "user.deleted"])).unwrap();
        for (kind, expected) in [
            ("sign_in.failed", true),
            ("sign_in.succeeded", true),
            ("user.deleted", true),
            ("user.created", false),
            ("sign_out", false),
        ] {
            assert_eq!(some.matches(kind), expected, "{kind}");
        }
    }

    #[test]
    fn unknown_types_are_refused_by_name() {
        for (bad, expected) in
            [("sign_in.maybe", "is not an event type"), ("nothing.*", "matches no event type"), ("sign*", "is not")]
        {
            let err = TypeFilter::parse(&names(&[bad])).unwrap_err();
            assert!(err.contains(bad) && err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn an_endpoint_id_is_stable_for_its_url_and_differs_between_urls() {
        let a = Url::parse("https://siem.example/in").unwrap();
        let b = Url::parse("https://siem.example/in2").unwrap();
        assert_eq!(EndpointId::of(&a), EndpointId::of(&a.clone()));
        assert_ne!(EndpointId::of(&a), EndpointId::of(&b));
        assert_eq!(EndpointId::of(&a).as_str().len(), 32);
    }
}
