//! The analytics of one customer: `GET /customers/{id}/analytics`.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use customers_domain::ValidationErrors;

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::IdParam;
use crate::dto::analytics::CustomerAnalyticsResponse;
use crate::dto::clv::parse_as_of;
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::customers::parse_bound;
use crate::routes::{ApiTags, target};

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The per-customer analytics operation.
pub struct AnalyticsApi {
    service: Arc<Service>,
}

impl AnalyticsApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Analytics {
    /// The customer's analytics.
    #[oai(status = 200)]
    Ok(Json<CustomerAnalyticsResponse>),
}

#[OpenApi(tag = "ApiTags::Customers")]
impl AnalyticsApi {
    /// Customer analytics
    ///
    /// Purchases, categories and products, revenue, profit and credit, interactions, the
    /// workspace models' churn probability, next purchase and predicted value,
    /// recommendations, segment and RFM code of one customer, over `[from, to)` as of
    /// `asOf`. Every figure comes from stored orders, notes, deals, invoices and payments, or
    /// is null.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/analytics",
        method = "get",
        operation_id = "getCustomerAnalytics"
    )]
    async fn analytics(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Start of the period, included (RFC 3339 date-time, or a date for its start, UTC);
        /// the whole history when absent.
        from: Query<Option<String>>,
        /// End of the period, excluded (RFC 3339 date-time, or a date, which includes that
        /// day); up to `asOf` when absent.
        to: Query<Option<String>>,
        /// The moment the analytics describe (RFC 3339 date-time, or a date for its end, UTC;
        /// not in the future); now when absent. Later orders and notes are not seen.
        #[oai(name = "asOf")]
        as_of: Query<Option<String>>,
    ) -> Result<Analytics> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let mut errors = ValidationErrors::new();
        let from = parse_bound(&mut errors, "from", from.0.as_deref(), false);
        // A date as `to` includes that day: the period ends at the next midnight.
        let to_raw = to.0.as_deref().map(str::trim);
        let to = parse_bound(&mut errors, "to", to_raw, false).map(|to| {
            if to_raw.is_some_and(|raw| raw.len() == 10 && !raw.contains('T')) {
                to + time::Duration::days(1)
            } else {
                to
            }
        });
        let as_of = parse_as_of(as_of.0.as_deref()).unwrap_or_else(|more| {
            for e in more.errors() {
                errors.push(e.field.clone(), e.message.clone());
            }
            None
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let insights = self.service.customer_insights(scope, customer, from, to, as_of).await?;
        Ok(Analytics::Ok(Json(insights.into())))
    }
}
