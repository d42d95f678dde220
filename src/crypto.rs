//! Encryption at rest for the few secrets we must be able to read back (signing keys, TOTP
//! secrets): AES-256-GCM under a key derived from `SECRET_KEY` per purpose, so a database
//! copy without the key reveals nothing and one purpose's key opens nothing else. Keyed
//! hashes (HMAC-SHA256, same derivation) for what is only ever compared (recovery codes).

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use zeroize::Zeroizing;

use crate::secret::{Secret, random_bytes};

const VERSION: &str = "v1";

/// A purpose's own key: HMAC-SHA256(SECRET_KEY, "portcullis/<purpose>/v1"). Distinct
/// purposes get unrelated keys, so no derived key opens or forges another purpose's values.
fn derive_key(root: &Secret, purpose: &str) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let derived = hmac_sha256(root.expose().as_bytes(), format!("portcullis/{purpose}/{VERSION}").as_bytes())
        .context("deriving a key")?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&derived[..32]);
    Ok(key)
}

/// HMAC-SHA256(key, data): key derivation here, webhook signatures in `audit::webhook`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let hmac_key = PKey::hmac(key)?;
    let mut signer = Signer::new(MessageDigest::sha256(), &hmac_key)?;
    signer.update(data)?;
    Ok(signer.sign_to_vec()?)
}

/// Keyed hashes for one purpose (recovery codes): HMAC-SHA256 under a key derived from
/// `SECRET_KEY`, hex-encoded. Without the key a stored value cannot be tested against
/// guesses, so a database copy alone gives an offline attacker nothing to grind.
#[derive(Clone)]
pub struct KeyedHash {
    key: Zeroizing<[u8; 32]>,
    purpose: &'static str,
}

impl std::fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyedHash({})", self.purpose)
    }
}

impl KeyedHash {
    pub fn derive(root: &Secret, purpose: &'static str) -> anyhow::Result<Self> {
        Ok(Self { key: derive_key(root, purpose)?, purpose })
    }

    /// HMAC-SHA256(key, value) as 64 lowercase hex digits.
    pub fn hash(&self, value: &str) -> anyhow::Result<String> {
        let mac = hmac_sha256(&*self.key, value.as_bytes()).context("keyed hashing")?;
        Ok(mac.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Seals and opens values for one purpose.
#[derive(Clone)]
pub struct SecretBox {
    key: Zeroizing<[u8; 32]>,
    purpose: &'static str,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox({})", self.purpose)
    }
}

impl SecretBox {
    /// Key = HMAC-SHA256(SECRET_KEY, "portcullis/<purpose>/v1").
    pub fn derive(root: &Secret, purpose: &'static str) -> anyhow::Result<Self> {
        Ok(Self { key: derive_key(root, purpose)?, purpose })
    }

    /// HMAC-SHA256 of `data` under this purpose's key, as hex: a stable pseudonym that a
    /// database reader cannot link back to `data` without `SECRET_KEY`.
    pub fn keyed_hash(&self, data: &[u8]) -> anyhow::Result<String> {
        let hmac_key = PKey::hmac(&*self.key).context("keying a hash")?;
        let mut signer = Signer::new(MessageDigest::sha256(), &hmac_key).context("keying a hash")?;
        signer.update(data).context("keying a hash")?;
        let mac = signer.sign_to_vec().context("keying a hash")?;
        Ok(mac.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// `v1.<base64url(nonce || tag || ciphertext)>`; the purpose is authenticated data.
    pub fn seal(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        let nonce = random_bytes::<12>();
        let mut tag = [0u8; 16];
        let ciphertext =
            encrypt_aead(Cipher::aes_256_gcm(), &*self.key, Some(&nonce), self.purpose.as_bytes(), plaintext, &mut tag)
                .context("encrypting")?;
        let mut out = Vec::with_capacity(28 + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let Some(body) = sealed.strip_prefix("v1.") else { bail!("unknown sealed-value version") };
        let raw = URL_SAFE_NO_PAD.decode(body).context("sealed value is not base64url")?;
        if raw.len() < 28 {
            bail!("sealed value too short");
        }
        let (nonce, rest) = raw.split_at(12);
        let (tag, ciphertext) = rest.split_at(16);
        let plain =
            decrypt_aead(Cipher::aes_256_gcm(), &*self.key, Some(nonce), self.purpose.as_bytes(), ciphertext, tag)
                .context("decrypting (wrong SECRET_KEY?)")?;
        Ok(Zeroizing::new(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let root = Secret::new("root-key-material-root-key-material");
        let keys = SecretBox::derive(&root, "signing-keys").unwrap();
        let sealed = keys.seal(b"private key bytes").unwrap();
        assert!(sealed.starts_with("v1."));
        assert_eq!(&*keys.open(&sealed).unwrap(), b"private key bytes");
        assert_ne!(sealed, keys.seal(b"private key bytes").unwrap(), "fresh nonce each time");

        let other_purpose = SecretBox::derive(&root, "totp").unwrap();
        assert!(other_purpose.open(&sealed).is_err());
        let other_root = SecretBox::derive(&Secret::new("another-root-key-material-000000"), "signing-keys").unwrap();
        assert!(other_root.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.open(&tampered).is_err());
    }

    #[test]
    fn keyed_hashes_depend_on_the_root_key_and_the_purpose() {
        let root = Secret::new("root-key-material-root-key-material");
        let codes = KeyedHash::derive(&root, "recovery-codes").unwrap();
        let h = codes.hash("abcde-fghjk-mnpqr").unwrap();
        assert_eq!(h.len(), 64);
        assert_eq!(h, codes.hash("abcde-fghjk-mnpqr").unwrap(), "deterministic, so a stored value can be looked up");
        assert_ne!(h, crate::secret::token_hash("abcde-fghjk-mnpqr"), "not the plain SHA-256");
        let other_root = KeyedHash::derive(&Secret::new("another-root-key-material-000000"), "recovery-codes").unwrap();
        assert_ne!(h, other_root.hash("abcde-fghjk-mnpqr").unwrap());
        assert_ne!(h, KeyedHash::derive(&root, "other-purpose").unwrap().hash("abcde-fghjk-mnpqr").unwrap());
    }
}
