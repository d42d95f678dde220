//! The security events the audit log records, one variant per kind. The text form
//! (`sign_in.succeeded`) is what the table, the API, the CLI filter and webhooks carry; it
//! never changes once released (add kinds, do not rename them).

use serde::{Serialize, Serializer};

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// What happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(EventKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    /// A sign-in completed (all factors).
    SignInSucceeded => "sign_in.succeeded",
    /// A sign-in was refused; `detail.reason` says why by class (never the password).
    SignInFailed => "sign_in.failed",
    /// A second factor was accepted (`detail.method`: totp, recovery_code, passkey).
    SecondFactorSucceeded => "second_factor.succeeded",
    /// A second factor was refused.
    SecondFactorFailed => "second_factor.failed",
    /// A person signed out.
    SignedOut => "sign_out",
    /// A person changed their password.
    PasswordChanged => "password.changed",
    /// A password reset was requested (the mail is decided off the request path).
    PasswordResetRequested => "password.reset_requested",
    /// A password was set through a reset link.
    PasswordReset => "password.reset",
    /// The e-mail address changed.
    EmailChanged => "email.changed",
    /// An e-mail address was verified.
    EmailVerified => "email.verified",
    /// TOTP was turned on.
    TotpEnabled => "totp.enabled",
    /// TOTP was turned off.
    TotpDisabled => "totp.disabled",
    /// A passkey was registered.
    PasskeyAdded => "passkey.added",
    /// A passkey was removed.
    PasskeyRemoved => "passkey.removed",
    /// A passkey answered with a sign counter that did not grow (a possible clone): flagged.
    PasskeyCounterRegressed => "passkey.counter_regressed",
    /// A recovery code was used up.
    RecoveryCodeUsed => "recovery_code.used",
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated => "recovery_codes.regenerated",
    /// A browser session was ended by its owner or an admin (not by signing out in it).
    SessionRevoked => "session.revoked",
    /// A person granted a client access (consent).
    ConsentGranted => "consent.granted",
    /// A person approved a device's sign-in on `/device` (RFC 8628).
    DeviceApproved => "device_authorization.approved",
    /// A person denied a device's sign-in on `/device`.
    DeviceDenied => "device_authorization.denied",
    /// A grant or remembered consent was withdrawn.
    ConsentRevoked => "consent.revoked",
    /// Tokens were issued (`detail.grant_type`).
    TokenIssued => "token.issued",
    /// A rotated refresh token was presented again: its grant was revoked.
    RefreshTokenReuse => "refresh_token.reuse_detected",
    /// An authorization code was presented a second time: its tokens were revoked.
    CodeReplay => "authorization_code.replayed",
    /// A token was revoked (RFC 7009).
    TokenRevoked => "token.revoked",
    /// An OAuth client was registered.
    ClientCreated => "client.created",
    /// An OAuth client's settings changed.
    ClientChanged => "client.changed",
    /// An OAuth client got a new secret.
    ClientSecretRotated => "client.secret_rotated",
    /// An OAuth client was deleted.
    ClientDeleted => "client.deleted",
    /// A configuration file was applied and changed something (`detail`: counts, digest).
    ConfigApplied => "config.applied",
    /// Signing keys were rotated (by schedule or by hand).
    KeyRotated => "key.rotated",
    /// An account was created (registration, admin, import or upstream sign-in).
    UserCreated => "user.created",
    /// An admin changed an account's fields.
    UserUpdated => "user.updated",
    /// An account was disabled.
    UserDisabled => "user.disabled",
    /// An account was enabled again.
    UserEnabled => "user.enabled",
    /// An account was deleted.
    UserDeleted => "user.deleted",
    /// An admin removed an account's second factors.
    SecondFactorReset => "second_factor.reset",
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text_and_the_texts_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind), "{kind:?}");
            assert!(seen.insert(kind.as_str()), "{} twice", kind.as_str());
        }
        assert_eq!(EventKind::parse("no.such_kind"), None);
    }
}
