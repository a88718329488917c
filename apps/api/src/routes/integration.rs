//! Other modules' events coming in over HTTP, and what they feed:
//! `POST /customers/events`, `GET /customers/events/dead-letters`,
//! `GET /customers/{id}/purchase-history`, `GET /customers/{id}/timeline`.

use std::sync::Arc;

use poem::Request;
use poem::error::ReadBodyError;
use poem::web::RequestBody;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use customers_domain::ValidationErrors;
use customers_domain::integration::Channel;
use customers_domain::integration::timeline::{TimelineFilter, TimelineKind};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::IdParam;
use crate::dto::events::InboundEventEnvelope;
use crate::dto::integration::{DeadLetterResponse, IngestResponse, Paged, PurchaseResponse, TimelineEntryResponse};
use crate::json::{JsonBody, MAX_BODY_BYTES};
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::ApiTags;
use crate::routes::customers::parse_bound;
use crate::routes::{paging, target};

type Result<T> = std::result::Result<T, ErrorResponse>;

/// An inbound event body: documented as [`InboundEventEnvelope`], kept as the text received so
/// that the domain reports every bad field and keeps refused events verbatim.
pub struct InboundBody(String);

impl Payload for InboundBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        <JsonBody<serde_json::Value> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        InboundEventEnvelope::schema_ref()
    }

    fn register(registry: &mut Registry) {
        InboundEventEnvelope::register(registry);
    }
}

impl ParsePayload for InboundBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|err| match err {
                ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge,
                other => ApiError::Malformed(format!("The body could not be read: {other}")),
            })?;
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::Malformed("The body is not UTF-8 text.".into()))?;
        Ok(InboundBody(text))
    }
}

poem_openapi::impl_apirequest_for_payload!(InboundBody,);

/// The integration operations.
pub struct IntegrationApi {
    service: Arc<Service>,
}

impl IntegrationApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Ingest {
    /// Applied now (`status: applied`) or before (`status: duplicate`); either way the event
    /// has its effect exactly once.
    #[oai(status = 200)]
    Ok(Json<IngestResponse>),
}

#[derive(ApiResponse)]
enum DeadLetters {
    /// Refused inbound events of the workspace, newest first.
    #[oai(status = 200)]
    Ok(Json<Paged<DeadLetterResponse>>),
}

#[derive(ApiResponse)]
enum Purchases {
    /// The customer's orders, newest first.
    #[oai(status = 200)]
    Ok(Json<Paged<PurchaseResponse>>),
}

#[derive(ApiResponse)]
enum Timeline {
    /// The customer's timeline, newest first.
    #[oai(status = 200)]
    Ok(Json<Paged<TimelineEntryResponse>>),
}

#[OpenApi(tag = "ApiTags::Customers")]
impl IntegrationApi {
    /// Receive an event of another module
    ///
    /// For producers that speak HTTP (the same events are consumed from the `erp.events`
    /// Redis stream): `order.completed`, `order.cancelled`, `order.refunded`, `deal.won`,
    /// `invoice.issued`, `invoice.paid`. Each `eventId` is applied once, however often it
    /// is sent. The envelope's organization and workspace must be the token's and the path's.
    /// A refused event (bad field, unknown customer, unsupported type) is answered with a
    /// problem naming the field and kept as a dead letter. Requires `customers:integrate`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/events",
        method = "post",
        operation_id = "receiveEvent"
    )]
    async fn receive(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: InboundBody,
    ) -> Result<Ingest> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Integrate)?;
        let outcome = self.service.ingest(&body.0, Channel::Http, Some(scope)).await?;
        let response = IngestResponse::from_outcome(outcome)
            .ok_or_else(|| ApiError::Internal("an HTTP event was neither applied nor refused".into()))?;
        Ok(Ingest::Ok(Json(response)))
    }

    /// List refused inbound events
    ///
    /// Events that could not be applied (with the reason and the body as received), newest
    /// first. Requires `customers:integrate`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/events/dead-letters",
        method = "get",
        operation_id = "listDeadLetters"
    )]
    async fn dead_letters(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u32>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<DeadLetters> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Integrate)?;
        let (page, limit) = paging(page.0, limit.0);
        let letters = self.service.dead_letters(scope, page, limit).await?;
        Ok(DeadLetters::Ok(Json(letters.into())))
    }

    /// Purchase history
    ///
    /// The customer's orders as reported by the orders module, newest first, with their
    /// items; cancelled and refunded orders are listed with their status and not counted in
    /// the customer's metrics.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/purchase-history",
        method = "get",
        operation_id = "getPurchaseHistory"
    )]
    async fn purchase_history(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u32>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Purchases> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let (page, limit) = paging(page.0, limit.0);
        let purchases = self.service.purchase_history(scope, customer, page, limit).await?;
        Ok(Purchases::Ok(Json(purchases.into())))
    }

    /// Timeline
    ///
    /// One feed of what happened with the customer, newest first: creation, status changes,
    /// notes, contacts added, merges, won deals, orders (completed, cancelled, refunded),
    /// invoices and payments.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/timeline",
        method = "get",
        operation_id = "getTimeline"
    )]
    async fn timeline(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Only these kinds, comma-separated (`order_completed,deal_won`).
        #[oai(validator(max_length = 500))]
        kind: Query<Option<String>>,
        /// At or after (RFC 3339 date-time, or a date for its start).
        from: Query<Option<String>>,
        /// At or before (RFC 3339 date-time, or a date for its end).
        to: Query<Option<String>>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u32>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Timeline> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let mut errors = ValidationErrors::new();
        let mut kinds = Vec::new();
        for name in kind
            .0
            .iter()
            .flat_map(|k| k.split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            match TimelineKind::parse(name) {
                Some(k) => kinds.push(k),
                None => errors.push(
                    "kind",
                    format!(
                        "unknown kind {name:?}; expected one of {}",
                        TimelineKind::names().join(", ")
                    ),
                ),
            }
        }
        let filter = TimelineFilter {
            kinds,
            from: parse_bound(&mut errors, "from", from.0.as_deref(), false),
            to: parse_bound(&mut errors, "to", to.0.as_deref(), true),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let (page, limit) = paging(page.0, limit.0);
        let entries = self.service.timeline(scope, customer, &filter, page, limit).await?;
        Ok(Timeline::Ok(Json(entries.into())))
    }
}
