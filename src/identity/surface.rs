//! Which surface a person acted through, as the audit log's `detail.surface` names it: the
//! hosted pages, the JSON API, the OAuth endpoints (RP-initiated logout), or the command line.

/// Where an action came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Pages,
    Api,
    OAuth,
    Cli,
}

impl Surface {
    /// The text an audit event's detail carries (stable once released).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pages => "pages",
            Self::Api => "api",
            Self::OAuth => "oauth",
            Self::Cli => "cli",
        }
    }
}
