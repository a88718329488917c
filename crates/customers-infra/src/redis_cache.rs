//! The customer cache on Redis, shared by every server copy (see [`CustomerCache`] for the
//! contract).
//!
//! Keys (`{ns}` is `customers:v1` unless configured):
//!
//! - `{ns}:{org}:{ws}:gen`: the workspace's generation, a counter without expiry;
//! - `{ns}:{org}:{ws}:{gen}:c:{id}`: a customer as JSON, 10 minutes;
//! - `{ns}:{org}:{ws}:{gen}:l:{key}`: a list page as JSON, 5 minutes.
//!
//! A bump is an `INCR` of the counter, so entries of older generations are never read again
//! and expire by themselves (Redis `DEL` takes no patterns; nothing needs to be found and
//! deleted). A missing counter (first use, flush, eviction, a restart without persistence) is
//! created from Redis's clock in microseconds: larger than any generation handed out before,
//! unless a workspace was written more than a million times a second.
//!
//! Redis being down, slow or flushed never fails a request: every call has a short timeout,
//! a failure is a miss, logged once per outage, and for a moment after a failure reads skip
//! Redis altogether (so a dead Redis costs one timeout per moment, not one per request). The
//! pool reconnects by itself. A bump that fails is retried in the background until it lands,
//! and meanwhile this process serves and stores nothing of that workspace; another server copy
//! that still reaches Redis may serve the workspace's old entries until then (at most their
//! time to live), which is the one window in which a read can miss a write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::redis::{self, FromRedisValue};
use deadpool_redis::{Manager, Pool, Runtime};
use tracing::{debug, info, warn};

use customers_domain::ports::{CacheError, CacheStats, CustomerCache};
use customers_domain::{Customer, CustomerId, Scope};

use crate::cache::{CUSTOMER_TTL, PAGE_TTL};

/// The key prefix of the cache.
pub const DEFAULT_NAMESPACE: &str = "customers:v1";

/// The current generation, created from Redis's clock (microseconds) when missing.
const GENERATION_SCRIPT: &str = r"
local g = redis.call('GET', KEYS[1])
if g then return g end
local t = redis.call('TIME')
g = t[1] .. string.rep('0', 6 - #t[2]) .. t[2]
redis.call('SET', KEYS[1], g)
return g
";

/// A new generation: the counter incremented (created from Redis's clock when missing).
const BUMP_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], t[1] .. string.rep('0', 6 - #t[2]) .. t[2])
end
return redis.call('INCR', KEYS[1])
";

/// How the Redis cache behaves.
#[derive(Debug, Clone)]
pub struct RedisCacheConfig {
    /// Key prefix (tests use their own).
    pub namespace: String,
    /// Time to live of a customer.
    pub customer_ttl: Duration,
    /// Time to live of a list page.
    pub page_ttl: Duration,
    /// The longest a request waits for Redis to connect or answer.
    pub timeout: Duration,
    /// How long reads skip Redis after a failure.
    pub pause_after_failure: Duration,
    /// First delay between retries of a failed bump (doubling up to 5 s).
    pub retry_delay: Duration,
}

impl Default for RedisCacheConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            customer_ttl: CUSTOMER_TTL,
            page_ttl: PAGE_TTL,
            timeout: Duration::from_millis(250),
            pause_after_failure: Duration::from_millis(500),
            retry_delay: Duration::from_millis(100),
        }
    }
}

/// Longest delay between retries of a failed bump.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// The shared cache. Cloning shares the pool, the counters and the pending bumps.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("namespace", &self.inner.config.namespace)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct Inner {
    pool: Pool,
    config: RedisCacheConfig,
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    /// Reference point of `paused_until_ms`.
    started: Instant,
    /// Reads skip Redis until this many milliseconds after `started`.
    paused_until_ms: AtomicU64,
    /// Whether an outage was logged and not yet its end.
    degraded: AtomicBool,
    pending: Mutex<Pending>,
}

/// Bumps that failed and are being retried.
#[derive(Debug, Default)]
struct Pending {
    /// Workspaces with a bump outstanding, with the ticket of their latest failure.
    bumps: HashMap<Scope, u64>,
    tickets: u64,
    /// Whether the retry task runs.
    retrying: bool,
}

impl RedisCache {
    /// A cache on the Redis at `url` with the default settings. Connecting is lazy: a Redis
    /// that is down now is tried again later.
    pub fn new(url: &str) -> Result<Self, CacheError> {
        Self::with_config(url, RedisCacheConfig::default())
    }

    /// A cache on the Redis at `url`.
    pub fn with_config(url: &str, config: RedisCacheConfig) -> Result<Self, CacheError> {
        let connection = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout));
        let manager = Manager::new_with_config(url, connection).map_err(|e| CacheError(e.to_string()))?;
        let pool = Pool::builder(manager)
            .max_size(32)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.timeout))
            .create_timeout(Some(config.timeout))
            .recycle_timeout(Some(config.timeout))
            .build()
            .map_err(|e| CacheError(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                started: Instant::now(),
                paused_until_ms: AtomicU64::new(0),
                degraded: AtomicBool::new(false),
                pending: Mutex::new(Pending::default()),
            }),
        })
    }

    /// The key of `scope`'s generation counter.
    pub fn generation_key(&self, scope: Scope) -> String {
        self.inner.generation_key(scope)
    }

    /// Whether a failed bump of `scope` is still being retried.
    pub fn bump_pending(&self, scope: Scope) -> bool {
        self.inner.pending(scope)
    }
}

impl Inner {
    fn workspace_prefix(&self, scope: Scope) -> String {
        format!(
            "{}:{}:{}",
            self.config.namespace, scope.organization_id, scope.workspace_id
        )
    }

    fn generation_key(&self, scope: Scope) -> String {
        format!("{}:gen", self.workspace_prefix(scope))
    }

    fn entry_key(&self, scope: Scope, generation: u64, kind: &str, id: &str) -> String {
        format!("{}:{generation}:{kind}:{id}", self.workspace_prefix(scope))
    }

    fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        // The map stays consistent whatever panicked while holding it.
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn pending(&self, scope: Scope) -> bool {
        self.lock_pending().bumps.contains_key(&scope)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn paused(&self) -> bool {
        self.now_ms() < self.paused_until_ms.load(Ordering::Relaxed)
    }

    fn failed(&self, error: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let pause = u64::try_from(self.config.pause_after_failure.as_millis()).unwrap_or(u64::MAX);
        self.paused_until_ms
            .store(self.now_ms().saturating_add(pause), Ordering::Relaxed);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            warn!(
                error,
                "Redis cache unavailable: serving from the database until it answers again"
            );
        }
    }

    fn succeeded(&self) {
        if self.degraded.load(Ordering::Relaxed) && self.degraded.swap(false, Ordering::Relaxed) {
            info!("Redis cache available again");
        }
    }

    fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `command` on a pooled connection; every failure is counted and logged once per
    /// outage.
    async fn call<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, CacheError> {
        let result = match self.pool.get().await {
            Ok(mut connection) => command
                .query_async::<T>(&mut connection)
                .await
                .map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        match result {
            Ok(value) => {
                self.succeeded();
                Ok(value)
            }
            Err(err) => {
                self.failed(&err);
                Err(CacheError(err))
            }
        }
    }

    /// A read's call: refused without trying while paused after a failure.
    async fn read<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, CacheError> {
        if self.paused() {
            return Err(CacheError("Redis failed a moment ago; not tried".into()));
        }
        self.call(command).await
    }

    /// The entry at `key`, read by `decode`; counted as a hit only when it is there and
    /// readable (an unreadable one is an error too).
    async fn get_entry<T>(
        &self,
        scope: Scope,
        key: String,
        decode: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, CacheError> {
        if self.pending(scope) {
            self.miss();
            return Ok(None);
        }
        let found = match self.read::<Option<String>>(redis::cmd("GET").arg(&key)).await {
            Ok(Some(text)) => decode(&text).map(Some).map_err(|e| {
                self.errors.fetch_add(1, Ordering::Relaxed);
                debug!(error = %e, key, "unreadable cache entry");
                CacheError(format!("unreadable cache entry: {e}"))
            }),
            other => other.map(|_| None),
        };
        let counter = if matches!(found, Ok(Some(_))) {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    async fn put_entry(&self, scope: Scope, key: String, value: &str, ttl: Duration) -> Result<(), CacheError> {
        if self.pending(scope) {
            return Ok(());
        }
        self.read::<()>(
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)),
        )
        .await
    }

    async fn increment(&self, scope: Scope) -> Result<u64, CacheError> {
        let key = self.generation_key(scope);
        self.call(redis::cmd("EVAL").arg(BUMP_SCRIPT).arg(1).arg(key)).await
    }

    /// Records a failed bump of `scope` and makes sure the retry task runs.
    fn defer(self: &Arc<Self>, scope: Scope) {
        let mut pending = self.lock_pending();
        pending.tickets += 1;
        let ticket = pending.tickets;
        pending.bumps.insert(scope, ticket);
        if !pending.retrying {
            pending.retrying = true;
            tokio::spawn(self.clone().retry());
        }
    }

    /// Forgets the bump of `scope` recorded as `ticket` (a bump that landed after it covers it;
    /// a later failure keeps it outstanding).
    fn settle(&self, scope: Scope, ticket: u64) {
        let mut pending = self.lock_pending();
        if pending.bumps.get(&scope) == Some(&ticket) {
            pending.bumps.remove(&scope);
        }
    }

    /// Retries the outstanding bumps until none is left.
    async fn retry(self: Arc<Self>) {
        let mut delay = self.config.retry_delay;
        loop {
            tokio::time::sleep(delay).await;
            let due: Vec<(Scope, u64)> = self.lock_pending().bumps.iter().map(|(s, t)| (*s, *t)).collect();
            let mut landed = 0;
            let mut failed = false;
            for (scope, ticket) in due {
                if self.increment(scope).await.is_err() {
                    failed = true;
                    break;
                }
                self.settle(scope, ticket);
                landed += 1;
            }
            if landed > 0 {
                info!(landed, "deferred cache invalidations applied");
            }
            let mut pending = self.lock_pending();
            if pending.bumps.is_empty() {
                pending.retrying = false;
                return;
            }
            delay = if failed {
                (delay * 2).min(MAX_RETRY_DELAY)
            } else {
                self.config.retry_delay
            };
        }
    }
}

#[async_trait]
impl CustomerCache for RedisCache {
    async fn generation(&self, scope: Scope) -> Result<u64, CacheError> {
        let inner = &self.inner;
        if inner.pending(scope) {
            inner.miss();
            return Err(CacheError("an invalidation of this workspace is pending".into()));
        }
        let key = inner.generation_key(scope);
        let generation = inner
            .read::<u64>(redis::cmd("EVAL").arg(GENERATION_SCRIPT).arg(1).arg(key))
            .await;
        if generation.is_err() {
            // The read goes to the database.
            inner.miss();
        }
        generation
    }

    async fn get_customer(
        &self,
        scope: Scope,
        generation: u64,
        id: CustomerId,
    ) -> Result<Option<Customer>, CacheError> {
        let key = self.inner.entry_key(scope, generation, "c", &id.to_string());
        self.inner
            .get_entry(scope, key, |text| serde_json::from_str(text).map_err(|e| e.to_string()))
            .await
    }

    async fn put_customer(&self, scope: Scope, generation: u64, customer: &Customer) -> Result<(), CacheError> {
        if customer.scope() != scope {
            return Ok(());
        }
        let key = self.inner.entry_key(scope, generation, "c", &customer.id.to_string());
        let value = serde_json::to_string(customer).map_err(|e| CacheError(e.to_string()))?;
        self.inner
            .put_entry(scope, key, &value, self.inner.config.customer_ttl)
            .await
    }

    async fn get_page(&self, scope: Scope, generation: u64, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.inner.entry_key(scope, generation, "l", key);
        self.inner.get_entry(scope, key, |text| Ok(text.to_owned())).await
    }

    async fn put_page(&self, scope: Scope, generation: u64, key: &str, page: &str) -> Result<(), CacheError> {
        let key = self.inner.entry_key(scope, generation, "l", key);
        self.inner.put_entry(scope, key, page, self.inner.config.page_ttl).await
    }

    async fn bump(&self, scope: Scope) -> Result<(), CacheError> {
        let inner = &self.inner;
        // Tried even while reads pause: a bump that lands now closes the window at once.
        let outstanding = inner.lock_pending().bumps.get(&scope).copied();
        match inner.increment(scope).await {
            Ok(_) => {
                if let Some(ticket) = outstanding {
                    inner.settle(scope, ticket);
                }
                Ok(())
            }
            Err(err) => {
                inner.defer(scope);
                Err(err)
            }
        }
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            backend: "redis",
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            errors: self.inner.errors.load(Ordering::Relaxed),
        }
    }
}
