//! Property tests of the parsers and verifiers that face untrusted input: form and query
//! bodies, redirect-URI matching, scopes, PKCE and JWT verification. Thousands of generated
//! cases per property in a plain `cargo test`; generators stay cheap so each property runs
//! in well under a second or two in a debug build, and shrinking is bounded in time.

use proptest::test_runner::Config;

/// Form and query-string parsing (`FormData`).
mod form;
/// JWT verification: no mutation of a token we signed verifies.
mod jwt;
/// PKCE S256: only the right verifier, of the right shape, matches.
mod pkce;
/// Redirect URIs: exact match, near misses, the RFC 8252 loopback port rule.
mod redirect;
/// Scope parsing (RFC 6749 §3.3).
mod scope;

/// `cases` generated inputs, and at most 10 s spent shrinking a failure.
fn config(cases: u32) -> Config {
    Config { cases, max_shrink_time: 10_000, ..Config::default() }
}
