//! `run`: drives the HTTP API with a fixed number of keep-alive connections per scenario
//! (one client, so one connection, per worker; each worker sends its next request when the
//! previous answer is read) and reports throughput, latency percentiles, errors and the
//! server's resident memory.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, Url};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::{OrganizationId, Scope, UserId, WorkspaceId};

use crate::data::{self, Generator, INDUSTRIES, STATUSES, TAGS};
use crate::rng::{Rng, Zipf};

/// A kind of request the driver sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `GET /customers?page=1..50&limit=20`.
    List,
    /// `GET /customers?status=…&type=…&industry=…&sortBy=totalPurchases&page=1..10&limit=20`.
    Filter,
    /// `GET /customers?search=<3-5 letters of a stored name>&limit=20`.
    Search,
    /// `GET /customers?tags=<one or two tags, Zipf-skewed>&page=1..10&limit=20`.
    Tags,
    /// `GET /customers?page=1000..5000&limit=20` (clamped to the last page).
    Deep,
    /// `GET /customers/{id}` of stored customers.
    Get,
    /// `POST /customers` of new realistic customers.
    Create,
    /// `GET /customers?cursor=<nextCursor of a deep page>&limit=20` (keyset pagination).
    Cursor,
}

impl Scenario {
    /// Every scenario, in the order they run by default.
    pub const ALL: [Scenario; 8] = [
        Scenario::List,
        Scenario::Filter,
        Scenario::Search,
        Scenario::Tags,
        Scenario::Deep,
        Scenario::Cursor,
        Scenario::Get,
        Scenario::Create,
    ];

    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::List => "list",
            Scenario::Filter => "filter",
            Scenario::Search => "search",
            Scenario::Tags => "tags",
            Scenario::Deep => "deep",
            Scenario::Get => "get",
            Scenario::Create => "create",
            Scenario::Cursor => "cursor",
        }
    }

    /// The scenario called `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario {name:?}; one of {}", names.join(", "))
        })
    }

    /// Whether the scenario reads the list endpoint (and takes the extra query parameters).
    fn is_list(self) -> bool {
        !matches!(self, Scenario::Get | Scenario::Create)
    }

    fn what(self) -> &'static str {
        match self {
            Scenario::List => "list, page 1..50, limit 20",
            Scenario::Filter => "status+type+industry, sortBy=totalPurchases",
            Scenario::Search => "search, 3-5 letters of a name",
            Scenario::Tags => "tags filter (1-2 tags)",
            Scenario::Deep => "deep page 1000..5000 (offset)",
            Scenario::Cursor => "keyset deep pages (cursor)",
            Scenario::Get => "get by id",
            Scenario::Create => "create",
        }
    }
}

/// What `run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Bearer token with `customers:view` and `customers:create` on the workspace.
    pub token: String,
    /// The workspace to read and write.
    pub workspace: Uuid,
    /// Concurrent connections per scenario.
    pub connections: usize,
    /// Measured time per scenario.
    pub duration: Duration,
    /// Unmeasured time before it (connections open, caches warm).
    pub warmup: Duration,
    /// The server's process, for its memory.
    pub server_pid: Option<u32>,
    /// Scenarios to run, in order.
    pub scenarios: Vec<Scenario>,
    /// Extra query parameters for every list request (`count=estimated`).
    pub extra_query: Vec<(String, String)>,
    /// How many pages the cursor scenario walks before timing.
    pub cursor_depth: u32,
    /// PRNG seed.
    pub seed: u64,
}

/// What the driver learned about the data before the scenarios.
struct Context {
    client_base: Url,
    token: String,
    workspace: Uuid,
    extra_query: Vec<(String, String)>,
    total: u64,
    ids: Vec<Uuid>,
    terms: Vec<String>,
    cursors: Vec<String>,
    generator: Generator,
    /// Mixed into the indexes of created customers: another run with the same `--seed` still
    /// creates other e-mails.
    run_salt: u64,
    tags: Zipf,
    industries: Zipf,
}

/// Measurements of one scenario.
struct Outcome {
    scenario: Scenario,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    peak_rss_kb: Option<u64>,
    /// Server CPU time (user + system) over the measured window.
    server_cpu: Option<Duration>,
    first_error: Option<String>,
}

/// Runs the scenarios and prints a Markdown table.
pub async fn run(plan: RunPlan) -> Result<(), String> {
    let base = Url::parse(&plan.base_url).map_err(|e| format!("invalid --base-url: {e}"))?;
    let client = client()?;
    let mut ctx = Context {
        client_base: base,
        token: plan.token.clone(),
        workspace: plan.workspace,
        extra_query: plan.extra_query.clone(),
        total: 0,
        ids: Vec::new(),
        terms: Vec::new(),
        cursors: Vec::new(),
        generator: Generator::new(
            Scope::new(OrganizationId::new(), WorkspaceId::from_uuid(plan.workspace)),
            UserId::new(),
            OffsetDateTime::now_utc(),
            plan.seed,
        ),
        run_salt: Uuid::new_v4().as_u64_pair().0,
        tags: Zipf::new(TAGS.len(), 1.1),
        // The same skews as the pgbench scripts (`random_zipfian(1, n, 1.1)`).
        industries: Zipf::new(INDUSTRIES.len(), 1.1),
    };
    prepare(&client, &mut ctx, plan.seed).await?;
    let mut notes = Vec::new();
    if plan.scenarios.contains(&Scenario::Cursor) {
        match walk_cursors(&client, &mut ctx, plan.cursor_depth).await? {
            Some(note) => notes.push(note),
            None => notes.push("cursor: skipped, the list response has no `nextCursor`".to_owned()),
        }
    }
    let ctx = Arc::new(ctx);
    eprintln!(
        "run: {} customers in the workspace; {} ids, {} search terms, {} deep cursors collected",
        ctx.total,
        ctx.ids.len(),
        ctx.terms.len(),
        ctx.cursors.len()
    );
    let mut outcomes = Vec::new();
    for &scenario in &plan.scenarios {
        if scenario == Scenario::Cursor && ctx.cursors.is_empty() {
            continue;
        }
        eprintln!(
            "run: {} with {} connections for {:?} (+{:?} warm-up)",
            scenario.name(),
            plan.connections,
            plan.duration,
            plan.warmup
        );
        let outcome = run_scenario(&ctx, scenario, &plan).await?;
        if let Some(e) = &outcome.first_error {
            notes.push(format!("{}: {} errors, first: {e}", scenario.name(), outcome.errors));
        }
        outcomes.push(outcome);
    }
    let hwm = plan.server_pid.and_then(|pid| proc_status_kb(pid, "VmHWM:"));
    println!("{}", report(&plan, &outcomes, hwm, &notes));
    Ok(())
}

fn client() -> Result<Client, String> {
    Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Context {
    fn url(&self, path: &str) -> Url {
        let mut url = self.client_base.clone();
        url.set_path(&format!("/api/v1/workspaces/{}/customers{path}", self.workspace));
        url
    }

    fn list_url(&self, params: &[(&str, String)]) -> Url {
        let mut url = self.url("");
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in params {
                pairs.append_pair(k, v);
            }
            for (k, v) in &self.extra_query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    fn last_page(&self, limit: u64) -> u64 {
        self.total.div_ceil(limit).max(1)
    }

    /// The next request of `scenario`.
    fn request(&self, scenario: Scenario, rng: &mut Rng) -> (Method, Url, Option<String>) {
        let get = |url| (Method::GET, url, None);
        match scenario {
            Scenario::List => get(self.list_url(&[("page", rng.range(1, 50).to_string()), ("limit", "20".into())])),
            Scenario::Filter => {
                let status = STATUSES[rng.weighted(&STATUSES.iter().map(|s| s.1).collect::<Vec<_>>())].0;
                let kind = if rng.chance(0.6) { "COMPANY" } else { "INDIVIDUAL" };
                get(self.list_url(&[
                    ("status", status.as_str().into()),
                    ("type", kind.into()),
                    ("industry", INDUSTRIES[self.industries.sample(rng)].into()),
                    ("sortBy", "totalPurchases".into()),
                    ("sortOrder", "DESC".into()),
                    ("page", rng.range(1, 10).to_string()),
                    ("limit", "20".into()),
                ]))
            }
            Scenario::Search => {
                get(self.list_url(&[("search", rng.pick(&self.terms).clone()), ("limit", "20".into())]))
            }
            Scenario::Tags => {
                let mut tags = TAGS[self.tags.sample(rng)].to_owned();
                if rng.chance(0.3) {
                    tags = format!("{tags},{}", TAGS[self.tags.sample(rng)]);
                }
                get(self.list_url(&[
                    ("tags", tags),
                    ("page", rng.range(1, 10).to_string()),
                    ("limit", "20".into()),
                ]))
            }
            Scenario::Deep => {
                let last = self.last_page(20);
                let page = rng.range(1_000.min(last), 5_000.min(last));
                get(self.list_url(&[("page", page.to_string()), ("limit", "20".into())]))
            }
            Scenario::Cursor => {
                get(self.list_url(&[("cursor", rng.pick(&self.cursors).clone()), ("limit", "20".into())]))
            }
            Scenario::Get => get(self.url(&format!("/{}", rng.pick(&self.ids)))),
            Scenario::Create => {
                // A random index (48 bits, salted per run): unique e-mails without coordination
                // between workers or runs.
                let n = (rng.next_u64() ^ self.run_salt) >> 16;
                let customer = self.generator.customer(rng, n, 0).customer;
                (
                    Method::POST,
                    self.url(""),
                    Some(data::create_body(&customer).to_string()),
                )
            }
        }
    }
}

/// Sends one request and reads the whole answer: its body (when `keep`) if it is 2xx, an
/// error text otherwise.
async fn send(
    client: &Client,
    ctx: &Context,
    method: Method,
    url: Url,
    body: Option<String>,
    keep: bool,
) -> Result<Vec<u8>, String> {
    let mut request = client.request(method, url).bearer_auth(&ctx.token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body);
    }
    let response = request.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| format!("reading the body: {e}"))?;
    if status.is_success() {
        Ok(if keep { body.to_vec() } else { Vec::new() })
    } else {
        let text = String::from_utf8_lossy(&body);
        Err(format!("{status}: {}", text.chars().take(300).collect::<String>()))
    }
}

async fn get_json(client: &Client, ctx: &Context, url: Url) -> Result<serde_json::Value, String> {
    let body = send(client, ctx, Method::GET, url.clone(), None, true)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// Reads the total and collects ids and search terms from pages spread over the list.
async fn prepare(client: &Client, ctx: &mut Context, seed: u64) -> Result<(), String> {
    let first = get_json(client, ctx, ctx.list_url(&[("limit", "100".into())])).await?;
    ctx.total = first["total"].as_u64().unwrap_or(0);
    if ctx.total == 0 {
        return Err("the workspace has no customers: seed it first".into());
    }
    let mut rng = Rng::new(seed ^ 0x7072_6570);
    let last = ctx.last_page(100);
    let mut pages = vec![first];
    for _ in 0..19 {
        let page = rng.range(1, last);
        pages.push(
            get_json(
                client,
                ctx,
                ctx.list_url(&[("page", page.to_string()), ("limit", "100".into())]),
            )
            .await?,
        );
    }
    for page in &pages {
        for item in page["items"].as_array().into_iter().flatten() {
            if let Some(id) = item["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                ctx.ids.push(id);
            }
            if let Some(name) = item["name"].as_str() {
                ctx.terms.extend(search_term(name, &mut rng));
            }
        }
    }
    if ctx.ids.is_empty() || ctx.terms.is_empty() {
        return Err("the list returned no customers to work with".into());
    }
    Ok(())
}

/// 3 to 5 consecutive letters of a word of `name`.
fn search_term(name: &str, rng: &mut Rng) -> Option<String> {
    let words: Vec<Vec<char>> = name
        .split(|c: char| !c.is_alphabetic())
        .map(|w| w.chars().collect::<Vec<char>>())
        .filter(|w| w.len() >= 3)
        .collect();
    if words.is_empty() {
        return None;
    }
    let word = rng.pick(&words);
    let len = (rng.range(3, 5) as usize).min(word.len());
    let start = rng.index(word.len() - len + 1);
    Some(word[start..start + len].iter().collect())
}

/// Follows `nextCursor` from page 1 for `depth` pages and keeps the cursors of the deeper
/// half. `None` when the list has no cursors.
async fn walk_cursors(client: &Client, ctx: &mut Context, depth: u32) -> Result<Option<String>, String> {
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    while pages < depth.max(2) {
        let mut params = vec![("limit", "20".to_owned())];
        if let Some(c) = &cursor {
            params.push(("cursor", c.clone()));
        }
        let page = get_json(client, ctx, ctx.list_url(&params)).await?;
        pages += 1;
        match page.get("nextCursor").and_then(|c| c.as_str()) {
            Some(next) => {
                if pages >= depth / 2 {
                    ctx.cursors.push(next.to_owned());
                }
                cursor = Some(next.to_owned());
            }
            None if pages == 1 => return Ok(None),
            None => break,
        }
    }
    Ok(Some(format!(
        "cursor: walked {pages} pages of 20 from page 1 in {:.1} s; timed requests start after pages {}..{pages}",
        started.elapsed().as_secs_f64(),
        (depth / 2).max(1)
    )))
}

async fn run_scenario(ctx: &Arc<Context>, scenario: Scenario, plan: &RunPlan) -> Result<Outcome, String> {
    let start = Instant::now();
    let measured_from = start + plan.warmup;
    let end = measured_from + plan.duration;
    let sampler = plan.server_pid.map(|pid| {
        tokio::spawn(async move {
            let mut peak = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < end {
                tick.tick().await;
                if Instant::now() >= measured_from
                    && let Some(kb) = proc_status_kb(pid, "VmRSS:")
                {
                    peak = peak.max(kb);
                }
            }
            peak
        })
    });
    let mut workers = Vec::new();
    for worker in 0..plan.connections.max(1) {
        let ctx = ctx.clone();
        let client = client()?;
        let seed = plan.seed ^ ((worker as u64 + 1) << 32) ^ (scenario as u64);
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed);
            let mut latencies = Vec::with_capacity(1 << 14);
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let (method, url, body) = ctx.request(scenario, &mut rng);
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let result = send(&client, &ctx, method, url, body, false).await;
                if sent < measured_from {
                    continue;
                }
                let us = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                latencies.push(us);
                if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let cpu_at = |pid| proc_cpu(pid);
    tokio::time::sleep_until(measured_from.into()).await;
    let cpu_before = plan.server_pid.and_then(cpu_at);
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for worker in workers {
        let (l, e, f) = worker.await.map_err(|e| format!("worker failed: {e}"))?;
        latencies.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let elapsed = measured_from.elapsed().min(plan.duration + Duration::from_secs(60));
    let cpu_after = plan.server_pid.and_then(cpu_at);
    let server_cpu = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a));
    latencies.sort_unstable();
    let peak_rss_kb = match sampler {
        Some(task) => task.await.ok().filter(|kb| *kb > 0),
        None => None,
    };
    Ok(Outcome {
        scenario,
        requests: latencies.len() as u64,
        errors,
        elapsed,
        latencies_us: latencies,
        peak_rss_kb,
        server_cpu,
        first_error,
    })
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`).
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// CPU time (user + system) of a process so far, from `/proc/<pid>/stat` (in clock ticks of
/// 1/100 s, the value of `CLK_TCK` on Linux).
fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The `q` quantile of sorted microseconds, in milliseconds.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1_000.0
}

fn report(plan: &RunPlan, outcomes: &[Outcome], hwm_kb: Option<u64>, notes: &[String]) -> String {
    let mut out = String::new();
    let extra: Vec<String> = plan.extra_query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "\n{} connections, {:?} per scenario after {:?} warm-up{}\n",
        plan.connections,
        plan.duration,
        plan.warmup,
        if extra.is_empty() {
            String::new()
        } else {
            format!(", list requests with `{}`", extra.join("&"))
        }
    );
    let _ = writeln!(
        out,
        "| scenario | what | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server RSS peak MB | server CPU ms/req |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for o in outcomes {
        let secs = o.elapsed.as_secs_f64().max(1e-9);
        let rss = o
            .peak_rss_kb
            .map_or_else(|| "–".to_owned(), |kb| format!("{:.0}", kb as f64 / 1024.0));
        let cpu = o.server_cpu.filter(|_| o.requests > 0).map_or_else(
            || "–".to_owned(),
            |d| format!("{:.2}", d.as_secs_f64() * 1_000.0 / o.requests as f64),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {rss} | {cpu} |",
            o.scenario.name(),
            o.scenario.what(),
            o.requests,
            o.requests as f64 / secs,
            quantile_ms(&o.latencies_us, 0.50),
            quantile_ms(&o.latencies_us, 0.90),
            quantile_ms(&o.latencies_us, 0.99),
            quantile_ms(&o.latencies_us, 1.0),
            o.errors,
        );
    }
    if let Some(kb) = hwm_kb {
        let _ = writeln!(
            out,
            "\nServer peak RSS since start (VmHWM): {:.0} MB",
            kb as f64 / 1024.0
        );
    }
    if outcomes.iter().any(|o| o.scenario.is_list()) && !extra.is_empty() {
        let _ = writeln!(out, "\nList scenarios sent `{}` as well.", extra.join("&"));
    }
    for note in notes {
        let _ = writeln!(out, "\n- {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_microseconds() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1_000).collect();
        assert_eq!(quantile_ms(&sorted, 0.5), 50.0);
        assert_eq!(quantile_ms(&sorted, 0.99), 99.0);
        assert_eq!(quantile_ms(&sorted, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn search_terms_are_three_to_five_letters_of_a_word() {
        let mut rng = Rng::new(1);
        for _ in 0..500 {
            let term = search_term("ТОО «Алтын Строй»", &mut rng).unwrap();
            let len = term.chars().count();
            assert!((3..=5).contains(&len), "{term}");
            assert!("ТОО Алтын Строй".contains(&term), "{term}");
        }
        assert_eq!(search_term("Li Yu", &mut rng), None);
    }

    #[test]
    fn reads_its_own_memory_and_cpu() {
        let pid = std::process::id();
        assert!(proc_status_kb(pid, "VmRSS:").is_some_and(|kb| kb > 0));
        assert!(proc_status_kb(pid, "VmHWM:").is_some());
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0);
        }
        assert!(proc_cpu(pid).is_some());
    }

    #[test]
    fn scenarios_round_trip_their_names() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Ok(s));
        }
        assert!(Scenario::parse("nope").is_err());
    }
}
