//! The `[keys]` settings: when signing keys rotate on a schedule (what a rotation does is in
//! `oauth::key_rotation`).

use serde::Deserialize;

/// The `[keys]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub rotate_every: RotateEvery,
}

/// `keys.rotate_every`: a whole number of seconds, or a number with a unit (`s`, `m`, `h`,
/// `d`, `w`), e.g. `"90d"`. Zero means no scheduled rotation (by hand only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateEvery(i64);

impl RotateEvery {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let unit_secs = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            other => return Err(format!("unknown unit {other:?} (use s, m, h, d or w)")),
        };
        let n: i64 = digits.parse().map_err(|_| format!("{text:?} is not a duration such as \"90d\" or 3600"))?;
        n.checked_mul(unit_secs).map(Self).ok_or_else(|| format!("{text:?} is too long"))
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for RotateEvery {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Secs(n) if n >= 0 => Ok(Self(n)),
            Raw::Secs(_) => Err(serde::de::Error::custom("must not be negative")),
            Raw::Text(text) => Self::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_every_reads_seconds_or_a_number_with_a_unit() {
        let cases = [("7776000", 7_776_000), ("90d", 7_776_000), ("12h", 43_200), ("30m", 1800), ("2w", 1_209_600)];
        for (text, secs) in cases {
            assert_eq!(RotateEvery::parse(text), Ok(RotateEvery(secs)), "{text}");
        }
        assert_eq!(RotateEvery::parse(" 45s "), Ok(RotateEvery(45)), "surrounding spaces");
        assert_eq!(RotateEvery::parse("0"), Ok(RotateEvery(0)), "off");
        for bad in ["", "d", "90 days", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(RotateEvery::parse(bad).is_err(), "{bad:?} is refused");
        }
    }
}
