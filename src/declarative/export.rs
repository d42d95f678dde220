//! `portcullis export-config`: the stored clients as a configuration file that `apply` reads
//! back unchanged. Secrets are never exported (only their hashes are stored, and those stay
//! in the database): each confidential client gets `secret = { env = "PORTCULLIS_CLIENT_<ID>_SECRET" }`
//! with a comment, to be set to its current secret (or a new one) before applying.

use crate::oauth::client::Client;
use crate::oauth::redirect::RedirectUri;

/// The environment variable an exported client's secret is read from.
pub fn secret_variable(id: &str) -> String {
    let upper: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("PORTCULLIS_CLIENT_{upper}_SECRET")
}

fn string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(string).collect();
    format!("[{}]", items.join(", "))
}

fn uris(v: &[RedirectUri]) -> String {
    list(v.iter().map(RedirectUri::as_str))
}

/// The file text for `clients`, every key written out (defaults too), in id order.
pub fn render(clients: &[Client]) -> String {
    let mut out = String::from(
        "# Portcullis clients, written by `portcullis export-config`; apply with `portcullis apply FILE`.\n\
         # Secrets are not exported (only their hashes are stored): before applying, set each\n\
         # PORTCULLIS_CLIENT_<ID>_SECRET below to the client's current secret (or to a new one of at\n\
         # least 32 characters, which replaces it).\n",
    );
    for c in clients {
        let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        out.push_str("\n[[clients]]\n");
        out.push_str(&format!("id = {}\n", string(&c.id)));
        out.push_str(&format!("name = {}\n", string(&c.name)));
        out.push_str(&format!("public = {}\n", c.public));
        out.push_str(&format!("first_party = {}\n", c.first_party));
        out.push_str(&format!("redirect_uris = {}\n", uris(&c.redirect_uris)));
        out.push_str(&format!("post_logout_redirect_uris = {}\n", uris(&c.post_logout_redirect_uris)));
        out.push_str(&format!("grant_types = {}\n", list(grants)));
        out.push_str(&format!("scopes = {}\n", list(c.scopes.iter())));
        out.push_str(&format!("audiences = {}\n", list(c.audiences.iter().map(String::as_str))));
        out.push_str(&format!("require_mfa = {}\n", c.require_mfa));
        out.push_str(&format!("api_access = {}\n", c.api_access));
        out.push_str(&format!("introspect_any = {}\n", c.introspect_any));
        if let Some(alg) = c.id_token_alg {
            out.push_str(&format!("id_token_signed_response_alg = {}\n", string(alg.name())));
        }
        out.push_str(&format!("id_token_on_refresh = {}\n", c.id_token_on_refresh));
        if !c.public {
            out.push_str("# Not exported: set this variable to the client's secret before applying.\n");
            out.push_str(&format!("secret = {{ env = {} }}\n", string(&secret_variable(&c.id))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_secret_variable_is_a_valid_environment_name() {
        assert_eq!(secret_variable("my-app"), "PORTCULLIS_CLIENT_MY_APP_SECRET");
        assert_eq!(secret_variable("com.example:web"), "PORTCULLIS_CLIENT_COM_EXAMPLE_WEB_SECRET");
    }

    #[test]
    fn exported_strings_are_quoted_as_toml() {
        let text = format!("name = {}\nscopes = {}\n", string("a \"quoted\" name\n"), list(["openid", "x'y"]));
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(table["name"].as_str(), Some("a \"quoted\" name\n"), "{text}");
        assert_eq!(table["scopes"].as_array().unwrap()[1].as_str(), Some("x'y"), "{text}");
    }
}
