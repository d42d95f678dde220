//! The shipped catalogue is complete: every language defines exactly the keys English does
//! (file by file), and every key a template or the code asks for exists in English.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Lang, translate};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Message ids of one .ftl file: lines that start a message (`id = …`), not terms (`-id`),
/// comments or continuation lines.
fn ids(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_string()))
        .collect()
}

/// file name → its ids, for one language.
fn catalogue(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("locales").join(lang.tag());
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ftl") {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            files.insert(name, ids(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    files
}

fn walk(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, ext, out);
        } else if path.extension().is_some_and(|e| ext.iter().any(|x| e == *x)) {
            out.push(path);
        }
    }
}

/// The string literal right after each `marker` (after `skip_arg` commas' worth of
/// arguments when the key is not the first argument).
fn keys_after(text: &str, marker: &str, skip_arg: bool, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + marker.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let mut args = rest;
        if skip_arg {
            match args.find(',') {
                Some(comma) => args = &args[comma + 1..],
                None => continue,
            }
        }
        let Some(tail) = args.trim_start().strip_prefix('"') else { continue };
        if let Some(close) = tail.find('"') {
            out.insert(tail[..close].to_string());
        }
    }
}

/// Every key used by a template (`t("…")`, `t1("…"`, `t2("…"`) or the code (`translate(lang, "…"`,
/// `tr("…")`, `tr_args("…"`).
fn used_keys() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    walk(&root().join("templates"), &["html", "txt"], &mut files);
    walk(&root().join("src"), &["rs"], &mut files);
    let mut used = BTreeMap::new();
    for file in files {
        if file.ends_with("catalogue_tests.rs") || file.ends_with("i18n/mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let mut keys = BTreeSet::new();
        for marker in ["t(", "t1(", "t2(", "tr(", "tr_args(", "BadRequest("] {
            keys_after(&text, marker, false, &mut keys);
        }
        keys_after(&text, "translate(", true, &mut keys);
        if !keys.is_empty() {
            used.insert(file.strip_prefix(root()).unwrap().display().to_string(), keys);
        }
    }
    used
}

#[test]
fn every_language_has_exactly_the_english_keys_file_by_file() {
    let english = catalogue(Lang::En);
    assert!(!english.is_empty(), "no English messages found");
    for lang in [Lang::De, Lang::Fr] {
        let other = catalogue(lang);
        let names: BTreeSet<_> = english.keys().chain(other.keys()).collect();
        for name in names {
            let en = english.get(name).cloned().unwrap_or_default();
            let it = other.get(name).cloned().unwrap_or_default();
            let missing: Vec<_> = en.difference(&it).collect();
            let extra: Vec<_> = it.difference(&en).collect();
            assert!(missing.is_empty(), "locales/{lang}/{name} lacks {missing:?}");
            assert!(extra.is_empty(), "locales/{lang}/{name} has keys English does not: {extra:?}");
        }
    }
}

#[test]
fn every_key_a_template_or_the_code_uses_exists_in_english() {
    let english: BTreeSet<String> = catalogue(Lang::En).into_values().flatten().collect();
    let used = used_keys();
    assert!(used.values().map(BTreeSet::len).sum::<usize>() > 50, "the scan found almost no keys: {used:?}");
    for (file, keys) in used {
        let unknown: Vec<_> = keys.iter().filter(|k| !english.contains(*k)).collect();
        assert!(unknown.is_empty(), "{file} uses keys not in locales/en: {unknown:?}");
    }
}

#[test]
fn every_message_resolves_in_every_language_without_falling_back_to_its_key() {
    for lang in Lang::ALL {
        for key in catalogue(lang).into_values().flatten() {
            // Every variable any message uses, so a message with arguments resolves too.
            let vars = [
                "name", "count", "client", "address", "when", "scopes", "app", "error", "hours", "minutes", "reason",
                "wait",
            ];
            let args: Vec<(&str, &dyn std::fmt::Display)> =
                vars.iter().map(|v| (*v, &2 as &dyn std::fmt::Display)).collect();
            let text = translate(lang, &key, &args);
            assert_ne!(text, key, "{lang}: {key} did not resolve (a syntax error in the .ftl file?)");
        }
    }
}

#[test]
fn arguments_are_filled_in_without_isolation_marks() {
    let text = translate(Lang::De, "mail-hello", &[("name", &"Ada")]);
    assert_eq!(text, "Hallo Ada,");
    assert!(!text.contains('\u{2068}'));
}
