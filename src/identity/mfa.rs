//! Two-factor authentication with TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) and
//! single-use recovery codes: enrolment, recovery codes, turning it off. The secret comes
//! from the OS CSPRNG (160 bits), is sealed at rest, shown once at enrolment and confirmed
//! with a code before it counts. A code is accepted at most once: the last accepted step is
//! moved forward by a conditional update. Recovery codes are stored as keyed hashes
//! (HMAC-SHA256 under a key derived from `SECRET_KEY`). Checking codes, and the budgets
//! that bound how many are checked, live in `second_factor.rs`.

use totp_rs::{Algorithm, Totp};
use tracing::instrument;

use super::accounts::{Accounts, ChangeError};
use super::email::Email;
use super::user::{User, UserId};
use crate::audit::{Actor, Event, EventKind};
use crate::mail::Mail;
use crate::secret::{Secret, random_bytes};
use crate::store::{audit, mfa};

pub const RECOVERY_CODES: usize = 10;
/// Recovery-code symbols: lowercase letters and digits without the look-alikes 0, 1, i, l
/// and o, each once (31 symbols, log2(31) ≈ 4.95 bits each).
pub const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Symbols per recovery code, shown in groups of five: 15 × log2(31) ≈ 74.3 bits.
const RECOVERY_SYMBOLS: usize = 15;

/// Why a change that needs recent proof of both factors was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepUpError {
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// 2FA is on and no code was given.
    #[error("a code from the authenticator app or a recovery code is required")]
    CodeRequired,
    #[error("the code is not valid")]
    InvalidCode,
    /// The change only makes sense with 2FA on (new recovery codes).
    #[error("two-factor authentication is off")]
    NotEnabled,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ChangeError> for StepUpError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Internal(e) => Self::Internal(e),
            _ => Self::WrongCurrentPassword,
        }
    }
}

impl From<MfaError> for StepUpError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::Internal(e) => Self::Internal(e),
            _ => Self::InvalidCode,
        }
    }
}

/// What enrolment shows once: the secret as text, the `otpauth://` URI, and its QR code.
#[derive(Debug)]
pub struct Enrolment {
    pub secret_base32: Secret,
    pub otpauth_uri: Secret,
    pub qr_svg: String,
}

/// How the second factor was proven.
#[derive(Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode { remaining: i64 },
}

/// What a second-factor code was checked for (`detail.context` of its events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorUse {
    /// The second step of a sign-in.
    SignIn,
    /// Proof for a change to the second factor itself (turning it off, a new authenticator,
    /// new recovery codes).
    StepUp,
}

impl FactorUse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::StepUp => "step_up",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// Wrong, reused, expired or throttled: one answer for all.
    #[error("the code is not valid")]
    InvalidCode,
    #[error("no enrolment is in progress")]
    NoEnrolment,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub(super) fn totp(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("building TOTP: {e:?}"))
}

/// Spaces and dashes do not count; recovery codes are case-insensitive.
pub(super) fn normalize(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase()
}

/// `xxxxx-xxxxx-xxxxx` from [`RECOVERY_ALPHABET`], each symbol uniform (bytes that would
/// favour some symbols are rejected, not folded).
fn new_recovery_code() -> String {
    let n = RECOVERY_ALPHABET.len();
    let limit = (256 / n * n) as u8;
    let mut symbols = Vec::with_capacity(RECOVERY_SYMBOLS);
    while symbols.len() < RECOVERY_SYMBOLS {
        for b in random_bytes::<32>() {
            if b < limit && symbols.len() < RECOVERY_SYMBOLS {
                symbols.push(RECOVERY_ALPHABET[b as usize % n] as char);
            }
        }
    }
    let groups: Vec<String> = symbols.chunks(5).map(|g| g.iter().collect()).collect();
    groups.join("-")
}

/// A QR code as inline SVG (no image files, nothing external).
pub fn qr_svg(text: &str) -> anyhow::Result<String> {
    let qr =
        qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).map_err(|e| anyhow::anyhow!("QR: {e:?}"))?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"200\" height=\"200\" role=\"img\" \
         aria-label=\"QR code for your authenticator app\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

impl Accounts {
    pub async fn mfa_enabled(&self, user: UserId) -> anyhow::Result<bool> {
        Ok(mfa::secret(&self.db, user).await?.is_some())
    }

    pub async fn recovery_codes_left(&self, user: UserId) -> anyhow::Result<i64> {
        mfa::recovery_codes_left(&self.db, user).await
    }

    /// Step 1 of enrolment (after the current password, and with 2FA already on also a
    /// current code or a recovery code): a fresh secret, kept pending.
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn start_mfa_enrolment(
        &self,
        user: &User,
        current: &Secret,
        code: &str,
    ) -> Result<Enrolment, StepUpError> {
        self.step_up(user, current, code).await?;
        let secret = random_bytes::<20>();
        mfa::set_pending(&self.db, user.id, Some(&self.totp_box.seal(&secret)?)).await?;
        let t = totp(&secret, &self.totp_issuer, &user.username)?;
        let uri = t.to_url().map_err(|e| anyhow::anyhow!("otpauth URI: {e:?}"))?;
        let secret_base32 = base32(&secret);
        Ok(Enrolment {
            qr_svg: qr_svg(&uri)?,
            secret_base32: Secret::new(secret_base32),
            otpauth_uri: Secret::new(uri),
        })
    }

    /// The enrolment in progress, shown again (after a wrong confirmation code).
    pub async fn pending_mfa_enrolment(&self, user: &User) -> anyhow::Result<Option<Enrolment>> {
        let Some(sealed) = mfa::pending(&self.db, user.id).await? else { return Ok(None) };
        let secret = self.totp_box.open(&sealed)?;
        let t = totp(&secret, &self.totp_issuer, &user.username)?;
        let uri = t.to_url().map_err(|e| anyhow::anyhow!("otpauth URI: {e:?}"))?;
        Ok(Some(Enrolment {
            qr_svg: qr_svg(&uri)?,
            secret_base32: Secret::new(base32(&secret)),
            otpauth_uri: Secret::new(uri),
        }))
    }

    /// Step 2: a valid code from the pending secret turns 2FA on; returns the recovery codes
    /// (shown once).
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn confirm_mfa_enrolment(&self, user: &User, code: &str) -> Result<Vec<String>, MfaError> {
        let sealed = mfa::pending(&self.db, user.id).await?.ok_or(MfaError::NoEnrolment)?;
        let secret = self.totp_box.open(&sealed)?;
        let t = totp(&secret, &self.totp_issuer, &user.username)?;
        // Confirming hands out recovery codes, so its guesses share the account's budget.
        if !self.reserve_account_attempt(user.id, self.clock.unix()).await? {
            return Err(MfaError::InvalidCode);
        }
        let step = t.check(&normalize(code), self.clock.unix().max(0) as u64).ok_or(MfaError::InvalidCode)?;
        self.release_account_attempt(user.id).await?;
        let (codes, hashes) = self.new_recovery_codes()?;
        let now = self.clock.unix();
        let tx = self.db.begin().await?;
        mfa::enable(&tx, user.id, &sealed, step as i64, now).await?;
        mfa::replace_recovery_codes(&tx, user.id, &hashes, now).await?;
        self.queue_security_notice(&tx, user, "mail-notice-2fa-on").await?;
        let event = Event::new(EventKind::TotpEnabled).actor(Actor::User(user.id)).user(user.id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!("two-factor authentication enabled");
        Ok(codes)
    }

    /// Turning 2FA off needs the password and a current code (or a recovery code).
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn disable_mfa(&self, user: &User, current: &Secret, code: &str) -> Result<(), MfaError> {
        self.check_current_password(user, current).await.map_err(|e| match e {
            ChangeError::Internal(e) => MfaError::Internal(e),
            _ => MfaError::InvalidCode,
        })?;
        self.verify_second_factor(user.id, code, FactorUse::StepUp).await?;
        let tx = self.db.begin().await?;
        mfa::disable(&tx, user.id, self.clock.unix()).await?;
        self.queue_security_notice(&tx, user, "mail-notice-2fa-off").await?;
        let event = Event::new(EventKind::TotpDisabled).actor(Actor::User(user.id)).user(user.id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!("two-factor authentication disabled");
        Ok(())
    }

    /// A new set of recovery codes (the old set stops working), after the password and a
    /// current code or a recovery code.
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn regenerate_recovery_codes(
        &self,
        user: &User,
        current: &Secret,
        code: &str,
    ) -> Result<Vec<String>, StepUpError> {
        if !self.mfa_enabled(user.id).await? {
            return Err(StepUpError::NotEnabled);
        }
        self.step_up(user, current, code).await?;
        let (codes, hashes) = self.new_recovery_codes()?;
        let tx = self.db.begin().await?;
        mfa::replace_recovery_codes(&tx, user.id, &hashes, self.clock.unix()).await?;
        self.queue_security_notice(&tx, user, "mail-notice-new-codes").await?;
        let event = Event::new(EventKind::RecoveryCodesRegenerated)
            .actor(Actor::User(user.id))
            .user(user.id)
            .detail("count", codes.len());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(codes)
    }

    /// A fresh set of recovery codes (shown once) and their keyed hashes (stored).
    fn new_recovery_codes(&self) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes = codes.iter().map(|c| self.recovery_key.hash(&normalize(c))).collect::<anyhow::Result<_>>()?;
        Ok((codes, hashes))
    }

    /// `what`: the message key (`locales/*/mail.ftl`) of what changed.
    async fn queue_security_notice(&self, s: &impl crate::store::Store, user: &User, what: &str) -> anyhow::Result<()> {
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let mail = Mail::SecurityNotice { name: user.name().to_string(), what: what.to_string() };
        self.outbox.queue_in(s, &address, user.locale, mail, self.clock.unix()).await
    }
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn rfc_6238_test_vector_for_sha1() {
        let t = totp(b"12345678901234567890", "Portcullis", "alice").unwrap();
        // RFC 6238 Appendix B: T = 59 s -> 94287082 (8 digits); 6 digits: 287082.
        assert_eq!(t.generate(59).to_string(), "287082");
        assert!(t.to_url().unwrap().starts_with("otpauth://totp/Portcullis:alice?"));
    }

    #[test]
    fn recovery_codes_look_right_and_normalize() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 17, "three groups of five: {code}");
        assert_eq!(code.matches('-').count(), 2);
        assert!(code.replace('-', "").bytes().all(|b| RECOVERY_ALPHABET.contains(&b)), "{code}");
        assert_eq!(normalize(&code.to_uppercase()), code.replace('-', ""));
        assert_ne!(code, new_recovery_code());
    }

    #[test]
    fn the_recovery_alphabet_has_no_duplicates_and_no_look_alikes() {
        let mut seen = std::collections::HashSet::new();
        for b in RECOVERY_ALPHABET {
            assert!(seen.insert(b), "{} appears twice", *b as char);
            assert!(!b"01ilo".contains(b), "{} is ambiguous", *b as char);
            assert!(b.is_ascii_lowercase() || b.is_ascii_digit());
        }
        let bits = RECOVERY_SYMBOLS as f64 * (seen.len() as f64).log2();
        assert!(bits >= 60.0, "{bits} bits per code");
    }

    #[test]
    fn every_recovery_symbol_is_drawn() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(new_recovery_code().bytes().filter(|b| *b != b'-'));
        }
        assert_eq!(seen.len(), RECOVERY_ALPHABET.len(), "3000 draws reach every symbol");
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("otpauth://totp/Portcullis:alice?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M"));
    }
}
