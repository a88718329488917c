//! A server killed between commit and publish publishes its events after restart.
//!
//! Black box: the real `customers` binary runs as a child process with `REDIS_URL` pointing at
//! a Redis that is down, commits a few changes through the HTTP API (their events wait in the
//! outbox), and is killed with SIGKILL (no graceful shutdown). Once Redis is up, the binary is
//! started again on the same database and the same `REDIS_URL`: every event the first process
//! committed must reach the stream `customers.events` exactly once, in commit order per
//! customer, and every outbox row must be stamped published.
//!
//! Needs `redis-server` on `PATH` (a private one is started on a free port; CI and
//! `scripts/test.sh` install it) and, for the PostgreSQL run, the test PostgreSQL server.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deadpool_redis::redis;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_api::auth::{Claims, JwtKeys};
use customers_infra::testing::{Backend, TestDatabase};

use crate::helpers::ALL_PERMISSIONS;

/// The HS256 secret the child servers trust.
const SECRET: &str = "crash-tests-secret-0123456789abcdef";
/// The stream the server publishes its events to.
const STREAM: &str = "customers.events";
/// How long starting a process or publishing is waited for before the test gives up.
const DEADLINE: Duration = Duration::from_secs(30);
/// The pause between two polls.
const POLL: Duration = Duration::from_millis(100);

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// A directory of its own under the system temp dir (the children's logs); removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("customers_crash_{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("scratch directory");
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A private `redis-server` on a port of its own, to stop and start; killed on drop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn new() -> Self {
        Self {
            port: free_port(),
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connect(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// Starts it, without persistence, and waits until it answers PING.
    async fn start(&mut self) {
        assert!(self.child.is_none(), "redis-server already runs");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): this test needs `redis-server` on PATH \
                     (CI and scripts/test.sh install it; on Debian/Ubuntu: apt-get install redis-server)"
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                panic!("redis-server exited at start ({status}); is port {} taken?", self.port);
            }
            if let Ok(mut connection) = self.connect().await
                && redis::cmd("PING").query_async::<String>(&mut connection).await.is_ok()
            {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "redis-server did not answer on port {} within {DEADLINE:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `customers` binary running `serve` as a child process; killed on drop.
struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    address: String,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

impl Server {
    /// Starts the binary on `database_url` with `REDIS_URL=redis_url` on a free port and waits
    /// until `/health/ready` answers 200.
    async fn start(name: &str, database_url: &str, redis_url: &str, scratch: &Path, client: &reqwest::Client) -> Self {
        for attempt in 1..=3 {
            let listen = format!("127.0.0.1:{}", free_port());
            let log = scratch.join(format!("{name}-{attempt}.log"));
            let stdout = File::create(&log).expect("log file");
            let stderr = stdout.try_clone().expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_customers"))
                .arg("serve")
                .env("DATABASE_URL", database_url)
                .env("LISTEN_ADDR", &listen)
                .env("JWT_SECRET", SECRET)
                .env("REDIS_URL", redis_url)
                .env("AUTO_MIGRATE", "true")
                .env("LOG_LEVEL", "info")
                // Plain text in the log that a failure prints.
                .env("NO_COLOR", "1")
                .env_remove("RETENTION_DAYS")
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .expect("the customers binary starts");
            let mut server = Self {
                child,
                address: format!("http://{listen}"),
                log,
            };
            match server.wait_ready(client).await {
                Ok(()) => return server,
                // Someone took the free port between our probe and the server's bind: retry.
                Err(log) if log.contains("cannot listen") && attempt < 3 => continue,
                Err(log) => panic!("the {name} server exited at start; its log:\n{log}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// What the process wrote so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `/health/ready`; `Err(log)` when the process exits first.
    async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if self.child.try_wait().expect("try_wait").is_some() {
                return Err(self.log());
            }
            let ready = client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await
                .is_ok_and(|response| response.status() == reqwest::StatusCode::OK);
            if ready {
                return Ok(());
            }
            assert!(
                started.elapsed() < DEADLINE,
                "the server did not answer /health/ready within {DEADLINE:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Kills the process with SIGKILL: no graceful shutdown, no last round of the relay.
    fn crash(mut self) {
        self.child.kill().expect("SIGKILL sent");
        let status = self.child.wait().expect("the killed server is reaped");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "the server died of SIGKILL, it did not exit ({status}); its log:\n{}",
                self.log()
            );
        }
        #[cfg(not(unix))]
        let _ = status;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A caller of one server with every permission on one workspace.
struct Api<'a> {
    client: &'a reqwest::Client,
    collection: String,
    token: String,
}

impl Api<'_> {
    async fn send(&self, request: reqwest::RequestBuilder, expected: u16) -> Value {
        let response = request.bearer_auth(&self.token).send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        assert_eq!(status, expected, "unexpected status; body: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `POST /customers`; the new customer's id.
    async fn create(&self, body: Value) -> Uuid {
        let created = self.send(self.client.post(&self.collection).json(&body), 201).await;
        Uuid::parse_str(created["id"].as_str().expect("id")).expect("a UUID")
    }

    async fn put(&self, id: Uuid, body: Value) {
        let url = format!("{}/{id}", self.collection);
        self.send(self.client.put(url).json(&body), 200).await;
    }

    async fn delete(&self, id: Uuid) {
        let url = format!("{}/{id}", self.collection);
        self.send(self.client.delete(url), 204).await;
    }
}

/// `(eventId, customerId, type)` of every outbox row, in commit (`seq`) order.
async fn outbox(db: &TestDatabase) -> Vec<(Uuid, Uuid, String)> {
    let rows = db
        .connection
        .query_all_raw(Statement::from_string(
            db.connection.get_database_backend(),
            "SELECT id, customer_id, type FROM customer_events ORDER BY seq".to_owned(),
        ))
        .await
        .expect("outbox query");
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "id").expect("id"),
                row.try_get("", "customer_id").expect("customer_id"),
                row.try_get("", "type").expect("type"),
            )
        })
        .collect()
}

/// How many outbox rows have no `published_at`.
async fn unpublished(db: &TestDatabase) -> i64 {
    db.connection
        .query_one_raw(Statement::from_string(
            db.connection.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customer_events WHERE published_at IS NULL".to_owned(),
        ))
        .await
        .expect("count query")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("n")
}

/// The envelopes on the stream, oldest first.
async fn stream(connection: &mut redis::aio::MultiplexedConnection) -> Vec<Value> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(STREAM)
        .arg("-")
        .arg("+")
        .query_async(connection)
        .await
        .expect("XRANGE");
    entries
        .into_iter()
        .map(|(entry, fields)| {
            assert_eq!(fields.len(), 1, "entry {entry} has one field: {fields:?}");
            let (name, value) = fields.into_iter().next().expect("a field");
            assert_eq!(name, "event", "entry {entry}");
            serde_json::from_str(&value).unwrap_or_else(|e| panic!("entry {entry} is not JSON ({e}): {value}"))
        })
        .collect()
}

/// The event id of an envelope.
fn event_id(envelope: &Value) -> Uuid {
    Uuid::parse_str(envelope["eventId"].as_str().expect("eventId")).expect("eventId is a UUID")
}

/// `(eventId, type)` per customer, in the order given.
fn per_customer(events: impl IntoIterator<Item = (Uuid, Uuid, String)>) -> BTreeMap<Uuid, Vec<(Uuid, String)>> {
    let mut map: BTreeMap<Uuid, Vec<(Uuid, String)>> = BTreeMap::new();
    for (id, customer, kind) in events {
        map.entry(customer).or_default().push((id, kind));
    }
    map
}

async fn events_committed_before_a_crash_are_published_after_restart(backend: Backend) {
    let scratch = Scratch::new();
    let db = TestDatabase::new(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    // A Redis that worked and went away: the first server's relay cannot publish.
    let mut redis = OwnRedis::new();
    redis.start().await;
    redis.stop();

    let first = Server::start("first", &db.url, &redis.url(), &scratch.0, &client).await;
    let (org, workspace, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let token = JwtKeys::new(SECRET.as_bytes())
        .mint(&Claims {
            sub: user,
            org,
            workspaces: vec![workspace],
            permissions: ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
            exp: now + 3600,
            iat: Some(now),
        })
        .expect("token");
    let api = Api {
        client: &client,
        collection: format!("{}/api/v1/workspaces/{workspace}/customers", first.address),
        token,
    };
    let alpha = api
        .create(json!({ "type": "COMPANY", "name": "ТОО Альфа", "email": "info@alpha.kz" }))
        .await;
    let ivan = api
        .create(json!({ "type": "INDIVIDUAL", "name": "Иван Петров", "email": "ivan@example.kz" }))
        .await;
    let aigul = api
        .create(json!({ "type": "INDIVIDUAL", "name": "Айгуль Сапарова", "email": "aigul@example.kz" }))
        .await;
    api.put(
        alpha,
        json!({ "name": "ТОО Альфа Групп", "assignedTo": Uuid::now_v7() }),
    )
    .await;
    api.put(ivan, json!({ "name": "Иван Сергеевич Петров" })).await;
    api.delete(aigul).await;
    let expected: BTreeMap<Uuid, Vec<&str>> = BTreeMap::from([
        (alpha, vec!["customer.created", "customer.updated", "customer.assigned"]),
        (ivan, vec!["customer.created", "customer.updated"]),
        (aigul, vec!["customer.created", "customer.deleted"]),
    ]);

    first.crash();

    // What the first process committed: every change, none of it published.
    let committed = outbox(&db).await;
    let committed_per_customer = per_customer(committed.clone());
    let committed_types: BTreeMap<Uuid, Vec<&str>> = committed_per_customer
        .iter()
        .map(|(customer, events)| (*customer, events.iter().map(|(_, kind)| kind.as_str()).collect()))
        .collect();
    assert_eq!(committed_types, expected, "the outbox holds every committed change");
    assert_eq!(
        unpublished(&db).await,
        committed.len() as i64,
        "nothing was published while Redis was down"
    );
    let committed_ids: HashSet<Uuid> = committed.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(committed_ids.len(), committed.len(), "event ids are unique");

    // Redis comes back (empty), then the server starts again on the same database.
    redis.start().await;
    let mut connection = redis.connect().await.expect("connect to the private Redis");
    assert!(
        stream(&mut connection).await.is_empty(),
        "the restarted Redis starts with no stream"
    );
    let second = Server::start("second", &db.url, &redis.url(), &scratch.0, &client).await;

    let started = Instant::now();
    loop {
        let seen: HashSet<Uuid> = stream(&mut connection).await.iter().map(event_id).collect();
        let waiting = unpublished(&db).await;
        if committed_ids.is_subset(&seen) && waiting == 0 {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?} the stream holds {} of the {} committed events and {waiting} outbox rows \
             are unpublished; the second server's log:\n{}",
            committed_ids.intersection(&seen).count(),
            committed_ids.len(),
            second.log()
        );
        tokio::time::sleep(POLL).await;
    }

    // Every outbox row is stamped published, so what the stream holds now is final.
    let events = stream(&mut connection).await;
    let published: Vec<Uuid> = events.iter().map(event_id).collect();
    let distinct: HashSet<Uuid> = published.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        published.len(),
        "each event exactly once: {published:?}"
    );
    assert_eq!(distinct, committed_ids, "the stream holds exactly the committed events");
    let published_per_customer = per_customer(events.iter().map(|envelope| {
        (
            event_id(envelope),
            Uuid::parse_str(envelope["customerId"].as_str().expect("customerId")).expect("customerId is a UUID"),
            envelope["type"].as_str().expect("type").to_owned(),
        )
    }));
    assert_eq!(
        published_per_customer, committed_per_customer,
        "each customer's events are published in commit order"
    );
    for envelope in &events {
        assert_eq!(envelope["organizationId"], json!(org), "{envelope}");
        assert_eq!(envelope["workspaceId"], json!(workspace), "{envelope}");
        assert_eq!(envelope["actor"], json!(user), "{envelope}");
        assert_eq!(envelope["version"], json!(1), "{envelope}");
        assert!(envelope["occurredAt"].is_string(), "{envelope}");
        assert!(envelope["payload"].is_object(), "{envelope}");
    }
    assert_eq!(unpublished(&db).await, 0, "every outbox row has published_at");
}

mod events_committed_before_a_crash_are_published_after_restart {
    use customers_infra::testing::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::events_committed_before_a_crash_are_published_after_restart(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::events_committed_before_a_crash_are_published_after_restart(Backend::Postgres).await;
    }
}
