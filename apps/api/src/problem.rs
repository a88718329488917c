//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every failure — a domain error, a body or parameter that does not parse, a missing token, an
//! unknown route — becomes a [`Problem`] in exactly one place ([`ApiError`] and
//! [`problem_from_poem_error`]). Internal detail is logged, never returned.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use customers_domain::{CustomerError, FieldError, ValidationErrors};

/// The media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ProblemField {
    /// Path of the field in the request (`email`, `contacts[0].phone`, or a query parameter).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename_all = "camelCase")]
pub struct Problem {
    /// A URI reference identifying the problem type.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// Invalid fields (validation problems).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<ProblemField>>,
    /// The field that collides (conflicts).
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
    /// The customer already holding the value (conflicts within the caller's workspace).
    #[oai(skip_serializing_if_is_none)]
    pub existing_id: Option<Uuid>,
    /// The statuses the customer may move to (refused status changes).
    #[oai(skip_serializing_if_is_none)]
    pub allowed: Option<Vec<String>>,
    /// The customer's current version (stale `If-Match`).
    #[oai(skip_serializing_if_is_none)]
    pub current_version: Option<i64>,
}

impl Problem {
    fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:customers:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            errors: None,
            field: None,
            existing_id: None,
            allowed: None,
            current_version: None,
        }
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// As a response with the problem media type.
    pub fn into_http(self) -> Response {
        let status = self.status_code();
        let body = poem_openapi::types::ToJSON::to_json_string(&self);
        let builder = Response::builder().status(status).content_type(PROBLEM_JSON);
        let builder = if status == StatusCode::UNAUTHORIZED {
            builder.header("WWW-Authenticate", "Bearer")
        } else {
            builder
        };
        builder.body(body)
    }
}

/// An API failure. Converted to a problem response once, here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with the offending fields.
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    /// 400 for a body that is not the expected JSON.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 401.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 409.
    #[error("conflict on {field}")]
    Duplicate {
        /// The colliding field.
        field: &'static str,
        /// The existing customer, when visible to the caller.
        existing_id: Option<Uuid>,
    },
    /// 409 for a change that kept losing races, or a state that forbids the operation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409 for items of a batch that collide (`[3].email`).
    #[error("conflicting items: {0}")]
    Conflicts(ValidationErrors),
    /// 409 for a status change the transition table forbids.
    #[error("transition refused: {detail}")]
    Transition {
        /// Explanation.
        detail: String,
        /// Allowed targets.
        allowed: Vec<String>,
    },
    /// 412 for a stale `If-Match`.
    #[error("precondition failed; current version {0}")]
    PreconditionFailed(i64),
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 500; the message is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A validation problem on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    /// The problem document for this error (logging internal ones).
    pub fn to_problem(&self) -> Problem {
        match self {
            ApiError::Validation(errors) => {
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    "The request has invalid fields; see errors.",
                );
                p.errors = Some(errors.errors().iter().map(to_problem_field).collect());
                p
            }
            ApiError::Malformed(detail) => Problem::new(StatusCode::BAD_REQUEST, "malformed", detail.clone()),
            ApiError::Unauthorized(detail) => Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", *detail),
            ApiError::Forbidden(detail) => Problem::new(StatusCode::FORBIDDEN, "forbidden", detail.clone()),
            ApiError::NotFound(what) => Problem::new(StatusCode::NOT_FOUND, "not-found", format!("{what} not found")),
            ApiError::Duplicate { field, existing_id } => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "duplicate",
                    format!("A customer with this {field} already exists in the organization."),
                );
                p.field = Some((*field).to_owned());
                p.existing_id = *existing_id;
                p.errors = Some(vec![ProblemField {
                    field: (*field).to_owned(),
                    message: "is already used by another customer".into(),
                }]);
                p
            }
            ApiError::Conflict(detail) => Problem::new(StatusCode::CONFLICT, "conflict", detail.clone()),
            ApiError::Conflicts(errors) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "duplicate",
                    "Items of the request collide with existing customers or with each other; see errors.",
                );
                p.errors = Some(errors.errors().iter().map(to_problem_field).collect());
                p
            }
            ApiError::Transition { detail, allowed } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "invalid-transition", detail.clone());
                p.allowed = Some(allowed.clone());
                p
            }
            ApiError::PreconditionFailed(current) => {
                let mut p = Problem::new(
                    StatusCode::PRECONDITION_FAILED,
                    "stale-version",
                    format!("The customer has changed since it was read; its current version is {current}."),
                );
                p.current_version = Some(*current);
                p
            }
            ApiError::PayloadTooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request body is larger than 1 MiB.",
            ),
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "An unexpected error occurred; it has been logged.",
                )
            }
        }
    }
}

fn to_problem_field(e: &FieldError) -> ProblemField {
    ProblemField {
        field: e.field.clone(),
        message: e.message.clone(),
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<CustomerError> for ApiError {
    fn from(err: CustomerError) -> Self {
        match err {
            CustomerError::Invalid(errors) => ApiError::Validation(errors),
            CustomerError::NotFound => ApiError::NotFound("customer"),
            CustomerError::Duplicate { field, existing_id } => ApiError::Duplicate {
                field: field.as_str(),
                existing_id: existing_id.map(Into::into),
            },
            CustomerError::Contention => {
                ApiError::Conflict("The customer is being changed by others right now; retry.".into())
            }
            CustomerError::Conflicts(errors) => ApiError::Conflicts(errors),
            CustomerError::PartNotFound(what) => ApiError::NotFound(what),
            CustomerError::Transition(err) => ApiError::Transition {
                detail: err.to_string(),
                allowed: err.allowed.iter().map(|s| s.as_str().to_owned()).collect(),
            },
            CustomerError::NotConvertible(status) => ApiError::Conflict(format!(
                "Only a LEAD or PROSPECT can be converted; the customer is {status}."
            )),
            CustomerError::Forbidden(detail) => ApiError::Forbidden(detail.to_owned()),
            CustomerError::PreconditionFailed { current_version } => ApiError::PreconditionFailed(current_version),
            CustomerError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.to_problem().status_code()
    }

    fn as_response(&self) -> Response {
        self.to_problem().into_http()
    }
}

/// The error responses every operation documents.
#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum ErrorResponse {
    /// The request is malformed or has invalid fields.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The bearer token is missing, malformed, badly signed or expired.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The token does not grant the workspace or the permission.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such customer in the workspace.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// A unique field (email, iin, bin) is taken, the status forbids the change, or the change
    /// lost a race.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// `If-Match` names a version that is no longer current.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The body is larger than 1 MiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// An unexpected error; details are in the server log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

impl From<Problem> for ErrorResponse {
    fn from(problem: Problem) -> Self {
        match problem.status {
            400 => ErrorResponse::BadRequest(Json(problem)),
            401 => ErrorResponse::Unauthorized(Json(problem)),
            403 => ErrorResponse::Forbidden(Json(problem)),
            404 => ErrorResponse::NotFound(Json(problem)),
            409 => ErrorResponse::Conflict(Json(problem)),
            412 => ErrorResponse::PreconditionFailed(Json(problem)),
            413 => ErrorResponse::PayloadTooLarge(Json(problem)),
            _ => ErrorResponse::Internal(Json(problem)),
        }
    }
}

impl From<ApiError> for ErrorResponse {
    fn from(err: ApiError) -> Self {
        err.to_problem().into()
    }
}

impl From<CustomerError> for ErrorResponse {
    fn from(err: CustomerError) -> Self {
        ApiError::from(err).into()
    }
}

fn bad_request(err: poem::Error) -> ErrorResponse {
    problem_from_poem_error(err).into()
}

/// Turns any error that reached the HTTP layer into a problem: our own errors keep their
/// problem; parameter and body parse errors name the field; everything else keeps its status.
pub fn problem_from_poem_error(err: poem::Error) -> Problem {
    use poem_openapi::error::{ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError};

    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.to_problem();
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        let message = match crate::dto::allowed_values(e.name) {
            Some(allowed) if e.reason.contains("enumeration") => {
                format!("must be one of {}", allowed.join(", "))
            }
            _ => clean_reason(&e.reason),
        };
        return ApiError::field(e.name, message).to_problem();
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return ApiError::Malformed(format!("Invalid path parameter: {}", clean_reason(&e.reason))).to_problem();
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::Malformed(format!("The body is not valid: {}", e.reason)).to_problem();
    }
    if err.downcast_ref::<ContentTypeError>().is_some() {
        let mut p = Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send the body as application/json.",
        );
        p.status = StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16();
        return p;
    }
    let status = err.status();
    let (kind, detail) = match status {
        StatusCode::UNAUTHORIZED => ("unauthorized", "A valid bearer token is required.".to_owned()),
        StatusCode::NOT_FOUND => ("not-found", "No such resource.".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "This method is not allowed here.".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => return ApiError::PayloadTooLarge.to_problem(),
        s if s.is_server_error() => return ApiError::Internal(err.to_string()).to_problem(),
        _ => ("bad-request", err.to_string()),
    };
    Problem::new(status, kind, detail)
}

/// poem-openapi's parse messages quote internal type names and validator syntax; turn them
/// into plain sentences.
fn clean_reason(reason: &str) -> String {
    let reason = reason.strip_prefix("failed to parse ").unwrap_or(reason);
    let reason = match reason.split_once(": ") {
        Some((type_name, rest)) if type_name.starts_with('"') => rest,
        _ => reason,
    };
    let reason = reason.split(" (occurred while parsing").next().unwrap_or(reason).trim();
    let bound = |prefix: &str| {
        reason
            .strip_prefix(prefix)
            .and_then(|rest| rest.split([',', ')']).next())
            .map(str::to_owned)
    };
    if let Some(max) = bound("verification failed. maximum(") {
        return format!("must be at most {max}");
    }
    if let Some(min) = bound("verification failed. minimum(") {
        return format!("must be at least {min}");
    }
    if let Some(max) = bound("verification failed. maxLength(") {
        return format!("must be at most {max} characters");
    }
    reason.to_owned()
}

/// Renders every error leaving the server as a problem (the last line of defence). Errors
/// that already carry a response (our own problems) keep it.
pub async fn render_error(err: poem::Error) -> impl IntoResponse {
    if err.is_from_response() {
        return err.into_response();
    }
    problem_from_poem_error(err).into_http()
}
