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
}
