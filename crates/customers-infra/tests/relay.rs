//! The outbox relay against a real Redis (`CUSTOMERS_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), on SQLite and PostgreSQL: order, exactly-once between relays, and
//! Redis going away and coming back.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use customers_domain::commands::CustomerDraft;
use customers_domain::events::{CustomerEvent, EventEnvelope};
use customers_domain::ports::CustomerRepository;
use customers_domain::{CustomerType, OrganizationId, Scope, UserId, WorkspaceId};
use customers_infra::relay::RelayError;
use customers_infra::testing::{Backend, TestDatabase};
use customers_infra::{OutboxRelay, SeaRepository};
use deadpool_redis::redis;
use sea_orm::ConnectionTrait;

fn redis_url() -> String {
    std::env::var("CUSTOMERS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_stream() -> String {
    format!("customers.events.test.{}", uuid::Uuid::new_v4().simple())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis must run (scripts/test.sh starts it)")
}

/// The `event` fields of the stream, oldest first.
async fn stream_events(stream: &str) -> Vec<serde_json::Value> {
    let mut connection = redis().await;
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut connection)
        .await
        .expect("XRANGE");
    let _: () = redis::cmd("DEL")
        .arg(stream)
        .query_async(&mut connection)
        .await
        .expect("DEL");
    entries
        .into_iter()
        .map(|(_, fields)| {
            let (name, value) = fields.into_iter().next().expect("one field");
            assert_eq!(name, "event");
            serde_json::from_str(&value).expect("JSON envelope")
        })
        .collect()
}

/// Stores `count` customers, each with its `customer.created` event; returns the event ids.
async fn store_customers(repo: &SeaRepository, count: usize) -> Vec<uuid::Uuid> {
    let scope = Scope::new(OrganizationId::new(), WorkspaceId::new());
    let actor = UserId::new();
    let mut ids = Vec::new();
    for i in 0..count {
        let customer = CustomerDraft::new(
            CustomerType::Individual,
            &format!("Клиент {i}"),
            &format!("c{i}@example.kz"),
        )
        .parse()
        .expect("valid draft")
        .into_customer(scope, actor, time::OffsetDateTime::now_utc());
        let event = EventEnvelope::new(
            &customer,
            actor,
            customer.created_at,
            CustomerEvent::Created {
                customer_type: customer.customer_type,
                status: customer.status,
                created_by: actor,
                source: None,
            },
        );
        ids.push(event.event_id);
        repo.insert(&customer, &[event]).await.expect("insert");
    }
    ids
}

async fn unpublished(db: &TestDatabase) -> i64 {
    let row = db
        .connection
        .query_one_raw(sea_orm::Statement::from_string(
            db.connection.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customer_events WHERE published_at IS NULL".to_owned(),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn publishes_in_order_once(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let repo = SeaRepository::new(db.connection.clone());
    let ids = store_customers(&repo, 5).await;
    let stream = unique_stream();
    let relay = OutboxRelay::new(db.connection.clone(), &redis_url(), &stream).expect("relay");
    assert_eq!(relay.publish_pending().await.expect("publish"), 5);
    assert_eq!(relay.publish_pending().await.expect("nothing left"), 0);
    assert_eq!(unpublished(&db).await, 0);
    let events = stream_events(&stream).await;
    let published: Vec<uuid::Uuid> = events
        .iter()
        .map(|e| e["eventId"].as_str().expect("eventId").parse().expect("uuid"))
        .collect();
    assert_eq!(published, ids, "in the order written");
    let first = &events[0];
    assert_eq!(first["type"], "customer.created");
    assert_eq!(first["version"], 1);
    assert_eq!(first["payload"]["status"], "LEAD");
    for key in ["occurredAt", "organizationId", "workspaceId", "customerId", "actor"] {
        assert!(first[key].is_string(), "{key} in {first}");
    }
}

async fn two_relays_publish_each_event_once(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let repo = SeaRepository::new(db.connection.clone());
    let ids = store_customers(&repo, 230).await;
    let stream = unique_stream();
    let relays: Vec<OutboxRelay> = (0..2)
        .map(|_| OutboxRelay::new(db.connection.clone(), &redis_url(), &stream).expect("relay"))
        .collect();
    let mut tasks = Vec::new();
    for relay in relays {
        tasks.push(tokio::spawn(async move {
            let mut idle_rounds = 0;
            while idle_rounds < 5 {
                match relay.publish_pending().await {
                    Ok(0) | Err(RelayError::Database(_)) => {
                        idle_rounds += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Ok(_) => idle_rounds = 0,
                    Err(err) => panic!("{err}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("relay task");
    }
    assert_eq!(unpublished(&db).await, 0);
    let mut published: Vec<uuid::Uuid> = stream_events(&stream)
        .await
        .iter()
        .map(|e| e["eventId"].as_str().expect("eventId").parse().expect("uuid"))
        .collect();
    assert_eq!(published.len(), ids.len(), "each event exactly once");
    assert_eq!(published, ids, "in the order written");
    published.dedup();
    assert_eq!(published.len(), ids.len());
}

/// A Redis of our own on a free port, to stop and start.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port")
    }

    fn start(&mut self) {
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn survives_redis_going_away_and_coming_back(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let repo = SeaRepository::new(db.connection.clone());
    let mut own = OwnRedis {
        port: OwnRedis::free_port(),
        child: None,
    };
    let stream = unique_stream();
    let relay = OutboxRelay::new(db.connection.clone(), &own.url(), &stream).expect("relay");
    // Redis is down: nothing is lost, nothing is marked published.
    let ids = store_customers(&repo, 3).await;
    assert!(matches!(relay.publish_pending().await, Err(RelayError::Redis(_))));
    assert_eq!(unpublished(&db).await, 3);
    // Redis comes up: the same relay publishes what waited.
    own.start();
    let mut published = 0;
    for _ in 0..50 {
        match relay.publish_pending().await {
            Ok(n) => {
                published += n;
                if published == 3 {
                    break;
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(published, 3);
    assert_eq!(unpublished(&db).await, 0);
    let mut connection = redis::Client::open(own.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let length: usize = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut connection)
        .await
        .expect("XLEN");
    assert_eq!(length, ids.len());
    // Redis goes away again: publishing fails, the new event waits.
    own.stop();
    store_customers(&repo, 1).await;
    assert!(relay.publish_pending().await.is_err());
    assert_eq!(unpublished(&db).await, 1);
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(Backend::Postgres).await;
                }
            }
        )+
    };
}

both_backends!(
    publishes_in_order_once,
    two_relays_publish_each_event_once,
    survives_redis_going_away_and_coming_back,
);
