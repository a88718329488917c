//! Module metrics on the wire.

use poem_openapi::Object;
use rust_decimal::Decimal;
use time::OffsetDateTime;

use customers_domain::analytics::metrics::ModuleMetrics;

use crate::json::Amount;

/// The module metrics of a period `[from, to)`. What a customer was at an instant comes from
/// its history (the events in the outbox), not from its current record: its status is the one
/// set by its last creation or status change before that instant, and it is live when created
/// before it and not deleted (or restored since) nor merged into another customer before it.
/// Rates are rounded to 4 decimals, days to 2.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct MetricsResponse {
    /// Start of the period (included), UTC. A date stands for its midnight UTC.
    pub from: OffsetDateTime,
    /// End of the period (excluded), UTC. A date as `to` includes that day: the period ends at
    /// the next midnight UTC.
    pub to: OffsetDateTime,
    /// When the metrics were computed (the time of the current lifetime values).
    pub as_of: OffsetDateTime,
    /// Active customers: live customers whose status was ACTIVE at `to`.
    pub active_customers: u64,
    /// Live customers whose status was ACTIVE at `from` (the churn rate's base).
    pub active_at_start: u64,
    /// Leads created: customers created in the period with status LEAD or PROSPECT (the
    /// statuses a conversion starts from), still live at `to` (a lead deleted or merged into
    /// another customer before `to` does not count).
    pub leads_created: u64,
    /// Leads converted: those of `leadsCreated` converted (LEAD or PROSPECT to ACTIVE, by
    /// `POST /{id}/convert`, a status change or a won deal) in the period.
    pub leads_converted: u64,
    /// Lead conversion rate: `leadsConverted / leadsCreated`, from 0 to 1; null when no lead
    /// was created in the period.
    pub lead_conversion_rate: Option<Decimal>,
    /// Average lead conversion time: the mean, over `leadsConverted`, of the time from the
    /// lead's creation to its first conversion, in days; null when no lead was converted.
    pub average_lead_conversion_time_days: Option<Decimal>,
    /// Churned customers: those of `activeAtStart` whose status was changed to CHURNED in the
    /// period (whatever happened after). A lead given up (LEAD to CHURNED) or a deleted
    /// customer is not churned.
    pub churned_customers: u64,
    /// Churn rate: `churnedCustomers / activeAtStart`, from 0 to 1; null when no customer was
    /// active at `from`.
    pub churn_rate: Option<Decimal>,
    /// Customers live now (every status).
    pub live_customers: u64,
    /// Average lifetime value: the mean current `lifetimeValue` of the customers live now,
    /// every status (CHURNED at 0.00 included). Lifetime values have no history, so this is the
    /// value at `asOf` whatever the period. Null when there are no customers.
    pub average_lifetime_value: Option<Amount>,
}

impl From<ModuleMetrics> for MetricsResponse {
    fn from(m: ModuleMetrics) -> Self {
        Self {
            from: m.period.from(),
            to: m.period.to(),
            as_of: m.as_of,
            active_customers: m.active_customers,
            active_at_start: m.active_at_start,
            leads_created: m.leads_created,
            leads_converted: m.leads_converted,
            lead_conversion_rate: m.lead_conversion_rate,
            average_lead_conversion_time_days: m.average_lead_conversion_time_days,
            churned_customers: m.churned_customers,
            churn_rate: m.churn_rate,
            live_customers: m.live_customers,
            average_lifetime_value: m.average_lifetime_value.map(Into::into),
        }
    }
}
