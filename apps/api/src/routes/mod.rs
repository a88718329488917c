//! HTTP operations, grouped by tag.

pub mod customers;
pub mod health;

use poem_openapi::Tags;

/// OpenAPI tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Customers (leads, prospects, active and churned) with contacts and addresses.
    Customers,
    /// Liveness and readiness probes.
    Health,
}
