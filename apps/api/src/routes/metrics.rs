//! Module metrics of a workspace: `GET /customers/metrics?from&to`.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::IdParam;
use crate::dto::metrics::MetricsResponse;
use crate::problem::ErrorResponse;
use crate::routes::ApiTags;

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The module metrics operation.
pub struct MetricsApi {
    service: Arc<Service>,
}

impl MetricsApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Metrics {
    /// The metrics of the period, each field with its definition.
    #[oai(status = 200)]
    Ok(Json<MetricsResponse>),
}

#[OpenApi(tag = "ApiTags::Customers")]
impl MetricsApi {
    /// Module metrics
    ///
    /// Active customers, lead conversion rate, average lifetime value, churn rate and average
    /// lead conversion time of the period `[from, to)` (UTC), worked out from the customers'
    /// history; see each response field for its definition. `from` and `to` are RFC 3339
    /// date-times or dates (a date as `to` includes that day); `to` defaults to now and `from`
    /// to 30 days before `to`. `from` must be before `to`, and the period at most 3660 days
    /// long (400 naming `from` otherwise).
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/metrics",
        method = "get",
        operation_id = "getModuleMetrics"
    )]
    async fn metrics(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Start of the period (included): `2026-05-01` or `2026-05-01T00:00:00+05:00`.
        from: Query<Option<String>>,
        /// End of the period (excluded; a date is included whole): `2026-05-31` or
        /// `2026-06-01T00:00:00Z`.
        to: Query<Option<String>>,
    ) -> Result<Metrics> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let metrics = self
            .service
            .module_metrics(scope, from.0.as_deref(), to.0.as_deref())
            .await?;
        Ok(Metrics::Ok(Json(metrics.into())))
    }
}
