//! A browser session's id as the domain sees it: the value whose hash keys a `sessions` row.
//! The HTTP edge converts its session library's id into this type; nothing here knows that
//! library.

use std::fmt;

use crate::secret::{Secret, token_hash};

/// The id of one browser session. A bearer credential: it redacts itself and is stored only
/// as a hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(Secret);

impl SessionId {
    /// Wraps the id's text form (what the session cookie carries).
    pub fn new(id: impl Into<String>) -> Self {
        Self(Secret::new(id))
    }

    /// SHA-256 of the id: the key of its `sessions` row, so a copy of the table opens no
    /// sessions.
    pub fn hash(&self) -> String {
        token_hash(self.0.expose())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_keyed_by_its_hash_and_never_printed() {
        let id = SessionId::new("abc");
        assert_eq!(id.hash(), token_hash("abc"));
        assert!(!format!("{id:?}").contains("abc"));
    }
}
