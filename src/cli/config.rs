//! `apply FILE [--dry-run] [--prune]`, `serve --apply FILE` and `export-config [--to FILE]`:
//! configuration as code (see `declarative` and docs/config-as-code.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::declarative::{self, Options, Plan};
use crate::state::AppState;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration file (TOML with `[[clients]]` tables).
    pub file: PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete clients the file does not name (otherwise they are reported as drift).
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
}

/// Reads, checks and applies a file; the plan it carried out (or, dry, would carry out).
/// An invalid file is an error naming the file, the client and the key; nothing is written.
pub async fn apply(state: &AppState, file: &std::path::Path, options: Options) -> anyhow::Result<Plan> {
    let config = declarative::load(file, &state.provider)?;
    let plan = declarative::apply(&state.db, &state.provider, &*state.clock, &config, options).await??;
    Ok(plan)
}

pub async fn run_apply(state: &AppState, args: ApplyArgs) -> anyhow::Result<()> {
    let plan = apply(state, &args.file, Options { dry_run: args.dry_run, prune: args.prune }).await?;
    print!("{}", plan.render());
    Ok(())
}

pub async fn run_export(state: &AppState, args: ExportArgs) -> anyhow::Result<()> {
    let mut clients = state.provider.clients().await?;
    clients.retain(|c| !crate::oauth::declared::is_built_in(&c.id));
    let text = declarative::export::render(&clients);
    match args.to {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
