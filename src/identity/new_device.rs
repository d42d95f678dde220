//! The new-device notice: when a sign-in completes on a device that was not known before
//! (the moment a known-device token is minted, after every factor), the owner gets a mail
//! saying which device, from where and when, through the durable outbox. Not for an
//! account's very first device (that sign-in is the owner's own first), not when
//! `login.new_device_mail` is off, and at most [`NOTICES_PER_HOUR`] an hour per account (a
//! script signing in through the API without its `device_token` is a new device each time).

use time::OffsetDateTime;

use super::accounts::{Accounts, links};
use super::email::Email;
use super::user::UserId;
use super::user_agent::DeviceSummary;
use crate::mail::Mail;
use crate::store::{Store, sessions, users};

/// New-device notices to one account per hour at most.
const NOTICES_PER_HOUR: u32 = 5;

impl Accounts {
    /// Queues the notice for `user`, whose device was just added to the known ones, on `s`
    /// (the sign-in's transaction: the notice is queued exactly when the sign-in commits).
    pub(super) async fn new_device_notice(&self, s: &impl Store, user: UserId) -> anyhow::Result<()> {
        if !self.login.new_device_mail || sessions::known_device_count(s, user).await? < 2 {
            return Ok(());
        }
        let now = self.clock.unix();
        let budget = format!("new-device-notice:{user}");
        if !super::throttle::take_from_window(s, &budget, NOTICES_PER_HOUR, 3600, now).await? {
            return Ok(());
        }
        let Some(user) = users::find_by_id(s, user).await? else { return Ok(()) };
        let request = crate::audit::context::current();
        let when = OffsetDateTime::from_unix_timestamp(now)
            .map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
            .unwrap_or_default();
        let mail = Mail::NewDevice {
            name: user.name().to_string(),
            device: DeviceSummary::parse(request.user_agent.as_deref()).label(),
            ip: request.ip.map_or_else(|| "unknown".into(), |ip| ip.to_string()),
            when,
            profile_link: self.outbox.link(links::PROFILE, &[]),
            reset_link: self.outbox.link(links::RESET_PASSWORD, &[]),
        };
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        self.outbox.queue_in(s, &address, user.locale, mail, now).await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, "new-device notice queued");
        Ok(())
    }
}
