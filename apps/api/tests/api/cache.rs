//! The customer cache across server copies: two servers over one database, each with its own
//! client of one shared Redis (the test Redis, `CUSTOMERS_TEST_REDIS_URL`, under a key prefix of
//! the test's own; or a `redis-server` of the test's own to kill). A read on one copy after a
//! write on the other is fresh, for every write path; tenants never share entries; requests keep
//! succeeding while Redis is down, and the cache is used again once it is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_redis::redis;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use customers_domain::ports::CustomerCache as _;
use customers_domain::{OrganizationId, Scope, WorkspaceId};
use customers_infra::redis_cache::{RedisCache, RedisCacheConfig};
use customers_infra::testing::{Backend, OwnRedis, redis_url};

use crate::helpers::{TestApp, company, ids, individual};

/// Two server copies over one database sharing one Redis.
struct Copies {
    one: TestApp,
    two: TestApp,
    cache_one: Arc<RedisCache>,
    cache_two: Arc<RedisCache>,
    redis_url: String,
    namespace: String,
}

impl Copies {
    async fn start(backend: Backend, redis_url: &str) -> Self {
        let namespace = format!("customers-test:{}", Uuid::new_v4().simple());
        let cache = || {
            let config = RedisCacheConfig {
                namespace: namespace.clone(),
                pause_after_failure: Duration::from_millis(50),
                retry_delay: Duration::from_millis(20),
                ..RedisCacheConfig::default()
            };
            Arc::new(RedisCache::with_config(redis_url, config).expect("redis url"))
        };
        let (cache_one, cache_two) = (cache(), cache());
        let one = TestApp::spawn_with_cache(backend, cache_one.clone()).await;
        let two = one.copy_with_cache(cache_two.clone()).await;
        Self {
            one,
            two,
            cache_one,
            cache_two,
            redis_url: redis_url.to_owned(),
            namespace,
        }
    }

    fn scope(&self) -> Scope {
        Scope::new(
            OrganizationId::from_uuid(self.one.org),
            WorkspaceId::from_uuid(self.one.workspace),
        )
    }

    /// The workspace's generation as stored in Redis.
    async fn generation(&self) -> u64 {
        let mut redis = connection(&self.redis_url).await;
        redis::cmd("GET")
            .arg(self.cache_one.generation_key(self.scope()))
            .query_async::<Option<u64>>(&mut redis)
            .await
            .expect("GET")
            .unwrap_or(0)
    }

    /// Copy two reads `customers` and the first list page twice: the second reads are hits.
    async fn warm(&self, customers: &[&str]) {
        let hits = self.cache_two.stats().hits;
        for _ in 0..2 {
            for id in customers {
                self.two.get(id).await.assert_status(200);
            }
            self.two.list(&[("limit", "100")]).await.assert_status(200);
        }
        let served = self.cache_two.stats().hits - hits;
        assert!(
            served > customers.len() as u64,
            "copy two serves its second reads from the cache ({served} hits)"
        );
    }

    /// Asserts that the write since `before` moved the workspace to a new generation.
    async fn assert_bumped(&self, write: &str, before: u64) {
        let after = self.generation().await;
        assert!(after > before, "{write} bumps the generation: {before} -> {after}");
    }

    /// The names on copy two's first list page, in list order (newest first).
    async fn listed_names(&self) -> Vec<String> {
        let page = self.two.list(&[("limit", "100")]).await.assert_status(200).body;
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect()
    }
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis must run (scripts/test.sh starts it)")
}

/// Runs each `async fn name(backend: Backend)` on SQLite and PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(customers_infra::testing::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(customers_infra::testing::Backend::Postgres).await;
                }
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Read your writes, through the other copy, for every write path
// ---------------------------------------------------------------------------------------------

async fn every_write_on_one_copy_is_read_fresh_on_the_other(backend: Backend) {
    let copies = Copies::start(backend, &redis_url()).await;
    let (one, two) = (&copies.one, &copies.two);

    // Create.
    copies.warm(&[]).await;
    let before = copies.generation().await;
    let alpha = one.create(&company("ТОО Альфа", "info@alpha.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    copies.assert_bumped("create", before).await;
    assert_eq!(copies.listed_names().await, ["ТОО Альфа"]);

    // Update.
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    one.put(&alpha, &json!({ "name": "ТОО Альфа Плюс" }))
        .await
        .assert_status(200);
    copies.assert_bumped("update", before).await;
    assert_eq!(two.get(&alpha).await.body["name"], "ТОО Альфа Плюс");
    assert_eq!(copies.listed_names().await, ["ТОО Альфа Плюс"]);

    // Status change and conversion.
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    one.call(
        Method::PATCH,
        &format!("/{alpha}/status"),
        Some(&json!({ "status": "PROSPECT" })),
    )
    .await
    .assert_status(200);
    copies.assert_bumped("status change", before).await;
    assert_eq!(two.get(&alpha).await.body["status"], "PROSPECT");
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    one.call(Method::POST, &format!("/{alpha}/convert"), Some(&json!({})))
        .await
        .assert_status(201);
    copies.assert_bumped("conversion", before).await;
    assert_eq!(two.get(&alpha).await.body["status"], "ACTIVE");

    // Contacts and addresses.
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    let contact = json!({
        "firstName": "Асет", "lastName": "Жумабеков", "email": "aset@alpha.kz", "phone": "+77011111111"
    });
    one.call(Method::POST, &format!("/{alpha}/contacts"), Some(&contact))
        .await
        .assert_status(201);
    copies.assert_bumped("contact added", before).await;
    let contacts = two
        .call(Method::GET, &format!("/{alpha}/contacts"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(contacts.as_array().map(Vec::len), Some(1), "{contacts}");
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    let address = json!({ "type": "billing", "street": "ул. Абая, 150", "city": "Алматы", "postalCode": "050000" });
    one.call(Method::POST, &format!("/{alpha}/addresses"), Some(&address))
        .await
        .assert_status(201);
    copies.assert_bumped("address added", before).await;
    assert_eq!(
        two.get(&alpha).await.body["addresses"].as_array().map(Vec::len),
        Some(1)
    );

    // Bulk create.
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    let created = one
        .call(
            Method::POST,
            "/bulk",
            Some(&json!([
                individual("Болат Сериков", "bolat@example.kz"),
                individual("Гульнар Ахметова", "gulnar@example.kz")
            ])),
        )
        .await
        .assert_status(201)
        .body;
    copies.assert_bumped("bulk create", before).await;
    let created = ids(&created);
    let (bolat, gulnar) = (created[0].clone(), created[1].clone());
    assert_eq!(copies.listed_names().await.len(), 3);

    // Merge.
    copies.warm(&[&alpha, &bolat]).await;
    let before = copies.generation().await;
    one.call(
        Method::POST,
        "/merge",
        Some(&json!({ "primaryId": alpha, "duplicateIds": [bolat] })),
    )
    .await
    .assert_status(201);
    copies.assert_bumped("merge", before).await;
    two.get(&bolat).await.assert_problem(404);
    assert_eq!(copies.listed_names().await.len(), 2);

    // Delete, restore, bulk delete.
    copies.warm(&[&gulnar]).await;
    let before = copies.generation().await;
    one.delete(&gulnar).await.assert_status(204);
    copies.assert_bumped("delete", before).await;
    two.get(&gulnar).await.assert_problem(404);
    assert_eq!(copies.listed_names().await, ["ТОО Альфа Плюс"]);
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    one.call(Method::POST, &format!("/{gulnar}/restore"), None)
        .await
        .assert_status(200);
    copies.assert_bumped("restore", before).await;
    two.get(&gulnar).await.assert_status(200);
    assert_eq!(copies.listed_names().await.len(), 2);
    copies.warm(&[&gulnar]).await;
    let before = copies.generation().await;
    one.call(Method::DELETE, "/bulk", Some(&json!([gulnar])))
        .await
        .assert_status(200);
    copies.assert_bumped("bulk delete", before).await;
    two.get(&gulnar).await.assert_problem(404);

    // Another module's event that changes the customer.
    copies.warm(&[&alpha]).await;
    let before = copies.generation().await;
    let order = json!({
        "eventId": Uuid::now_v7(),
        "type": "order.completed",
        "version": 1,
        "occurredAt": "2026-11-01T10:00:00Z",
        "organizationId": one.org,
        "workspaceId": one.workspace,
        "payload": {
            "orderId": "ORD-1",
            "customerId": alpha,
            "totalAmount": "150000.00",
            "completedAt": "2026-11-01T10:00:00Z",
            "items": [{ "productId": "P-1", "productName": "Товар", "quantity": 1, "amount": "150000.00" }]
        }
    });
    let integrator = one.token(one.org, &[one.workspace], &["customers:integrate"]);
    one.call_as(&integrator, one.workspace, Method::POST, "/events", Some(&order))
        .await
        .assert_status(200);
    copies.assert_bumped("inbound event", before).await;
    let fresh = two.get(&alpha).await.assert_status(200).body;
    assert_eq!(fresh["totalPurchases"], "150000.00", "{fresh}");
    assert_eq!(fresh["purchaseCount"], 1, "{fresh}");

    // Equivalent list queries share an entry (parameter order does not matter).
    let hits = copies.cache_two.stats().hits;
    let tagged = [("tags", "b"), ("tags", "a"), ("limit", "10")];
    two.list(&tagged).await.assert_status(200);
    two.list(&[("limit", "10"), ("tags", "a,b")]).await.assert_status(200);
    assert_eq!(copies.cache_two.stats().hits, hits + 1);
}

on_both_backends!(every_write_on_one_copy_is_read_fresh_on_the_other);

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

async fn tenants_never_share_entries(backend: Backend) {
    let copies = Copies::start(backend, &redis_url()).await;
    let (one, two) = (&copies.one, &copies.two);
    let alpha = one.create(&company("ТОО Альфа", "info@alpha.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    copies.warm(&[&alpha]).await;

    let neighbour_ws = Uuid::now_v7();
    let neighbour = two.token(two.org, &[neighbour_ws], &crate::helpers::ALL_PERMISSIONS);
    // Another organization using the very same workspace id.
    let stranger_org = Uuid::now_v7();
    let stranger = two.token(stranger_org, &[two.workspace], &crate::helpers::ALL_PERMISSIONS);
    for (token, ws) in [(&neighbour, neighbour_ws), (&stranger, two.workspace)] {
        for _ in 0..2 {
            two.get_as(token, ws, &alpha).await.assert_problem(404);
            // The same query as the one cached for the owner.
            let page = two
                .list_as(token, ws, &[("limit", "100")])
                .await
                .assert_status(200)
                .body;
            assert_eq!((page["total"].clone(), page["items"].clone()), (json!(0), json!([])));
        }
    }

    // Every key names its tenant: the owner's entries are under the owner's prefix only.
    let mut redis = connection(&copies.redis_url).await;
    let owner_prefix = copies
        .cache_one
        .generation_key(copies.scope())
        .trim_end_matches("gen")
        .to_owned();
    let namespace = &copies.namespace;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:*"))
        .query_async(&mut redis)
        .await
        .expect("KEYS");
    let with_alpha: Vec<&String> = keys.iter().filter(|k| k.ends_with(&alpha)).collect();
    assert!(!with_alpha.is_empty(), "{keys:?}");
    for key in with_alpha {
        assert!(key.starts_with(&owner_prefix), "{key}");
    }
    for key in &keys {
        let tenant = [
            (two.org, two.workspace),
            (two.org, neighbour_ws),
            (stranger_org, two.workspace),
        ]
        .iter()
        .any(|(org, ws)| key.starts_with(&format!("{namespace}:{org}:{ws}:")));
        assert!(tenant, "{key} names a tenant");
    }
}

on_both_backends!(tenants_never_share_entries);

// ---------------------------------------------------------------------------------------------
// Redis going away
// ---------------------------------------------------------------------------------------------

/// Polls `check` for up to 10 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn cache_stats(app: &TestApp) -> Value {
    app.send(Method::GET, "/health/cache", None, None)
        .await
        .assert_status(200)
        .body
}

async fn requests_succeed_while_redis_is_down_and_use_it_again_once_back(backend: Backend) {
    let mut own = OwnRedis::start();
    let copies = Copies::start(backend, &own.url()).await;
    let (one, two) = (&copies.one, &copies.two);
    let alpha = one.create(&company("ТОО Альфа", "info@alpha.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    copies.warm(&[&alpha]).await;

    own.kill();
    two.get(&alpha).await.assert_status(200);
    one.put(&alpha, &json!({ "name": "ТОО Альфа Плюс" }))
        .await
        .assert_status(200);
    assert_eq!(two.get(&alpha).await.assert_status(200).body["name"], "ТОО Альфа Плюс");
    assert_eq!(copies.listed_names().await, ["ТОО Альфа Плюс"]);
    let beta = one.create(&company("ТОО Бета", "info@beta.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    two.get(&beta).await.assert_status(200);
    assert_eq!(copies.listed_names().await.len(), 2);
    let stats = cache_stats(two).await;
    assert_eq!(stats["backend"], "redis");
    assert!(stats["errors"].as_u64().unwrap() > 0, "{stats}");
    assert!(
        copies.cache_one.bump_pending(copies.scope()),
        "one's bumps wait for Redis"
    );

    // Back, empty: the bumps made while it was away land, and the cache serves again.
    own.restart();
    eventually("the retried bumps", async || {
        !copies.cache_one.bump_pending(copies.scope())
    })
    .await;
    eventually("a cache hit", async || {
        let hits = copies.cache_two.stats().hits;
        two.get(&alpha).await.assert_status(200);
        two.get(&alpha).await.assert_status(200);
        copies.cache_two.stats().hits > hits
    })
    .await;
    let stats = cache_stats(two).await;
    assert!(stats["hits"].as_u64().unwrap() > 0, "{stats}");
    // And reads after writes stay fresh.
    copies.warm(&[&alpha]).await;
    one.put(&alpha, &json!({ "name": "ТОО Альфа Макс" }))
        .await
        .assert_status(200);
    assert_eq!(two.get(&alpha).await.body["name"], "ТОО Альфа Макс");
    assert_eq!(copies.listed_names().await[1], "ТОО Альфа Макс");
}

on_both_backends!(requests_succeed_while_redis_is_down_and_use_it_again_once_back);

// ---------------------------------------------------------------------------------------------
// The counters endpoint
// ---------------------------------------------------------------------------------------------

async fn the_counters_name_the_cache_in_use(app: TestApp) {
    let id = app.create(&individual("Асем", "asem@example.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&id).await.assert_status(200);
    app.get(&id).await.assert_status(200);
    let stats = cache_stats(&app).await;
    match app.backend {
        // One process owns SQLite: it caches in memory.
        Backend::Sqlite => {
            assert_eq!(stats["backend"], "memory");
            assert_eq!((stats["hits"].clone(), stats["misses"].clone()), (json!(1), json!(1)));
        }
        // Several copies may share PostgreSQL: without Redis, no cache.
        Backend::Postgres => {
            assert_eq!(stats["backend"], "disabled");
            assert_eq!((stats["hits"].clone(), stats["misses"].clone()), (json!(0), json!(0)));
        }
    }
    assert_eq!(stats["errors"], 0);
}

both_backends!(the_counters_name_the_cache_in_use);
