//! Segments of a workspace: `GET /customers/segments` and the thresholds at
//! `/customers/segments/rules`.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::IdParam;
use crate::dto::segments::{RfmResponse, SegmentRulesDto, SegmentsResponse};
use crate::json::JsonBody;
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::ApiTags;

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The segment operations.
pub struct SegmentsApi {
    service: Arc<Service>,
}

impl SegmentsApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Segments {
    /// Live customers per segment, now.
    #[oai(status = 200)]
    Ok(Json<SegmentsResponse>),
}

#[derive(ApiResponse)]
enum Rules {
    /// The workspace's thresholds.
    #[oai(status = 200)]
    Ok(Json<SegmentRulesDto>),
}

#[derive(ApiResponse)]
enum Rfm {
    /// The recency × frequency grid.
    #[oai(status = 200)]
    Ok(Json<RfmResponse>),
}

#[OpenApi(tag = "ApiTags::Customers")]
impl SegmentsApi {
    /// Customers per segment
    ///
    /// Every segment (LOST, VIP, LOYAL, NEW, AT_RISK, DORMANT, PROMISING: the first whose
    /// rule a customer meets) with its number of live customers, by the workspace's
    /// thresholds, as of now. `GET /customers?segment=…` lists a segment's customers.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/segments",
        method = "get",
        operation_id = "getSegments"
    )]
    async fn segments(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
    ) -> Result<Segments> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let counts = self.service.segment_counts(scope).await?;
        Ok(Segments::Ok(Json(counts.into())))
    }

    /// Segment thresholds
    ///
    /// The workspace's thresholds (the defaults until set).
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/segments/rules",
        method = "get",
        operation_id = "getSegmentRules"
    )]
    async fn rules(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
    ) -> Result<Rules> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let rules = self.service.segment_rules(scope).await?;
        Ok(Rules::Ok(Json(rules.into())))
    }

    /// Set segment thresholds
    ///
    /// Replaces the workspace's thresholds. Days from 1 to 36600; purchase counts up to
    /// 1,000,000; the VIP lifetime value an amount ≥ 0. Requires `customers:update`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/segments/rules",
        method = "put",
        operation_id = "setSegmentRules"
    )]
    async fn set_rules(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<SegmentRulesDto>,
    ) -> Result<Rules> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Update)?;
        let rules = body.0.into_rules().map_err(ApiError::Validation)?;
        let stored = self.service.set_segment_rules(scope, rules).await?;
        Ok(Rules::Ok(Json(stored.into())))
    }

    /// RFM grid
    ///
    /// Recency, frequency and monetary scores are 1..5 by quintiles among the workspace's
    /// customers with a purchase (score = ⌈5·k/n⌉ with k the customers whose value is ≤ this
    /// one, so ties share a score; the most recent, most frequent and largest score 5). The
    /// grid gives, for every recency × frequency pair, the customers and their total
    /// purchases.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/analytics/rfm",
        method = "get",
        operation_id = "getRfmGrid"
    )]
    async fn rfm(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
    ) -> Result<Rfm> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let grid = self.service.rfm_grid(scope).await?;
        Ok(Rfm::Ok(Json(grid.into())))
    }
}
