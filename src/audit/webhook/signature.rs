//! How a receiver knows a webhook came from us and is fresh: `Portcullis-Timestamp` is the
//! Unix time of the attempt, `Portcullis-Signature` is `v1=` and the hex HMAC-SHA256, keyed
//! with the endpoint's secret, of `"<timestamp>.<raw body>"`. A receiver recomputes it, compares
//! in constant time, rejects timestamps outside its replay window (5 minutes is the documented
//! choice) and drops event ids it has already seen (delivery is at least once). [`verify`] is
//! that check, written as the reference for receivers (docs/audit-webhooks.md).

use crate::secret::{Secret, constant_time_eq};

pub const EVENT_ID_HEADER: &str = "portcullis-event-id";
pub const TIMESTAMP_HEADER: &str = "portcullis-timestamp";
pub const SIGNATURE_HEADER: &str = "portcullis-signature";
/// The replay window the documentation asks receivers to apply.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The `Portcullis-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> anyhow::Result<String> {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let mac = crate::crypto::hmac_sha256(secret.expose().as_bytes(), &signed)?;
    Ok(format!("v1={}", mac.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the timestamp is not a number")]
    BadTimestamp,
    #[error("the timestamp is outside the replay window")]
    Stale,
    #[error("no signature matches")]
    BadSignature,
}

/// The receiver's check: a `v1=` signature (of possibly several, comma-separated) matches,
/// and the timestamp is within `window_secs` of `now`.
pub fn verify(
    secret: &Secret,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
    window_secs: i64,
) -> Result<(), Rejected> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| Rejected::BadTimestamp)?;
    if now.abs_diff(ts) > window_secs.unsigned_abs() {
        return Err(Rejected::Stale);
    }
    let expected = sign(secret, ts, body).map_err(|_| Rejected::BadSignature)?;
    if signature.split(',').map(str::trim).any(|candidate| constant_time_eq(candidate, &expected)) {
        Ok(())
    } else {
        Err(Rejected::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("whsec-0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body_in_hex() {
        // Independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec-0123456789abcdef0123456789abcdef
        let sig = sign(&secret(), 1_700_000_000, br#"{"a":1}"#).unwrap();
        assert_eq!(sig, "v1=b6b0679072dd4c8e33f1cd5f8f33fcb4187d5efeee1af983bee320daa0ffbd49");
    }

    #[test]
    fn a_receiver_accepts_a_fresh_signed_body_and_rejects_tampering_staleness_and_other_keys() {
        let body = br#"{"id":"e1","type":"sign_in.failed"}"#;
        let now = 1_700_000_000;
        let sig = sign(&secret(), now, body).unwrap();
        assert_eq!(verify(&secret(), &now.to_string(), body, &sig, now + 10, REPLAY_WINDOW_SECS), Ok(()));
        assert_eq!(
            verify(&secret(), &now.to_string(), body, &format!("v1=00, {sig}"), now, 300),
            Ok(()),
            "any of several"
        );
        for (case, ts, body, sig, at) in [
            ("changed body", now.to_string(), &br#"{"id":"e2","type":"sign_in.failed"}"#[..], sig.clone(), now),
            ("changed timestamp", (now + 1).to_string(), &body[..], sig.clone(), now),
            ("another key", now.to_string(), &body[..], sign(&Secret::new("x".repeat(32)), now, body).unwrap(), now),
            ("no scheme", now.to_string(), &body[..], sig.trim_start_matches("v1=").to_string(), now),
        ] {
            assert_eq!(verify(&secret(), &ts, body, &sig, at, 300), Err(Rejected::BadSignature), "{case}");
        }
        assert_eq!(verify(&secret(), &now.to_string(), body, &sig, now + 301, 300), Err(Rejected::Stale));
        assert_eq!(
            verify(&secret(), &now.to_string(), body, &sig, now - 301, 300),
            Err(Rejected::Stale),
            "from the future"
        );
        assert_eq!(verify(&secret(), "soon", body, &sig, now, 300), Err(Rejected::BadTimestamp));
    }
}
