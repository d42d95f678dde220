//! The stateful scenarios: N workers on one thread, each with its own connection and
//! cookie jar, for a fixed time. Prints one JSON object: completed operations, errors,
//! rate, latency percentiles, HTTP requests sent, and the server's CPU time in the window.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::json;

use crate::client::Client;
use crate::cpu;
use crate::flow::{Endpoints, FlowArgs, client_auth, code_flow, discover};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Scenario {
    /// Full authorization-code flows, each with a new browser: login form, consent if
    /// asked, code exchange.
    Flow,
    /// refresh_token grants with rotation; each worker signs in once, then refreshes
    /// with the token it was last given.
    Refresh,
    /// JSON password logins (`--login-path`), each answer checked against `--expect-status`.
    Login,
}

#[derive(clap::Args, Debug)]
pub struct DriveArgs {
    #[arg(value_enum)]
    scenario: Scenario,
    #[command(flatten)]
    flow: FlowArgs,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of measurement (after each worker's setup).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The server's process id: its CPU time over the measured window is reported.
    #[arg(long)]
    pid: Option<u32>,
    /// Login scenario: where the JSON login is.
    #[arg(long, default_value = "/login")]
    login_path: String,
    /// Login scenario: the status every answer must have (401 for wrong passwords).
    #[arg(long, default_value_t = 200)]
    expect_status: u16,
}

struct Outcome {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    http_requests: u64,
}

pub async fn run(args: DriveArgs) -> anyhow::Result<()> {
    let mut probe = Client::new(&args.flow.base)?;
    let ep = discover(&mut probe, &args.flow.base).await.context("reading discovery")?;

    // Setup: a connection per worker, and for refresh a first refresh token each.
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let mut client = Client::new(&args.flow.base)?;
        let refresh = match args.scenario {
            Scenario::Refresh => {
                let tokens = code_flow(&mut client, &ep, &args.flow, w as u64)
                    .await
                    .context("signing in for a refresh token")?;
                let token = tokens["refresh_token"].as_str().context("no refresh_token in the code exchange")?;
                Some(token.to_string())
            }
            Scenario::Flow | Scenario::Login => None,
        };
        client.requests = 0;
        workers.push((client, refresh));
    }

    let cpu_before = args.pid.map(cpu::process_time).transpose()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let tasks = workers.into_iter().enumerate().map(|(w, (client, refresh))| {
        let job = Job {
            scenario: args.scenario,
            ep: ep.clone(),
            flow: args.flow.clone(),
            login_path: args.login_path.clone(),
            expect_status: args.expect_status,
            // Workers take turns through the accounts: worker w uses w, w + N, w + 2N, …
            first: w as u64,
            step: args.concurrency as u64,
        };
        worker(job, client, refresh, deadline)
    });
    let outcomes = futures_join_all(tasks).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = args.pid.map(cpu::process_time).transpose()?;

    let mut latencies: Vec<u64> = outcomes.iter().flat_map(|o| o.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
    let first_error = outcomes.iter().find_map(|o| o.first_error.clone());
    let http_requests: u64 = outcomes.iter().map(|o| o.http_requests).sum();
    ensure!(!latencies.is_empty(), "no operation completed: {}", first_error.unwrap_or_default());
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
    let ops = latencies.len() as f64;
    let out = json!({
        "operations": latencies.len(),
        "errors": errors,
        "first_error": first_error,
        "seconds": elapsed,
        "rps": ops / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "http_requests": http_requests,
        "server_cpu_s": cpu_before.zip(cpu_after).map(|(a, b)| b - a),
    });
    println!("{out}");
    Ok(())
}

struct Job {
    scenario: Scenario,
    ep: Endpoints,
    flow: FlowArgs,
    login_path: String,
    expect_status: u16,
    first: u64,
    step: u64,
}

async fn worker(job: Job, mut client: Client, mut refresh: Option<String>, deadline: Instant) -> Outcome {
    let mut out = Outcome { latencies_us: Vec::new(), errors: 0, first_error: None, http_requests: 0 };
    let mut n = job.first;
    while Instant::now() < deadline {
        let t = Instant::now();
        let result = match job.scenario {
            Scenario::Flow => code_flow(&mut client, &job.ep, &job.flow, n).await.map(|_| ()),
            Scenario::Refresh => rotate(&mut client, &job.ep, &job.flow, &mut refresh).await,
            Scenario::Login => login(&mut client, &job, n).await,
        };
        n += job.step;
        match result {
            Ok(()) => out.latencies_us.push(t.elapsed().as_micros() as u64),
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("{e:#}"));
                if job.scenario == Scenario::Refresh {
                    // A lost chain cannot be resumed: sign in again for a new one.
                    if let Ok(tokens) = code_flow(&mut client, &job.ep, &job.flow, n).await {
                        refresh = tokens["refresh_token"].as_str().map(str::to_string);
                    }
                }
            }
        }
    }
    out.http_requests = client.requests;
    out
}

async fn login(client: &mut Client, job: &Job, n: u64) -> anyhow::Result<()> {
    let body = json!({ "username": job.flow.username(n), "password": job.flow.password });
    let res = client
        .send(
            hyper::Method::POST,
            &job.login_path,
            Some(body.to_string().into_bytes()),
            &[("content-type", "application/json".to_string()), ("accept", "application/json".to_string())],
        )
        .await?;
    ensure!(res.status.as_u16() == job.expect_status, "login: {} {}", res.status, res.text());
    Ok(())
}

async fn rotate(
    client: &mut Client,
    ep: &Endpoints,
    flow: &FlowArgs,
    refresh: &mut Option<String>,
) -> anyhow::Result<()> {
    let current = refresh.clone().context("no refresh token")?;
    let mut fields =
        vec![("grant_type".to_string(), "refresh_token".to_string()), ("refresh_token".into(), current.clone())];
    let headers = client_auth(flow, &mut fields);
    let res = client.post_form(&ep.token, &fields, &headers).await?;
    ensure!(res.status.is_success(), "refresh: {} {}", res.status, res.text());
    let body = res.json()?;
    let next = body["refresh_token"].as_str().context("no rotated refresh_token")?;
    ensure!(next != current, "the refresh token was not rotated");
    ensure!(body["access_token"].is_string(), "no access_token");
    *refresh = Some(next.to_string());
    Ok(())
}

/// Runs the workers concurrently on this thread and collects their outcomes.
async fn futures_join_all<F>(tasks: impl Iterator<Item = F>) -> Vec<Outcome>
where
    F: std::future::Future<Output = Outcome> + 'static,
{
    let tasks: Vec<F> = tasks.collect();
    tokio::task::LocalSet::new()
        .run_until(async move {
            let handles: Vec<_> = tasks.into_iter().map(tokio::task::spawn_local).collect();
            let mut results = Vec::new();
            for handle in handles {
                results.push(handle.await.expect("worker panicked"));
            }
            results
        })
        .await
}
