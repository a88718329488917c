//! The outbox relay: publishes the events the outbox holds to a Redis Stream, in the order they
//! were written, at least once, and stamps them published.
//!
//! Each stream entry carries one field, `event`, holding the JSON envelope
//! (`{eventId, type, version, occurredAt, organizationId, workspaceId, customerId, actor,
//! payload}`); consumers de-duplicate by `eventId`. Several server copies may run a relay: on
//! PostgreSQL a transaction-scoped advisory lock lets one of them publish at a time (so the
//! order holds and no event goes out twice from two relays); SQLite serves one process.

use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime, redis};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, TransactionTrait};
use uuid::Uuid;

use crate::sql::Codec;

/// The stream the service publishes its events to.
pub const DEFAULT_STREAM: &str = "customers.events";
/// Events handed to Redis per round trip.
const BATCH: u32 = 50;
/// About how many entries the stream keeps (`XADD … MAXLEN ~`); older events remain in the
/// outbox table (and in each customer's history).
pub const STREAM_MAX_LEN: u64 = 1_000_000;
/// One relay at a time per process on SQLite.
static SQLITE_RELAY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The advisory lock key of the relay (any constant shared by all copies).
const RELAY_LOCK: i64 = 0x0c05_7000_e7e1;

/// Why a round of publishing failed; the events stay in the outbox and are tried again.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Redis is unreachable or refused the entries.
    #[error("redis: {0}")]
    Redis(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
}

/// Publishes outbox events to a Redis Stream.
#[derive(Clone)]
pub struct OutboxRelay {
    db: DatabaseConnection,
    codec: Codec,
    redis: Pool,
    stream: String,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    /// A relay from `db`'s outbox to `stream` on the Redis at `redis_url`. Connecting is lazy:
    /// a Redis that is down now is simply tried again later.
    pub fn new(db: DatabaseConnection, redis_url: &str, stream: &str) -> Result<Self, RelayError> {
        let connection = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let manager = Manager::new_with_config(redis_url, connection).map_err(|e| RelayError::Redis(e.to_string()))?;
        let redis = Pool::builder(manager)
            .max_size(2)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| RelayError::Redis(e.to_string()))?;
        Ok(Self {
            codec: Codec::new(db.get_database_backend()),
            db,
            redis,
            stream: stream.to_owned(),
        })
    }

    /// Publishes one batch of unpublished events, oldest first (per customer, the order in
    /// which their changes committed). Returns how many; 0 when there is nothing to do or
    /// another relay holds the lock.
    ///
    /// Redis is reached before any database transaction opens, and on SQLite no write lock is
    /// held while Redis is called, so writers never wait for Redis.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let db_err = |e: sea_orm::DbErr| RelayError::Database(e.to_string());
        let k = &self.codec;
        let mut connection = self.redis.get().await.map_err(|e| RelayError::Redis(e.to_string()))?;
        let mut select = k.sql(
            "SELECT seq, id, organization_id, workspace_id, customer_id, type, version, payload, actor, occurred_at \
             FROM customer_events WHERE published_at IS NULL ORDER BY seq LIMIT ",
        );
        select.bind(k.int(BATCH.into()));
        let mut mark = k.sql("UPDATE customer_events SET published_at = ");
        mark.bind(k.time(time::OffsetDateTime::now_utc()))
            .push(" WHERE seq IN ");
        if k.backend() == DbBackend::Postgres {
            // One relay at a time among all server copies, for the whole round.
            let txn = self.db.begin().await.map_err(db_err)?;
            let mut lock = k.sql("SELECT pg_try_advisory_xact_lock(");
            lock.bind(k.int(RELAY_LOCK)).push(") AS locked");
            let locked = txn
                .query_one_raw(lock.build())
                .await
                .map_err(db_err)?
                .map(|row| row.try_get::<bool>("", "locked"))
                .transpose()
                .map_err(db_err)?
                .unwrap_or(false);
            if !locked {
                txn.rollback().await.map_err(db_err)?;
                return Ok(0);
            }
            let rows = txn.query_all_raw(select.build()).await.map_err(db_err)?;
            let Some(seqs) = self.send(&mut connection, &rows).await? else {
                txn.rollback().await.map_err(db_err)?;
                return Ok(0);
            };
            mark.bind_list(seqs.iter().map(|s| k.int(*s)));
            txn.execute_raw(mark.build()).await.map_err(db_err)?;
            txn.commit().await.map_err(db_err)?;
            Ok(seqs.len())
        } else {
            // SQLite belongs to one process: a process-wide lock lets one relay publish at a
            // time. Read, publish, then stamp in a short write.
            let Ok(_turn) = SQLITE_RELAY.try_lock() else {
                return Ok(0);
            };
            let rows = self.db.query_all_raw(select.build()).await.map_err(db_err)?;
            let Some(seqs) = self.send(&mut connection, &rows).await? else {
                return Ok(0);
            };
            mark.bind_list(seqs.iter().map(|s| k.int(*s)));
            let options = sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            let txn = self.db.begin_with_options(options).await.map_err(db_err)?;
            txn.execute_raw(mark.build()).await.map_err(db_err)?;
            txn.commit().await.map_err(db_err)?;
            Ok(seqs.len())
        }
    }

    /// Adds `rows` to the stream in one atomic pipeline; their `seq`s, or `None` for no rows.
    async fn send(
        &self,
        connection: &mut deadpool_redis::Connection,
        rows: &[QueryResult],
    ) -> Result<Option<Vec<i64>>, RelayError> {
        if rows.is_empty() {
            return Ok(None);
        }
        let mut seqs = Vec::with_capacity(rows.len());
        let mut pipe = redis::pipe();
        pipe.atomic();
        for row in rows {
            let (seq, envelope) = self.envelope(row).map_err(|e| {
                tracing::error!(error = %e, "an outbox row cannot be read; the relay is stuck on it");
                RelayError::Database(e.to_string())
            })?;
            seqs.push(seq);
            pipe.cmd("XADD")
                .arg(&self.stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAX_LEN)
                .arg("*")
                .arg("event")
                .arg(envelope.to_string())
                .ignore();
        }
        pipe.query_async::<()>(connection)
            .await
            .map_err(|e| RelayError::Redis(e.to_string()))?;
        Ok(Some(seqs))
    }

    /// The wire envelope of an outbox row.
    fn envelope(
        &self,
        row: &QueryResult,
    ) -> Result<(i64, serde_json::Value), customers_domain::ports::RepositoryError> {
        let k = &self.codec;
        let occurred_at = k
            .get_time(row, "occurred_at")?
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| crate::sql::corrupt("occurred_at", e))?;
        let envelope = serde_json::json!({
            "eventId": k.get::<Uuid>(row, "id")?,
            "type": k.get::<String>(row, "type")?,
            "version": k.get::<i64>(row, "version").or_else(|_| k.get::<i32>(row, "version").map(i64::from))?,
            "occurredAt": occurred_at,
            "organizationId": k.get::<Uuid>(row, "organization_id")?,
            "workspaceId": k.get::<Uuid>(row, "workspace_id")?,
            "customerId": k.get::<Uuid>(row, "customer_id")?,
            "actor": k.get::<Uuid>(row, "actor")?,
            "payload": k.get_json(row, "payload")?.unwrap_or(serde_json::Value::Null),
        });
        Ok((k.get::<i64>(row, "seq")?, envelope))
    }

    /// Publishes until `shutdown` resolves: right away while events are waiting, every
    /// `idle` otherwise, backing off (up to 30 s) while Redis or the database is away. A
    /// failure is logged once per outage.
    pub async fn run(self, idle: Duration, shutdown: impl std::future::Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = Duration::from_millis(500);
        let mut failing = false;
        loop {
            let wait = match self.publish_pending().await {
                Ok(published) => {
                    if failing {
                        tracing::info!(stream = %self.stream, "event relay recovered");
                        failing = false;
                    }
                    backoff = Duration::from_millis(500);
                    if published == BATCH as usize {
                        Duration::ZERO
                    } else {
                        idle
                    }
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, stream = %self.stream, "event relay cannot publish; retrying");
                        failing = true;
                    }
                    let wait = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    wait
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
