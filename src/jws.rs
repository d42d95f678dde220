//! The JWS algorithms we sign with (RFC 7518 §3.1 names), a neutral type shared by the
//! settings (`tokens.id_token_alg`, `tokens.access_token_alg`) and the key ring, so that
//! neither has to import the other's layer.

use serde::{Deserialize, Deserializer};

/// The JWS algorithms we sign with; anything else is refused when verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A setting names the algorithm exactly as the JWS header does; an unknown name is refused
/// with the accepted ones (the settings loader adds which setting it was).
impl<'de> Deserialize<'de> for Alg {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Alg::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not one of RS256, ES256, EdDSA")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_parses_from_its_own_name_and_nothing_else_does() {
        for alg in Alg::ALL {
            assert_eq!(Alg::parse(alg.name()), Some(alg), "{alg:?}");
        }
        for bad in ["none", "HS256", "rs256", "PS256", ""] {
            assert_eq!(Alg::parse(bad), None, "{bad:?}");
        }
    }
}
