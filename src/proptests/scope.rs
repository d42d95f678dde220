//! `Scope::parse` (RFC 6749 §3.3: `scope = scope-token *( SP scope-token )`,
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`): a set, whatever the order, repeats or
//! extra spaces; printed sorted and once each; and any token with a character outside
//! NQCHAR refuses the whole scope.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::config;
use crate::oauth::scope::Scope;

/// NQCHAR, straight from the RFC's grammar.
fn nqchar(c: char) -> bool {
    c == '\u{21}' || ('\u{23}'..='\u{5B}').contains(&c) || ('\u{5D}'..='\u{7E}').contains(&c)
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[!#-\\[\\]-~]{1,10}",
        1 => prop::sample::select(vec!["openid", "profile", "email", "offline_access", "admin"]).prop_map(str::to_string),
    ]
}

/// Tokens joined by runs of one to three spaces, with optional leading/trailing spaces.
fn joined(tokens: &[String], gaps: &[usize]) -> String {
    let gap = |i: usize| " ".repeat(1 + gaps.get(i % gaps.len().max(1)).copied().unwrap_or(0) % 3);
    let mut out = String::new();
    if gaps.first().is_some_and(|g| g % 2 == 1) {
        out.push(' ');
    }
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push_str(&gap(i));
        }
        out.push_str(t);
    }
    if gaps.last().is_some_and(|g| g % 5 == 1) {
        out.push(' ');
    }
    out
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn a_scope_is_the_set_of_its_tokens_printed_sorted_once_each(
        tokens in proptest::collection::vec(token(), 0..8),
        gaps in proptest::collection::vec(any::<usize>(), 1..8),
    ) {
        let raw = joined(&tokens, &gaps);
        let scope = Scope::parse(&raw).expect("valid tokens parse");
        let set: BTreeSet<String> = tokens.iter().cloned().collect();
        prop_assert_eq!(scope.iter().map(str::to_string).collect::<Vec<_>>(), set.iter().cloned().collect::<Vec<_>>());
        prop_assert_eq!(scope.to_string(), set.iter().cloned().collect::<Vec<_>>().join(" "));
        prop_assert_eq!(Scope::parse(&scope.to_string()), Ok(scope.clone()), "the printed form parses back");
        prop_assert_eq!(scope.is_empty(), set.is_empty());
        for t in &tokens {
            prop_assert!(scope.contains(t));
            prop_assert!(!scope.without(t).contains(t));
            prop_assert_eq!(scope.without(t).iter().count(), set.len() - 1);
        }
    }

    #[test]
    fn order_and_repeats_never_matter(tokens in proptest::collection::vec(token(), 1..8), seed in any::<u64>()) {
        let mut shuffled = tokens.clone();
        shuffled.extend(tokens.iter().take((seed % 3) as usize).cloned());
        let n = shuffled.len();
        shuffled.rotate_left((seed as usize) % n);
        shuffled.swap(0, (seed as usize / 7) % n);
        prop_assert_eq!(Scope::parse(&tokens.join(" ")), Scope::parse(&shuffled.join(" ")));
    }

    #[test]
    fn subsets_are_set_inclusion(a in proptest::collection::vec(token(), 0..6), b in proptest::collection::vec(token(), 0..6)) {
        let (sa, sb) = (Scope::parse(&a.join(" ")).unwrap(), Scope::parse(&b.join(" ")).unwrap());
        let (set_a, set_b): (BTreeSet<_>, BTreeSet<_>) = (a.iter().collect(), b.iter().collect());
        prop_assert_eq!(sa.is_subset(&sb), set_a.is_subset(&set_b));
        prop_assert!(sa.is_subset(&Scope::from_names(a.iter().chain(&b).cloned())));
    }

    #[test]
    fn a_token_with_a_character_outside_nqchar_refuses_the_scope(
        before in proptest::collection::vec(token(), 0..4),
        bad in any::<char>().prop_filter("outside NQCHAR, not the separator", |c| !nqchar(*c) && *c != ' '),
        head in "[!#-\\[\\]-~]{0,4}",
        tail in "[!#-\\[\\]-~]{0,4}",
        after in proptest::collection::vec(token(), 0..4),
    ) {
        let poisoned = format!("{head}{bad}{tail}");
        let raw = before.iter().chain([&poisoned]).chain(&after).cloned().collect::<Vec<_>>().join(" ");
        prop_assert!(Scope::parse(&raw).is_err(), "{:?} must be refused", raw);
    }

    #[test]
    fn whatever_parses_consists_of_nqchar_tokens_only(raw in "[ -~\\t\\x{80}-\\x{10FFFF}]{0,24}") {
        if let Ok(scope) = Scope::parse(&raw) {
            for t in scope.iter() {
                prop_assert!(!t.is_empty() && t.chars().all(nqchar), "{:?} from {:?}", t, raw);
            }
        } else {
            prop_assert!(raw.split(' ').any(|t| !t.chars().all(nqchar)), "{:?} refused, yet every token is NQCHAR", raw);
        }
    }
}
