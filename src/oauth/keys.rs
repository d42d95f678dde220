//! Signing keys: generated at first start, stored sealed in the database (so every node
//! and restart shares them), cached in memory, rotated with a delay so a new key is in the
//! JWKS before anything is signed with it, and kept there until every token it signed is
//! past its expiry. When keys rotate (on a schedule or by hand) is in `key_rotation`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, JwsVerifier, RS256};
use josekit::jwt::{self, JwtPayload};

use crate::clock::SharedClock;
use crate::crypto::SecretBox;
use crate::secret::random_bytes;
use crate::store::Db;
use crate::store::keys::{self, StoredKey};

pub use crate::jws::Alg;

/// What signing needs of an algorithm: josekit's key generation, signer and verifier.
impl Alg {
    fn generate(self) -> anyhow::Result<(Vec<u8>, Jwk)> {
        let pair: Box<dyn KeyPair> = match self {
            Alg::RS256 => Box::new(RS256.generate_key_pair(2048)?),
            Alg::ES256 => Box::new(ES256.generate_key_pair()?),
            Alg::EdDSA => Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519)?),
        };
        Ok((pair.to_der_private_key(), pair.to_jwk_public_key()))
    }

    fn signer(self, der: &[u8]) -> anyhow::Result<Box<dyn JwsSigner>> {
        Ok(match self {
            Alg::RS256 => Box::new(RS256.signer_from_der(der)?),
            Alg::ES256 => Box::new(ES256.signer_from_der(der)?),
            Alg::EdDSA => Box::new(EdDSA.signer_from_der(der)?),
        })
    }

    fn verifier(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
        Ok(match self {
            Alg::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
            Alg::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            Alg::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        })
    }
}

struct LoadedKey {
    kid: String,
    alg: Alg,
    activates_at: i64,
    retires_at: Option<i64>,
    expires_at: Option<i64>,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
}

impl LoadedKey {
    /// Active: past its activation, before its retirement and removal.
    fn signs_at(&self, now: i64) -> bool {
        self.activates_at <= now && self.retires_at.is_none_or(|r| r > now) && !self.removed_at(now)
    }

    /// Past its removal: a cached set may still hold it for a moment; it verifies nothing.
    fn removed_at(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// The key of `alg` that signs at `now`: the newest active one.
fn signing_key(keys: &[LoadedKey], alg: Alg, now: i64) -> Option<&LoadedKey> {
    keys.iter().filter(|k| k.alg == alg && k.signs_at(now)).max_by_key(|k| k.activates_at)
}

struct KeySet {
    keys: Vec<LoadedKey>,
    by_kid: HashMap<String, usize>,
    /// The JWKS document, serialized once per load.
    jwks: bytes::Bytes,
    loaded_at: i64,
    /// Read again from here on: the cache time, or earlier when a key leaves the JWKS.
    stale_at: i64,
}

/// Why a token failed verification (logged, never shown in detail).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("header refused: {0}")]
    Header(&'static str),
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct KeyRing {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
    seal: SecretBox,
    cache_secs: i64,
    cache: RwLock<Option<Arc<KeySet>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing")
    }
}

/// The `kid` of a compact JWS, read without trusting anything else in it.
fn kid_of(token: &str) -> Option<String> {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(str::to_string)
}

fn new_kid() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<12>())
}

impl KeyRing {
    pub fn new(db: Db, clock: SharedClock, seal: SecretBox, cache_secs: i64) -> Self {
        Self { db, clock, seal, cache_secs: cache_secs.max(1), cache: RwLock::new(None) }
    }

    /// Startup: makes sure every algorithm has a key that signs now.
    pub async fn ensure_keys(&self) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let stored = keys::all(&self.db).await?;
        for alg in Alg::ALL {
            if !stored.iter().any(|k| {
                k.alg == alg.name()
                    && k.activates_at <= now
                    && k.retires_at.is_none_or(|r| r > now)
                    && k.expires_at.is_none_or(|e| e > now)
            }) {
                let key = self.new_key(alg, now).await?;
                keys::insert(&self.db, &key).await?;
                tracing::info!(alg = alg.name(), "generated a signing key");
            }
        }
        self.reload().await?;
        Ok(())
    }

    /// A fresh key of `alg` that signs from `activates_at`, sealed, not stored yet.
    pub(super) async fn new_key(&self, alg: Alg, activates_at: i64) -> anyhow::Result<StoredKey> {
        let (der, mut jwk) = tokio::task::spawn_blocking(move || alg.generate()).await.context("key generation")??;
        let kid = new_kid();
        jwk.set_key_id(&kid);
        jwk.set_algorithm(alg.name());
        jwk.set_key_use("sig");
        Ok(StoredKey {
            kid,
            alg: alg.name().to_string(),
            private_key: self.seal.seal(&der)?,
            public_jwk: jwk.to_string(),
            created_at: self.clock.unix(),
            activates_at,
            retires_at: None,
            expires_at: None,
        })
    }

    /// Reads the keys again (after this node rotated them).
    pub(super) async fn refresh(&self) -> anyhow::Result<()> {
        self.reload().await.map(drop)
    }

    async fn reload(&self) -> anyhow::Result<Arc<KeySet>> {
        let now = self.clock.unix();
        let stored = keys::all(&self.db).await?;
        let mut loaded = Vec::new();
        let mut jwks = Vec::new();
        for k in stored.iter().filter(|k| k.expires_at.is_none_or(|e| e > now)) {
            let Some(alg) = Alg::parse(&k.alg) else { continue };
            let der = self.seal.open(&k.private_key).with_context(|| format!("opening signing key {}", k.kid))?;
            let jwk = Jwk::from_bytes(k.public_jwk.as_bytes()).with_context(|| format!("public key {}", k.kid))?;
            loaded.push(LoadedKey {
                kid: k.kid.clone(),
                alg,
                activates_at: k.activates_at,
                retires_at: k.retires_at,
                expires_at: k.expires_at,
                signer: alg.signer(&der)?,
                verifier: alg.verifier(&jwk)?,
            });
            jwks.push(serde_json::Value::Object(jwk.as_ref().clone()));
        }
        let by_kid = loaded.iter().enumerate().map(|(i, k)| (k.kid.clone(), i)).collect();
        let jwks = bytes::Bytes::from(serde_json::json!({ "keys": jwks }).to_string());
        let removal = loaded.iter().filter_map(|k| k.expires_at).min();
        let stale_at = removal.map_or(now + self.cache_secs, |r| r.min(now + self.cache_secs));
        let set = Arc::new(KeySet { keys: loaded, by_kid, jwks, loaded_at: now, stale_at });
        if let Ok(mut cache) = self.cache.write() {
            *cache = Some(set.clone());
        }
        Ok(set)
    }

    async fn current(&self) -> anyhow::Result<Arc<KeySet>> {
        let now = self.clock.unix();
        let cached = self.cache.read().ok().and_then(|c| c.clone());
        match cached {
            Some(set) if now < set.stale_at && now >= set.loaded_at => Ok(set),
            _ => self.reload().await,
        }
    }

    /// The JWKS document (public keys only).
    pub async fn jwks(&self) -> anyhow::Result<bytes::Bytes> {
        Ok(self.current().await?.jwks.clone())
    }

    /// Signs `payload` with the newest active key of `alg`, with `typ` in the header.
    pub async fn sign(&self, alg: Alg, typ: &str, payload: &JwtPayload) -> anyhow::Result<String> {
        let set = self.current().await?;
        let now = self.clock.unix();
        let key = signing_key(&set.keys, alg, now).with_context(|| format!("no active {} key", alg.name()))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        jwt::encode_with_signer(payload, &header, &*key.signer).context("signing a token")
    }

    /// Verifies a compact JWS we issued: `alg` from our allow-list and equal to the key's own,
    /// a known `kid`, no embedded or remote keys, and the expected `typ` (case-insensitive,
    /// with or without `application/`). Claims are the caller's to check.
    pub async fn verify(&self, token: &str, expected_typ: &str) -> Result<JwtPayload, VerifyError> {
        if token.split('.').count() != 3 || token.len() > 16 * 1024 {
            return Err(VerifyError::Malformed);
        }
        let mut set = self.current().await?;
        let now = self.clock.unix();
        // A kid we do not know may be a key another node just published: look once more,
        // at most every few seconds.
        if let Some(kid) = kid_of(token)
            && !set.by_kid.contains_key(&kid)
            && now - set.loaded_at >= 5
        {
            set = self.reload().await?;
        }
        let refusal: std::sync::Mutex<Option<VerifyError>> = std::sync::Mutex::new(None);
        let refuse = |e: VerifyError| {
            if let Ok(mut slot) = refusal.lock() {
                *slot = Some(e);
            }
        };
        let result = jwt::decode_with_verifier_selector(token, |header| {
            let typ = header.token_type().unwrap_or_default().to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ).to_string();
            let checks: [(bool, &'static str); 4] = [
                (header.claim("jwk").is_none() && header.claim("jku").is_none(), "embedded or remote key"),
                (header.claim("x5u").is_none() && header.claim("x5c").is_none(), "certificate header"),
                (header.claim("crit").is_none(), "critical header"),
                (typ == expected_typ, "unexpected typ"),
            ];
            if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
                refuse(VerifyError::Header(why));
                return Ok(None);
            }
            let Some(alg) = header.algorithm().and_then(Alg::parse) else {
                refuse(VerifyError::Header("algorithm not allowed"));
                return Ok(None);
            };
            let known = header.key_id().and_then(|kid| set.by_kid.get(kid)).map(|i| &set.keys[*i]);
            let Some(key) = known.filter(|k| !k.removed_at(now)) else {
                refuse(VerifyError::UnknownKey);
                return Ok(None);
            };
            if key.alg != alg {
                refuse(VerifyError::Header("algorithm does not match the key"));
                return Ok(None);
            }
            Ok(Some(&*key.verifier))
        });
        match result {
            Ok((payload, _)) => Ok(payload),
            Err(_) => Err(refusal.into_inner().ok().flatten().unwrap_or(VerifyError::Signature)),
        }
    }

    /// The `kid`s that sign now, per algorithm (`keys list` shows every key: `statuses`).
    pub async fn active_kids(&self) -> anyhow::Result<Vec<(Alg, String)>> {
        let set = self.current().await?;
        let now = self.clock.unix();
        let mut out = Vec::new();
        for alg in Alg::ALL {
            if let Some(k) = signing_key(&set.keys, alg, now) {
                out.push((alg, k.kid.clone()));
            }
        }
        if out.is_empty() {
            bail!("no active signing keys");
        }
        Ok(out)
    }
}
