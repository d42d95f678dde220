//! The token request (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4), parsed once into one variant per grant.
//!
//! The HTTP edge hands over a lookup of the form's parameters; nothing below it reads a
//! parameter by name again. The order of the checks is the endpoint's contract and is kept
//! here: a missing `grant_type` is `invalid_request`, an unknown one `unsupported_grant_type`
//! (both before the client is authenticated); then `unauthorized_client` when the client may
//! not use the grant; then the grant's own parameters, in the order listed in each variant.

use super::super::client::{Client, GrantType};
use super::super::error::TokenError;
use super::super::pkce::CodeVerifier;
use super::super::scope::Scope;
use crate::secret::Secret;

/// A token request that names a grant this client may use, with that grant's parameters.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: Secret,
        /// Exactly as presented: the code is bound to this very string.
        redirect_uri: String,
        verifier: CodeVerifier,
    },
    Refresh {
        refresh_token: Secret,
        /// The narrowing asked for, if any. Its error (a repeated or malformed `scope`) is
        /// reported only after the token itself was judged: a replay asking for anything is
        /// still a replay and still revokes the grant.
        scope: Result<Option<Scope>, TokenError>,
    },
    ClientCredentials {
        /// The scope asked for; the client's allowed scopes when absent.
        scope: Option<Scope>,
    },
    /// RFC 8628 §3.4.
    DeviceCode { device_code: Secret },
}

impl TokenRequest {
    /// The grant named by `grant_type`: required, and one this server supports.
    pub fn grant_type(grant_type: Option<&str>) -> Result<GrantType, TokenError> {
        let grant_type = grant_type.ok_or(TokenError::InvalidRequest("grant_type is required"))?;
        GrantType::parse(grant_type).ok_or(TokenError::UnsupportedGrantType)
    }

    /// The request of an authenticated `client` for `grant`, its parameters read through
    /// `param` (the single non-empty value of a name; an error when repeated or malformed).
    pub fn parse<'a>(
        client: &Client,
        grant: GrantType,
        param: impl Fn(&str) -> Result<Option<&'a str>, TokenError>,
    ) -> Result<Self, TokenError> {
        let public_may_not = grant == GrantType::ClientCredentials && client.public;
        if public_may_not || !client.allows(grant) {
            return Err(TokenError::UnauthorizedClient);
        }
        let required = |name: &str, missing: &'static str| param(name)?.ok_or(TokenError::InvalidRequest(missing));
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: Secret::new(required("code", "code is required")?),
                redirect_uri: required("redirect_uri", "redirect_uri is required")?.to_string(),
                verifier: CodeVerifier::new(required("code_verifier", "code_verifier is required")?),
            },
            GrantType::RefreshToken => Self::Refresh {
                refresh_token: Secret::new(required("refresh_token", "refresh_token is required")?),
                scope: param("scope").and_then(|asked| asked.map(parse_scope).transpose()),
            },
            GrantType::ClientCredentials => {
                Self::ClientCredentials { scope: param("scope")?.map(parse_scope).transpose()? }
            }
            GrantType::DeviceCode => {
                Self::DeviceCode { device_code: Secret::new(required("device_code", "device_code is required")?) }
            }
        })
    }
}

fn parse_scope(asked: &str) -> Result<Scope, TokenError> {
    Scope::parse(asked).map_err(TokenError::InvalidScope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(public: bool, grant_types: Vec<GrantType>) -> Client {
        Client {
            id: "app".into(),
            name: String::new(),
            secret_hash: None,
            public,
            first_party: false,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types,
            scopes: Scope::from_names(["openid", "api"]),
            audiences: Vec::new(),
            require_mfa: false,
            api_access: false,
            introspect_any: false,
            id_token_alg: None,
            id_token_on_refresh: true,
        }
    }

    /// A form: `Some(None)` marks a parameter given twice.
    fn form<'a>(pairs: &'a [(&'a str, Option<&'a str>)]) -> impl Fn(&str) -> Result<Option<&'a str>, TokenError> {
        move |name| match pairs.iter().find(|(k, _)| *k == name) {
            Some((_, Some(v))) => Ok(Some(*v)),
            Some((_, None)) => Err(TokenError::InvalidRequest("a parameter was repeated or malformed")),
            None => Ok(None),
        }
    }

    fn code(err: Result<TokenRequest, TokenError>) -> (&'static str, &'static str) {
        let e = err.expect_err("the request should be refused");
        (e.code(), e.description())
    }

    #[test]
    fn grant_type_is_required_then_must_be_supported() {
        let e = TokenRequest::grant_type(None).unwrap_err();
        assert_eq!((e.code(), e.description()), ("invalid_request", "grant_type is required"));
        let e = TokenRequest::grant_type(Some("password")).unwrap_err();
        assert_eq!(e.code(), "unsupported_grant_type");
        assert_eq!(TokenRequest::grant_type(Some("refresh_token")).unwrap(), GrantType::RefreshToken);
    }

    #[test]
    fn a_client_not_allowed_the_grant_hears_so_before_any_missing_parameter() {
        let only_code = client(false, vec![GrantType::AuthorizationCode]);
        let empty = form(&[]);
        for (case, c, grant) in [
            ("refresh not registered", &only_code, GrantType::RefreshToken),
            ("client_credentials not registered", &only_code, GrantType::ClientCredentials),
            ("public client", &client(true, vec![GrantType::ClientCredentials]), GrantType::ClientCredentials),
        ] {
            assert_eq!(code(TokenRequest::parse(c, grant, &empty)).0, "unauthorized_client", "{case}");
        }
    }

    #[test]
    fn the_code_grant_asks_for_its_parameters_in_order() {
        let c = client(true, vec![GrantType::AuthorizationCode]);
        let grant = GrantType::AuthorizationCode;
        for (case, pairs, description) in [
            ("nothing", vec![], "code is required"),
            ("code only", vec![("code", Some("c"))], "redirect_uri is required"),
            (
                "no verifier",
                vec![("code", Some("c")), ("redirect_uri", Some("https://a/cb"))],
                "code_verifier is required",
            ),
            ("code twice", vec![("code", None)], "a parameter was repeated or malformed"),
        ] {
            assert_eq!(code(TokenRequest::parse(&c, grant, form(&pairs))), ("invalid_request", description), "{case}");
        }
        let pairs = [("code", Some("c")), ("redirect_uri", Some("https://a/cb")), ("code_verifier", Some("v"))];
        let parsed = TokenRequest::parse(&c, grant, form(&pairs)).unwrap();
        let TokenRequest::AuthorizationCode { code, redirect_uri, verifier } = parsed else { panic!("{parsed:?}") };
        assert_eq!((code.expose(), redirect_uri.as_str(), verifier.expose()), ("c", "https://a/cb", "v"));
    }

    #[test]
    fn a_refresh_carries_its_scope_error_for_after_the_token_is_judged() {
        let c = client(true, vec![GrantType::RefreshToken]);
        let grant = GrantType::RefreshToken;
        assert_eq!(code(TokenRequest::parse(&c, grant, form(&[]))).1, "refresh_token is required");
        for (case, scope, expected) in
            [("malformed", Some("bad\\scope"), "invalid_scope"), ("repeated", None, "invalid_request")]
        {
            let pairs = [("refresh_token", Some("r")), ("scope", scope)];
            let parsed = TokenRequest::parse(&c, grant, form(&pairs)).expect(case);
            let TokenRequest::Refresh { scope: Err(e), .. } = parsed else { panic!("{case}: {parsed:?}") };
            assert_eq!(e.code(), expected, "{case}");
        }
    }

    #[test]
    fn client_credentials_refuses_a_malformed_scope_at_once() {
        let c = client(false, vec![GrantType::ClientCredentials]);
        let pairs = [("scope", Some("bad\\scope"))];
        assert_eq!(code(TokenRequest::parse(&c, GrantType::ClientCredentials, form(&pairs))).0, "invalid_scope");
        let parsed = TokenRequest::parse(&c, GrantType::ClientCredentials, form(&[])).unwrap();
        assert!(matches!(parsed, TokenRequest::ClientCredentials { scope: None }), "{parsed:?}");
    }
}
