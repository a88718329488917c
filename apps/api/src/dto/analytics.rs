//! The analytics of one customer on the wire (the design's `CustomerAnalytics`).

use poem_openapi::Object;
use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use customers_domain::CustomerInsights;
use customers_domain::analytics::customer::{CategorySales, ProductSales};

use super::NoteChannel;
use super::segments::SegmentName;
use crate::json::Amount;

/// Sales of one item category.
#[derive(Debug, Clone, Object)]
pub struct CategorySalesResponse {
    /// The category, as the orders module sent it.
    pub category: String,
    /// Its line amounts.
    pub amount: Amount,
    /// Orders with at least one line of it.
    pub count: u64,
}

impl From<CategorySales> for CategorySalesResponse {
    fn from(c: CategorySales) -> Self {
        Self {
            category: c.category,
            amount: c.amount.into(),
            count: c.count,
        }
    }
}

/// Sales of one product.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProductSalesResponse {
    /// Product id in the orders module.
    pub product_id: String,
    /// Its name on the customer's latest order of it.
    pub product_name: String,
    /// Quantity bought (may be fractional: kilograms, metres).
    pub quantity: Decimal,
    /// Line amounts.
    pub amount: Amount,
}

impl From<ProductSales> for ProductSalesResponse {
    fn from(p: ProductSales) -> Self {
        Self {
            product_id: p.product_id,
            product_name: p.product_name,
            quantity: p.quantity,
            amount: p.amount.into(),
        }
    }
}

/// What is known about one customer over a period `[from, to)`, as of `asOf`.
///
/// An order counts when it completed in the period, at or before `asOf`, and was not cancelled
/// or refunded by `asOf`. Figures that cannot be derived from stored data are null, never
/// guessed. Ratios have 4 decimals.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerAnalyticsResponse {
    /// Start of the period (included), UTC; null for the whole history.
    pub from: Option<OffsetDateTime>,
    /// End of the period (excluded), UTC; null for up to `asOf`. A date as `to` includes that
    /// day.
    pub to: Option<OffsetDateTime>,
    /// The moment the analytics describe (now unless asked).
    pub as_of: OffsetDateTime,

    /// Sum of the counted orders' totals (what the customer paid).
    pub total_purchases: Amount,
    /// Counted orders.
    pub purchase_count: u64,
    /// `totalPurchases / purchaseCount`; null without orders.
    pub average_order_value: Option<Amount>,
    /// The design's heuristic lifetime value, as stored on the customer (its whole history).
    pub lifetime_value: Amount,
    /// The first counted order.
    pub first_purchase_date: Option<OffsetDateTime>,
    /// The last counted order.
    pub last_purchase_date: Option<OffsetDateTime>,
    /// Whole days from the last counted order to `asOf`.
    pub days_since_last_purchase: Option<i64>,
    /// Orders per month (of 365.25/12 days): `purchaseCount` over the months from the first
    /// counted order to the end of the period (`to` or `asOf`, the earlier), at least one.
    pub purchase_frequency: Option<Decimal>,

    /// The five categories with the largest line amounts; lines without a category are left
    /// out.
    pub top_categories: Vec<CategorySalesResponse>,
    /// The five products with the largest line amounts.
    pub top_products: Vec<ProductSalesResponse>,

    /// Sum of the counted orders' line amounts.
    pub total_revenue: Amount,
    /// `Σ (amount − cost)` over those lines; null unless every line carries its cost.
    pub total_profit: Option<Amount>,
    /// `totalProfit / totalRevenue`; null with `totalProfit`.
    pub profit_margin: Option<Decimal>,
    /// The customer's current balance (issued invoices minus payments).
    pub outstanding_balance: Amount,
    /// `outstandingBalance / creditLimit`; null without a credit limit.
    pub credit_utilization: Option<Decimal>,

    /// `1 − P(alive)` from the workspace's BG/NBD model; null without a model (see
    /// `predictionUnavailableReason`).
    pub churn_probability: Option<f64>,
    /// The day by which the expected number of further purchases reaches 1; null when not
    /// within two years, or without a model.
    pub next_purchase_prediction: Option<Date>,
    /// Expected purchases (purchase days) in the 90 days after `asOf`.
    pub expected_purchases_next_90_days: Option<f64>,
    /// Expected value of one purchase (Gamma-Gamma).
    pub expected_order_value: Option<Amount>,
    /// Expected purchases of the next 12 months times the expected order value.
    pub predicted_clv: Option<Amount>,
    /// Why the model fields are null: the workspace has no model (never fitted, or too little
    /// data), or the customer had no purchase by `asOf`. Null when they are set.
    pub prediction_unavailable_reason: Option<String>,
    /// Up to five product ids bought together with the customer's products by other customers
    /// of the workspace (orders holding both, most first), never one the customer bought.
    pub recommended_products: Vec<String>,

    /// Notes, orders (completed, cancelled, refunded), won deals, invoices and payments in
    /// the period.
    pub total_interactions: u64,
    /// The latest of them.
    pub last_interaction_date: Option<OffsetDateTime>,
    /// The channel of most notes in the period (ties: the one used last); null when no note
    /// has a channel.
    pub preferred_channel: Option<NoteChannel>,
    /// Share of the period's inbound notes answered by an outbound note within 48 hours;
    /// null without inbound notes.
    pub response_rate: Option<Decimal>,

    /// The customer's segment now (as the list's `segment` filter sees it).
    pub segment: SegmentName,
    /// Why, in words ("LOYAL: 14 purchases, the last 12 days ago").
    pub segment_reason: String,
    /// Recency, frequency and monetary quintile scores (1..5) within the workspace, now, as
    /// three digits ("545"); null without a purchase.
    pub rfm: Option<String>,
}

/// A model output to four decimals (more would be false precision); none when not finite.
fn four_decimals(x: f64) -> Option<f64> {
    x.is_finite().then(|| (x * 10_000.0).round() / 10_000.0)
}

impl From<CustomerInsights> for CustomerAnalyticsResponse {
    fn from(i: CustomerInsights) -> Self {
        let f = i.figures;
        let prediction = i.prediction.prediction().cloned();
        Self {
            from: i.period.from(),
            to: i.period.to(),
            as_of: i.period.as_of(),
            total_purchases: f.total_purchases.into(),
            purchase_count: f.purchase_count,
            average_order_value: f.average_order_value.map(Into::into),
            lifetime_value: f.lifetime_value.into(),
            first_purchase_date: f.first_purchase,
            last_purchase_date: f.last_purchase,
            days_since_last_purchase: f.days_since_last_purchase,
            purchase_frequency: f.purchase_frequency,
            top_categories: f.top_categories.into_iter().map(Into::into).collect(),
            top_products: f.top_products.into_iter().map(Into::into).collect(),
            total_revenue: f.total_revenue.into(),
            total_profit: f.total_profit.map(Into::into),
            profit_margin: f.profit_margin,
            outstanding_balance: f.outstanding_balance.into(),
            credit_utilization: f.credit_utilization,
            churn_probability: prediction.as_ref().and_then(|p| four_decimals(p.churn_probability)),
            next_purchase_prediction: prediction.as_ref().and_then(|p| p.next_purchase),
            expected_purchases_next_90_days: prediction.as_ref().and_then(|p| four_decimals(p.expected_purchases)),
            expected_order_value: prediction.as_ref().map(|p| p.expected_order_value.into()),
            predicted_clv: prediction.as_ref().map(|p| p.predicted_clv.into()),
            prediction_unavailable_reason: i.prediction.reason().map(str::to_owned),
            recommended_products: i.recommended_products,
            total_interactions: f.interactions.total,
            last_interaction_date: f.interactions.last_at,
            preferred_channel: f.interactions.preferred_channel.map(Into::into),
            response_rate: f.interactions.response_rate,
            segment: i.segment.into(),
            segment_reason: i.segment_reason,
            rfm: i.rfm.map(|score| score.code()),
        }
    }
}
