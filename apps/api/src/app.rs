//! The composition root: adapters wired into the domain service, behind the HTTP routes.

use std::net::SocketAddr;
use std::sync::Arc;

use customers_infra::{DatabaseConnection, DbErr};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server};
use poem_openapi::OpenApiService;

use customers_domain::CustomerService;
use customers_domain::ports::{CustomerCache, SystemClock};
use customers_infra::{InMemoryCache, RecordingPublisher, SeaRepository};

use crate::auth::JwtKeys;
use crate::dto::events::EventSchemas;
use crate::problem::{ApiError, render_error};
use crate::routes::analytics::AnalyticsApi;
use crate::routes::clv::ClvApi;
use crate::routes::customers::CustomersApi;
use crate::routes::health::HealthApi;
use crate::routes::integration::IntegrationApi;
use crate::routes::lifecycle::LifecycleApi;
use crate::routes::metrics::MetricsApi;
use crate::routes::parts::PartsApi;
use crate::routes::segments::SegmentsApi;

/// The customer service as wired in this server (the cache is picked at start).
pub type Service =
    CustomerService<SeaRepository, SeaRepository, Arc<dyn CustomerCache>, RecordingPublisher, SystemClock>;

/// Wires the adapters on an open, migrated database, with the cache used when no Redis is
/// configured: in-process with the embedded SQLite database, none with PostgreSQL (several
/// server copies may share the data, and a per-process cache would serve one copy's stale data
/// after another copy's write).
pub fn service(db: DatabaseConnection) -> Service {
    let cache: Arc<dyn CustomerCache> = if SeaRepository::new(db.clone()).is_embedded() {
        Arc::new(InMemoryCache::default())
    } else {
        Arc::new(InMemoryCache::disabled())
    };
    service_with_cache(db, cache)
}

/// Wires the adapters on an open, migrated database with `cache` (the shared Redis cache when
/// `REDIS_URL` is set).
pub fn service_with_cache(db: DatabaseConnection, cache: Arc<dyn CustomerCache>) -> Service {
    let repository = SeaRepository::new(db);
    CustomerService::new(
        repository.clone(),
        repository,
        cache,
        RecordingPublisher::default(),
        SystemClock,
    )
}

type Apis = (
    CustomersApi,
    LifecycleApi,
    PartsApi,
    IntegrationApi,
    SegmentsApi,
    MetricsApi,
    ClvApi,
    AnalyticsApi,
    HealthApi,
    EventSchemas,
);

fn openapi(service: Arc<Service>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            CustomersApi::new(service.clone()),
            LifecycleApi::new(service.clone()),
            PartsApi::new(service.clone()),
            IntegrationApi::new(service.clone()),
            SegmentsApi::new(service.clone()),
            MetricsApi::new(service.clone()),
            ClvApi::new(service.clone()),
            AnalyticsApi::new(service.clone()),
            HealthApi::new(service),
            EventSchemas,
        ),
        "Customers API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Customer management (CRM) core of the ERP: B2B and B2C customers with contacts and \
         addresses, Kazakhstan IIN/BIN validation. Errors are RFC 9457 problem details \
         (application/problem+json).",
    )
}

/// The whole HTTP application: API, `/docs`, `/openapi.json`, probes.
pub fn app(service: Arc<Service>, keys: Arc<JwtKeys>) -> impl Endpoint {
    let api = openapi(service);
    let docs = api.swagger_ui();
    let spec = EventSchemas::publish::<Apis>(&api.spec());
    let spec =
        poem::endpoint::make_sync(move |_| Response::builder().content_type("application/json").body(spec.clone()));
    Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .data(keys)
        .catch_all_error(render_error)
        .with(CatchPanic::new().with_handler(|_| {
            ApiError::Internal("a request handler panicked".into())
                .to_problem()
                .into_http()
        }))
        .around(log_request)
}

/// Logs each request's method, path (without the query string: it may carry personal data
/// such as phone numbers or IINs), status and duration.
async fn log_request<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.call(request).await.map(IntoResponse::into_response);
    let status = match &response {
        Ok(response) => response.status(),
        Err(err) => err.status(),
    };
    tracing::info!(
        target: "customers::http",
        %method,
        path,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The OpenAPI document the code describes (what `openapi/customers.json` must hold).
pub async fn openapi_spec() -> Result<String, DbErr> {
    // The document does not depend on data; an empty in-memory database satisfies the types.
    let db = customers_infra::connect("sqlite::memory:").await?;
    let spec = EventSchemas::publish::<Apis>(&openapi(Arc::new(service(db))).spec());
    Ok(format!("{spec}\n"))
}

/// Binds `addr` (port 0 picks a free one) and serves until `shutdown` resolves. Returns the
/// bound address and the server task.
pub async fn serve(
    addr: SocketAddr,
    service: Arc<Service>,
    keys: Arc<JwtKeys>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(addr);
    let endpoint = app(service, keys);
    let task = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(endpoint, shutdown, Some(std::time::Duration::from_secs(10)))
            .await
    });
    Ok((local, task))
}

/// Purges customers deleted longer ago than the retention window, now and then every
/// `interval`, for as long as the process runs. Each server copy may run it: the purge is one
/// idempotent statement per table.
pub async fn purge_periodically(service: Arc<Service>, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match service.purge_expired().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged customers past the retention window"),
            Err(err) => tracing::warn!(error = %err, "purging deleted customers failed"),
        }
    }
}

/// Keeps the lifetime value models fresh: now and then every `max_age` (at least hourly),
/// refits every workspace with orders whose fit is older than `max_age` or that was never
/// fitted, for as long as the process runs. Each server copy may run it: a workspace may then
/// be fitted by two copies at about the same time, and the fit that ran last is kept.
pub async fn refit_clv_periodically(service: Arc<Service>, max_age: std::time::Duration) {
    let Ok(age) = time::Duration::try_from(max_age) else {
        return;
    };
    if max_age.is_zero() {
        return;
    }
    let mut ticker = tokio::time::interval(max_age.min(std::time::Duration::from_secs(3600)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let service = service.clone();
        let refitted = crate::routes::clv::off_the_workers(async move { service.refit_stale_clv(age).await }).await;
        match refitted {
            Ok(Ok(0)) => {}
            Ok(Ok(refitted)) => tracing::info!(refitted, "refitted the CLV models of stale workspaces"),
            Ok(Err(err)) => tracing::warn!(error = %err, "refitting the CLV models failed"),
            Err(err) => tracing::warn!(error = %err, "refitting the CLV models failed"),
        }
    }
}

/// Hands the entries of the inbound stream to the service: each `event` field is applied once,
/// ignored (a type for other modules) or kept as a dead letter; only a failure to store
/// leaves the entry pending.
pub struct StreamIngest(pub Arc<Service>);

#[async_trait::async_trait]
impl customers_infra::consumer::EntryHandler for StreamIngest {
    async fn handle(&self, event: Option<&str>) -> Result<(), String> {
        use customers_domain::integration::Channel;
        let outcome = match event {
            Some(text) => self.0.ingest(text, Channel::Stream, None).await.map(|_| ()),
            None => {
                let reason = "the entry has no `event` field".to_owned();
                self.0.dead_letter("", Channel::Stream, None, reason).await
            }
        };
        outcome.map_err(|e| e.to_string())
    }

    async fn give_up(&self, event: Option<&str>, error: &str) -> Result<(), String> {
        let reason = format!("could not be applied after repeated attempts: {error}");
        self.0
            .dead_letter(
                event.unwrap_or_default(),
                customers_domain::integration::Channel::Stream,
                None,
                reason,
            )
            .await
            .map_err(|e| e.to_string())
    }
}
