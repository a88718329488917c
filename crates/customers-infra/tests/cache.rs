//! The cache adapters against the port's contract (generations, tenant isolation, stale puts),
//! the in-memory one and the Redis one (on the test Redis, `CUSTOMERS_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`, each test under its own key prefix), and Redis-only behaviour:
//! the key layout and expiry, several server copies, a lost counter, and a Redis that is
//! killed, restarted or too slow (on a `redis-server` of the test's own).

use std::time::{Duration, Instant};

use customers_domain::commands::CustomerDraft;
use customers_domain::ports::CustomerCache;
use customers_domain::{Customer, CustomerType, OrganizationId, Scope, UserId, WorkspaceId};
use customers_infra::InMemoryCache;
use customers_infra::redis_cache::{RedisCache, RedisCacheConfig};
use customers_infra::testing::{OwnRedis, redis_url};
use deadpool_redis::redis;

fn scope() -> Scope {
    Scope::new(OrganizationId::new(), WorkspaceId::new())
}

fn customer(scope: Scope, name: &str) -> Customer {
    CustomerDraft::new(CustomerType::Individual, name, "asem@example.kz")
        .parse()
        .expect("valid draft")
        .into_customer(scope, UserId::new(), time::OffsetDateTime::now_utc())
}

fn namespace() -> String {
    format!("customers-test:{}", uuid::Uuid::new_v4().simple())
}

fn config(namespace: &str) -> RedisCacheConfig {
    RedisCacheConfig {
        namespace: namespace.to_owned(),
        pause_after_failure: Duration::from_millis(50),
        retry_delay: Duration::from_millis(20),
        ..RedisCacheConfig::default()
    }
}

fn redis_cache(url: &str, namespace: &str) -> RedisCache {
    RedisCache::with_config(url, config(namespace)).expect("valid url")
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis must run (scripts/test.sh starts it)")
}

// ---------------------------------------------------------------------------------------------
// The contract, on both adapters
// ---------------------------------------------------------------------------------------------

async fn entries_live_in_one_scope_and_generation(cache: &dyn CustomerCache) {
    let home = scope();
    let neighbour = Scope::new(home.organization_id, WorkspaceId::new());
    // Another organization with the very same workspace id.
    let stranger = Scope::new(OrganizationId::new(), home.workspace_id);
    let asem = customer(home, "Асем");
    let generation = cache.generation(home).await.unwrap();
    cache.put_customer(home, generation, &asem).await.unwrap();
    cache.put_page(home, generation, "page-1", "[1]").await.unwrap();
    assert_eq!(
        cache.get_customer(home, generation, asem.id).await.unwrap(),
        Some(asem.clone())
    );
    assert_eq!(
        cache.get_page(home, generation, "page-1").await.unwrap().as_deref(),
        Some("[1]")
    );
    for other in [neighbour, stranger] {
        // Whatever generation number is asked, another tenant's entries are not there.
        for asked in [generation, cache.generation(other).await.unwrap()] {
            assert_eq!(cache.get_customer(other, asked, asem.id).await.unwrap(), None);
            assert_eq!(cache.get_page(other, asked, "page-1").await.unwrap(), None);
        }
    }
    // A customer is only ever stored under its own scope.
    let current = cache.generation(neighbour).await.unwrap();
    cache.put_customer(neighbour, current, &asem).await.unwrap();
    assert_eq!(cache.get_customer(neighbour, current, asem.id).await.unwrap(), None);
}

async fn a_bump_retires_every_entry_of_the_workspace_only(cache: &dyn CustomerCache) {
    let home = scope();
    let neighbour = Scope::new(home.organization_id, WorkspaceId::new());
    let asem = customer(home, "Асем");
    let bolat = customer(neighbour, "Болат");
    let before = cache.generation(home).await.unwrap();
    let theirs = cache.generation(neighbour).await.unwrap();
    cache.put_customer(home, before, &asem).await.unwrap();
    cache.put_page(home, before, "page-1", "[asem]").await.unwrap();
    cache.put_customer(neighbour, theirs, &bolat).await.unwrap();

    cache.bump(home).await.unwrap();
    let after = cache.generation(home).await.unwrap();
    assert!(after > before, "a new generation: {before} -> {after}");
    assert_eq!(cache.get_customer(home, after, asem.id).await.unwrap(), None);
    assert_eq!(cache.get_page(home, after, "page-1").await.unwrap(), None);
    // The neighbour's entries are untouched.
    assert_eq!(cache.generation(neighbour).await.unwrap(), theirs);
    assert_eq!(
        cache.get_customer(neighbour, theirs, bolat.id).await.unwrap(),
        Some(bolat)
    );
    // Every bump makes a new generation.
    cache.bump(home).await.unwrap();
    assert!(cache.generation(home).await.unwrap() > after);
}

async fn a_stale_put_under_an_old_generation_is_never_served(cache: &dyn CustomerCache) {
    let home = scope();
    let old = customer(home, "Асем");
    // A reader takes the generation, then loads the old version from the database…
    let read_at = cache.generation(home).await.unwrap();
    // …a write commits and bumps…
    cache.bump(home).await.unwrap();
    // …and the reader puts what it loaded, late.
    cache.put_customer(home, read_at, &old).await.unwrap();
    cache.put_page(home, read_at, "page-1", "[old]").await.unwrap();
    let now = cache.generation(home).await.unwrap();
    assert_eq!(cache.get_customer(home, now, old.id).await.unwrap(), None);
    assert_eq!(cache.get_page(home, now, "page-1").await.unwrap(), None);
}

async fn hits_and_misses_are_counted(cache: &dyn CustomerCache) {
    let home = scope();
    let asem = customer(home, "Асем");
    let before = cache.stats();
    let generation = cache.generation(home).await.unwrap();
    assert_eq!(cache.get_customer(home, generation, asem.id).await.unwrap(), None);
    cache.put_customer(home, generation, &asem).await.unwrap();
    assert!(cache.get_customer(home, generation, asem.id).await.unwrap().is_some());
    assert!(cache.get_page(home, generation, "nope").await.unwrap().is_none());
    let after = cache.stats();
    assert_eq!((after.hits - before.hits, after.misses - before.misses), (1, 2));
}

macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&customers_infra::InMemoryCache::default()).await;
                }
            )+
        }

        mod redis_shared {
            $(
                #[tokio::test]
                async fn $name() {
                    let cache = super::redis_cache(&super::redis_url(), &super::namespace());
                    super::$name(&cache).await;
                    assert_eq!(customers_domain::ports::CustomerCache::stats(&cache).errors, 0);
                }
            )+
        }
    };
}

contract!(
    entries_live_in_one_scope_and_generation,
    a_bump_retires_every_entry_of_the_workspace_only,
    a_stale_put_under_an_old_generation_is_never_served,
    hits_and_misses_are_counted,
);

#[tokio::test]
async fn the_disabled_cache_stores_nothing() {
    let cache = InMemoryCache::disabled();
    let home = scope();
    let asem = customer(home, "Асем");
    let generation = cache.generation(home).await.unwrap();
    cache.put_customer(home, generation, &asem).await.unwrap();
    assert_eq!(cache.get_customer(home, generation, asem.id).await.unwrap(), None);
    assert_eq!(cache.stats().backend, "disabled");
}

#[tokio::test]
async fn the_memory_cache_stays_within_its_capacity() {
    let cache = InMemoryCache::new(Duration::from_secs(60), Duration::from_secs(60), 3);
    let home = scope();
    let generation = cache.generation(home).await.unwrap();
    let customers: Vec<Customer> = (0..5).map(|i| customer(home, &format!("Клиент {i}"))).collect();
    for c in &customers {
        cache.put_customer(home, generation, c).await.unwrap();
    }
    let mut held = 0;
    for c in &customers {
        held += usize::from(cache.get_customer(home, generation, c.id).await.unwrap().is_some());
    }
    assert!((1..=3).contains(&held), "{held} held");
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn redis_keys_carry_tenant_and_generation_and_expire() {
    let ns = namespace();
    let cache = redis_cache(&redis_url(), &ns);
    let home = scope();
    let asem = customer(home, "Асем");
    let generation = cache.generation(home).await.unwrap();
    cache.put_customer(home, generation, &asem).await.unwrap();
    cache.put_page(home, generation, "q", "{}").await.unwrap();
    let mut redis = connection(&redis_url()).await;
    let prefix = format!("{ns}:{}:{}", home.organization_id, home.workspace_id);
    assert_eq!(cache.generation_key(home), format!("{prefix}:gen"));
    let ttl = |key: String| {
        let mut redis = redis.clone();
        async move {
            redis::cmd("PTTL")
                .arg(&key)
                .query_async::<i64>(&mut redis)
                .await
                .expect("PTTL")
        }
    };
    let customer_ttl = ttl(format!("{prefix}:{generation}:c:{}", asem.id)).await;
    assert!((595_000..=600_000).contains(&customer_ttl), "{customer_ttl}");
    let page_ttl = ttl(format!("{prefix}:{generation}:l:q")).await;
    assert!((295_000..=300_000).contains(&page_ttl), "{page_ttl}");
    assert_eq!(ttl(format!("{prefix}:gen")).await, -1, "the counter never expires");
    let stored: String = redis::cmd("GET")
        .arg(format!("{prefix}:{generation}:c:{}", asem.id))
        .query_async(&mut redis)
        .await
        .expect("GET");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("JSON");
    assert_eq!(stored["id"], asem.id.to_string());
}

#[tokio::test]
async fn server_copies_sharing_redis_see_each_others_bumps() {
    let ns = namespace();
    let (one, two) = (redis_cache(&redis_url(), &ns), redis_cache(&redis_url(), &ns));
    let home = scope();
    let asem = customer(home, "Асем");
    let generation = one.generation(home).await.unwrap();
    one.put_customer(home, generation, &asem).await.unwrap();
    assert_eq!(two.generation(home).await.unwrap(), generation);
    assert_eq!(
        two.get_customer(home, generation, asem.id).await.unwrap(),
        Some(asem.clone())
    );
    two.bump(home).await.unwrap();
    let after = one.generation(home).await.unwrap();
    assert!(after > generation);
    assert_eq!(one.get_customer(home, after, asem.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_lost_counter_comes_back_larger_than_every_generation_before() {
    let ns = namespace();
    let cache = redis_cache(&redis_url(), &ns);
    let home = scope();
    let asem = customer(home, "Асем");
    let first = cache.generation(home).await.unwrap();
    for _ in 0..3 {
        cache.bump(home).await.unwrap();
    }
    let last = cache.generation(home).await.unwrap();
    cache.put_customer(home, last, &asem).await.unwrap();
    // Evicted or flushed (the entries may survive the counter under an eviction policy).
    let mut redis = connection(&redis_url()).await;
    let _: () = redis::cmd("DEL")
        .arg(cache.generation_key(home))
        .query_async(&mut redis)
        .await
        .expect("DEL");
    let again = cache.generation(home).await.unwrap();
    assert!(again > last, "{first}..{last} then {again}");
    assert_eq!(cache.get_customer(home, again, asem.id).await.unwrap(), None);
    // A bump on a lost counter does the same.
    let _: () = redis::cmd("DEL")
        .arg(cache.generation_key(home))
        .query_async(&mut redis)
        .await
        .expect("DEL");
    cache.bump(home).await.unwrap();
    assert!(cache.generation(home).await.unwrap() > again);
}

/// Polls `check` for up to 5 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_then_restarted() {
    let mut own = OwnRedis::start();
    let cache = redis_cache(&own.url(), &namespace());
    let home = scope();
    let asem = customer(home, "Асем");
    let generation = cache.generation(home).await.unwrap();
    cache.put_customer(home, generation, &asem).await.unwrap();
    assert!(cache.get_customer(home, generation, asem.id).await.unwrap().is_some());

    own.kill();
    let started = Instant::now();
    assert!(cache.generation(home).await.is_err(), "a failure, served as a miss");
    assert!(cache.get_customer(home, generation, asem.id).await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "fails fast: {:?}",
        started.elapsed()
    );
    let during = cache.stats();
    assert!(during.errors >= 1, "{during:?}");
    // A write now cannot bump: the bump is retried, and nothing of the workspace is served or
    // stored by this process meanwhile.
    assert!(cache.bump(home).await.is_err());
    assert!(cache.bump_pending(home));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(cache.generation(home).await.is_err());

    // Back (empty, as after a crash without persistence): the retried bump lands, the cache is
    // used again.
    own.restart();
    eventually("the retried bump", async || !cache.bump_pending(home)).await;
    let after = cache.generation(home).await.unwrap();
    assert!(after > generation, "{generation} -> {after}");
    cache.put_customer(home, after, &asem).await.unwrap();
    let hits = cache.stats().hits;
    assert_eq!(cache.get_customer(home, after, asem.id).await.unwrap(), Some(asem));
    assert_eq!(cache.stats().hits, hits + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bump_that_lands_later_retires_what_another_copy_cached_meanwhile() {
    // Copy one cannot reach Redis when it bumps; copy two can and keeps caching under the old
    // generation. Once the retried bump lands, that entry is never served again.
    let mut own = OwnRedis::start();
    let ns = namespace();
    // Its retry comes after copy two has cached.
    let one = RedisCache::with_config(
        &own.url(),
        RedisCacheConfig {
            retry_delay: Duration::from_millis(1000),
            ..config(&ns)
        },
    )
    .expect("url");
    let home = scope();
    let old = customer(home, "Асем");
    let generation = one.generation(home).await.unwrap();
    own.kill();
    assert!(one.bump(home).await.is_err());
    own.restart();
    let two = redis_cache(&own.url(), &ns);
    let current = two.generation(home).await.unwrap();
    two.put_customer(home, current, &old).await.unwrap();
    eventually("the retried bump", async || !one.bump_pending(home)).await;
    let after = two.generation(home).await.unwrap();
    assert!(after > current && after > generation);
    assert_eq!(two.get_customer(home, after, old.id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_costs_a_short_timeout_then_is_skipped() {
    let own = OwnRedis::start();
    let cache = RedisCache::with_config(
        &own.url(),
        RedisCacheConfig {
            pause_after_failure: Duration::from_secs(2),
            ..config(&namespace())
        },
    )
    .expect("url");
    let home = scope();
    cache.generation(home).await.unwrap();
    let mut redis = connection(&own.url()).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query_async(&mut redis)
        .await
        .expect("CLIENT PAUSE");
    let started = Instant::now();
    assert!(cache.generation(home).await.is_err());
    let first = started.elapsed();
    assert!(first < Duration::from_millis(1000), "timed out after {first:?}");
    // While paused after the failure, reads do not wait for Redis at all.
    let started = Instant::now();
    for _ in 0..10 {
        assert!(cache.generation(home).await.is_err());
    }
    assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
}
