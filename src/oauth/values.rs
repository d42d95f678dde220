//! Value types the grants and their storage share (the store imports these, never the grant
//! or token services, which import the store).

/// The id of a grant: one authorization of one client by one user, which every token
/// issued from it names (a UUIDv7 for new grants).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrantId(String);

impl GrantId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// A stored grant id, taken as it is.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authentication method reference (RFC 8176), e.g. `pwd` or `otp`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Amr(String);

impl Amr {
    pub fn new(method: impl Into<String>) -> Self {
        Self(method.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
