//! `customers-bench`: seeds realistic Kazakhstan customers through the repository layer and
//! load-tests the running HTTP API. See `docs/performance.md` for how the figures there were
//! made. Never part of `cargo test` runs beyond its own unit tests (no database, no server).
//!
//! ```sh
//! customers-bench seed --database-url postgres://… --customers 100000 \
//!     --organization <uuid> --workspace <uuid>
//! customers-bench run --base-url http://127.0.0.1:8080 --token … --workspace <uuid> \
//!     --connections 16 --duration 15s --server-pid <pid>
//! customers-bench clv-fit --customers 100000 --days 730
//! ```

mod clv;
mod data;
mod load;
mod rng;
mod seed;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use customers_domain::{OrganizationId, Scope, WorkspaceId};

#[derive(Parser)]
#[command(name = "customers-bench", about = "Seed customers and load-test the customers API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store N generated customers (with contacts, addresses, tags and events) through the
    /// repository, one transaction per batch. Applies pending migrations first.
    Seed {
        /// `postgres://…` or `sqlite://…`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// How many customers.
        #[arg(long)]
        customers: u64,
        /// Organization id.
        #[arg(long)]
        organization: Uuid,
        /// Workspace id.
        #[arg(long)]
        workspace: Uuid,
        /// Index of the first customer; seed the same organization again with another range
        /// (e-mails, IINs and BINs are derived from the index).
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Customers per `insert_many` call (one transaction).
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// `insert_many` calls in flight at once (more than the cores: a writer waits for
        /// the database most of the time). Always 1 on SQLite, which has one writer.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// PRNG seed.
        #[arg(long, default_value_t = 20_261_125)]
        seed: u64,
    },
    /// Drive the running API: each scenario with a fixed number of keep-alive connections,
    /// then a Markdown table of req/s, latency percentiles, errors and the server's RSS.
    Run {
        /// Where the API listens.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
        /// Bearer token (`customers token`), with view and create permissions.
        #[arg(long, env = "TOKEN", hide_env_values = true)]
        token: String,
        /// Workspace id.
        #[arg(long)]
        workspace: Uuid,
        /// Concurrent connections per scenario.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Measured time per scenario (`15s`, `500ms`, `2m`).
        #[arg(long, default_value = "15s", value_parser = parse_duration)]
        duration: Duration,
        /// Unmeasured time before each scenario.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        warmup: Duration,
        /// The server's process id: its peak resident memory is reported.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Scenario to run (repeat; all when absent): list, filter, search, tags, deep, cursor,
        /// get, create.
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        /// Extra query parameter for every list request (repeat), e.g. `count=estimated`.
        #[arg(long = "extra-query")]
        extra_query: Vec<String>,
        /// Pages the cursor scenario walks from page 1 (it times the deeper half).
        #[arg(long, default_value_t = 1_000)]
        cursor_depth: u32,
        /// PRNG seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Time the lifetime value models: draw purchase histories from the BG/NBD and
    /// Gamma-Gamma processes (CDNOW's parameters in days and tenge), then summarize, fit and
    /// predict them as the service does; prints the times and the recovered parameters. No
    /// database.
    ClvFit {
        /// Customers, each with at least one purchase.
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// Days of observation (first purchases fall uniformly within them).
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// PRNG seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("invalid duration {raw:?}"))?;
    let seconds = match unit {
        "ms" => value / 1_000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration unit in {raw:?} (ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {raw:?}: {e}"))
}

fn parse_pair(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("--extra-query {raw:?} must be name=value"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Seed {
            database_url,
            customers,
            organization,
            workspace,
            first,
            batch,
            writers,
            seed: prng,
        } => {
            seed::seed(seed::SeedPlan {
                database_url,
                scope: Scope::new(
                    OrganizationId::from_uuid(organization),
                    WorkspaceId::from_uuid(workspace),
                ),
                customers,
                first,
                batch,
                writers,
                seed: prng,
            })
            .await
        }
        Command::Run {
            base_url,
            token,
            workspace,
            connections,
            duration,
            warmup,
            server_pid,
            scenarios,
            extra_query,
            cursor_depth,
            seed: prng,
        } => {
            let plan = || -> Result<load::RunPlan, String> {
                let scenarios = if scenarios.is_empty() {
                    load::Scenario::ALL.to_vec()
                } else {
                    scenarios
                        .iter()
                        .map(|s| load::Scenario::parse(s))
                        .collect::<Result<_, _>>()?
                };
                Ok(load::RunPlan {
                    base_url,
                    token,
                    workspace,
                    connections,
                    duration,
                    warmup,
                    server_pid,
                    scenarios,
                    extra_query: extra_query.iter().map(|p| parse_pair(p)).collect::<Result<_, _>>()?,
                    cursor_depth,
                    seed: prng,
                })
            };
            match plan() {
                Ok(plan) => load::run(plan).await,
                Err(e) => Err(e),
            }
        }
        Command::ClvFit { customers, days, seed } => clv::run(clv::ClvPlan { customers, days, seed }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("customers-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_pairs() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert_eq!(parse_pair("count=estimated"), Ok(("count".into(), "estimated".into())));
        assert!(parse_pair("=x").is_err());
    }
}
