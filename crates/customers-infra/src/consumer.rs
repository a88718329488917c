//! The inbound consumer: reads other modules' events from a Redis Stream (`erp.events`)
//! through a consumer group, hands each entry's `event` field to a handler and acknowledges it
//! once handled.
//!
//! - The group starts at the beginning of the stream (`0`): events produced before this
//!   service first ran are not missed; handling is idempotent by event id.
//! - An entry is acknowledged only after the handler succeeded (applied, duplicate, ignored or
//!   dead-lettered); when it fails (database away) the entry stays pending and is handled
//!   again, after a back-off.
//! - Entries left pending by a consumer that died (a crashed or scaled-down server copy) are
//!   claimed by a live one after `claim_idle` (`XAUTOCLAIM`).
//! - Several server copies share the work: each entry goes to one consumer of the group.
//! - An entry the handler keeps failing on (or panicking on) while the store works (a poison
//!   entry) is given up after [`MAX_ATTEMPTS`] attempts over at least 5 minutes
//!   ([`EntryHandler::give_up`], a dead letter), so it cannot stall the stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::{self, Value};
use deadpool_redis::{Manager, Pool, Runtime};
use futures_util::FutureExt;

use crate::relay::RelayError;

/// The stream other modules publish to.
pub const INBOUND_STREAM: &str = "erp.events";

/// This service's consumer group.
pub const CONSUMER_GROUP: &str = "customers";

/// Entries read per round.
const BATCH: usize = 50;

/// The longest wait for new entries in one round (the connection's response timeout is 10 s).
const MAX_BLOCK: Duration = Duration::from_secs(5);

/// What the consumer does with each entry.
#[async_trait]
pub trait EntryHandler: Send + Sync + 'static {
    /// Handles the `event` field of one entry (`None` when the entry has none). `Ok` has the
    /// entry acknowledged; `Err` keeps it pending, to be handled again.
    async fn handle(&self, event: Option<&str>) -> Result<(), String>;

    /// Called when `handle` has failed [`MAX_ATTEMPTS`] times in a row for one entry and
    /// failed once more: keep it elsewhere (a dead letter) with `error`. `Ok` has the entry
    /// acknowledged; the default keeps it pending for ever.
    async fn give_up(&self, event: Option<&str>, error: &str) -> Result<(), String> {
        let _ = (event, error);
        Err("entries are never given up".to_owned())
    }
}

/// Failed attempts at one entry after which it is given up ([`EntryHandler::give_up`]),
/// provided giving up succeeds (the store works, the entry does not).
pub const MAX_ATTEMPTS: u32 = 5;

/// One entry: its id and its `event` field.
type Entry = (String, Option<String>);

/// A member of the consumer group.
#[derive(Clone)]
pub struct InboundConsumer {
    redis: Pool,
    stream: String,
    group: String,
    name: String,
    claim_idle: Duration,
    give_up_after: Duration,
    /// Per pending entry: failed attempts in a row and when the first of them failed.
    failures: Arc<std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>>,
}

impl std::fmt::Debug for InboundConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundConsumer")
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn redis_error(err: impl std::fmt::Display) -> RelayError {
    RelayError::Redis(err.to_string())
}

impl InboundConsumer {
    /// A consumer named `name` (unique per server copy) of `group` on `stream`.
    pub fn new(redis_url: &str, stream: &str, group: &str, name: &str) -> Result<Self, RelayError> {
        let connection = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let manager = Manager::new_with_config(redis_url, connection).map_err(redis_error)?;
        let redis = Pool::builder(manager)
            .max_size(2)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(redis_error)?;
        Ok(Self {
            redis,
            stream: stream.to_owned(),
            group: group.to_owned(),
            name: name.to_owned(),
            claim_idle: Duration::from_secs(60),
            give_up_after: Duration::from_secs(300),
            failures: Arc::default(),
        })
    }

    /// How long an entry must have kept failing (besides [`MAX_ATTEMPTS`] attempts) before it
    /// is given up (default 5 minutes): a brief outage (a lock timeout, a deadlock, a restart
    /// of the database) never turns an event into a dead letter.
    pub fn with_give_up_after(mut self, after: Duration) -> Self {
        self.give_up_after = after;
        self
    }

    /// How long an entry must have been pending with another consumer before this one takes
    /// it over (default 60 s).
    pub fn with_claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    async fn ensure_group(&self, connection: &mut deadpool_redis::Connection) -> Result<(), RelayError> {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(connection)
            .await;
        match created {
            Err(err) if !err.to_string().contains("BUSYGROUP") => Err(redis_error(err)),
            _ => Ok(()),
        }
    }

    /// One round: entries of dead consumers, then this consumer's own pending entries, then
    /// new ones (waiting up to `block`, at most 5 s, for them; not at all for zero). Returns
    /// how many entries were handled; stops at the first handler failure, leaving that entry
    /// and the rest pending.
    pub async fn poll_once<H: EntryHandler + ?Sized>(&self, handler: &H, block: Duration) -> Result<usize, RelayError> {
        let mut connection = self.redis.get().await.map_err(redis_error)?;
        self.ensure_group(&mut connection).await?;
        let mut handled = 0;

        let claimed: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.name)
            .arg(u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX))
            .arg("0-0")
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        let claimed = match claimed {
            Value::Array(mut parts) if parts.len() >= 2 => entries(parts.swap_remove(1)),
            _ => Vec::new(),
        };
        handled += self.handle_all(&mut connection, handler, claimed).await?;

        let pending: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.name)
            .arg("COUNT")
            .arg(BATCH)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg("0")
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        let pending = stream_entries(pending);
        let had_pending = !pending.is_empty();
        handled += self.handle_all(&mut connection, handler, pending).await?;
        if had_pending {
            // Come back for new entries once the backlog is through.
            return Ok(handled);
        }

        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(&self.group)
            .arg(&self.name)
            .arg("COUNT")
            .arg(BATCH);
        // `BLOCK 0` would wait for ever; the wait stays well inside the response timeout.
        let block = u64::try_from(block.min(MAX_BLOCK).as_millis()).unwrap_or(0);
        if block > 0 {
            read.arg("BLOCK").arg(block);
        }
        let fresh: Value = read
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        handled += self.handle_all(&mut connection, handler, stream_entries(fresh)).await?;
        Ok(handled)
    }

    async fn handle_all<H: EntryHandler + ?Sized>(
        &self,
        connection: &mut deadpool_redis::Connection,
        handler: &H,
        batch: Vec<Entry>,
    ) -> Result<usize, RelayError> {
        let mut handled = 0;
        for (id, event) in batch {
            // A panicking handler is a failed attempt, not a dead consumer.
            let outcome = std::panic::AssertUnwindSafe(handler.handle(event.as_deref()))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err("the handler panicked".to_owned()));
            if let Err(error) = outcome {
                let (attempts, failing_for) = {
                    let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let entry = failures.entry(id.clone()).or_insert((0, std::time::Instant::now()));
                    entry.0 += 1;
                    (entry.0, entry.1.elapsed())
                };
                let given_up = attempts > MAX_ATTEMPTS
                    && failing_for >= self.give_up_after
                    && handler.give_up(event.as_deref(), &error).await.is_ok();
                if !given_up {
                    return Err(RelayError::Database(format!("entry {id}: {error}")));
                }
                tracing::error!(entry = %id, %error, "inbound entry given up after {attempts} attempts");
            }
            self.failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
            let _: i64 = redis::cmd("XACK")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(&id)
                .query_async(&mut *connection)
                .await
                .map_err(redis_error)?;
            handled += 1;
        }
        Ok(handled)
    }

    /// Consumes until `shutdown` resolves, backing off (up to 30 s) while Redis or the handler
    /// fails; a failure is logged once per outage.
    pub async fn run(self, handler: Arc<dyn EntryHandler>, shutdown: impl std::future::Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = Duration::from_millis(500);
        let mut failing = false;
        loop {
            let wait = match self.poll_once(handler.as_ref(), Duration::from_secs(2)).await {
                Ok(_) => {
                    if failing {
                        tracing::info!(stream = %self.stream, "inbound consumer recovered");
                        failing = false;
                    }
                    backoff = Duration::from_millis(500);
                    Duration::ZERO
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, stream = %self.stream, "inbound consumer failing; retrying");
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

/// The entries of an `XREADGROUP` reply (one stream), or none on a timeout.
fn stream_entries(reply: Value) -> Vec<Entry> {
    match reply {
        Value::Array(streams) => streams
            .into_iter()
            .flat_map(|stream| match stream {
                Value::Array(mut parts) if parts.len() == 2 => entries(parts.swap_remove(1)),
                _ => Vec::new(),
            })
            .collect(),
        Value::Map(streams) => streams.into_iter().flat_map(|(_, list)| entries(list)).collect(),
        _ => Vec::new(),
    }
}

/// `[[id, [field, value, …]], …]`; an entry deleted from the stream has no fields.
fn entries(list: Value) -> Vec<Entry> {
    let Value::Array(items) = list else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(mut parts) = item else {
                return None;
            };
            if parts.len() != 2 {
                return None;
            }
            let fields = parts.pop()?;
            let id: String = redis::from_redis_value(parts.pop()?).ok()?;
            // Other fields (a binary trace header) need not be text; only `event` is read.
            let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::from_redis_value(fields).unwrap_or_default();
            let event = fields
                .into_iter()
                .find(|(name, _)| name == b"event")
                .map(|(_, value)| String::from_utf8_lossy(&value).into_owned());
            Some((id, event))
        })
        .collect()
}
