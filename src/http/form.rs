//! Strict form parsing. Axum's `Form` decodes invalid UTF-8 into U+FFFD and keeps the last
//! of repeated fields; here a field with invalid UTF-8, NUL, CR or LF, or one sent twice, is
//! a field error shown beside that field, and the rest of the form still comes back to the
//! user. The same parser reads query strings.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use percent_encoding::percent_decode;

use super::browser_error::BrowserError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    InvalidUtf8,
    ControlCharacters,
    Repeated,
}

impl FieldProblem {
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "This field contains bytes that are not valid text.",
            Self::ControlCharacters => "Remove line breaks and other control characters.",
            Self::Repeated => "This field was sent more than once.",
        }
    }
}

/// A parsed form: the good values, and the problems of the fields that were not good.
#[derive(Debug, Default)]
pub struct FormData {
    values: HashMap<String, String>,
    problems: HashMap<String, FieldProblem>,
}

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        let mut form = FormData::default();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let (raw_key, raw_value) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            // A name that is not text names no field of ours: ignore it.
            let Ok(key) = String::from_utf8(decode(raw_key)) else { continue };
            let value = String::from_utf8(decode(raw_value));
            if form.values.contains_key(&key) || form.problems.contains_key(&key) {
                form.values.remove(&key);
                form.problems.insert(key, FieldProblem::Repeated);
                continue;
            }
            match value {
                Err(_) => {
                    form.problems.insert(key, FieldProblem::InvalidUtf8);
                }
                Ok(v) if v.contains(['\0', '\r', '\n']) => {
                    form.problems.insert(key, FieldProblem::ControlCharacters);
                }
                Ok(v) => {
                    form.values.insert(key, v);
                }
            }
        }
        form
    }

    pub fn from_query(query: Option<&str>) -> Self {
        Self::parse(query.unwrap_or_default().as_bytes())
    }

    /// The field's text ("" when absent), or the problem to show beside it.
    pub fn text(&self, name: &str) -> Result<&str, FieldProblem> {
        match self.problems.get(name) {
            Some(problem) => Err(*problem),
            None => Ok(self.values.get(name).map(String::as_str).unwrap_or_default()),
        }
    }

    /// The field's text when it is usable, else "" (for re-displaying a form).
    pub fn shown(&self, name: &str) -> String {
        self.text(name).unwrap_or_default().to_string()
    }
}

fn decode(raw: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    percent_decode(&plus_as_space).collect()
}

impl FormData {
    /// Is the body `application/x-www-form-urlencoded`?
    pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    }

    /// Every well-formed pair in order, and the names of the malformed or repeated ones.
    pub fn into_parts(self, order_from: &[u8]) -> (Vec<(String, String)>, Vec<String>) {
        let mut pairs = Vec::new();
        for pair in order_from.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let raw_key = pair.split(|b| *b == b'=').next().unwrap_or_default();
            let Ok(key) = String::from_utf8(decode(raw_key)) else { continue };
            if let Some(v) = self.values.get(&key)
                && !pairs.iter().any(|(k, _): &(String, String)| *k == key)
            {
                pairs.push((key, v.clone()));
            }
        }
        (pairs, self.problems.into_keys().collect())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = BrowserError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !FormData::is_form(req.headers()) {
            return Err(BrowserError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BrowserError::PayloadTooLarge
            } else {
                BrowserError::BadRequest("error-form-unreadable")
            }
        })?;
        Ok(Self::parse(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_fields_decode_and_bad_fields_carry_their_problem() {
        let form = FormData::parse(b"a=x+y%21&b=%FF%FE&c=line%0Abreak&d=nul%00&e=1&e=2&%FF=ignored&f=");
        assert_eq!(form.text("a"), Ok("x y!"));
        assert_eq!(form.text("b"), Err(FieldProblem::InvalidUtf8));
        assert_eq!(form.text("c"), Err(FieldProblem::ControlCharacters));
        assert_eq!(form.text("d"), Err(FieldProblem::ControlCharacters));
        assert_eq!(form.text("e"), Err(FieldProblem::Repeated));
        assert_eq!(form.text("f"), Ok(""));
        assert_eq!(form.text("missing"), Ok(""));
        assert_eq!(form.shown("b"), "");
    }
}
