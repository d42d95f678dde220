//! Which language a request is answered in, from (first match wins):
//! 1. `ui_locales` sent to /authorize (kept for the rest of that flow),
//! 2. the language cookie the picker sets,
//! 3. the signed-in person's profile setting,
//! 4. `Accept-Language` (by q-value, then order),
//! 5. English.
//!
//! A tag matches a shipped language exactly or by its primary subtag (`de-CH` → `de`).

use super::Lang;

/// What a request carries that can name a language (the HTTP edge fills it in).
#[derive(Debug, Default, Clone, Copy)]
pub struct Inputs<'a> {
    /// The `ui_locales` of the authorization flow in progress (space-separated, preferred first).
    pub ui_locales: Option<&'a str>,
    /// The language cookie's value.
    pub cookie: Option<&'a str>,
    /// The signed-in person's profile setting.
    pub profile: Option<&'a str>,
    /// The `Accept-Language` header.
    pub accept_language: Option<&'a str>,
}

/// The language to answer in.
pub fn choose(inputs: Inputs<'_>) -> Lang {
    inputs
        .ui_locales
        .and_then(from_ui_locales)
        .or_else(|| inputs.cookie.and_then(best))
        .or_else(|| inputs.profile.and_then(best))
        .or_else(|| inputs.accept_language.and_then(from_accept_language))
        .unwrap_or_default()
}

/// The shipped language for one tag: exact, else by primary subtag; `None` when unsupported.
pub fn best(tag: &str) -> Option<Lang> {
    let tag = tag.trim();
    if tag.is_empty() || tag.len() > 35 {
        return None;
    }
    Lang::from_tag(tag).or_else(|| tag.split(['-', '_']).next().and_then(Lang::from_tag))
}

/// The first supported tag of a `ui_locales` value (RFC: space-separated, preferred first).
pub fn from_ui_locales(value: &str) -> Option<Lang> {
    value.split_ascii_whitespace().find_map(best)
}

/// The best supported language of an `Accept-Language` header (RFC 9110 §12.5.4): entries
/// ordered by q-value (ties keep header order), `q=0` and malformed q-values skipped, `*`
/// ignored (it leaves the choice to us: English).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut ranges: Vec<(u16, usize, &str)> = Vec::new();
    for (index, entry) in header.split(',').enumerate().take(32) {
        let mut parts = entry.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() || range == "*" {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.trim().eq_ignore_ascii_case("q") {
                q = parse_q(value.trim());
            }
        }
        match q {
            Some(q) if q > 0 => ranges.push((q, index, range)),
            _ => {}
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, range)| best(range))
}

/// A q-value in thousandths: `0`, `1`, `0.8`, `0.125`, `1.000`; anything else is `None`.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(header: &str) -> Lang {
        choose(Inputs { accept_language: Some(header), ..Default::default() })
    }

    #[test]
    fn accept_language_is_ordered_by_q_value_not_by_position() {
        assert_eq!(accept("en;q=0.5, fr;q=0.9, de;q=0.7"), Lang::Fr);
        assert_eq!(accept("de, fr"), Lang::De);
        assert_eq!(accept("fr;q=0.8, de"), Lang::De);
        assert_eq!(accept("fr;q=0.800, de;q=0.8"), Lang::Fr, "ties keep the header's order");
    }

    #[test]
    fn accept_language_skips_q_zero_malformed_q_values_and_the_wildcard() {
        assert_eq!(accept("de;q=0, fr;q=0.1"), Lang::Fr);
        assert_eq!(accept("de;q=2, fr;q=0.5"), Lang::Fr);
        assert_eq!(accept("de;q=0.1234, fr;q=abc, *;q=0.9"), Lang::En);
        assert_eq!(accept(""), Lang::En);
        assert_eq!(accept(",,;q=1"), Lang::En);
    }

    #[test]
    fn a_region_tag_falls_back_to_its_language() {
        assert_eq!(accept("de-CH"), Lang::De);
        assert_eq!(accept("fr-CA;q=0.9, en-US;q=0.8"), Lang::Fr);
        assert_eq!(best("DE-at"), Some(Lang::De));
        assert_eq!(best("de_DE"), Some(Lang::De));
    }

    #[test]
    fn an_unsupported_language_means_english() {
        assert_eq!(accept("ja, zh-CN;q=0.9"), Lang::En);
        assert_eq!(accept("ja, de;q=0.1"), Lang::De, "a supported language further down still counts");
        assert_eq!(choose(Inputs::default()), Lang::En);
        assert_eq!(best("deutsch"), None);
    }

    #[test]
    fn ui_locales_takes_the_first_supported_tag_in_its_order() {
        assert_eq!(from_ui_locales("ja fr-CA de"), Some(Lang::Fr));
        assert_eq!(from_ui_locales("de fr"), Some(Lang::De));
        assert_eq!(from_ui_locales("ja ko"), None);
    }

    #[test]
    fn the_sources_rank_ui_locales_then_cookie_then_profile_then_accept_language() {
        let all =
            Inputs { ui_locales: Some("fr"), cookie: Some("de"), profile: Some("en"), accept_language: Some("de") };
        assert_eq!(choose(all), Lang::Fr);
        assert_eq!(choose(Inputs { ui_locales: Some("ja"), ..all }), Lang::De, "unsupported ui_locales fall through");
        assert_eq!(choose(Inputs { ui_locales: None, cookie: None, ..all }), Lang::En, "the profile says en");
        assert_eq!(choose(Inputs { ui_locales: None, cookie: None, profile: None, ..all }), Lang::De);
    }
}
