//! Other modules' events consumed from a Redis Stream, end to end: entries are XADDed to a
//! stream of the test's own, the real [`InboundConsumer`] hands them to [`StreamIngest`] over
//! the real service, and the effect is read back through the HTTP API (and the database where
//! the API cannot tell).
//!
//! Wired as `main.rs` wires it: one service behind both the consumer and an HTTP server (a
//! second server over the test's database, so that the SQLite in-process cache the consumer
//! invalidates is the one the GETs read through). Needs the test Redis
//! (`CUSTOMERS_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use customers_api::app::{self, Service, StreamIngest};
use customers_infra::InboundConsumer;
use customers_infra::consumer::MAX_ATTEMPTS;

use crate::helpers::{TestApp, TestResponse, individual};

const GROUP: &str = "customers";

fn redis_url() -> String {
    std::env::var("CUSTOMERS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis must run (scripts/test.sh starts it)")
}

/// The consumer side of one test: a stream of its own, the service, the handler over it and
/// an HTTP server sharing that service.
struct Inbound {
    stream: String,
    consumer: InboundConsumer,
    handler: StreamIngest,
    /// `http://127.0.0.1:<port>` of the server sharing the consumer's service.
    address: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Inbound {
    async fn new(app: &TestApp) -> Self {
        let service: Arc<Service> = Arc::new(app::service(app.db.connection.clone()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, _task) = app::serve(
            "127.0.0.1:0".parse().expect("address"),
            service.clone(),
            Arc::new(app.keys.clone()),
            async move {
                let _ = rx.await;
            },
        )
        .await
        .expect("a free port");
        let stream = format!("erp.events.test.{}", Uuid::new_v4().simple());
        let consumer = InboundConsumer::new(&redis_url(), &stream, GROUP, "customers-test")
            .expect("consumer")
            .with_give_up_after(std::time::Duration::ZERO);
        Self {
            stream,
            consumer,
            handler: StreamIngest(service),
            address: format!("http://{addr}"),
            _shutdown: tx,
        }
    }

    /// `XADD stream * field value …`.
    async fn add_fields(&self, fields: &[(&str, &str)]) {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream).arg("*");
        for (name, value) in fields {
            cmd.arg(*name).arg(*value);
        }
        let _: String = cmd.query_async(&mut redis().await).await.expect("XADD");
    }

    /// One entry with `event` = `text`.
    async fn add(&self, text: &str) {
        self.add_fields(&[("event", text)]).await;
    }

    /// Polls until a round handles nothing; returns how many entries were handled.
    async fn drain(&self) -> usize {
        let mut total = 0;
        for _ in 0..50 {
            match self.consumer.poll_once(&self.handler, Duration::from_millis(50)).await {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(err) => panic!("poll_once failed: {err}"),
            }
        }
        panic!("the stream was not drained in 50 rounds");
    }

    /// How many entries are delivered and not acknowledged.
    async fn pending(&self) -> i64 {
        let reply: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(GROUP)
            .query_async(&mut redis().await)
            .await
            .expect("XPENDING");
        redis::from_redis_value(reply.into_iter().next().expect("count")).expect("an integer")
    }

    async fn delete(&self) {
        let _: () = redis::cmd("DEL")
            .arg(&self.stream)
            .query_async(&mut redis().await)
            .await
            .expect("DEL");
    }

    /// `GET /customers/{id}` through the server sharing the consumer's service.
    async fn customer(&self, app: &TestApp, id: &str) -> Value {
        let url = format!("{}{}/{id}", self.address, TestApp::customers_path(app.workspace));
        let request = app.client.get(url).bearer_auth(app.token_all(app.workspace));
        app.execute(request).await.assert_status(200).body
    }
}

/// An `order.completed` envelope of the default organization and workspace.
fn order_completed(app: &TestApp, customer: &str, order: &str, amount: &str, at: &str) -> Value {
    json!({
        "eventId": Uuid::now_v7(),
        "type": "order.completed",
        "version": 1,
        "occurredAt": at,
        "organizationId": app.org,
        "workspaceId": app.workspace,
        "payload": {
            "orderId": order,
            "customerId": customer,
            "totalAmount": amount,
            "completedAt": at,
            "items": [{"productId": "P1", "productName": "Чай", "quantity": "2", "amount": amount}]
        }
    })
}

/// `GET …/customers/events/dead-letters` of `ws` with `customers:integrate`.
async fn dead_letters(app: &TestApp, ws: Uuid) -> TestResponse {
    let token = app.token(app.org, &[ws], &["customers:integrate"]);
    app.call_as(&token, ws, Method::GET, "/events/dead-letters", None).await
}

/// Every stored dead letter: (channel, reason, body, has organization and workspace).
async fn stored_dead_letters(app: &TestApp) -> Vec<(String, String, String, bool)> {
    let backend = app.db.connection.get_database_backend();
    let rows = app
        .db
        .connection
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT channel, reason, body, \
             CASE WHEN organization_id IS NULL OR workspace_id IS NULL THEN 0 ELSE 1 END AS scoped \
             FROM inbound_dead_letters ORDER BY received_at, id"
                .to_owned(),
        ))
        .await
        .expect("dead letters query");
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "channel").expect("channel"),
                row.try_get("", "reason").expect("reason"),
                row.try_get("", "body").expect("body"),
                row.try_get::<i32>("", "scoped").expect("scoped") == 1,
            )
        })
        .collect()
}

async fn rename_table(app: &TestApp, from: &str, to: &str) {
    let backend = app.db.connection.get_database_backend();
    app.db
        .connection
        .execute_raw(Statement::from_string(
            backend,
            format!("ALTER TABLE {from} RENAME TO {to}"),
        ))
        .await
        .expect("rename");
}

async fn an_order_from_the_stream_is_applied_once(app: TestApp) {
    let inbound = Inbound::new(&app).await;
    let created = app.create(&individual("Айгерим Нурланова", "aigerim@example.kz")).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["totalPurchases"], "0.00");
    assert_eq!(created["purchaseCount"], 0);

    let event = order_completed(&app, &id, "ORD-1", "1500.50", "2026-05-01T10:00:00Z").to_string();
    inbound.add(&event).await;
    inbound.add(&event).await; // delivered twice
    assert_eq!(inbound.drain().await, 2, "both entries handled");
    assert_eq!(inbound.pending().await, 0, "both acknowledged");

    let customer = inbound.customer(&app, &id).await;
    assert_eq!(customer["totalPurchases"], "1500.50", "{customer}");
    assert_eq!(customer["purchaseCount"], 1, "{customer}");
    assert!(
        customer["lastPurchaseDate"]
            .as_str()
            .is_some_and(|d| d.starts_with("2026-05-01T10:00:00")),
        "{customer}"
    );

    // A third delivery later still changes nothing; another order adds up.
    inbound.add(&event).await;
    inbound
        .add(&order_completed(&app, &id, "ORD-2", "499.50", "2026-05-02T09:00:00Z").to_string())
        .await;
    assert_eq!(inbound.drain().await, 2);
    assert_eq!(inbound.pending().await, 0);
    let customer = inbound.customer(&app, &id).await;
    assert_eq!(customer["totalPurchases"], "2000.00", "{customer}");
    assert_eq!(customer["purchaseCount"], 2, "{customer}");
    // The test server (its own service and cache) sees the same.
    let seen = app.get(&id).await.assert_status(200).body;
    assert_eq!(
        (&seen["totalPurchases"], &seen["purchaseCount"]),
        (&json!("2000.00"), &json!(2))
    );

    let history = app
        .call(Method::GET, &format!("/{id}/purchase-history"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(history["total"], 2, "{history}");
    let letters = dead_letters(&app, app.workspace).await.assert_status(200).body;
    assert_eq!(letters["total"], 0, "nothing refused: {letters}");
    assert!(stored_dead_letters(&app).await.is_empty());
    inbound.delete().await;
}
both_backends!(an_order_from_the_stream_is_applied_once);

async fn refused_stream_events_are_acknowledged_and_dead_lettered(app: TestApp) {
    let inbound = Inbound::new(&app).await;
    let created = app.create(&individual("Ерлан Касымов", "erlan@example.kz")).await;
    let id = created["id"].as_str().expect("id").to_owned();

    // Malformed: a negative amount and no completion time.
    let mut malformed = order_completed(&app, &id, "ORD-BAD", "10", "2026-05-01T10:00:00Z");
    malformed["payload"]["totalAmount"] = json!(-1);
    malformed["payload"]
        .as_object_mut()
        .expect("payload")
        .remove("completedAt");
    // A customer that does not exist in the workspace.
    let stranger = Uuid::now_v7().to_string();
    let unknown = order_completed(&app, &stranger, "ORD-X", "10", "2026-05-01T10:00:00Z");
    // The customer exists, but in another workspace than the envelope names.
    let elsewhere = Uuid::now_v7();
    let mut other_workspace = order_completed(&app, &id, "ORD-W", "10", "2026-05-01T10:00:00Z");
    other_workspace["workspaceId"] = json!(elsewhere);

    inbound.add(&malformed.to_string()).await;
    inbound.add("this is not JSON {").await;
    inbound.add(&unknown.to_string()).await;
    inbound.add(&other_workspace.to_string()).await;
    inbound.add("[1, 2, 3]").await;
    inbound.add_fields(&[("source", "orders")]).await; // no `event` field
    assert_eq!(inbound.drain().await, 6, "every entry handled");
    assert_eq!(inbound.pending().await, 0, "every entry acknowledged");

    // The customer did not change.
    let customer = inbound.customer(&app, &id).await;
    assert_eq!(
        (&customer["totalPurchases"], &customer["purchaseCount"]),
        (&json!("0.00"), &json!(0))
    );

    // The letters with a readable organization and workspace are listed there.
    let letters = dead_letters(&app, app.workspace).await.assert_status(200).body;
    assert_eq!(letters["total"], 2, "{letters}");
    let items = letters["items"].as_array().expect("items");
    for item in items {
        assert_eq!(item["channel"], "stream", "{item}");
        assert_eq!(item["type"], "order.completed", "{item}");
    }
    let by_event = |event: &Value| {
        items
            .iter()
            .find(|item| item["eventId"] == event["eventId"])
            .unwrap_or_else(|| panic!("no letter for {event}: {letters}"))
            .clone()
    };
    let bad = by_event(&malformed);
    let reason = bad["reason"].as_str().expect("reason");
    assert!(
        reason.contains("payload.totalAmount") && reason.contains("payload.completedAt"),
        "{reason}"
    );
    let body: Value = serde_json::from_str(bad["body"].as_str().expect("body")).expect("the body as JSON");
    assert_eq!(body, malformed, "the event as received");
    let missing = by_event(&unknown);
    assert!(
        missing["reason"].as_str().expect("reason").contains(&stranger),
        "{missing}"
    );
    // The other workspace's letter is listed there only.
    let there = dead_letters(&app, elsewhere).await.assert_status(200).body;
    assert_eq!(there["total"], 1, "{there}");
    assert_eq!(there["items"][0]["eventId"], other_workspace["eventId"]);
    assert_eq!(there["items"][0]["channel"], "stream");

    // Letters without a readable organization or workspace are stored, unlisted.
    let stored = stored_dead_letters(&app).await;
    assert_eq!(stored.len(), 6, "{stored:?}");
    assert!(stored.iter().all(|(channel, ..)| channel == "stream"), "{stored:?}");
    let unscoped: Vec<&(String, String, String, bool)> = stored.iter().filter(|(.., scoped)| !scoped).collect();
    assert_eq!(unscoped.len(), 3, "{stored:?}");
    let find = |body: &str| {
        unscoped
            .iter()
            .find(|(_, _, b, _)| b == body)
            .unwrap_or_else(|| panic!("no unscoped letter with body {body:?}: {stored:?}"))
    };
    assert!(find("this is not JSON {").1.contains("not JSON"), "{stored:?}");
    assert!(find("").1.contains("event"), "{stored:?}");
    assert!(
        unscoped
            .iter()
            .any(|(_, _, body, _)| serde_json::from_str::<Value>(body).ok() == Some(json!([1, 2, 3]))),
        "a JSON array is no envelope: {stored:?}"
    );
    inbound.delete().await;
}
both_backends!(refused_stream_events_are_acknowledged_and_dead_lettered);

/// A dead letter keeps "what was received, verbatim" (`DeadLetterResponse::body`).
async fn a_stream_dead_letter_keeps_the_event_verbatim(app: TestApp) {
    let inbound = Inbound::new(&app).await;
    let stranger = Uuid::now_v7().to_string();
    // As a producer may write it: its own key order, spaces, an amount as a JSON number.
    let text = format!(
        r#"{{"type": "order.completed", "eventId": "{}", "occurredAt": "2026-05-01T10:00:00Z",
            "organizationId": "{}", "workspaceId": "{}",
            "payload": {{"orderId": "ORD-V", "customerId": "{stranger}", "totalAmount": 10.50,
                         "completedAt": "2026-05-01T10:00:00Z"}}}}"#,
        Uuid::now_v7(),
        app.org,
        app.workspace
    );
    inbound.add(&text).await;
    assert_eq!(inbound.drain().await, 1);
    let letters = dead_letters(&app, app.workspace).await.assert_status(200).body;
    assert_eq!(letters["total"], 1, "{letters}");
    assert_eq!(letters["items"][0]["body"], json!(text), "{letters}");
    inbound.delete().await;
}
both_backends!(a_stream_dead_letter_keeps_the_event_verbatim);

async fn other_modules_events_are_acknowledged_and_ignored(app: TestApp) {
    let inbound = Inbound::new(&app).await;
    let created = app.create(&individual("Дана Ахметова", "dana@example.kz")).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let product = json!({
        "eventId": Uuid::now_v7(),
        "type": "product.updated",
        "version": 1,
        "occurredAt": "2026-05-01T10:00:00Z",
        "organizationId": app.org,
        "workspaceId": app.workspace,
        "payload": {"productId": "P1", "name": "Чай"}
    });
    inbound.add(&product.to_string()).await;
    // Foreign traffic need not follow our envelope at all.
    inbound
        .add(&json!({"type": "warehouse.restocked", "sku": 42}).to_string())
        .await;
    assert_eq!(inbound.drain().await, 2);
    assert_eq!(inbound.pending().await, 0, "acknowledged");
    let letters = dead_letters(&app, app.workspace).await.assert_status(200).body;
    assert_eq!(letters["total"], 0, "not dead-lettered: {letters}");
    assert!(stored_dead_letters(&app).await.is_empty(), "not stored either");
    let customer = inbound.customer(&app, &id).await;
    assert_eq!(customer["purchaseCount"], 0);
    inbound.delete().await;
}
both_backends!(other_modules_events_are_acknowledged_and_ignored);

/// An order.completed that cannot be applied while dead letters can be written (the orders
/// table is away): pending for MAX_ATTEMPTS failed rounds, then given up as a dead letter.
/// Returns the inbound side, the customer and the event text; the table is back.
async fn give_up_a_poison_order(app: &TestApp) -> (Inbound, String, String) {
    let inbound = Inbound::new(app).await;
    let created = app.create(&individual("Бауыржан Омаров", "baur@example.kz")).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let event = order_completed(app, &id, "ORD-P", "1500.50", "2026-05-01T10:00:00Z").to_string();
    rename_table(app, "customer_orders", "customer_orders_away").await;
    inbound.add(&event).await;
    for round in 1..=MAX_ATTEMPTS {
        let result = inbound
            .consumer
            .poll_once(&inbound.handler, Duration::from_millis(20))
            .await;
        assert!(result.is_err(), "round {round}: {result:?}");
        assert_eq!(inbound.pending().await, 1, "round {round}");
    }
    assert!(stored_dead_letters(app).await.is_empty(), "not before the limit");
    assert_eq!(inbound.drain().await, 1, "given up");
    assert_eq!(inbound.pending().await, 0, "acknowledged");
    rename_table(app, "customer_orders_away", "customer_orders").await;
    (inbound, id, event)
}

async fn a_poison_event_becomes_a_dead_letter_and_can_be_sent_again(app: TestApp) {
    let (inbound, id, event) = give_up_a_poison_order(&app).await;
    let stored = stored_dead_letters(&app).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let (channel, reason, body, _) = &stored[0];
    assert_eq!(channel, "stream");
    assert!(reason.contains("repeated attempts"), "{reason}");
    assert_eq!(body, &event);
    let customer = inbound.customer(&app, &id).await;
    assert_eq!(customer["purchaseCount"], 0, "not applied: {customer}");
    // Once the cause is fixed, the producer may send the same event again: applied.
    inbound.add(&event).await;
    assert_eq!(inbound.drain().await, 1);
    let customer = inbound.customer(&app, &id).await;
    assert_eq!(
        (&customer["totalPurchases"], &customer["purchaseCount"]),
        (&json!("1500.50"), &json!(1)),
        "{customer}"
    );
    inbound.delete().await;
}
both_backends!(a_poison_event_becomes_a_dead_letter_and_can_be_sent_again);

/// docs/events.md: only a letter whose organization cannot be read is kept out of the API.
async fn a_given_up_event_is_listed_in_its_workspace(app: TestApp) {
    let (inbound, _, event) = give_up_a_poison_order(&app).await;
    let letters = dead_letters(&app, app.workspace).await.assert_status(200).body;
    assert_eq!(letters["total"], 1, "{letters}");
    assert_eq!(letters["items"][0]["channel"], "stream");
    assert_eq!(letters["items"][0]["body"], json!(event));
    inbound.delete().await;
}
both_backends!(a_given_up_event_is_listed_in_its_workspace);
