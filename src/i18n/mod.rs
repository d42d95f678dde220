//! Languages: which ones Portcullis speaks, the message lookup (Fluent files under
//! `locales/<lang>/*.ftl`, compiled into the binary) and, in [`negotiate`], the choice of a
//! language from what a request carries. No HTTP types: the edge extracts the inputs.

/// The language of the request being served (a task-local the HTTP edge sets).
pub mod context;
/// Choosing a language from `ui_locales`, a cookie, a profile setting and `Accept-Language`.
pub mod negotiate;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};

pub use context::current;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Plain output: no Unicode isolation marks around arguments (mail subjects, text mails).
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language Portcullis ships messages for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Fr,
}

impl Lang {
    /// Every shipped language, English (the fallback) first.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// The BCP 47 tag (`en`, `de`, `fr`), as in `<html lang>` and `ui_locales_supported`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    /// The language's name in itself, for the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
        }
    }

    /// The shipped language a tag names exactly (`de`, case-insensitive), if any. Use
    /// [`negotiate::best`] to match region tags (`de-CH`).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }

    /// The tags of every shipped language, for discovery's `ui_locales_supported`.
    pub fn supported_tags() -> Vec<&'static str> {
        Lang::ALL.iter().map(|l| l.tag()).collect()
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::De => langid!("de"),
            Lang::Fr => langid!("fr"),
        }
    }
}

/// Serialized as its tag (`"de"`), e.g. for the template overrides' `t(..)`.
impl serde::Serialize for Lang {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.tag())
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The message `key` in `lang` with named arguments (Fluent `{ $name }`), falling back to
/// English; a key that exists nowhere comes back as itself (and fails the catalogue test).
pub fn translate(lang: Lang, key: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
    let found = if args.is_empty() {
        LOCALES.try_lookup(&lang.id(), key)
    } else {
        let map: HashMap<Cow<'static, str>, FluentValue> =
            args.iter().map(|(name, value)| (Cow::Owned(name.to_string()), value_of(value.to_string()))).collect();
        LOCALES.try_lookup_with_args(&lang.id(), key, &map)
    };
    found.unwrap_or_else(|| {
        tracing::warn!(key, lang = lang.tag(), "message key missing");
        key.to_string()
    })
}

/// The message `key` in the language of the request being served.
pub fn tr(key: &str) -> String {
    translate(current(), key, &[])
}

/// [`tr`] with named arguments.
pub fn tr_args(key: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
    translate(current(), key, args)
}

/// An argument: a plain integer goes in as a number (so plural rules apply), the rest as text.
fn value_of(text: String) -> FluentValue<'static> {
    let plain_integer = !text.is_empty()
        && text.len() < 16
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<i64>() {
        Ok(n) if plain_integer => FluentValue::from(n),
        _ => FluentValue::from(text),
    }
}

/// `t`, `t1` and `t2` as inherent methods of template structs, so templates call
/// `{{ t("key") }}`, `{{ t1("key", "name", value) }}` and `{{ t2("key", "a", x, "b", y) }}`.
/// The second argument is the expression (on `self`) that gives the page's [`Lang`].
#[macro_export]
macro_rules! localized {
    ($ty:ty, |$s:ident| $lang:expr) => {
        #[allow(dead_code)]
        impl $ty {
            fn t(&self, key: &str) -> String {
                let $s = self;
                $crate::i18n::translate($lang, key, &[])
            }
            fn t1(&self, key: &str, name: &str, value: impl ::std::fmt::Display) -> String {
                let $s = self;
                $crate::i18n::translate($lang, key, &[(name, &value)])
            }
            fn t2(
                &self,
                key: &str,
                n1: &str,
                v1: impl ::std::fmt::Display,
                n2: &str,
                v2: impl ::std::fmt::Display,
            ) -> String {
                let $s = self;
                $crate::i18n::translate($lang, key, &[(n1, &v1), (n2, &v2)])
            }
        }
    };
}

#[cfg(test)]
mod catalogue_tests;
