//! The `[branding]` settings: what the operator's brand looks like. Only the values are checked
//! here (the colour's syntax); the files are read, and the overrides compiled, by
//! `crate::branding` when the server starts.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingSettings {
    pub product_name: String,
    /// Empty paths mean "none".
    pub logo: PathBuf,
    pub favicon: PathBuf,
    /// `#rrggbb`, or none (empty) for the built-in accent.
    #[serde(deserialize_with = "empty_is_none")]
    pub primary_color: Option<PrimaryColor>,
    pub custom_css: PathBuf,
    pub templates_dir: PathBuf,
}

/// A colour written `#rrggbb`: parsed when the settings load, so a bad value stops the start
/// with the setting's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryColor(pub [u8; 3]);

impl PrimaryColor {
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(hex) = hex else {
            return Err(format!("`branding.primary_color`: expected a colour written #rrggbb, got {text:?}"));
        };
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string());
        Ok(Self([byte(0)?, byte(2)?, byte(4)?]))
    }

    /// `#rrggbb`, lower case.
    pub fn css(&self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Black or white, whichever contrasts more with this colour (WCAG relative luminance).
    pub fn ink(&self) -> &'static str {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        let [r, g, b] = self.0;
        let l = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        // Contrast with white (1.05 / (l + 0.05)) against contrast with black ((l + 0.05) / 0.05).
        if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 { "#ffffff" } else { "#000000" }
    }
}

/// An empty string in the file or the environment means "not set".
pub(super) fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrimaryColor>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        Ok(None)
    } else {
        PrimaryColor::parse(text.trim()).map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_primary_color_is_hash_and_six_hex_digits() {
        assert_eq!(PrimaryColor::parse("#0A7f3C").unwrap().css(), "#0a7f3c");
        for bad in ["0a7f3c", "#0a7f3", "#0a7f3cc", "#ggg000", "red", "#fff", ""] {
            let err = PrimaryColor::parse(bad).unwrap_err();
            assert!(err.contains("branding.primary_color"), "{bad}: {err}");
        }
    }

    #[test]
    fn text_on_the_primary_color_contrasts() {
        assert_eq!(PrimaryColor::parse("#1f5fbf").unwrap().ink(), "#ffffff");
        assert_eq!(PrimaryColor::parse("#ffd500").unwrap().ink(), "#000000");
    }
}
