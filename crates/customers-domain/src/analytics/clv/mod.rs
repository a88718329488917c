//! Customer lifetime value from the buy-till-you-die models: BG/NBD for *whether* and *how
//! often* a customer will still buy, Gamma-Gamma for *how much*.
//!
//! Beside the design's heuristic [`lifetime_value`](crate::lifecycle::ltv::lifetime_value),
//! these are the standard probabilistic models, fitted by maximum likelihood per workspace:
//!
//! 1. [`summarize`] reduces the purchases read model to a [`CustomerSummary`] per customer
//!    (repeat purchase days, recency, age, mean repeat value; one purchase per day).
//! 2. [`Eligibility::check`] refuses a workspace with too little data (by default fewer than
//!    200 customers with a purchase or less than 90 days of history), with the reason.
//! 3. [`BgNbd::fit`] and [`GammaGamma::fit`] estimate the population parameters
//!    ([`ClvModel::fit`] does all three steps); the fits are plain serializable values.
//! 4. [`ClvModel::predict`] gives per customer the probability of having churned, the expected
//!    purchases in the next 90 days, the expected order value, the predicted value of the next
//!    12 months and the date by which one more purchase is expected.
//! 5. [`ClvFit`] is what the service stores per workspace: the models, or why there are
//!    none, with the sample size and the end of the observation.
//!
//! # Correctness
//!
//! On the CDNOW sample (2,357 customers, 39-week calibration period) the fits reproduce the
//! published estimates: BG/NBD r = 0.243, α = 4.414 (per week), a = 0.793, b = 2.426 with
//! log-likelihood −9582.4 (Fader, Hardie & Lee 2005) and Gamma-Gamma p = 6.25, q = 3.74,
//! v = 15.44 (Fader & Hardie 2013); see `tests/clv_cdnow.rs`.
//!
//! # Numbers
//!
//! The models work in `f64` on counts and times, which is what they are defined on. Amounts
//! enter as [`Decimal`] means and leave as [`Money`], rounded half-even to cents.

pub mod bg_nbd;
pub mod eligibility;
pub mod gamma_gamma;
mod hypergeometric;
mod optimize;
pub mod summary;
pub mod workspace;

pub use bg_nbd::{BgNbd, BgNbdFit, BgNbdParams};
pub use eligibility::{Eligibility, Ineligible};
pub use gamma_gamma::{GammaGamma, GammaGammaFit, GammaGammaParams};
pub use summary::{CustomerSummary, SummaryError, TimeUnit, summarize};
pub use workspace::{ClvFit, ClvOutcome, ClvStatus, CustomerClv, NOT_FITTED};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::money::Money;

/// Days in the month of the value predictions: a twelfth of a Julian year.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// No customers.
    #[error("no customers")]
    NoCustomers,
    /// Every customer's first purchase is at the end of the observation.
    #[error("no purchase history: every first purchase is at the end of the observation")]
    NoHistory,
    /// Nobody bought twice (for Gamma-Gamma: nobody bought twice for a positive amount).
    #[error("no customer made a repeat purchase")]
    NoRepeatPurchases,
    /// The optimizer found no maximum.
    #[error("the likelihood maximization did not converge: {0}")]
    NotConverged(String),
    /// A parameter ran off towards 0 or infinity: the data do not identify the model.
    #[error("parameter {parameter} ran off to {value:e}: the data do not identify the model")]
    Degenerate {
        /// Its name.
        parameter: &'static str,
        /// Where it went.
        value: f64,
    },
    /// The Gamma-Gamma estimate has `q ≤ 1`: the mean order value would be infinite.
    #[error("the spend model's q = {q} is at most 1: the mean order value is infinite")]
    InfiniteMeanSpend {
        /// The estimate.
        q: f64,
    },
}

/// Why a workspace has no model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelUnavailable {
    /// Too little data.
    #[error("not enough data: {0}")]
    Ineligible(#[from] Ineligible),
    /// BG/NBD could not be fitted.
    #[error("the purchase model could not be fitted: {0}")]
    PurchaseModel(FitError),
    /// Gamma-Gamma could not be fitted.
    #[error("the spend model could not be fitted: {0}")]
    SpendModel(FitError),
}

/// The horizons of [`ClvModel::predict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictionSettings {
    /// Days over which purchases are counted (`expectedPurchases`): 90.
    pub purchase_horizon_days: u32,
    /// Months of the predicted value: 12.
    pub clv_months: u32,
    /// Monthly discount rate of the predicted value (`0.01` for 1 %); none by default.
    pub monthly_discount_rate: Option<Decimal>,
    /// Days within which a next purchase is looked for: 730 (two years).
    pub next_purchase_horizon_days: u32,
}

impl Default for PredictionSettings {
    fn default() -> Self {
        Self {
            purchase_horizon_days: 90,
            clv_months: 12,
            monthly_discount_rate: None,
            next_purchase_horizon_days: 730,
        }
    }
}

/// What the models say about one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPrediction {
    /// Probability that the customer is still active.
    pub p_alive: f64,
    /// `1 − p_alive`.
    pub churn_probability: f64,
    /// Expected purchases (purchase days) within the purchase horizon.
    pub expected_purchases: f64,
    /// Expected value of one purchase.
    pub expected_order_value: Money,
    /// Expected purchases over the CLV months times the expected order value, discounted
    /// monthly when a rate is set.
    pub predicted_clv: Money,
    /// The first day by the end of which one more purchase is expected, if within the
    /// horizon.
    pub next_purchase: Option<Date>,
}

/// The fitted models of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClvModel {
    /// Purchases and dropout.
    pub bg_nbd: BgNbdFit,
    /// Order values.
    pub gamma_gamma: GammaGammaFit,
}

impl ClvModel {
    /// Checks eligibility, then fits both models on the workspace's summaries (one per
    /// customer with a purchase, recency and age in `unit`).
    pub fn fit(
        summaries: &[CustomerSummary],
        unit: TimeUnit,
        eligibility: &Eligibility,
    ) -> Result<Self, ModelUnavailable> {
        eligibility.check(summaries, unit)?;
        let bg_nbd = BgNbd::fit(summaries, unit).map_err(ModelUnavailable::PurchaseModel)?;
        let gamma_gamma = GammaGamma::fit(summaries).map_err(ModelUnavailable::SpendModel)?;
        Ok(Self { bg_nbd, gamma_gamma })
    }

    /// The predictions for a customer whose summary ends on `as_of` (the last day observed).
    pub fn predict(&self, summary: &CustomerSummary, as_of: Date, settings: &PredictionSettings) -> CustomerPrediction {
        let unit = self.bg_nbd.time_unit;
        let bg = &self.bg_nbd.params;
        let p_alive = bg.p_alive(summary);
        let horizon = unit.from_days(f64::from(settings.purchase_horizon_days));
        CustomerPrediction {
            p_alive,
            churn_probability: 1.0 - p_alive,
            expected_purchases: bg.conditional_expected_purchases(summary, horizon),
            expected_order_value: self.gamma_gamma.expected_order_value(summary),
            predicted_clv: predicted_clv(
                &self.bg_nbd,
                &self.gamma_gamma,
                summary,
                settings.clv_months,
                settings.monthly_discount_rate,
            ),
            next_purchase: next_purchase_in(&self.bg_nbd, summary, settings.next_purchase_horizon_days)
                .and_then(|days| as_of.checked_add(Duration::days(i64::from(days)))),
        }
    }
}

/// The customer's expected value over the next `months` ([`DAYS_PER_MONTH`] each): the
/// expected purchases of each month times the expected order value, divided by
/// `(1 + monthly_discount_rate)^month` when a rate is given. Rounded half-even to cents.
pub fn predicted_clv(
    bg_nbd: &BgNbdFit,
    gamma_gamma: &GammaGammaFit,
    summary: &CustomerSummary,
    months: u32,
    monthly_discount_rate: Option<Decimal>,
) -> Money {
    let unit = bg_nbd.time_unit;
    let bg = &bg_nbd.params;
    let monetary = summary.monetary().to_f64().unwrap_or(0.0);
    let order_value = gamma_gamma.params.expected_order_value(summary.frequency(), monetary);
    let month = unit.from_days(DAYS_PER_MONTH);
    let purchases = match monthly_discount_rate.and_then(|d| d.to_f64()) {
        None => bg.conditional_expected_purchases(summary, f64::from(months) * month),
        Some(rate) => {
            let mut discounted = 0.0;
            let mut before = 0.0;
            for m in 1..=months {
                let upto = bg.conditional_expected_purchases(summary, f64::from(m) * month);
                discounted += (upto - before) / (1.0 + rate).powf(f64::from(m));
                before = upto;
            }
            discounted
        }
    };
    gamma_gamma::money(purchases * order_value)
}

/// Whole days after the end of the observation by which the customer's expected further
/// purchases reach 1, if within `horizon_days` (the exact time, found by bisection, rounded
/// up to a day).
pub fn next_purchase_in(bg_nbd: &BgNbdFit, summary: &CustomerSummary, horizon_days: u32) -> Option<u32> {
    let unit = bg_nbd.time_unit;
    let horizon = unit.from_days(f64::from(horizon_days));
    let t = bg_nbd.params.time_to_purchases(summary, 1.0, horizon)?;
    // The bisection's 10⁻⁹ relative precision must not push an exact day to the next one.
    let days = (unit.to_days(t) - 1e-6).ceil().max(0.0);
    Some((days as u32).min(horizon_days))
}
