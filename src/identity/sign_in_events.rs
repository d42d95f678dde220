//! The audit events of a sign-in, built in one place for the password step (`accounts`) and
//! the second step (`second_factor`): `sign_in.succeeded` once every factor is proven, with
//! the methods and the surface; `sign_in.failed` with a reason *class*. A failure never
//! carries the password or the name as typed, and an unknown name and a wrong password
//! share one reason (`bad_credentials`); the subject user is set when the name belongs to an
//! account, which only the audit log's readers (administrators) see.

use super::surface::Surface;
use super::user::UserId;
use crate::audit::{Actor, Event, EventKind};

/// Why a sign-in was refused (`detail.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// Unknown name or wrong password: one class.
    BadCredentials,
    /// The name's failures locked it for now; no password was checked.
    Locked,
    /// Too many failures from the client's address.
    Throttled,
    /// The right password for a disabled account.
    Disabled,
    /// The right password, but the address must be confirmed first.
    EmailUnverified,
    /// A wrong, reused or throttled second-factor code.
    SecondFactor,
    /// A passkey answer that was refused (unknown credential, bad signature, expired or
    /// reused challenge, counter regression, no user verification).
    Passkey,
}

impl SignInFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadCredentials => "bad_credentials",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::Disabled => "disabled",
            Self::EmailUnverified => "email_unverified",
            Self::SecondFactor => "second_factor",
            Self::Passkey => "passkey",
        }
    }
}

/// A completed sign-in; `method` is `password`, `password+totp`, `password+recovery_code` or `passkey`.
pub fn sign_in_succeeded(user: UserId, method: &str, surface: Surface) -> Event {
    Event::new(EventKind::SignInSucceeded)
        .actor(Actor::User(user))
        .user(user)
        .detail("method", method)
        .detail("surface", surface.as_str())
}

/// A refused sign-in by nobody signed in, about `user` when the name belongs to an account.
pub fn sign_in_failed(user: impl Into<Option<UserId>>, reason: SignInFailure, surface: Surface) -> Event {
    let event =
        Event::new(EventKind::SignInFailed).detail("reason", reason.as_str()).detail("surface", surface.as_str());
    match user.into() {
        Some(user) => event.user(user),
        None => event,
    }
}
