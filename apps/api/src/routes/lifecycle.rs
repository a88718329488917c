//! Lifecycle operations under `/api/v1/workspaces/{workspaceId}/customers`: status, lead
//! conversion, duplicate check, merge, bulk create and delete, restore, IIN/BIN validation.

use std::sync::Arc;

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use customers_domain::commands::CustomerDraft;
use customers_domain::service::{ConvertLead, DuplicateCheck};
use customers_domain::values::{Bin, Email, Iin, Phone};
use customers_domain::{CustomerId, Money, UserId, ValidationErrors};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::lifecycle::{
    BinValidation, BulkDeleteRequest, BulkDeleteResult, ChangeStatusRequest, CheckDuplicateRequest, ConvertLeadRequest,
    DuplicateResult, IinValidation, MergeRequest, ValidateBinRequest, ValidateIinRequest,
};
use crate::dto::{CreateCustomerRequest, CustomerResponse, IdParam};
use crate::json::JsonBody;
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::customers::CustomerResponseBody;
use crate::routes::{ApiTags, if_match};

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The lifecycle operations.
pub struct LifecycleApi {
    service: Arc<Service>,
}

impl LifecycleApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum BulkCreated {
    /// The created customers, in the order sent.
    #[oai(status = 201)]
    Created(Json<Vec<CustomerResponse>>),
}

#[derive(ApiResponse)]
enum Converted {
    /// The converted customer (201, as the original API answers every POST).
    #[oai(status = 201)]
    Created(
        Json<CustomerResponse>,
        /// The customer's new version.
        #[oai(header = "ETag")]
        String,
    ),
}

impl Converted {
    fn of(customer: customers_domain::Customer) -> Self {
        let etag = crate::routes::etag(customer.version);
        Converted::Created(Json(customer.into()), etag)
    }
}

#[derive(ApiResponse)]
enum BulkDeleted {
    /// What was deleted and what was not found.
    #[oai(status = 200)]
    Ok(Json<BulkDeleteResult>),
}

#[derive(ApiResponse)]
enum Duplicates {
    /// Possible duplicates.
    #[oai(status = 201)]
    Ok(Json<DuplicateResult>),
}

#[derive(ApiResponse)]
enum Merged {
    /// The merged customer (with `dryRun`, what it would be; nothing is written).
    #[oai(status = 201)]
    Ok(Json<CustomerResponse>),
}

#[derive(ApiResponse)]
enum IinChecked {
    /// The verdict, every broken rule, and what a valid IIN encodes.
    #[oai(status = 201)]
    Ok(Json<IinValidation>),
}

#[derive(ApiResponse)]
enum BinChecked {
    /// The verdict, every broken rule, and what a valid BIN encodes.
    #[oai(status = 201)]
    Ok(Json<BinValidation>),
}

fn optional<T, E: std::fmt::Display>(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<String>,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Option<T> {
    let raw = raw.filter(|v| !v.trim().is_empty())?;
    errors.check(field, parse(raw.trim()))
}

#[OpenApi(tag = "ApiTags::Customers")]
impl LifecycleApi {
    /// Change the status
    ///
    /// Moves the customer along the transition table: LEAD → PROSPECT, ACTIVE, CHURNED;
    /// PROSPECT → LEAD, ACTIVE, CHURNED; ACTIVE → INACTIVE, CHURNED; INACTIVE → ACTIVE, CHURNED;
    /// CHURNED → ACTIVE, LEAD. Staying in the same status is a no-op. A forbidden move is a 409
    /// listing the allowed targets. Honours `If-Match`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id/status",
        method = "patch",
        operation_id = "changeCustomerStatus"
    )]
    async fn change_status(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
        /// Change only this version (the `ETag` of a GET).
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: JsonBody<ChangeStatusRequest>,
    ) -> Result<CustomerResponseBody> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Update)?;
        let id = CustomerId::from(id.0.get("id")?);
        let expected = if_match(if_match_header.0.as_deref())?;
        let reason = body.0.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(ApiError::field("reason", "must be at most 500 characters").into());
        }
        let customer = self
            .service
            .change_status(scope, auth.0.user(), id, body.0.status.into(), reason, expected)
            .await?;
        Ok(CustomerResponseBody::of(customer))
    }

    /// Convert a lead
    ///
    /// A LEAD or PROSPECT becomes ACTIVE in one transaction, recording when (`convertedAt`).
    /// Emits `customer.lead.converted`, and `deal.create.requested` when `createDeal` is true.
    /// Any other status is a 409. Honours `If-Match`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id/convert",
        method = "post",
        operation_id = "convertLead"
    )]
    async fn convert(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
        /// Convert only this version (the `ETag` of a GET).
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: JsonBody<ConvertLeadRequest>,
    ) -> Result<Converted> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Update)?;
        let id = CustomerId::from(id.0.get("id")?);
        let expected = if_match(if_match_header.0.as_deref())?;
        let request = body.0;
        let mut errors = ValidationErrors::new();
        let deal_value = request
            .deal_value
            .and_then(|v| errors.check("dealValue", Money::parse_non_negative(v.0)));
        let deal_title = request
            .deal_title
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if deal_title.as_ref().is_some_and(|t| t.chars().count() > 200) {
            errors.push("dealTitle", "must be at most 200 characters");
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let input = ConvertLead {
            assigned_to: request.assigned_to.map(UserId::from),
            create_deal: request.create_deal.unwrap_or(false),
            deal_title,
            deal_value,
        };
        let customer = self.service.convert(scope, auth.0.user(), id, input, expected).await?;
        Ok(Converted::of(customer))
    }

    /// Check for duplicates
    ///
    /// Exact matches on e-mail (case-insensitive), phone (normalized to E.164), IIN and BIN, and
    /// similar names with legal forms, punctuation and Cyrillic/Latin spelling ignored ("ТОО
    /// «Альфа»" ~ "Alfa LLP"). `suggestedAction` is `merge` for an exact match, `review` for
    /// similar names only, else `create`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/check-duplicate",
        method = "post",
        operation_id = "checkDuplicateCustomers"
    )]
    async fn check_duplicate(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<CheckDuplicateRequest>,
    ) -> Result<Duplicates> {
        let scope = auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        let request = body.0;
        let mut errors = ValidationErrors::new();
        let check = DuplicateCheck {
            email: optional(&mut errors, "email", request.email, Email::parse),
            phone: optional(&mut errors, "phone", request.phone, Phone::parse),
            iin: optional(&mut errors, "iin", request.iin, Iin::parse),
            bin: optional(&mut errors, "bin", request.bin, Bin::parse),
            name: request.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        };
        if check.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            errors.push("name", "must be at most 200 characters");
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let report = self.service.check_duplicates(scope, &check).await?;
        Ok(Duplicates::Ok(Json(report.into())))
    }

    /// Merge duplicates
    ///
    /// In one transaction: contacts, addresses and notes move to the primary customer; totals
    /// and counts add up; first purchase is the earliest and last the latest; tags are the
    /// union; custom fields merge with the primary's values winning; the primary's empty fields
    /// are filled from the duplicates; at most one primary contact and one primary address per
    /// type survive; the lifetime value is recomputed; the duplicates are removed. All ids must
    /// be live customers of the workspace (otherwise 404). `dryRun` returns the result without
    /// writing. Emits `customers.merged` with snapshots of the removed customers. Needs
    /// `customers:update` and `customers:delete`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/merge",
        method = "post",
        operation_id = "mergeCustomers"
    )]
    async fn merge(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<MergeRequest>,
    ) -> Result<Merged> {
        let scope = auth.0.authorize_all(
            workspace_id.0.get("workspaceId")?,
            &[Permission::Update, Permission::Delete],
        )?;
        let request = body.0;
        let duplicates: Vec<CustomerId> = request.duplicate_ids.into_iter().map(CustomerId::from).collect();
        let merged = self
            .service
            .merge(
                scope,
                auth.0.user(),
                CustomerId::from(request.primary_id),
                &duplicates,
                request.dry_run.unwrap_or(false),
            )
            .await?;
        Ok(Merged::Ok(Json(merged.into())))
    }

    /// Create customers in bulk
    ///
    /// 1..100 customers, all or nothing. On failure nothing is written and the problem lists
    /// every failing item by index (`[3].email`), including items that repeat each other.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/bulk",
        method = "post",
        operation_id = "bulkCreateCustomers"
    )]
    async fn bulk_create(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<Vec<CreateCustomerRequest>>,
    ) -> Result<BulkCreated> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Create)?;
        let items = body.0;
        if items.is_empty() || items.len() > 100 {
            return Err(ApiError::field("body", format!("send 1 to 100 customers, got {}", items.len())).into());
        }
        let mut errors = ValidationErrors::new();
        let mut commands = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match CustomerDraft::from(item).parse() {
                Ok(command) => commands.push(command),
                Err(item_errors) => {
                    for e in item_errors.errors() {
                        errors.push(format!("[{index}].{}", e.field), e.message.clone());
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let created = self.service.bulk_create(scope, auth.0.user(), commands).await?;
        Ok(BulkCreated::Created(Json(
            created.into_iter().map(Into::into).collect(),
        )))
    }

    /// Delete customers in bulk
    ///
    /// Deletes (restorably) the listed customers: `{"ids": [...]}`, or the original API's bare
    /// array of ids. Ids that are not live customers of the workspace are reported in
    /// `notFound`.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/bulk",
        method = "delete",
        operation_id = "bulkDeleteCustomers"
    )]
    async fn bulk_delete(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<BulkDeleteRequest>,
    ) -> Result<BulkDeleted> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Delete)?;
        let ids: Vec<CustomerId> = body.0.ids.into_iter().map(CustomerId::from).collect();
        let outcome = self.service.bulk_delete(scope, auth.0.user(), &ids).await?;
        Ok(BulkDeleted::Ok(Json(outcome.into())))
    }

    /// Restore a deleted customer
    ///
    /// Brings a deleted customer back with its contacts, addresses and notes, within the
    /// retention window. 409 when a live customer has taken its e-mail, IIN or BIN meanwhile.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:id/restore",
        method = "post",
        operation_id = "restoreCustomer"
    )]
    async fn restore(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        id: Path<IdParam>,
    ) -> Result<CustomerResponseBody> {
        let scope = auth
            .0
            .authorize(workspace_id.0.get("workspaceId")?, Permission::Delete)?;
        let customer = self
            .service
            .restore(scope, auth.0.user(), CustomerId::from(id.0.get("id")?))
            .await?;
        Ok(CustomerResponseBody::of(customer))
    }

    /// Validate an IIN
    ///
    /// Every rule the IIN breaks (length, non-digit, date, century digit, checksum); for a
    /// valid one, the birth date and sex it encodes.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/validate/iin",
        method = "post",
        operation_id = "validateIin"
    )]
    async fn validate_iin(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<ValidateIinRequest>,
    ) -> Result<IinChecked> {
        auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        Ok(IinChecked::Ok(Json(IinValidation::check(&body.0.iin))))
    }

    /// Validate a BIN
    ///
    /// Every rule the BIN breaks (length, non-digit, month, entity type, attribute, checksum);
    /// for a valid one, the registration year and month, entity type and attribute.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/validate/bin",
        method = "post",
        operation_id = "validateBin"
    )]
    async fn validate_bin(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        body: JsonBody<ValidateBinRequest>,
    ) -> Result<BinChecked> {
        auth.0.authorize(workspace_id.0.get("workspaceId")?, Permission::View)?;
        Ok(BinChecked::Ok(Json(BinValidation::check(&body.0.bin))))
    }
}
