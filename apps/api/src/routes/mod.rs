//! HTTP operations, grouped by tag.

pub mod analytics;
pub mod clv;
pub mod customers;
pub mod health;
pub mod integration;
pub mod lifecycle;
pub mod metrics;
pub mod parts;
pub mod segments;

use poem_openapi::Tags;

/// OpenAPI tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Customers (leads, prospects, active and churned) with contacts and addresses.
    Customers,
    /// Liveness and readiness probes.
    Health,
}

/// The version an `If-Match` header asks for: `"3"`, `W/"3"` or `3`; `*` or no header asks for
/// none (the write goes through on any version).
pub(crate) fn if_match(header: Option<&str>) -> Result<Option<i64>, crate::problem::ApiError> {
    let Some(raw) = header.map(str::trim).filter(|h| !h.is_empty() && *h != "*") else {
        return Ok(None);
    };
    let tag = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    tag.parse::<i64>().map(Some).map_err(|_| {
        crate::problem::ApiError::field(
            "If-Match",
            "must be the ETag of the customer as returned by GET (e.g. \"3\")",
        )
    })
}

/// Page and page size of a paginated read: page from 1 (default 1), size 1..100 (default 20).
pub(crate) fn paging(page: Option<u32>, limit: Option<u32>) -> (u32, u32) {
    use customers_domain::query::{DEFAULT_LIMIT, MAX_LIMIT};
    (
        page.unwrap_or(1).max(1),
        limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
    )
}

/// The scope and customer of a request on one customer's sub-resources.
pub(crate) fn target(
    auth: &crate::auth::Principal,
    workspace: &crate::dto::IdParam,
    customer: &crate::dto::IdParam,
    permission: crate::auth::Permission,
) -> Result<(customers_domain::Scope, customers_domain::CustomerId), crate::problem::ApiError> {
    let scope = auth.authorize(workspace.get("workspaceId")?, permission)?;
    Ok((scope, customers_domain::CustomerId::from(customer.get("customerId")?)))
}

/// The `ETag` of a customer version.
pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn if_match_accepts_strong_weak_and_bare_tags() {
        assert_eq!(super::if_match(Some("\"3\"")).unwrap(), Some(3));
        assert_eq!(super::if_match(Some("W/\"4\"")).unwrap(), Some(4));
        assert_eq!(super::if_match(Some("5")).unwrap(), Some(5));
        assert_eq!(super::if_match(Some("*")).unwrap(), None);
        assert_eq!(super::if_match(None).unwrap(), None);
        assert!(super::if_match(Some("\"abc\"")).is_err());
        assert_eq!(super::etag(7), "\"7\"");
    }
}
