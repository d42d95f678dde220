//! Just enough HTML reading to submit a server's form the way a browser would: the form's
//! action, its inputs (hidden values kept), and the first named submit button.

#[derive(Debug, PartialEq)]
pub struct Form {
    pub action: String,
    /// (name, value) of every named input, in page order.
    pub inputs: Vec<(String, String)>,
    /// The first `<button name=… value=…>`, e.g. `decision=allow`.
    pub button: Option<(String, String)>,
}

/// The form to fill on a page: the one with a password field, else the first POST form.
pub fn main_form(html: &str) -> Option<Form> {
    let forms: Vec<Form> = html
        .split("<form")
        .skip(1)
        .filter_map(|chunk| {
            let (open, rest) = chunk.split_once('>')?;
            let body = rest.split("</form>").next().unwrap_or(rest);
            let method = attr(open, "method").unwrap_or_default().to_ascii_lowercase();
            if method != "post" {
                return None;
            }
            let inputs = tags(body, "<input")
                .filter_map(|t| Some((attr(t, "name")?, attr(t, "value").unwrap_or_default())))
                .collect();
            let button = tags(body, "<button").find_map(|t| Some((attr(t, "name")?, attr(t, "value")?)));
            Some(Form { action: attr(open, "action").unwrap_or_default(), inputs, button })
        })
        .collect();
    let with_password = forms.iter().position(|f| f.inputs.iter().any(|(n, _)| n == "password"));
    let mut forms = forms;
    match with_password {
        Some(i) => Some(forms.swap_remove(i)),
        None => forms.into_iter().next(),
    }
}

fn tags<'a>(html: &'a str, open: &'a str) -> impl Iterator<Item = &'a str> {
    html.split(open).skip(1).filter_map(|t| t.split_once('>').map(|(inside, _)| inside))
}

/// An attribute's value (double- or single-quoted), entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        let at = rest.find(name)?;
        let before = rest[..at].chars().last();
        let after = &rest[at + name.len()..];
        let after_trim = after.trim_start();
        if before.is_some_and(char::is_whitespace) && after_trim.starts_with('=') {
            let value = after_trim[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let end = value[1..].find(quote)?;
                return Some(unescape(&value[1..1 + end]));
            }
            let end = value.find(|c: char| c.is_whitespace() || c == '/').unwrap_or(value.len());
            return Some(unescape(&value[..end]));
        }
        rest = after;
    }
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => {
                u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32)
            }
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_form_is_found_with_its_hidden_values() {
        let page = r#"<form method="get" action="/search"><input name="q"></form>
            <form method="post" action="/login" novalidate>
            <input type="hidden" name="csrf_token" value="abc">
            <input type="hidden" name="next" value="/authorize?a=1&amp;b=&#x2F;2">
            <input id="u" name="username" autocomplete="username">
            <input type="password" name="password">
            <button type="submit">Sign in</button></form>"#;
        let form = main_form(page).unwrap();
        assert_eq!(form.action, "/login");
        assert_eq!(
            form.inputs,
            vec![
                ("csrf_token".into(), "abc".into()),
                ("next".into(), "/authorize?a=1&b=/2".into()),
                ("username".into(), "".into()),
                ("password".into(), "".into()),
            ]
        );
        assert_eq!(form.button, None);
    }

    #[test]
    fn a_consent_form_submits_its_first_named_button() {
        let page = r#"<form method="post" action="/authorize/consent"><input type="hidden" name="pending" value="p1">
            <button type="submit" name="decision" value="allow">Allow</button>
            <button type="submit" name="decision" value="deny">Deny</button></form>"#;
        let form = main_form(page).unwrap();
        assert_eq!(form.button, Some(("decision".into(), "allow".into())));
        assert_eq!(form.inputs, vec![("pending".into(), "p1".into())]);
    }

    #[test]
    fn attribute_names_match_whole_words_only() {
        assert_eq!(attr(r#"input data-name="x" name="y""#, "name").as_deref(), Some("y"));
    }
}
