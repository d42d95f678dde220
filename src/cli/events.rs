//! `portcullis events tail`: the latest audit events, oldest first, as a table or JSON lines;
//! with `--follow`, new events as they are committed (polled every second) until interrupted.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::audit::read;
use crate::audit::{EventKind, Filter, MAX_PAGE, Recorded};
use crate::config::Settings;
use crate::store::{self, Db};

/// How far before the newest event shown each poll looks again: an event stamped earlier
/// but committed later (a longer transaction, another node's clock) still shows up; ids
/// already printed are dropped.
const LOOK_BACK_MS: i64 = 10_000;
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the latest events, oldest first; with --follow keep printing new ones.
    Tail {
        /// Keep polling for new events (every second) until interrupted.
        #[arg(long)]
        follow: bool,
        /// Only this type (repeat, or comma-separated), e.g. sign_in.failed.
        #[arg(long = "type", value_name = "TYPE", value_delimiter = ',')]
        types: Vec<String>,
        /// Only events about this user id.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Only events of this client id.
        #[arg(long, value_name = "ID")]
        client: Option<String>,
        /// How many of the latest events to print first (1 to 500).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(settings: Settings, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Tail { follow, types, user, client, limit, json } = command;
    let mut kinds = Vec::new();
    for text in types.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        match EventKind::parse(text) {
            Some(kind) => kinds.push(kind),
            None => bail!("--type {text}: unknown event type (known: {})", known_types()),
        }
    }
    let url = settings.database_url();
    let db =
        Db::connect(&url, &settings.database).await.with_context(|| format!("opening {}", store::redact_url(&url)))?;
    let filter = Filter { user, kinds, client, limit, ..Filter::default() };
    let mut out = Printer { json, header_done: false };
    let latest = read::latest(&db, &filter).await?;
    out.print(&latest)?;
    if !follow {
        return Ok(());
    }
    let mut seen = Seen::default();
    latest.iter().for_each(|e| seen.insert(e));
    let poll = Filter { limit: MAX_PAGE, ..filter };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(POLL) => {}
        }
        loop {
            let from = seen.newest_ms.map_or(i64::MIN, |ms| ms.saturating_sub(LOOK_BACK_MS));
            let mut batch = read::since(&db, &poll, from).await?;
            if batch.len() == MAX_PAGE as usize && batch.iter().all(|e| seen.contains(e)) {
                // A burst filled the look-back window: read on from the newest shown instead.
                batch = read::since(&db, &poll, seen.newest_ms.unwrap_or(i64::MIN)).await?;
            }
            let full = batch.len() == MAX_PAGE as usize;
            let fresh: Vec<Recorded> = batch.into_iter().filter(|e| !seen.contains(e)).collect();
            fresh.iter().for_each(|e| seen.insert(e));
            out.print(&fresh)?;
            if !full || fresh.is_empty() {
                break;
            }
        }
    }
}

fn known_types() -> String {
    EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

/// The ids printed within the look-back window, and the newest event time printed.
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    times: Vec<(i64, String)>,
    newest_ms: Option<i64>,
}

impl Seen {
    fn contains(&self, e: &Recorded) -> bool {
        self.ids.contains(&e.id)
    }

    fn insert(&mut self, e: &Recorded) {
        self.ids.insert(e.id.clone());
        self.times.push((e.at_ms, e.id.clone()));
        self.newest_ms = Some(self.newest_ms.map_or(e.at_ms, |n| n.max(e.at_ms)));
        // Forget ids no poll can return again (older than the look-back, with margin).
        let horizon = self.newest_ms.unwrap_or(e.at_ms).saturating_sub(2 * LOOK_BACK_MS);
        let (old, keep): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.times).into_iter().partition(|(t, _)| *t < horizon);
        old.iter().for_each(|(_, id)| {
            self.ids.remove(id);
        });
        self.times = keep;
    }
}

struct Printer {
    json: bool,
    header_done: bool,
}

impl Printer {
    fn print(&mut self, events: &[Recorded]) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        for e in events {
            if self.json {
                writeln!(stdout, "{}", serde_json::to_string(e).context("writing an event as JSON")?)?;
                continue;
            }
            if !self.header_done {
                writeln!(stdout, "{}", row(["TIME (UTC)", "TYPE", "ACTOR", "USER", "CLIENT", "IP", "DETAIL"]))?;
                self.header_done = true;
            }
            let detail =
                if e.detail.as_object().is_some_and(|d| d.is_empty()) { String::new() } else { e.detail.to_string() };
            let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            writeln!(
                stdout,
                "{}",
                row([
                    &utc_ms(e.at_ms),
                    &e.kind,
                    &cell(&e.actor),
                    &cell(&e.user_id),
                    &cell(&e.client_id),
                    &cell(&e.ip),
                    &detail
                ])
            )?;
        }
        stdout.flush().context("writing to standard output")
    }
}

fn row(cells: [&str; 7]) -> String {
    format!(
        "{:<24}  {:<28}  {:<43}  {:<36}  {:<16}  {:<15}  {}",
        cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]
    )
    .trim_end()
    .to_string()
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
fn utc_ms(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc_with_milliseconds() {
        assert_eq!(utc_ms(1_764_840_600_123), "2025-12-04T09:30:00.123Z");
    }

    #[test]
    fn ids_older_than_any_poll_can_return_are_forgotten() {
        let event = |id: &str, at_ms: i64| Recorded {
            id: id.into(),
            at_ms,
            kind: "key.rotated".into(),
            actor: None,
            user_id: None,
            client_id: None,
            ip: None,
            user_agent: None,
            request_id: None,
            detail: serde_json::json!({}),
        };
        let mut seen = Seen::default();
        seen.insert(&event("a", 0));
        seen.insert(&event("b", 1_000));
        assert!(seen.contains(&event("a", 0)));
        seen.insert(&event("c", 3 * LOOK_BACK_MS));
        assert!(!seen.contains(&event("a", 0)) && seen.contains(&event("c", 0)));
        assert_eq!(seen.newest_ms, Some(3 * LOOK_BACK_MS));
    }
}
