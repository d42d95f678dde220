//! The messages Portcullis sends. Each has an html + txt template pair in `templates/email/`;
//! subjects are fixed messages (`locales/*/mail.ftl`), so nothing a user typed reaches a mail header but the
//! recipient address, which [`Email`](crate::identity::email::Email) has already parsed.

use anyhow::Context;
use askama::Template;

use crate::branding::Overrides;
use crate::i18n::{Lang, translate};

/// A message to one recipient.
#[derive(Debug, Clone)]
pub enum Mail {
    /// Confirm the address given at registration (or a new address on the profile).
    VerifyEmail { name: String, link: String, hours: i64 },
    /// Someone tried to register with an address that already has an account.
    AccountExists { name: String, login_link: String, reset_link: String },
    /// A password-reset link.
    PasswordReset { name: String, link: String, minutes: i64 },
    /// The password was changed (by reset or on the profile).
    PasswordChanged { name: String, reset_link: String },
    /// Sent to the old address when the account's address changes.
    EmailChanged { name: String, new_address: String },
    /// A change to how the account signs in (two-factor authentication, recovery codes);
    /// `what` is the message key that says which.
    SecurityNotice { name: String, what: String },
    /// A sign-in completed on a device not known before: which one, from where, when.
    NewDevice { name: String, device: String, ip: String, when: String, profile_link: String, reset_link: String },
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The fields any message may show.
#[derive(Debug, Default, serde::Serialize)]
pub struct View {
    pub name: String,
    pub link: String,
    pub second_link: String,
    pub amount: i64,
    pub address: String,
    pub device: String,
    pub ip: String,
    pub when: String,
}

macro_rules! pair {
    ($text:ident, $html:ident, $txt_path:literal, $html_path:literal) => {
        #[derive(Template)]
        #[template(path = $txt_path)]
        struct $text<'a> {
            v: &'a View,
            lang: Lang,
        }
        crate::localized!($text<'_>, |m| m.lang);
        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            v: &'a View,
            lang: Lang,
        }
        crate::localized!($html<'_>, |m| m.lang);
    };
}

pair!(VerifyText, VerifyHtml, "email/verify_email.txt", "email/verify_email.html");
pair!(ExistsText, ExistsHtml, "email/account_exists.txt", "email/account_exists.html");
pair!(ResetText, ResetHtml, "email/password_reset.txt", "email/password_reset.html");
pair!(ChangedText, ChangedHtml, "email/password_changed.txt", "email/password_changed.html");
pair!(EmailChangedText, EmailChangedHtml, "email/email_changed.txt", "email/email_changed.html");
pair!(NoticeText, NoticeHtml, "email/security_notice.txt", "email/security_notice.html");
pair!(NewDeviceText, NewDeviceHtml, "email/new_device.txt", "email/new_device.html");

/// The values a mail override gets: the askama templates' `v`.
#[derive(serde::Serialize)]
struct OverrideValues<'a> {
    v: &'a View,
    /// The mail's language tag, for the overrides' `t(..)`.
    lang: &'static str,
}

impl Mail {
    /// The template pair of this message (names under `templates/`).
    fn template_names(&self) -> (&'static str, &'static str) {
        match self {
            Mail::VerifyEmail { .. } => ("email/verify_email.txt", "email/verify_email.html"),
            Mail::AccountExists { .. } => ("email/account_exists.txt", "email/account_exists.html"),
            Mail::PasswordReset { .. } => ("email/password_reset.txt", "email/password_reset.html"),
            Mail::PasswordChanged { .. } => ("email/password_changed.txt", "email/password_changed.html"),
            Mail::EmailChanged { .. } => ("email/email_changed.txt", "email/email_changed.html"),
            Mail::SecurityNotice { .. } => ("email/security_notice.txt", "email/security_notice.html"),
            Mail::NewDevice { .. } => ("email/new_device.txt", "email/new_device.html"),
        }
    }

    /// Renders with the built-in templates, then replaces each part the operator overrode
    /// (`branding.templates_dir`) by its override's output. An override that fails here is an
    /// error: the mail is not queued half-branded.
    pub fn render_with(&self, overrides: &Overrides, lang: Lang) -> anyhow::Result<Rendered> {
        let mut rendered = self.render(lang)?;
        if overrides.is_empty() {
            return Ok(rendered);
        }
        let view = self.view().1;
        let values = OverrideValues { v: &view, lang: lang.tag() };
        let (text_name, html_name) = self.template_names();
        if overrides.has(text_name) {
            rendered.text = overrides.render(text_name, &values).with_context(|| format!("rendering {text_name}"))?;
        }
        if overrides.has(html_name) {
            rendered.html = overrides.render(html_name, &values).with_context(|| format!("rendering {html_name}"))?;
        }
        Ok(rendered)
    }

    /// The message in `lang` from the built-in (compiled) templates: subject, text and html body.
    pub fn render(&self, lang: Lang) -> anyhow::Result<Rendered> {
        let (subject, view) = self.view();
        let v = &view;
        let (text, html) = match self {
            Mail::VerifyEmail { .. } => (VerifyText { v, lang }.render()?, VerifyHtml { v, lang }.render()?),
            Mail::AccountExists { .. } => (ExistsText { v, lang }.render()?, ExistsHtml { v, lang }.render()?),
            Mail::PasswordReset { .. } => (ResetText { v, lang }.render()?, ResetHtml { v, lang }.render()?),
            Mail::PasswordChanged { .. } => (ChangedText { v, lang }.render()?, ChangedHtml { v, lang }.render()?),
            Mail::EmailChanged { .. } => {
                (EmailChangedText { v, lang }.render()?, EmailChangedHtml { v, lang }.render()?)
            }
            Mail::SecurityNotice { .. } => (NoticeText { v, lang }.render()?, NoticeHtml { v, lang }.render()?),
            Mail::NewDevice { .. } => (NewDeviceText { v, lang }.render()?, NewDeviceHtml { v, lang }.render()?),
        };
        Ok(Rendered { subject: translate(lang, subject, &[]), text, html })
    }

    /// The subject and the values the templates show.
    fn view(&self) -> (&'static str, View) {
        let (subject, view) = match self {
            Mail::VerifyEmail { name, link, hours } => (
                "mail-verify-subject",
                View { name: name.clone(), link: link.clone(), amount: *hours, ..Default::default() },
            ),
            Mail::AccountExists { name, login_link, reset_link } => (
                "mail-exists-subject",
                View {
                    name: name.clone(),
                    link: login_link.clone(),
                    second_link: reset_link.clone(),
                    ..Default::default()
                },
            ),
            Mail::PasswordReset { name, link, minutes } => (
                "mail-reset-subject",
                View { name: name.clone(), link: link.clone(), amount: *minutes, ..Default::default() },
            ),
            Mail::PasswordChanged { name, reset_link } => (
                "mail-password-changed-subject",
                View { name: name.clone(), link: reset_link.clone(), ..Default::default() },
            ),
            Mail::EmailChanged { name, new_address } => (
                "mail-email-changed-subject",
                View { name: name.clone(), address: new_address.clone(), ..Default::default() },
            ),
            Mail::SecurityNotice { name, what } => {
                ("mail-notice-subject", View { name: name.clone(), address: what.clone(), ..Default::default() })
            }
            Mail::NewDevice { name, device, ip, when, profile_link, reset_link } => (
                "mail-new-device-subject",
                View {
                    name: name.clone(),
                    device: device.clone(),
                    ip: ip.clone(),
                    when: when.clone(),
                    link: profile_link.clone(),
                    second_link: reset_link.clone(),
                    ..Default::default()
                },
            ),
        };
        (subject, view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_what_users_typed_and_text_bodies_keep_links_intact() {
        let mail = Mail::VerifyEmail {
            name: "<script>alert(1)</script>".into(),
            link: "https://id.example/verify-email?token=abc&x=1".into(),
            hours: 48,
        };
        let r = mail.render(Lang::En).unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.text.contains("https://id.example/verify-email?token=abc&x=1"), "{}", r.text);
        assert!(r.html.contains("https://id.example/verify-email?token=abc&#38;x=1"), "{}", r.html);
        assert_eq!(r.subject, "Confirm your e-mail address");
    }

    #[test]
    fn every_message_renders_in_every_language_with_no_key_left_unresolved() {
        let all = [
            Mail::VerifyEmail { name: "A".into(), link: "https://l".into(), hours: 48 },
            Mail::AccountExists { name: "A".into(), login_link: "https://l".into(), reset_link: "https://r".into() },
            Mail::PasswordReset { name: "A".into(), link: "https://l".into(), minutes: 30 },
            Mail::PasswordChanged { name: "A".into(), reset_link: "https://r".into() },
            Mail::EmailChanged { name: "A".into(), new_address: "a@b.example".into() },
            Mail::SecurityNotice { name: "A".into(), what: "mail-notice-2fa-on".into() },
            Mail::NewDevice {
                name: "A".into(),
                device: "Firefox".into(),
                ip: "192.0.2.1".into(),
                when: "2026-12-05 10:00 UTC".into(),
                profile_link: "https://p".into(),
                reset_link: "https://r".into(),
            },
        ];
        for lang in Lang::ALL {
            for mail in &all {
                let r = mail.render(lang).unwrap();
                for part in [&r.subject, &r.text, &r.html] {
                    assert!(!part.contains("mail-"), "{lang}: unresolved key in {part}");
                }
                assert!(r.html.contains(&format!("<html lang=\"{lang}\">")), "{}", r.html);
            }
        }
        let fr = all[0].render(Lang::Fr).unwrap();
        assert_eq!(fr.subject, "Confirmez votre adresse e-mail");
        assert!(fr.text.starts_with("Bonjour A,"), "{}", fr.text);
    }
}
