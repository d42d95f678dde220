//! The JWT verifier (`KeyRing::verify`, as the access-token and ID-token checks use it): a
//! token signed by our real key ring verifies, and no mutation of it does, whether a
//! character of the header, payload or signature is replaced, inserted or removed, a bit
//! of a decoded segment is flipped and re-encoded, a segment is swapped for another
//! token's, or the header is rewritten to another algorithm. Keys of all three algorithms
//! live in a real (SQLite) database, as in production; the clock is frozen so the key
//! cache never reloads mid-run.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwt::JwtPayload;
use proptest::prelude::*;

use super::config;
use crate::clock::ManualClock;
use crate::crypto::SecretBox;
use crate::oauth::keys::{Alg, KeyRing};
use crate::secret::Secret;
use crate::store::Db;

const TYP: &str = "at+jwt";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    ring: KeyRing,
    /// Two tokens per algorithm (different payloads), in `Alg::ALL` order.
    tokens: Vec<[String; 2]>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn verifies(&self, token: &str) -> bool {
        self.runtime.block_on(self.ring.verify(token, TYP)).is_ok()
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display());
        let settings = crate::config::Settings::defaults().unwrap().database;
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let seal = SecretBox::derive(&Secret::new("proptest-secret-key-proptest-secret-key"), "signing-keys").unwrap();
        let (ring, tokens) = runtime.block_on(async {
            let db = Db::connect(&url, &settings).await.unwrap();
            db.migrate().await.unwrap();
            let ring = KeyRing::new(db, clock, seal, 3600);
            ring.ensure_keys().await.unwrap();
            let mut tokens = Vec::new();
            for alg in Alg::ALL {
                let mut pair = Vec::new();
                for sub in ["alice", "mallory"] {
                    let mut payload = JwtPayload::new();
                    payload.set_subject(sub);
                    payload.set_issuer("https://issuer.example");
                    payload.set_jwt_id(format!("{sub}-{}", alg.name()));
                    payload.set_claim("scope", Some("openid profile".into())).unwrap();
                    pair.push(ring.sign(alg, TYP, &payload).await.unwrap());
                }
                tokens.push([pair[0].clone(), pair[1].clone()]);
            }
            (ring, tokens)
        });
        let fixture = Fixture { runtime, ring, tokens, _dir: dir };
        for pair in &fixture.tokens {
            assert!(pair.iter().all(|t| fixture.verifies(t)), "the untouched tokens verify");
        }
        fixture
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// A character of segment `.0` replaced by a different base64url character.
    Replace(usize, prop::sample::Index, prop::sample::Index),
    /// Any byte inserted into the token.
    Insert(prop::sample::Index, u8),
    /// A character removed.
    Remove(prop::sample::Index),
    /// One bit of decoded segment `.0` flipped, then re-encoded.
    FlipBit(usize, prop::sample::Index, u8),
    /// Segment `.0` taken from the other token of the same key.
    Swap(usize),
    /// The header rewritten to claim another algorithm.
    Alg(&'static str),
    /// Cut short at a point.
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0usize..3, any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(s, i, c)| Mutation::Replace(s, i, c)),
        1 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Remove),
        4 => (0usize..3, any::<prop::sample::Index>(), 0u8..8).prop_map(|(s, i, b)| Mutation::FlipBit(s, i, b)),
        1 => (0usize..3).prop_map(Mutation::Swap),
        1 => prop::sample::select(vec!["none", "HS256", "RS256", "ES256", "EdDSA", "PS256", "ES384"]).prop_map(Mutation::Alg),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(token: &str, other: &str, m: &Mutation) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let join = |parts: &[String]| parts.join(".");
    match m {
        Mutation::Replace(s, i, c) => {
            let seg = parts[*s].as_bytes().to_vec();
            if seg.is_empty() {
                return format!("{token}A");
            }
            let at = i.index(seg.len());
            let alternatives: Vec<u8> = B64URL.iter().copied().filter(|b| *b != seg[at]).collect();
            let mut seg = seg;
            seg[at] = alternatives[c.index(alternatives.len())];
            parts[*s] = String::from_utf8(seg).unwrap();
            join(&parts)
        }
        Mutation::Insert(i, b) => {
            let mut bytes = token.as_bytes().to_vec();
            bytes.insert(i.index(bytes.len() + 1), *b);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::Remove(i) => {
            let mut bytes = token.as_bytes().to_vec();
            bytes.remove(i.index(bytes.len()));
            String::from_utf8(bytes).unwrap()
        }
        Mutation::FlipBit(s, i, bit) => {
            let mut raw = URL_SAFE_NO_PAD.decode(&parts[*s]).unwrap();
            let at = i.index(raw.len());
            raw[at] ^= 1 << bit;
            parts[*s] = URL_SAFE_NO_PAD.encode(raw);
            join(&parts)
        }
        Mutation::Swap(s) => {
            parts[*s] = other.split('.').nth(*s).unwrap().to_string();
            join(&parts)
        }
        Mutation::Alg(alg) => {
            let mut header: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
            header["alg"] = (*alg).into();
            parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
            join(&parts)
        }
        Mutation::Truncate(i) => token[..i.index(token.len())].to_string(),
    }
}

proptest! {
    // Each case is one verification (≈ 50–300 µs with OpenSSL even in a debug build).
    #![proptest_config(config(3000))]

    #[test]
    fn no_mutation_of_a_signed_token_verifies(alg in 0usize..3, which in 0usize..2, m in mutation()) {
        let f = fixture();
        let (token, other) = (&f.tokens[alg][which], &f.tokens[alg][1 - which]);
        let forged = mutate(token, other, &m);
        prop_assume!(forged != *token);
        prop_assert!(!f.verifies(&forged), "{:?} of an {} token verified: {}", m, Alg::ALL[alg].name(), forged);
    }

    #[test]
    fn a_segment_of_another_keys_token_never_verifies(a in 0usize..3, step in 1usize..3, seg in 0usize..3) {
        let (f, b) = (fixture(), (a + step) % 3);
        let mut parts: Vec<&str> = f.tokens[a][0].split('.').collect();
        let donor: Vec<&str> = f.tokens[b][0].split('.').collect();
        parts[seg] = donor[seg];
        prop_assert!(!f.verifies(&parts.join(".")));
    }
}
