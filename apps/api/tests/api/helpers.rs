//! The test harness: a real server on `127.0.0.1:0` over a fresh database, a client, tokens.
//!
//! Every test is written once as `async fn name(app: TestApp)` and run on SQLite and on
//! PostgreSQL by [`both_backends!`]: a failure names the backend
//! (`cargo test -p customers-api --test api -- postgres`).

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_api::app::{self, Service};
use customers_api::auth::{Claims, JwtKeys};
use customers_domain::ports::CustomerCache;
use customers_infra::DatabaseConnection;
use customers_infra::testing::{Backend, TestDatabase};
use sea_orm::{ConnectionTrait, Statement};

/// The HS256 secret the test servers trust.
pub const SECRET: &[u8] = b"api-tests-secret-0123456789abcdef";

/// Every customers permission.
pub const ALL_PERMISSIONS: [&str; 4] = [
    "customers:view",
    "customers:create",
    "customers:update",
    "customers:delete",
];

/// The success status of the lifecycle POST operations that answer with a body and no new
/// resource (convert, check-duplicate, merge, validate/iin|bin): 201, as the original API
/// answers every POST.
pub const POST_OK: u16 = 201;

/// The BIN of the spec's B2B example, replaced by a real one (the spec's `123456789012` is
/// not a valid BIN).
pub const ALPHA_BIN: &str = "971240001315";

/// Generates `mod name { sqlite(), postgres() }` for `async fn name(app: TestApp)`.
///
/// - `both_backends!(name)`; attributes before the name (`#[ignore = "bug: …"]`) apply to
///   both backends;
/// - `both_backends!(multi_thread: name)` runs on a two-worker runtime (concurrency tests);
/// - `both_backends!(name, postgres: #[ignore = "bug: …"])` (or `sqlite:`) puts attributes
///   on one backend only.
macro_rules! both_backends {
    (@emit [$($flavor:tt)*] [$(#[$s:meta])*] [$(#[$p:meta])*] $name:ident) => {
        mod $name {
            $(#[$s])*
            #[tokio::test$($flavor)*]
            async fn sqlite() {
                super::$name(crate::helpers::TestApp::spawn(customers_infra::testing::Backend::Sqlite).await).await;
            }

            $(#[$p])*
            #[tokio::test$($flavor)*]
            async fn postgres() {
                super::$name(crate::helpers::TestApp::spawn(customers_infra::testing::Backend::Postgres).await).await;
            }
        }
    };
    (multi_thread: $(#[$attr:meta])* $name:ident $(, sqlite: $(#[$s:meta])*)? $(, postgres: $(#[$p:meta])*)?) => {
        both_backends!(@emit [(flavor = "multi_thread", worker_threads = 2)]
            [$(#[$attr])* $($(#[$s])*)?] [$(#[$attr])* $($(#[$p])*)?] $name);
    };
    ($(#[$attr:meta])* $name:ident $(, sqlite: $(#[$s:meta])*)? $(, postgres: $(#[$p:meta])*)?) => {
        both_backends!(@emit [] [$(#[$attr])* $($(#[$s])*)?] [$(#[$attr])* $($(#[$p])*)?] $name);
    };
}

/// A running server on its own database, with a default organization, workspace and user.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The engine under the server.
    pub backend: Backend,
    /// A client without cookies or redirects.
    pub client: reqwest::Client,
    /// The keys the server trusts.
    pub keys: JwtKeys,
    /// The default organization of tokens.
    pub org: Uuid,
    /// The default workspace.
    pub workspace: Uuid,
    /// The default user (`sub`).
    pub user: Uuid,
    // Dropping the sender shuts the server down; the database is dropped after it (and after
    // every copy of the server on it).
    _shutdown: tokio::sync::oneshot::Sender<()>,
    /// The database under the server (for checks the API cannot make).
    pub db: Arc<TestDatabase>,
}

impl TestApp {
    /// Starts the real server on a fresh, migrated database of `backend`.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, app::service).await
    }

    /// Starts the real server on a fresh, migrated database of `backend`, with the service
    /// `wire` makes on it.
    async fn spawn_with(backend: Backend, wire: impl FnOnce(DatabaseConnection) -> Service) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            // `TEST_LOG=1 cargo test … -- --nocapture` shows the server's log (its 500s).
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
                .with_test_writer()
                .try_init();
        }
        let db = TestDatabase::new(backend).await;
        let service = Arc::new(wire(db.connection.clone()));
        let keys = JwtKeys::new(SECRET);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let (addr, _task) = app::serve(
            "127.0.0.1:0".parse().expect("address"),
            service,
            Arc::new(keys.clone()),
            shutdown,
        )
        .await
        .expect("the server binds a free port");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            address: format!("http://{addr}"),
            backend,
            client,
            keys,
            org: Uuid::now_v7(),
            workspace: Uuid::now_v7(),
            user: Uuid::now_v7(),
            _shutdown: tx,
            db: Arc::new(db),
        }
    }

    // -- tokens ---------------------------------------------------------------------------

    /// Signs `claims` with the server's secret.
    pub fn mint(&self, claims: &Claims) -> String {
        self.keys.mint(claims).expect("token")
    }

    /// A token of the default user valid for an hour.
    pub fn token(&self, org: Uuid, workspaces: &[Uuid], permissions: &[&str]) -> String {
        self.token_for(self.user, org, workspaces, permissions)
    }

    /// A token of `sub` valid for an hour.
    pub fn token_for(&self, sub: Uuid, org: Uuid, workspaces: &[Uuid], permissions: &[&str]) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.mint(&Claims {
            sub,
            org,
            workspaces: workspaces.to_vec(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            exp: now + 3600,
            iat: Some(now),
        })
    }

    /// A token of the default user and organization with every permission on `ws`.
    pub fn token_all(&self, ws: Uuid) -> String {
        self.token(self.org, &[ws], &ALL_PERMISSIONS)
    }

    // -- raw requests -----------------------------------------------------------------------

    /// `{address}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The collection path of a workspace.
    pub fn customers_path(ws: Uuid) -> String {
        format!("/api/v1/workspaces/{ws}/customers")
    }

    /// Sends a request; `token` becomes a bearer header; `body` is sent as JSON.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> TestResponse {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        TestResponse::read(request.send().await.expect("request sent")).await
    }

    /// Sends a prepared request.
    pub async fn execute(&self, request: reqwest::RequestBuilder) -> TestResponse {
        TestResponse::read(request.send().await.expect("request sent")).await
    }

    // -- customer operations as a given caller ------------------------------------------------

    /// `POST /customers` as `token` in `ws`.
    pub async fn post_customer_as(&self, token: &str, ws: Uuid, body: &Value) -> TestResponse {
        self.send(Method::POST, &Self::customers_path(ws), Some(token), Some(body))
            .await
    }

    /// `GET /customers/{id}` as `token` in `ws`.
    pub async fn get_as(&self, token: &str, ws: Uuid, id: &str) -> TestResponse {
        self.send(
            Method::GET,
            &format!("{}/{id}", Self::customers_path(ws)),
            Some(token),
            None,
        )
        .await
    }

    /// `PUT /customers/{id}` as `token` in `ws`.
    pub async fn put_as(&self, token: &str, ws: Uuid, id: &str, body: &Value) -> TestResponse {
        self.send(
            Method::PUT,
            &format!("{}/{id}", Self::customers_path(ws)),
            Some(token),
            Some(body),
        )
        .await
    }

    /// `DELETE /customers/{id}` as `token` in `ws`.
    pub async fn delete_as(&self, token: &str, ws: Uuid, id: &str) -> TestResponse {
        self.send(
            Method::DELETE,
            &format!("{}/{id}", Self::customers_path(ws)),
            Some(token),
            None,
        )
        .await
    }

    /// `GET /customers?…` as `token` in `ws`; pairs may repeat a name.
    pub async fn list_as(&self, token: &str, ws: Uuid, query: &[(&str, &str)]) -> TestResponse {
        let request = self
            .client
            .get(self.url(&Self::customers_path(ws)))
            .bearer_auth(token)
            .query(query);
        self.execute(request).await
    }

    // -- customer operations in the default workspace with every permission -------------------

    /// `POST /customers`.
    pub async fn post_customer(&self, body: &Value) -> TestResponse {
        self.post_customer_as(&self.token_all(self.workspace), self.workspace, body)
            .await
    }

    /// `POST /customers`, asserting 201; returns the body.
    pub async fn create(&self, body: &Value) -> Value {
        self.post_customer(body).await.assert_status(201).body
    }

    /// `GET /customers/{id}`.
    pub async fn get(&self, id: &str) -> TestResponse {
        self.get_as(&self.token_all(self.workspace), self.workspace, id).await
    }

    /// `PUT /customers/{id}`.
    pub async fn put(&self, id: &str, body: &Value) -> TestResponse {
        self.put_as(&self.token_all(self.workspace), self.workspace, id, body)
            .await
    }

    /// `DELETE /customers/{id}`.
    pub async fn delete(&self, id: &str) -> TestResponse {
        self.delete_as(&self.token_all(self.workspace), self.workspace, id)
            .await
    }

    /// `GET /customers?…`.
    pub async fn list(&self, query: &[(&str, &str)]) -> TestResponse {
        self.list_as(&self.token_all(self.workspace), self.workspace, query)
            .await
    }

    /// The ids of the items of `GET /customers?…`, asserting 200 and a consistent page.
    pub async fn list_ids(&self, query: &[(&str, &str)]) -> Vec<String> {
        let page = self.list(query).await.assert_status(200).body;
        let ids = ids(&page["items"]);
        assert!(
            page["total"].as_u64().expect("total") >= ids.len() as u64,
            "{query:?}: total below the item count: {page}"
        );
        ids
    }

    // -- any operation under the collection ----------------------------------------------------

    /// `{method} /customers{suffix}` as `token` in `ws`.
    pub async fn call_as(
        &self,
        token: &str,
        ws: Uuid,
        method: Method,
        suffix: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let path = format!("{}{suffix}", Self::customers_path(ws));
        self.send(method, &path, Some(token), body).await
    }

    /// `{method} /customers{suffix}` in the default workspace with every permission.
    pub async fn call(&self, method: Method, suffix: &str, body: Option<&Value>) -> TestResponse {
        self.call_as(&self.token_all(self.workspace), self.workspace, method, suffix, body)
            .await
    }

    /// Another module's event (`event_type` with `payload`, occurred at `occurred_at`) in the
    /// default organization and workspace, through `POST /customers/events` with
    /// `customers:integrate`, asserting 200.
    pub async fn deliver(&self, event_type: &str, occurred_at: &str, payload: Value) {
        let body = json!({
            "eventId": Uuid::now_v7(),
            "type": event_type,
            "version": 1,
            "occurredAt": occurred_at,
            "organizationId": self.org,
            "workspaceId": self.workspace,
            "payload": payload
        });
        let token = self.token(self.org, &[self.workspace], &["customers:integrate"]);
        self.call_as(&token, self.workspace, Method::POST, "/events", Some(&body))
            .await
            .assert_status(200);
    }

    /// `order.completed` of `customer` at `at`, without items, through [`TestApp::deliver`].
    pub async fn complete_order(&self, customer: &str, order_id: &str, amount: &str, at: OffsetDateTime) {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .expect("rfc3339");
        let payload = json!({
            "orderId": order_id,
            "customerId": customer,
            "totalAmount": amount,
            "completedAt": at,
            "items": []
        });
        self.deliver("order.completed", &at, payload).await;
    }

    // -- direct database access (what the API cannot set) -----------------------------------

    /// Sets a customer's `total_purchases` in the database: the API has no operation that
    /// records purchases, but the list filters and sorts by them.
    pub async fn set_total_purchases(&self, id: &str, amount_cents: i64) {
        let backend = self.db.connection.get_database_backend();
        let id = Uuid::parse_str(id).expect("uuid");
        let statement = match self.backend {
            Backend::Postgres => Statement::from_sql_and_values(
                backend,
                "UPDATE customers SET total_purchases = $1 WHERE id = $2",
                [
                    sea_orm::Value::Decimal(Some(rust_decimal::Decimal::new(amount_cents, 2))),
                    sea_orm::Value::Uuid(Some(id)),
                ],
            ),
            Backend::Sqlite => Statement::from_sql_and_values(
                backend,
                "UPDATE customers SET total_purchases = ? WHERE id = ?",
                [
                    sea_orm::Value::BigInt(Some(amount_cents)),
                    sea_orm::Value::Uuid(Some(id)),
                ],
            ),
        };
        let result = self
            .db
            .connection
            .execute_raw(statement)
            .await
            .expect("update total_purchases");
        assert_eq!(result.rows_affected(), 1, "customer {id} not found in the database");
    }

    /// Sets a customer's `total_purchases` and `purchase_count` in the database (the API has
    /// no operation that records purchases; merges add them up).
    pub async fn set_purchases(&self, id: &str, amount_cents: i64, count: i32) {
        self.set_total_purchases(id, amount_cents).await;
        let backend = self.db.connection.get_database_backend();
        let sql = match self.backend {
            Backend::Postgres => "UPDATE customers SET purchase_count = $1 WHERE id = $2",
            Backend::Sqlite => "UPDATE customers SET purchase_count = ? WHERE id = ?",
        };
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [
                sea_orm::Value::Int(Some(count)),
                sea_orm::Value::Uuid(Some(Uuid::parse_str(id).expect("uuid"))),
            ],
        );
        let result = self
            .db
            .connection
            .execute_raw(statement)
            .await
            .expect("update purchase_count");
        assert_eq!(result.rows_affected(), 1, "customer {id} not found in the database");
    }
}

// ---------------------------------------------------------------------------------------------
// Server copies with a given cache (several servers over one database sharing a Redis)
// ---------------------------------------------------------------------------------------------

impl TestApp {
    /// Starts the real server on a fresh, migrated database of `backend` with `cache`.
    pub async fn spawn_with_cache(backend: Backend, cache: Arc<dyn CustomerCache>) -> Self {
        Self::spawn_with(backend, |db| app::service_with_cache(db, cache)).await
    }

    /// Another copy of the server over the same database, with its own `cache` (as another
    /// process would have), for the same default organization, workspace and user.
    pub async fn copy_with_cache(&self, cache: Arc<dyn CustomerCache>) -> Self {
        let service = Arc::new(app::service_with_cache(self.db.connection.clone(), cache));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, _task) = app::serve(
            "127.0.0.1:0".parse().expect("address"),
            service,
            Arc::new(self.keys.clone()),
            async move {
                let _ = rx.await;
            },
        )
        .await
        .expect("the server binds a free port");
        Self {
            address: format!("http://{addr}"),
            backend: self.backend,
            client: self.client.clone(),
            keys: self.keys.clone(),
            org: self.org,
            workspace: self.workspace,
            user: self.user,
            _shutdown: tx,
            db: self.db.clone(),
        }
    }
}

/// A response read to the end.
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// `Location`, when sent.
    pub location: Option<String>,
    /// `ETag`, when sent.
    pub etag: Option<String>,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl TestResponse {
    /// Reads `response` to the end.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        let content_type = header("content-type");
        let location = header("location");
        let etag = header("etag");
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            content_type,
            location,
            etag,
            text,
            body,
        }
    }

    /// Asserts the status; returns self for chaining.
    #[track_caller]
    pub fn assert_status(self, expected: u16) -> Self {
        assert_eq!(self.status, expected, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts a problem document (`application/problem+json`) of `status`, consistent with
    /// its status line.
    #[track_caller]
    pub fn assert_problem(self, status: u16) -> Self {
        let this = self.assert_status(status);
        let content_type = this.content_type.as_deref().unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content type {content_type:?} is not application/problem+json; body: {}",
            this.text
        );
        assert_eq!(
            this.body["status"],
            json!(status),
            "problem status field: {}",
            this.text
        );
        assert!(this.body["type"].is_string(), "problem type: {}", this.text);
        assert!(this.body["title"].is_string(), "problem title: {}", this.text);
        this
    }

    /// The `errors[].field` values.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().expect("errors[].field is a string").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a 400 problem whose `errors` name `field` (each error with a message).
    #[track_caller]
    pub fn assert_invalid(self, field: &str) -> Self {
        let this = self.assert_problem(400);
        let fields = this.error_fields();
        assert!(
            fields.iter().any(|f| f == field),
            "expected an error on {field:?}, got {fields:?}; body: {}",
            this.text
        );
        for error in this.body["errors"].as_array().into_iter().flatten() {
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "every error has a message: {}",
                this.text
            );
        }
        this
    }

    /// The `id` of the body.
    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("body has an id").to_owned()
    }
}

/// The `id`s of a JSON array of objects.
pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The spec's "Создание B2B клиента" example, with a real BIN.
pub fn b2b_example() -> Value {
    json!({
        "type": "COMPANY",
        "name": "ТОО Альфа",
        "email": "info@alpha.kz",
        "phone": "+77012345678",
        "bin": ALPHA_BIN,
        "companyName": "ТОО Альфа",
        "companySize": "51-200",
        "industry": "Manufacturing",
        "creditLimit": 5000000,
        "status": "PROSPECT",
        "contacts": [
            {
                "firstName": "Асет",
                "lastName": "Жумабеков",
                "position": "Директор",
                "email": "aset@alpha.kz",
                "phone": "+77011111111",
                "isPrimary": true,
                "isDecisionMaker": true
            }
        ],
        "addresses": [
            {
                "type": "billing",
                "street": "ул. Абая, 150",
                "city": "Алматы",
                "postalCode": "050000",
                "country": "Kazakhstan",
                "isPrimary": true
            },
            {
                "type": "shipping",
                "street": "ул. Розыбакиева, 247",
                "city": "Алматы",
                "postalCode": "050060",
                "country": "Kazakhstan"
            }
        ],
        "customFields": {
            "preferredDeliveryTime": "09:00-18:00",
            "taxExempt": false
        },
        "tags": ["manufacturing", "premium", "almaty"]
    })
}

/// A minimal individual customer.
pub fn individual(name: &str, email: &str) -> Value {
    json!({ "type": "INDIVIDUAL", "name": name, "email": email })
}

/// A minimal company customer.
pub fn company(name: &str, email: &str) -> Value {
    json!({ "type": "COMPANY", "name": name, "email": email })
}

/// `body` with `key` set to `value` (a top-level key).
pub fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn control_digit(first_eleven: &[u32]) -> Option<u32> {
    let pass = |weights: [u32; 11]| first_eleven.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
    let first = pass([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let c = if first == 10 {
        pass([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
    } else {
        first
    };
    (c != 10).then_some(c)
}

fn with_control_digit(prefix: &str, serial: u32) -> Option<String> {
    let eleven = format!("{prefix}{serial:0width$}", width = 11 - prefix.len());
    let digits: Vec<u32> = eleven.chars().map(|c| c.to_digit(10).expect("digit")).collect();
    control_digit(&digits).map(|c| format!("{eleven}{c}"))
}

/// `first_eleven` digits completed with their IIN/BIN control digit; `None` when numbers
/// starting with them are never issued.
pub fn complete_tax_id(first_eleven: &str) -> Option<String> {
    assert_eq!(first_eleven.len(), 11, "{first_eleven}");
    let digits: Vec<u32> = first_eleven.chars().map(|c| c.to_digit(10).expect("digit")).collect();
    control_digit(&digits).map(|c| format!("{first_eleven}{c}"))
}

/// The `n`-th valid BIN of a resident legal entity's head office registered in December 1997.
pub fn valid_bin(n: u32) -> String {
    (n * 10..)
        .find_map(|serial| with_control_digit("971240", serial))
        .expect("a BIN")
}

/// The `n`-th valid IIN of a man born on 15 May 1990.
pub fn valid_iin(n: u32) -> String {
    (n * 10..)
        .find_map(|serial| with_control_digit("9005153", serial))
        .expect("an IIN")
}

#[test]
fn generated_identifiers_match_known_valid_ones() {
    assert_eq!(with_control_digit("9712400", 131), Some(ALPHA_BIN.to_owned()));
    assert_eq!(with_control_digit("9005153", 0), Some("900515300008".to_owned()));
    assert_ne!(valid_bin(1), valid_bin(2));
}
