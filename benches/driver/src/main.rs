//! `portcullis-bench`: the Rust half of the benchmark suite (`benches/run` is the whole).
//!
//! - `drive`: a load driver for the stateful scenarios wrk cannot do without a `response()`
//!   hook (full authorization-code flows through the login and consent forms, refresh-token
//!   rotation); it carries cookies, codes and rotated tokens and works against any OIDC
//!   server whose pages are plain HTML forms (Portcullis and the oidc-provider peer).
//! - `token`: one code flow, printing the tokens (the userinfo scenario loads wrk with them).
//! - `limits`: the physical limits measured in-process: argon2id verify and JWS signing.
//! - `bare`: the floor servers: a bare axum handler and a sign-only token endpoint.
//! - `seed`: inserts many users fast, for the 1,000,000-user runs.

mod bare;
mod client;
mod cpu;
mod drive;
mod flow;
mod html;
mod limits;
mod seed;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "portcullis-bench", about = "Benchmark tools for Portcullis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one stateful scenario and print its figures as JSON.
    Drive(drive::DriveArgs),
    /// Complete one code flow and print the token response as JSON.
    Token(flow::FlowArgs),
    /// Measure argon2id verify and JWS signing costs; print JSON.
    Limits(limits::LimitsArgs),
    /// Serve the floor endpoints: GET /bare and POST /token (sign-only).
    Bare(bare::BareArgs),
    /// Insert users into a Portcullis database (same password hash for all), with progress.
    Seed(seed::SeedArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // The driver runs on one core (the suite pins it); one thread is all it needs.
        Command::Drive(args) => current_thread()?.block_on(drive::run(args)),
        Command::Token(args) => current_thread()?.block_on(flow::print_tokens(args)),
        Command::Limits(args) => limits::run(args),
        // The floor server runs like Portcullis does: tokio's multi-thread runtime.
        Command::Bare(args) => tokio::runtime::Runtime::new()?.block_on(bare::run(args)),
        Command::Seed(args) => tokio::runtime::Runtime::new()?.block_on(seed::run(args)),
    }
}

fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
