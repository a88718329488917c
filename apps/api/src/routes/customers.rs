//! `/api/v1/workspaces/{workspaceId}/customers`: the spec's customer CRUD.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rust_decimal::Decimal;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use customers_domain::commands::{CustomerChangesDraft, CustomerDraft};
use customers_domain::query::{CustomerFilter, CustomerQuery, SearchTerm};
use customers_domain::{CustomerId, UserId, ValidationErrors};

use crate::app::Service;
use crate::auth::{BearerAuth, JwtKeys, Permission};
use crate::dto::{
    CountParam, CreateCustomerRequest, CustomerPage, CustomerResponse, CustomerStatus, CustomerType, IdParam, SortBy,
    SortOrder, UpdateCustomerRequest,
};
use crate::json::{JsonBody, RenderedJson};
use crate::problem::ErrorResponse;
use crate::routes::ApiTags;

/// The customer operations.
pub struct CustomersApi {
    service: Arc<Service>,
}

impl CustomersApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum ListResponse {
    /// One page of customers.
    #[oai(status = 200)]
    Ok(RenderedJson<CustomerPage>),
}

/// The rendering of a list page that the cache keeps (`CustomerPage` as JSON); a change of
/// that document changes this name, so that no server reads another version's pages.
const LIST_FORMAT: &str = "customer-page-v1";

/// A customer with its version as the `ETag`.
#[derive(ApiResponse)]
pub(crate) enum CustomerResponseBody {
    /// The customer.
    #[oai(status = 200)]
    Ok(
        Json<CustomerResponse>,
        /// The customer's version; send it back in `If-Match` to update only that version.
        #[oai(header = "ETag")]
        String,
    ),
}

impl CustomerResponseBody {
    pub(crate) fn of(customer: customers_domain::Customer) -> Self {
        let etag = crate::routes::etag(customer.version);
        CustomerResponseBody::Ok(Json(customer.into()), etag)
    }
}

#[derive(ApiResponse)]
enum CreatedResponse {
    /// The created customer.
    #[oai(status = 201)]
    Created(
        Json<CustomerResponse>,
        /// URL of the new customer.
        #[oai(header = "Location")]
        String,
        /// The customer's version.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
enum DeletedResponse {
    /// Deleted (restorable within the retention window).
    #[oai(status = 204)]
    NoContent,
}

type Result<T> = std::result::Result<T, ErrorResponse>;

#[OpenApi(tag = "ApiTags::Customers")]
impl CustomersApi {
    /// List customers
    ///
    /// Filters combine with AND. `search` matches substrings of name, company name and e-mail
    /// (case-insensitive, Cyrillic included), the digits of the phone, and IIN/BIN exactly.
    /// `tags` matches customers having any of the tags (`tags=a&tags=b` or `tags=a,b`). `city`
    /// matches any of the customer's addresses. Ties in the order are broken by id.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers",
        method = "get",
        operation_id = "listCustomers"
    )]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer type.
        #[oai(name = "type")]
        customer_type: Query<Option<CustomerType>>,
        /// Status.
        status: Query<Option<CustomerStatus>>,
        /// Free-text search.
        #[oai(validator(max_length = 200))]
        search: Query<Option<String>>,
        /// Industry (case-insensitive).
        industry: Query<Option<String>>,
        /// City of any address (case-insensitive).
        city: Query<Option<String>>,
        /// Responsible manager.
        #[oai(name = "assignedTo")]
        assigned_to: Query<Option<Uuid>>,
        /// Active flag.
        #[oai(name = "isActive")]
        is_active: Query<Option<bool>>,
        /// Lead source (case-insensitive).
        #[oai(name = "leadSource")]
        lead_source: Query<Option<String>>,
        /// Any of these tags.
        tags: Query<Vec<String>>,
        /// Total purchases at least.
        #[oai(name = "minPurchases")]
        min_purchases: Query<Option<Decimal>>,
        /// Total purchases at most.
        #[oai(name = "maxPurchases")]
        max_purchases: Query<Option<Decimal>>,
        /// Created at or after (RFC 3339 date-time, or a date meaning its start, UTC).
        #[oai(name = "createdFrom")]
        created_from: Query<Option<String>>,
        /// Created at or before (RFC 3339 date-time, or a date meaning its end, UTC).
        #[oai(name = "createdTo")]
        created_to: Query<Option<String>>,
        /// Sort key (default createdAt).
        #[oai(name = "sortBy")]
        sort_by: Query<Option<SortBy>>,
        /// Sort direction (default DESC).
        #[oai(name = "sortOrder")]
        sort_order: Query<Option<SortOrder>>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<i64>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `nextCursor` of the previous page: continues after it (keyset pagination, constant
        /// cost at any depth) instead of at `page`. Only valid with the same filters and sort.
        #[oai(validator(max_length = 1024))]
        cursor: Query<Option<String>>,
        /// How `total` is counted: `exact` (default), `estimated`, or `none`. `estimated` takes
        /// the database planner's estimate when it expects more than 20,000 matches and counts
        /// otherwise: exact up to 10,000 matches, the estimate beyond. An estimate is flagged by
        /// `totalIsEstimate` and can be far off (substring searches, correlated filters, even
        /// for fewer than 10,000 matches); an unflagged total is exact. SQLite counts exactly.
        count: Query<Option<CountParam>>,
        /// Only customers of this segment (by the workspace's thresholds, as of now).
        segment: Query<Option<crate::dto::segments::SegmentName>>,
        keys: Data<&Arc<JwtKeys>>,
    ) -> Result<ListResponse> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let mut errors = ValidationErrors::new();
        let texts = [
            ("search", search.0.as_deref()),
            ("industry", industry.0.as_deref()),
            ("city", city.0.as_deref()),
            ("leadSource", lead_source.0.as_deref()),
            ("createdFrom", created_from.0.as_deref()),
            ("createdTo", created_to.0.as_deref()),
        ];
        let tag_texts = tags.0.iter().map(|t| ("tags", Some(t.as_str())));
        for (field, value) in texts.into_iter().chain(tag_texts) {
            if value.is_some_and(|v| v.contains('\0')) {
                errors.push(field, "must not contain NUL (U+0000) characters");
            }
        }
        if !errors.is_empty() {
            return Err(crate::problem::ApiError::Validation(errors).into());
        }
        let created_from = parse_bound(&mut errors, "createdFrom", created_from.0.as_deref(), false);
        let created_to = parse_bound(&mut errors, "createdTo", created_to.0.as_deref(), true);
        let filter = CustomerFilter {
            customer_type: customer_type.0.map(Into::into),
            status: status.0.map(Into::into),
            search: search.0.as_deref().and_then(SearchTerm::parse),
            industry: industry.0,
            city: city.0,
            assigned_to: assigned_to.0.map(UserId::from),
            is_active: is_active.0,
            lead_source: lead_source.0,
            tags: tags.0,
            min_purchases: min_purchases.0,
            max_purchases: max_purchases.0,
            created_from,
            created_to,
            segment: segment.0.map(Into::into),
        };
        let query = CustomerQuery::new(
            filter,
            sort_by.0.map(Into::into),
            sort_order.0.map(Into::into),
            page.0,
            limit.0,
        );
        let query = query.and_then(|query| {
            let query = query.counted(count.0.map(Into::into).unwrap_or_default());
            match cursor.0.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => Ok(query),
                Some(_) if page.0.is_some() => Err(ValidationErrors::single(
                    "cursor",
                    "cannot be combined with page: a cursor says where the page starts",
                )),
                Some(token) => {
                    let position = keys.0.cursors().decode(token, &query)?;
                    query.after(position)
                }
            }
        });
        let query = match (query, errors.is_empty()) {
            (Ok(query), true) => query,
            (Ok(_), false) => return Err(crate::problem::ApiError::Validation(errors).into()),
            (Err(more), _) => {
                for e in more.errors() {
                    errors.push(e.field.clone(), e.message.clone());
                }
                return Err(crate::problem::ApiError::Validation(errors).into());
            }
        };
        // Cached as the rendered body: a hit is sent as it is.
        let body = self
            .service
            .list_rendered(scope, &query, LIST_FORMAT, |list| {
                let pages = list.pages();
                let next_cursor = list.next.as_ref().map(|next| keys.0.cursors().encode(next, &query));
                RenderedJson::render(&CustomerPage {
                    items: list.items.into_iter().map(Into::into).collect(),
                    total: list.total,
                    total_is_estimate: list.total_is_estimate,
                    page: list.page,
                    limit: list.limit,
                    pages,
                    next_cursor,
                })
            })
            .await?;
        Ok(ListResponse::Ok(RenderedJson::new(body)))
    }

    /// Get a customer
    ///
    /// A customer of another workspace or organization is reported as not found.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id",
        method = "get",
        operation_id = "getCustomer"
    )]
    async fn get(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
    ) -> Result<CustomerResponseBody> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let customer = self.service.get(scope, CustomerId::from(id.0.get("id")?)).await?;
        Ok(CustomerResponseBody::of(customer))
    }

    /// Create a customer
    ///
    /// Creates the customer with its contacts and addresses in one transaction. E-mail, IIN
    /// and BIN are unique in the organization: a taken one is a 409 naming the field.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers",
        method = "post",
        operation_id = "createCustomer"
    )]
    async fn create(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<CreateCustomerRequest>,
    ) -> Result<CreatedResponse> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Create)?;
        let command = CustomerDraft::from(body.0)
            .parse()
            .map_err(crate::problem::ApiError::from)?;
        let customer = self.service.create(scope, auth.0.user(), command).await?;
        let location = format!("/api/v1/workspaces/{}/customers/{}", scope.workspace_id, customer.id);
        let etag = crate::routes::etag(customer.version);
        Ok(CreatedResponse::Created(Json(customer.into()), location, etag))
    }

    /// Update a customer
    ///
    /// Absent fields stay unchanged; `null` clears an optional field. `contacts` and
    /// `addresses`, when present, replace the whole sets in the same transaction.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id",
        method = "put",
        operation_id = "updateCustomer"
    )]
    async fn update(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
        /// Update only this version (the `ETag` of a GET); 412 when the customer changed since.
        #[oai(name = "If-Match")]
        if_match: poem_openapi::param::Header<Option<String>>,
        body: JsonBody<UpdateCustomerRequest>,
    ) -> Result<CustomerResponseBody> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Update)?;
        let changes = CustomerChangesDraft::from(body.0)
            .parse()
            .map_err(crate::problem::ApiError::from)?;
        let expected = crate::routes::if_match(if_match.0.as_deref())?;
        let customer = self
            .service
            .update(
                scope,
                auth.0.user(),
                CustomerId::from(id.0.get("id")?),
                changes,
                expected,
            )
            .await?;
        Ok(CustomerResponseBody::of(customer))
    }

    /// Delete a customer
    ///
    /// The customer disappears from every read and its e-mail, IIN and BIN become free. It can
    /// be restored with its contacts, addresses and notes within the retention window (30 days
    /// by default), after which it is purged.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id",
        method = "delete",
        operation_id = "deleteCustomer"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
    ) -> Result<DeletedResponse> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Delete)?;
        self.service
            .delete(scope, auth.0.user(), CustomerId::from(id.0.get("id")?))
            .await?;
        Ok(DeletedResponse::NoContent)
    }
}

/// Parses a date-time bound: RFC 3339, or a plain date (its first or, for an upper bound,
/// its last microsecond in UTC).
pub(crate) fn parse_bound(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
    upper: bool,
) -> Option<OffsetDateTime> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        // A time whose UTC form falls outside years 1..9999 cannot be compared with stored ones.
        return match at.checked_to_offset(time::UtcOffset::UTC) {
            Some(utc) => Some(utc),
            None => {
                errors.push(field, "is out of range (years 1 to 9999 in UTC)");
                None
            }
        };
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match Date::parse(raw, &format) {
        Ok(date) => {
            let time = if upper {
                Time::from_hms_micro(23, 59, 59, 999_999).unwrap_or(Time::MIDNIGHT)
            } else {
                Time::MIDNIGHT
            };
            Some(date.with_time(time).assume_utc())
        }
        Err(_) => {
            errors.push(
                field,
                "must be an RFC 3339 date-time (2026-01-31T12:00:00Z) or a date (2026-01-31)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_accept_dates_and_date_times() {
        let mut errors = ValidationErrors::new();
        let from = parse_bound(&mut errors, "createdFrom", Some("2026-01-31"), false).unwrap();
        assert_eq!(from.to_string(), "2026-01-31 0:00:00.0 +00:00:00");
        let to = parse_bound(&mut errors, "createdTo", Some("2026-01-31"), true).unwrap();
        assert_eq!(to.microsecond(), 999_999);
        let at = parse_bound(&mut errors, "createdFrom", Some("2026-01-31T12:00:00+05:00"), false).unwrap();
        assert_eq!(at.hour(), 7);
        assert!(errors.is_empty());
        assert!(parse_bound(&mut errors, "createdTo", Some("yesterday"), true).is_none());
        assert_eq!(errors.errors()[0].field, "createdTo");
    }
}
