//! `user import FILE`: accounts from another system, one per line (JSON lines, or CSV with a
//! header row), with their password hashes as they were. A bad line is reported with its
//! number and skipped (undone alone, under a savepoint of its batch's transaction);
//! `--strict` stops at the first one and imports nothing (one transaction); an existing username is left as it is unless `--update`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::identity::import::{ImportError, ImportFields, ImportRecord, Imported};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: `.jsonl`/`.ndjson` or `.csv` (fields: username, email, email_verified,
    /// display_name, password_hash, totp_secret).
    pub file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long)]
    pub format: Option<Format>,
    /// Stop at the first bad line; nothing is imported unless every line is good.
    #[arg(long)]
    pub strict: bool,
    /// Overwrite accounts whose username exists (otherwise they are left unchanged).
    #[arg(long)]
    pub update: bool,
    /// Report progress on standard error every this many lines.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub progress_every: usize,
    /// Lines per transaction (not with --strict, which is one transaction).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub batch: usize,
}

#[derive(Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
}

pub async fn run(state: &AppState, args: ImportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(f) => f,
        None => format_of(&args.file)?,
    };
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let lines = records(&text, format)?;
    let total = lines.len();
    let mut tally = Tally::default();
    // One transaction per batch (--strict: one for the whole file), each line under a
    // savepoint so a refused line is undone alone: a commit per line made 100,000 lines take
    // minutes (one fsync each).
    let mut tx = Some(state.db.begin().await?);
    let mut in_batch = 0;
    for (n, (number, fields)) in lines.into_iter().enumerate() {
        let outcome = match fields {
            Err(problem) => Err(ImportError::Invalid(problem)),
            Ok(fields) => match ImportRecord::parse(fields) {
                Err(e) => Err(e),
                Ok(rec) => {
                    if tx.is_none() {
                        tx = Some(state.db.begin().await?);
                    }
                    let Some(open) = &tx else { bail!("no open transaction") };
                    open.savepoint().await?;
                    let done = state.accounts.import_user(open, &rec, args.update).await;
                    match &done {
                        Ok(_) => open.release_savepoint().await?,
                        Err(_) => open.rollback_to().await?,
                    }
                    in_batch += 1;
                    done
                }
            },
        };
        match outcome {
            Ok(Imported::Created) => tally.created += 1,
            Ok(Imported::Updated) => tally.updated += 1,
            Ok(Imported::Unchanged) => tally.unchanged += 1,
            Err(ImportError::Internal(e)) => return Err(e.context(format!("line {number}"))),
            Err(e) if args.strict => bail!("line {number}: {e}; nothing imported (--strict)"),
            Err(e) => {
                tally.failed += 1;
                eprintln!("line {number}: {e}; skipped");
            }
        }
        if !args.strict && in_batch >= args.batch.max(1) {
            if let Some(done) = tx.take() {
                done.commit().await?;
            }
            in_batch = 0;
        }
        if args.progress_every > 0 && (n + 1).is_multiple_of(args.progress_every) {
            eprintln!(
                "progress: {} lines read of {total} ({} created, {} skipped)",
                n + 1,
                tally.created,
                tally.failed
            );
        }
    }
    if let Some(tx) = tx {
        tx.commit().await?;
    }
    println!(
        "imported: {} created, {} updated, {} unchanged, {} skipped",
        tally.created, tally.updated, tally.unchanged, tally.failed
    );
    if tally.failed > 0 {
        bail!("{} line(s) skipped", tally.failed);
    }
    Ok(())
}

fn format_of(path: &Path) -> anyhow::Result<Format> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        _ => bail!("cannot tell the format of {} from its extension: give --format jsonl|csv", path.display()),
    }
}

type Line = (usize, Result<ImportFields, String>);

/// The file's records with their line numbers (blank lines skipped).
fn records(text: &str, format: Format) -> anyhow::Result<Vec<Line>> {
    let mut numbered = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    match format {
        Format::Jsonl => Ok(numbered.map(|(n, l)| (n, serde_json::from_str(l).map_err(|e| e.to_string()))).collect()),
        Format::Csv => {
            let Some((_, header)) = numbered.next() else { return Ok(Vec::new()) };
            let header = split_csv(header).map_err(|e| anyhow::anyhow!("line 1 (header): {e}"))?;
            for required in ["username", "email", "password_hash"] {
                if !header.iter().any(|h| h == required) {
                    bail!("line 1 (header): no `{required}` column");
                }
            }
            Ok(numbered.map(|(n, l)| (n, split_csv(l).and_then(|cells| csv_fields(&header, cells)))).collect())
        }
    }
}

fn csv_fields(header: &[String], cells: Vec<String>) -> Result<ImportFields, String> {
    if cells.len() != header.len() {
        return Err(format!("{} cells where the header has {}", cells.len(), header.len()));
    }
    let mut f = ImportFields::default();
    for (name, value) in header.iter().zip(cells) {
        match name.as_str() {
            "username" => f.username = value,
            "email" => f.email = value,
            "email_verified" => {
                f.email_verified = match value.trim().to_ascii_lowercase().as_str() {
                    "" | "false" | "0" | "no" => false,
                    "true" | "1" | "yes" => true,
                    _ => return Err(format!("email_verified: {value:?} is not true or false")),
                }
            }
            "display_name" => f.display_name = Some(value),
            "password_hash" => f.password_hash = value,
            "totp_secret" => f.totp_secret = Some(value),
            other => return Err(format!("unknown column `{other}`")),
        }
    }
    Ok(f)
}

/// One CSV line (RFC 4180 quoting, no line breaks inside a cell).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let (mut cells, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.is_empty() => quoted = true,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    if quoted {
        return Err("an unclosed quote".into());
    }
    cells.push(cell);
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_honour_quotes() {
        assert_eq!(split_csv(r#"a,"b,c","say ""hi""",,d"#).unwrap(), ["a", "b,c", "say \"hi\"", "", "d"]);
        assert!(split_csv(r#"a,"b"#).is_err());
    }
}
