//! The `portcullis` binary: parse the command line, load settings, start logging, run.

use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{self, Cli};
use portcullis::config::Settings;

fn main() -> ExitCode {
    // A `.env` file in the working directory feeds the environment; a missing one is fine.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    portcullis::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
