//! A secret named by reference in a configuration file: `{ env = "NAME" }` (an environment
//! variable) or `{ file = "/path" }` (a file's content, one trailing newline dropped; a
//! relative path is read from the configuration file's directory). An inline string is
//! refused: configuration files live in git, secrets do not.

use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// Client secrets are stored as SHA-256 (right for high-entropy values only), so a declared
/// one must be at least this long: 32 random characters, e.g. `openssl rand -base64 32`.
pub const MIN_SECRET_CHARS: usize = 32;

/// Where a declared secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    /// Reads the `secret` key's value; the message says what is wrong with it.
    pub fn parse(value: &toml::Value) -> Result<Self, String> {
        let how = "use secret = { env = \"NAME\" } or secret = { file = \"/path\" }";
        let table = match value {
            toml::Value::String(_) => return Err(format!("an inline secret is refused (files live in git); {how}")),
            toml::Value::Table(table) => table,
            _ => return Err(format!("not a reference; {how}")),
        };
        let mut keys = table.keys().map(String::as_str).collect::<Vec<_>>();
        keys.sort_unstable();
        match (keys.as_slice(), table.get("env"), table.get("file")) {
            (["env"], Some(toml::Value::String(name)), _) if !name.is_empty() => Ok(Self::Env(name.clone())),
            (["file"], _, Some(toml::Value::String(path))) if !path.is_empty() => Ok(Self::File(path.into())),
            _ => Err(format!("exactly one of `env` or `file`, naming a variable or a path; {how}")),
        }
    }

    /// The secret's value (`base`: the configuration file's directory, for relative paths).
    pub fn resolve(&self, base: &Path) -> Result<Secret, String> {
        let value = match self {
            Self::Env(name) => match std::env::var(name) {
                Ok(v) => Secret::new(v),
                Err(std::env::VarError::NotPresent) => return Err(format!("environment variable {name} is not set")),
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("environment variable {name} is not valid UTF-8"));
                }
            },
            Self::File(path) => {
                let path = base.join(path);
                let mut text =
                    std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                Secret::new(text)
            }
        };
        let chars = value.expose().chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(format!(
                "{} holds {chars} characters; a client secret needs at least {MIN_SECRET_CHARS} \
                 (it is stored as a SHA-256, which suits random values only: `openssl rand -base64 32`)",
                self.describe()
            ));
        }
        if value.expose().chars().any(char::is_control) {
            return Err(format!("{} holds a control character", self.describe()));
        }
        Ok(value)
    }

    fn describe(&self) -> String {
        match self {
            Self::Env(name) => format!("environment variable {name}"),
            Self::File(path) => format!("file {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SecretRef, String> {
        let table: toml::Table = toml::from_str(&format!("secret = {text}")).unwrap();
        SecretRef::parse(&table["secret"])
    }

    #[test]
    fn a_secret_is_only_ever_a_reference_to_an_env_variable_or_a_file() {
        assert_eq!(parse(r#"{ env = "WEB_SECRET" }"#), Ok(SecretRef::Env("WEB_SECRET".into())));
        assert_eq!(parse(r#"{ file = "/run/secrets/web" }"#), Ok(SecretRef::File("/run/secrets/web".into())));
        assert!(
            parse(r#""hunter2-but-longer-than-thirty-two-chars""#).unwrap_err().contains("inline secret is refused")
        );
        for (case, text) in [
            ("both", r#"{ env = "A", file = "/b" }"#),
            ("neither", "{}"),
            ("empty name", r#"{ env = "" }"#),
            ("unknown key", r#"{ vault = "x" }"#),
            ("not a string", "{ env = 3 }"),
        ] {
            assert!(parse(text).unwrap_err().contains("exactly one"), "{case}");
        }
        assert!(parse("42").unwrap_err().contains("not a reference"));
    }

    #[test]
    fn a_file_secret_drops_one_trailing_newline_and_short_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let long = "s".repeat(MIN_SECRET_CHARS);
        std::fs::write(dir.path().join("good"), format!("{long}\n")).unwrap();
        std::fs::write(dir.path().join("short"), "short\n").unwrap();
        let good = SecretRef::File("good".into()).resolve(dir.path()).unwrap();
        assert_eq!(good.expose(), long, "relative to the configuration file's directory, newline dropped");
        let short = SecretRef::File("short".into()).resolve(dir.path()).unwrap_err();
        assert!(short.contains("at least 32"), "{short}");
        let missing = SecretRef::File("missing".into()).resolve(dir.path()).unwrap_err();
        assert!(missing.contains("reading"), "{missing}");
        let unset = SecretRef::Env("PORTCULLIS_TEST_SURELY_UNSET_VARIABLE".into()).resolve(dir.path()).unwrap_err();
        assert!(unset.contains("is not set"), "{unset}");
    }
}
