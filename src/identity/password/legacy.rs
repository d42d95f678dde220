//! Password hashes made by other systems, kept as they were imported until their owner next
//! signs in (the hasher then replaces them with our argon2id): bcrypt (`$2a$`/`$2b$`/`$2y$`),
//! PBKDF2-SHA256 as Werkzeug (`pbkdf2:sha256:ITER$salt$hex`), passlib
//! (`$pbkdf2-sha256$ITER$salt$hash`, adapted base64) and Django (`pbkdf2_sha256$ITER$salt$b64`)
//! write it, and Werkzeug's scrypt (`scrypt:N:r:p$salt$hex`). argon2 hashes (`$argon2id$`,
//! `$argon2i$`) verify on the hasher's own path. Every comparison is constant-time; work
//! factors are bounded so an imported file cannot make one check take minutes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The most PBKDF2 iterations accepted (Django 5 uses 870 000, Werkzeug 3 uses 1 000 000).
const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// The highest bcrypt cost accepted.
const MAX_BCRYPT_COST: u32 = 16;
/// The most memory one scrypt check may take (128·N·r bytes): 256 MiB.
const MAX_SCRYPT_BYTES: u64 = 256 << 20;

/// A foreign hash, parsed: what it takes to check a password against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignHash {
    /// The whole modular-crypt string; the bcrypt crate parses and compares it.
    Bcrypt(String),
    Pbkdf2Sha256 {
        iterations: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    /// A PHC argon2 string (argon2id or argon2i): checked by the argon2 threads.
    Argon2(String),
}

/// Why an imported hash is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedHash {
    #[error("unknown password hash format")]
    Unknown,
    #[error("malformed {0} hash")]
    Malformed(&'static str),
    #[error("{0} work factor out of the supported range")]
    WorkFactor(&'static str),
}

impl ForeignHash {
    /// Recognises and validates a stored hash string.
    pub fn parse(s: &str) -> Result<Self, UnsupportedHash> {
        if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
            return parse_bcrypt(s);
        }
        if s.starts_with("$argon2id$") || s.starts_with("$argon2i$") {
            return parse_argon2(s);
        }
        if let Some(rest) = s.strip_prefix("pbkdf2:sha256:") {
            let (iterations, salt, hash) = three(rest, "werkzeug pbkdf2")?;
            let expected = hex(hash).ok_or(UnsupportedHash::Malformed("werkzeug pbkdf2"))?;
            return pbkdf2(iterations, salt.as_bytes().to_vec(), expected, "werkzeug pbkdf2");
        }
        if let Some(rest) = s.strip_prefix("$pbkdf2-sha256$") {
            let (iterations, salt, hash) = three(rest, "passlib pbkdf2")?;
            let bad = UnsupportedHash::Malformed("passlib pbkdf2");
            let salt = ab64(salt).ok_or(bad.clone())?;
            let expected = ab64(hash).ok_or(bad)?;
            return pbkdf2(iterations, salt, expected, "passlib pbkdf2");
        }
        if let Some(rest) = s.strip_prefix("pbkdf2_sha256$") {
            let (iterations, salt, hash) = three(rest, "django pbkdf2")?;
            let expected = STANDARD.decode(hash).map_err(|_| UnsupportedHash::Malformed("django pbkdf2"))?;
            return pbkdf2(iterations, salt.as_bytes().to_vec(), expected, "django pbkdf2");
        }
        if let Some(rest) = s.strip_prefix("scrypt:") {
            return parse_scrypt(rest);
        }
        Err(UnsupportedHash::Unknown)
    }

    /// Checks `password` against the hash in constant time (argon2 answers false here: the
    /// hasher checks those itself).
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Self::Pbkdf2Sha256 { iterations, salt, expected } => {
                let mut out = vec![0u8; expected.len()];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut out);
                bool::from(out.ct_eq(expected))
            }
            Self::Scrypt { log_n, r, p, salt, expected } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p, expected.len()) else { return false };
                let mut out = vec![0u8; expected.len()];
                scrypt::scrypt(password, salt, &params, &mut out).is_ok() && bool::from(out.ct_eq(expected))
            }
            Self::Argon2(_) => false,
        }
    }
}

fn parse_bcrypt(s: &str) -> Result<ForeignHash, UnsupportedHash> {
    // $2b$12$ + 22 salt characters + 31 hash characters.
    let bad = UnsupportedHash::Malformed("bcrypt");
    if s.len() != 60 || !s.is_ascii() {
        return Err(bad);
    }
    let cost: u32 = s[4..6].parse().map_err(|_| bad.clone())?;
    if s.as_bytes()[6] != b'$' {
        return Err(bad);
    }
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(UnsupportedHash::WorkFactor("bcrypt"));
    }
    Ok(ForeignHash::Bcrypt(s.to_string()))
}

fn parse_argon2(s: &str) -> Result<ForeignHash, UnsupportedHash> {
    use argon2::password_hash::phc::PasswordHash;
    let bad = UnsupportedHash::Malformed("argon2");
    let hash = PasswordHash::new(s).map_err(|_| bad.clone())?;
    let params = argon2::Params::try_from(&hash).map_err(|_| bad.clone())?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(bad);
    }
    if params.m_cost() > 1 << 20 || params.t_cost() > 64 {
        return Err(UnsupportedHash::WorkFactor("argon2"));
    }
    Ok(ForeignHash::Argon2(s.to_string()))
}

fn parse_scrypt(rest: &str) -> Result<ForeignHash, UnsupportedHash> {
    let bad = UnsupportedHash::Malformed("werkzeug scrypt");
    let (params, rest) = rest.split_once('$').ok_or(bad.clone())?;
    let (salt, hash) = rest.split_once('$').ok_or(bad.clone())?;
    let numbers: Vec<u64> = params.split(':').map(str::parse).collect::<Result<_, _>>().map_err(|_| bad.clone())?;
    let [n, r, p] = numbers[..] else { return Err(bad) };
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 || salt.is_empty() {
        return Err(bad);
    }
    if 128 * n * r > MAX_SCRYPT_BYTES || p > 16 || r > 64 {
        return Err(UnsupportedHash::WorkFactor("scrypt"));
    }
    let expected = hex(hash).ok_or(bad.clone())?;
    let log_n = n.trailing_zeros() as u8;
    scrypt::Params::new(log_n, r as u32, p as u32, expected.len()).map_err(|_| bad)?;
    Ok(ForeignHash::Scrypt { log_n, r: r as u32, p: p as u32, salt: salt.as_bytes().to_vec(), expected })
}

/// `ITER$salt$hash` with a decimal iteration count.
fn three<'a>(rest: &'a str, what: &'static str) -> Result<(u32, &'a str, &'a str), UnsupportedHash> {
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(UnsupportedHash::Malformed(what));
    };
    let iterations = iterations.parse().map_err(|_| UnsupportedHash::Malformed(what))?;
    if salt.is_empty() {
        return Err(UnsupportedHash::Malformed(what));
    }
    Ok((iterations, salt, hash))
}

fn pbkdf2(
    iterations: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
    what: &'static str,
) -> Result<ForeignHash, UnsupportedHash> {
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return Err(UnsupportedHash::WorkFactor(what));
    }
    if expected.len() < 16 || expected.len() > 64 {
        return Err(UnsupportedHash::Malformed(what));
    }
    Ok(ForeignHash::Pbkdf2Sha256 { iterations, salt, expected })
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// passlib's "adapted base64": standard alphabet with `.` for `+`, no padding.
fn ab64(s: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(s.replace('.', "+")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_malformed_hashes_are_refused() {
        let cases: &[(&str, UnsupportedHash)] = &[
            ("md5$abc$def", UnsupportedHash::Unknown),
            ("plaintext", UnsupportedHash::Unknown),
            ("$2b$12$short", UnsupportedHash::Malformed("bcrypt")),
            ("pbkdf2:sha256:1000$salt$zz", UnsupportedHash::Malformed("werkzeug pbkdf2")),
            ("pbkdf2:sha256:0$salt$00112233445566778899aabbccddeeff", UnsupportedHash::WorkFactor("werkzeug pbkdf2")),
            ("scrypt:3:8:1$salt$00", UnsupportedHash::Malformed("werkzeug scrypt")),
            ("scrypt:1073741824:8:1$salt$0011", UnsupportedHash::WorkFactor("scrypt")),
            ("$argon2id$v=19$garbage", UnsupportedHash::Malformed("argon2")),
        ];
        for (hash, expected) in cases {
            assert_eq!(ForeignHash::parse(hash).as_ref(), Err(expected), "{hash}");
        }
    }

    #[test]
    fn a_pbkdf2_hash_made_here_verifies_in_all_three_spellings() {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"old secret", b"NaCl", 1000, &mut out);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        let werkzeug = format!("pbkdf2:sha256:1000$NaCl${hex}");
        let django = format!("pbkdf2_sha256$1000$NaCl${}", STANDARD.encode(out));
        let passlib = format!(
            "$pbkdf2-sha256$1000${}${}",
            STANDARD_NO_PAD.encode(b"NaCl"),
            STANDARD_NO_PAD.encode(out).replace('+', ".")
        );
        for hash in [werkzeug, django, passlib] {
            let parsed = ForeignHash::parse(&hash).unwrap();
            assert!(parsed.verify(b"old secret"), "{hash}");
            assert!(!parsed.verify(b"old secreT"), "{hash}");
        }
    }
}
