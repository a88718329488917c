//! Predicted lifetime value: the workspace's BG/NBD and Gamma-Gamma models at
//! `/customers/analytics/clv` (read) and `/customers/analytics/clv/fit` (fit now).

use std::future::Future;
use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::IdParam;
use crate::dto::clv::{ClvFitRequest, ClvModelResponse};
use crate::json::OptionalJsonBody;
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::ApiTags;

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The CLV operations.
pub struct ClvApi {
    service: Arc<Service>,
}

impl ClvApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Model {
    /// The workspace's models, or why there are none.
    #[oai(status = 200)]
    Ok(Json<ClvModelResponse>),
}

/// Runs `work` to its end on a thread of the blocking pool: fitting takes CPU time (seconds on
/// a workspace of 100,000 buyers) that must not hold up the workers serving other requests.
pub async fn off_the_workers<T, F>(work: F) -> std::result::Result<T, ApiError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work))
        .await
        .map_err(|e| ApiError::Internal(format!("the CLV fit task failed: {e}")))
}

#[OpenApi(tag = "ApiTags::Customers")]
impl ClvApi {
    /// Lifetime value models
    ///
    /// The workspace's latest fit of the BG/NBD model (whether and how often customers buy
    /// again) and the Gamma-Gamma model (how much they spend per purchase), from which each
    /// customer's churn probability, expected purchases and predicted 12-month value follow.
    /// Fitted on the completed orders (not cancelled or refunded) of the live customers, with
    /// times in days. `model` is null, and `reason` says why, while the workspace was never
    /// fitted (`status` `NOT_FITTED`) or had too little data (`INSUFFICIENT_DATA`: fewer than
    /// 200 customers with a purchase, or less than 90 days of history) or a model could not
    /// be fitted (`FIT_FAILED`). Workspaces with orders are refitted daily.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/analytics/clv",
        method = "get",
        operation_id = "getClvModel"
    )]
    async fn model(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
    ) -> Result<Model> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let fit = self.service.clv_model(scope).await?;
        Ok(Model::Ok(Json(fit.into())))
    }

    /// Fit the lifetime value models
    ///
    /// Fits both models now on the workspace's purchases up to `asOf` (now when the body is
    /// empty), stores the result as the workspace's models (what `GET …/analytics/clv`
    /// returns) and returns it. Too little data is not an error: the answer then has
    /// `model: null` and the `reason`. Takes up to a few seconds on large workspaces.
    /// Requires `customers:update`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/analytics/clv/fit",
        method = "post",
        operation_id = "fitClvModel"
    )]
    async fn fit(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: OptionalJsonBody<ClvFitRequest>,
    ) -> Result<Model> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Update)?;
        let as_of = body.0.unwrap_or_default().as_of().map_err(ApiError::Validation)?;
        let service = self.service.clone();
        let fit = off_the_workers(async move { service.fit_clv(scope, as_of).await }).await??;
        Ok(Model::Ok(Json(Some(fit).into())))
    }
}
