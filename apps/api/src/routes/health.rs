//! Liveness and readiness probes.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::app::Service;
use crate::problem::{ApiError, Problem};
use crate::routes::ApiTags;

/// Probe operations.
pub struct HealthApi {
    service: Arc<Service>,
}

impl HealthApi {
    /// Probes backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

/// Probe result.
#[derive(Debug, Object)]
pub struct HealthStatus {
    /// `ok`.
    pub status: String,
}

/// What the customer cache did since the process started.
#[derive(Debug, Object)]
pub struct CacheHealth {
    /// `redis` (shared by every server copy), `memory` (this process, SQLite only) or
    /// `disabled`.
    pub backend: String,
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to the database (absent, expired, or the cache unavailable).
    pub misses: u64,
    /// Failed calls to the cache's store (unreachable, too slow, unreadable entry); requests
    /// were served from the database.
    pub errors: u64,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The service can serve requests.
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// The database does not answer.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// The process is up.
    #[oai(path = "/health/live", method = "get", operation_id = "live")]
    async fn live(&self) -> Json<HealthStatus> {
        Json(HealthStatus { status: "ok".into() })
    }

    /// Readiness
    ///
    /// The process is up and its database answers.
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self) -> ReadyResponse {
        match self.service.ready().await {
            Ok(()) => ReadyResponse::Ready(Json(HealthStatus { status: "ok".into() })),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                let mut problem = ApiError::Internal(err.to_string()).to_problem();
                problem.status = 503;
                problem.title = "Service Unavailable".into();
                problem.detail = Some("The database does not answer.".into());
                ReadyResponse::Unavailable(Json(problem))
            }
        }
    }

    /// Cache counters
    ///
    /// Hits, misses and errors of the customer cache since the process started, and which
    /// cache is in use. Errors do not fail requests: they are served from the database.
    #[oai(path = "/health/cache", method = "get", operation_id = "cacheStats")]
    async fn cache(&self) -> Json<CacheHealth> {
        let stats = self.service.cache_stats();
        Json(CacheHealth {
            backend: stats.backend.to_owned(),
            hits: stats.hits,
            misses: stats.misses,
            errors: stats.errors,
        })
    }
}
