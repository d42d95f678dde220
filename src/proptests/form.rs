//! `FormData` (bodies and query strings) against a model: pairs are generated as raw bytes,
//! encoded in one of the many equivalent ways a client may choose (`+` or `%20`, needless
//! escapes, either hex case, a bare name for an empty value), and the parse must equal what
//! the model says of the raw pairs: the value, or the field's one problem.

use std::collections::HashMap;

use proptest::prelude::*;

use super::config;
use crate::http::form::{FieldProblem, FormData};

/// Names from a small alphabet so repeats are common, plus the bytes that need escaping.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-e]{1,2}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'), Just(b' '), any::<u8>()], 0..4),
    ]
}

/// Values: text (with control characters now and then) or arbitrary bytes.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[ -~é€😀]{0,12}".prop_map(String::into_bytes),
        1 => "[a-z\\x00\\r\\n\\t]{0,6}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ]
}

/// How one byte is written: `choice` picks among the encodings that mean the same byte.
fn encode_byte(out: &mut String, b: u8, choice: u8) {
    let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'*');
    match choice % 3 {
        0 if unreserved => out.push(b as char),
        1 if b == b' ' => out.push('+'),
        2 => out.push_str(&format!("%{b:02x}")),
        _ => out.push_str(&format!("%{b:02X}")),
    }
}

fn encode(pairs: &[(Vec<u8>, Vec<u8>)], choices: &[u8]) -> String {
    let mut choice = choices.iter().copied().cycle();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        for b in k {
            encode_byte(&mut out, *b, choice.next().unwrap_or(0));
        }
        // A bare name means an empty value; `k=` says the same (an empty name keeps its `=`,
        // or the pair would vanish as an empty `&&`).
        if k.is_empty() || !v.is_empty() || choice.next().unwrap_or(0) % 2 == 0 {
            out.push('=');
        }
        for b in v {
            encode_byte(&mut out, *b, choice.next().unwrap_or(0));
        }
    }
    out
}

/// What the parser must say about each (textual) name.
fn model(pairs: &[(Vec<u8>, Vec<u8>)]) -> HashMap<String, Result<String, FieldProblem>> {
    let mut seen: HashMap<String, Result<String, FieldProblem>> = HashMap::new();
    for (k, v) in pairs {
        let Ok(key) = String::from_utf8(k.clone()) else { continue };
        let verdict = match String::from_utf8(v.clone()) {
            _ if seen.contains_key(&key) => Err(FieldProblem::Repeated),
            Err(_) => Err(FieldProblem::InvalidUtf8),
            Ok(v) if v.contains(['\0', '\r', '\n']) => Err(FieldProblem::ControlCharacters),
            Ok(v) => Ok(v),
        };
        seen.insert(key, verdict);
    }
    seen
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn every_field_parses_to_what_the_model_says(
        pairs in proptest::collection::vec((name(), value()), 0..8),
        choices in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let body = encode(&pairs, &choices);
        let form = FormData::parse(body.as_bytes());
        let expected = model(&pairs);
        for (key, verdict) in &expected {
            prop_assert_eq!(form.text(key).map(str::to_string), verdict.clone(), "field {:?} of {:?}", key, body);
        }
        prop_assert_eq!(form.text("absent-field"), Ok(""));
        // The query-string reader is the same parser.
        let query = FormData::from_query(Some(&body));
        for key in expected.keys() {
            prop_assert_eq!(query.text(key), form.text(key));
        }
    }

    #[test]
    fn how_a_value_is_encoded_never_changes_what_it_means(
        pairs in proptest::collection::vec((name(), value()), 0..6),
        a in proptest::collection::vec(any::<u8>(), 1..32),
        b in proptest::collection::vec(any::<u8>(), 1..32),
    ) {
        let (one, other) = (FormData::parse(encode(&pairs, &a).as_bytes()), FormData::parse(encode(&pairs, &b).as_bytes()));
        for key in model(&pairs).keys() {
            prop_assert_eq!(one.text(key), other.text(key), "field {:?}", key);
        }
    }

    #[test]
    fn any_bytes_parse_and_no_accepted_value_carries_a_line_break_or_nul(body in proptest::collection::vec(any::<u8>(), 0..96)) {
        let form = FormData::parse(&body);
        let (pairs, problems) = form.into_parts(&body);
        let mut names = std::collections::HashSet::new();
        for (key, value) in &pairs {
            prop_assert!(names.insert(key.clone()), "{:?} listed twice", key);
            prop_assert!(!value.contains(['\0', '\r', '\n']), "{:?} = {:?}", key, value);
            prop_assert!(!problems.contains(key), "{:?} is both good and bad", key);
        }
    }

    #[test]
    fn parts_come_in_first_appearance_order_and_hold_only_good_fields(
        pairs in proptest::collection::vec((name(), value()), 0..8),
        choices in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let body = encode(&pairs, &choices);
        let expected = model(&pairs);
        let (got, mut problems) = FormData::parse(body.as_bytes()).into_parts(body.as_bytes());
        let mut order: Vec<String> = vec![];
        for (k, _) in &pairs {
            if let Ok(key) = String::from_utf8(k.clone())
                && !order.contains(&key)
            {
                order.push(key);
            }
        }
        let want: Vec<(String, String)> = order
            .iter()
            .filter_map(|k| expected[k].clone().ok().map(|v| (k.clone(), v)))
            .collect();
        prop_assert_eq!(got, want);
        let mut want_problems: Vec<String> = expected.iter().filter(|(_, v)| v.is_err()).map(|(k, _)| k.clone()).collect();
        problems.sort();
        want_problems.sort();
        prop_assert_eq!(problems, want_problems);
    }
}
