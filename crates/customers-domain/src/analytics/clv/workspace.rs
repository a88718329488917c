//! The models of one workspace as the service keeps them: the latest fit, or why there is
//! none, and what it says about one customer.
//!
//! A fit is a plain value: [`ClvFit::fit`] summarizes the purchases of every customer up to
//! the end of the observation, checks [`Eligibility`] and fits both models. A workspace with
//! too little data is not an error: its fit is [`ClvOutcome::InsufficientData`] with the
//! reason, stored like a model so that clients can show why there is none.

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use super::summary::{TimeUnit, summarize};
use super::{ClvModel, CustomerPrediction, Eligibility, ModelUnavailable, PredictionSettings};
use crate::money::Money;

/// The reason given while a workspace has never been fitted.
pub const NOT_FITTED: &str = "not fitted yet";

/// What the latest fit of a workspace gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ClvOutcome {
    /// Both models were fitted.
    Fitted(ClvModel),
    /// Too little data by the [`Eligibility`] rule, with why (`"not enough data: 150
    /// customers with a purchase; a model needs at least 200"`).
    InsufficientData(String),
    /// Enough data, but a model could not be fitted (nobody bought twice, no maximum found,
    /// a parameter ran off), with why.
    FitFailed(String),
}

/// The latest fit of a workspace's models.
#[derive(Debug, Clone, PartialEq)]
pub struct ClvFit {
    /// The models, or why there are none.
    pub outcome: ClvOutcome,
    /// The unit of recency, age and the BG/NBD rate `alpha` (days for the service).
    pub time_unit: TimeUnit,
    /// Customers with at least one counted purchase up to `as_of`: the sample the fit saw.
    pub sample_size: u64,
    /// The end of the observation: purchases completed later were not seen, and customers'
    /// ages are counted in whole UTC days up to this day.
    pub as_of: OffsetDateTime,
    /// When the fit ran.
    pub fitted_at: OffsetDateTime,
}

/// What the models say about one customer, or why they say nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerClv {
    /// The predictions from the workspace's stored models and the customer's purchases up to
    /// the time asked.
    Predicted(CustomerPrediction),
    /// No prediction: the workspace has no model ([`NOT_FITTED`], or the reason of its last
    /// fit), or the customer had no counted purchase by then (the models describe buyers).
    Unavailable {
        /// Why, in plain English.
        reason: String,
    },
}

impl CustomerClv {
    /// The prediction, if any.
    pub fn prediction(&self) -> Option<&CustomerPrediction> {
        match self {
            CustomerClv::Predicted(prediction) => Some(prediction),
            CustomerClv::Unavailable { .. } => None,
        }
    }

    /// Why there is no prediction, if there is none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            CustomerClv::Predicted(_) => None,
            CustomerClv::Unavailable { reason } => Some(reason),
        }
    }
}

impl ClvFit {
    /// Fits the models of a workspace on its `(customer, completed at, amount)` purchases
    /// (those after `as_of` are ignored) with recency and age in `unit`.
    ///
    /// Never fails: too little data gives [`ClvOutcome::InsufficientData`], a model that cannot
    /// be fitted (or whose estimates are not finite numbers) [`ClvOutcome::FitFailed`].
    pub fn fit<K, I>(
        purchases: I,
        as_of: OffsetDateTime,
        unit: TimeUnit,
        eligibility: &Eligibility,
        fitted_at: OffsetDateTime,
    ) -> Self
    where
        K: Ord,
        I: IntoIterator<Item = (K, OffsetDateTime, Money)>,
    {
        let summaries: Vec<_> = summarize(purchases, as_of, unit).into_values().collect();
        let outcome = match ClvModel::fit(&summaries, unit, eligibility) {
            Ok(model) if is_finite(&model) => ClvOutcome::Fitted(model),
            Ok(_) => ClvOutcome::FitFailed("the fit gave an estimate that is not a finite number".to_owned()),
            Err(ModelUnavailable::Ineligible(why)) => {
                ClvOutcome::InsufficientData(ModelUnavailable::Ineligible(why).to_string())
            }
            Err(other) => ClvOutcome::FitFailed(other.to_string()),
        };
        Self {
            outcome,
            time_unit: unit,
            sample_size: summaries.len() as u64,
            as_of: as_of.checked_to_offset(UtcOffset::UTC).unwrap_or(as_of),
            fitted_at,
        }
    }

    /// The models, when fitted.
    pub fn model(&self) -> Option<&ClvModel> {
        match &self.outcome {
            ClvOutcome::Fitted(model) => Some(model),
            _ => None,
        }
    }

    /// The kind of outcome.
    pub fn status(&self) -> ClvStatus {
        ClvStatus::from(&self.outcome)
    }

    /// Why there is no model, when there is none.
    pub fn reason(&self) -> Option<&str> {
        match &self.outcome {
            ClvOutcome::Fitted(_) => None,
            ClvOutcome::InsufficientData(reason) | ClvOutcome::FitFailed(reason) => Some(reason),
        }
    }

    /// What the models say about a customer whose `(completed at, amount)` purchases are
    /// given (those after `as_of` are ignored), observed up to `as_of`.
    pub fn predict<I>(&self, purchases: I, as_of: OffsetDateTime, settings: &PredictionSettings) -> CustomerClv
    where
        I: IntoIterator<Item = (OffsetDateTime, Money)>,
    {
        let Some(model) = self.model() else {
            return CustomerClv::Unavailable {
                reason: self.reason().unwrap_or(NOT_FITTED).to_owned(),
            };
        };
        let unit = model.bg_nbd.time_unit;
        let summaries = summarize(purchases.into_iter().map(|(at, amount)| ((), at, amount)), as_of, unit);
        match summaries.get(&()) {
            Some(summary) => {
                let day = as_of.checked_to_offset(UtcOffset::UTC).unwrap_or(as_of).date();
                CustomerClv::Predicted(model.predict(summary, day, settings))
            }
            None => CustomerClv::Unavailable {
                reason: "the customer has no completed purchase by then".to_owned(),
            },
        }
    }
}

/// Whether every estimate of `model` is a finite number (what storage and JSON can hold).
fn is_finite(model: &ClvModel) -> bool {
    let bg = &model.bg_nbd;
    let gg = &model.gamma_gamma;
    [
        bg.params.r,
        bg.params.alpha,
        bg.params.a,
        bg.params.b,
        bg.log_likelihood,
        gg.params.p,
        gg.params.q,
        gg.params.v,
        gg.log_likelihood,
        gg.frequency_value_correlation,
    ]
    .iter()
    .all(|v| v.is_finite())
}

/// The kind of an outcome, as named on the wire and in storage: `FITTED`,
/// `INSUFFICIENT_DATA`, `FIT_FAILED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClvStatus {
    /// [`ClvOutcome::Fitted`].
    Fitted,
    /// [`ClvOutcome::InsufficientData`].
    InsufficientData,
    /// [`ClvOutcome::FitFailed`].
    FitFailed,
}

impl ClvStatus {
    /// Its name (`FITTED`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ClvStatus::Fitted => "FITTED",
            ClvStatus::InsufficientData => "INSUFFICIENT_DATA",
            ClvStatus::FitFailed => "FIT_FAILED",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [ClvStatus::Fitted, ClvStatus::InsufficientData, ClvStatus::FitFailed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// An outcome of this kind from what storage holds: the model of a fitted one, the reason
    /// of the others. `None` when the parts do not fit the kind.
    pub fn outcome(self, model: Option<ClvModel>, reason: Option<String>) -> Option<ClvOutcome> {
        match (self, model, reason) {
            (ClvStatus::Fitted, Some(model), None) => Some(ClvOutcome::Fitted(model)),
            (ClvStatus::InsufficientData, None, Some(reason)) => Some(ClvOutcome::InsufficientData(reason)),
            (ClvStatus::FitFailed, None, Some(reason)) => Some(ClvOutcome::FitFailed(reason)),
            _ => None,
        }
    }
}

impl From<&ClvOutcome> for ClvStatus {
    fn from(outcome: &ClvOutcome) -> Self {
        match outcome {
            ClvOutcome::Fitted(_) => ClvStatus::Fitted,
            ClvOutcome::InsufficientData(_) => ClvStatus::InsufficientData,
            ClvOutcome::FitFailed(_) => ClvStatus::FitFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use time::Duration;
    use time::macros::datetime;

    const AS_OF: OffsetDateTime = datetime!(2026-06-30 23:59:59 UTC);
    const NOW: OffsetDateTime = datetime!(2026-07-01 03:00 UTC);

    /// xorshift64*: the same purchases on every run.
    struct Rng(u64);

    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn money(cents: i64) -> Money {
        Money::parse(Decimal::new(cents, 2)).unwrap()
    }

    /// `customers` buyers over the year before [`AS_OF`], by the BG/NBD process: a purchase
    /// rate from Gamma(2, 60 days), a dropout probability after each repeat purchase from
    /// Beta(1, 4); each spends around its own mean.
    fn purchases(customers: u32, seed: u64) -> Vec<(u32, OffsetDateTime, Money)> {
        let mut rng = Rng(seed);
        let mut out = Vec::new();
        for c in 0..customers {
            let rate = -((1.0 - rng.unit()).ln() + (1.0 - rng.unit()).ln()) / 60.0;
            let dropout = 1.0 - (1.0 - rng.unit()).powf(0.25);
            let spend = 2_000.0 + 8_000.0 * rng.unit();
            let mut day = 365.0 * rng.unit();
            let mut bought = 0;
            while day < 365.0 {
                let at = AS_OF - Duration::days(365) + Duration::seconds((day * 86_400.0) as i64);
                let cents = (spend * (0.5 + rng.unit()) * 100.0) as i64;
                out.push((c, at, money(cents)));
                bought += 1;
                if bought > 1 && rng.unit() < dropout {
                    break;
                }
                day += -(1.0 - rng.unit()).ln() / rate;
            }
        }
        out
    }

    #[test]
    fn too_few_buyers_is_an_outcome_with_the_reason() {
        let fit = ClvFit::fit(purchases(150, 1), AS_OF, TimeUnit::Days, &Eligibility::default(), NOW);
        assert_eq!(fit.sample_size, 150);
        assert_eq!(fit.status(), ClvStatus::InsufficientData);
        assert!(fit.model().is_none());
        assert_eq!(
            fit.reason(),
            Some("not enough data: 150 customers with a purchase; a model needs at least 200")
        );
        assert_eq!((fit.as_of, fit.fitted_at, fit.time_unit), (AS_OF, NOW, TimeUnit::Days));
    }

    #[test]
    fn enough_buyers_give_a_model_and_predictions() {
        let all = purchases(600, 7);
        let fit = ClvFit::fit(all.clone(), AS_OF, TimeUnit::Days, &Eligibility::default(), NOW);
        assert_eq!(fit.sample_size, 600);
        let model = fit.model().unwrap_or_else(|| panic!("no model: {:?}", fit.reason()));
        assert_eq!(fit.status(), ClvStatus::Fitted);
        assert_eq!(fit.reason(), None);
        let bg = model.bg_nbd.params;
        let gg = model.gamma_gamma.params;
        for v in [bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.v] {
            assert!(v > 0.0 && v.is_finite(), "{model:?}");
        }
        assert_eq!(model.bg_nbd.time_unit, TimeUnit::Days);
        // Near the parameters of the process (r = 2, alpha = 60 days, a = 1, b = 4).
        assert!(
            (1.0..4.0).contains(&bg.r) && (30.0..120.0).contains(&bg.alpha),
            "{bg:?}"
        );
        assert!((0.1..0.35).contains(&(bg.a / (bg.a + bg.b))), "{bg:?}");

        // A customer of the sample, as of the end of the observation.
        let mine: Vec<_> = all
            .iter()
            .filter(|(c, _, _)| *c == 3)
            .map(|(_, at, m)| (*at, *m))
            .collect();
        let settings = PredictionSettings::default();
        let predicted = fit.predict(mine.clone(), AS_OF, &settings);
        let p = predicted.prediction().expect("a buyer gets a prediction");
        assert!((0.0..=1.0).contains(&p.p_alive), "{p:?}");
        assert!((p.p_alive + p.churn_probability - 1.0).abs() < 1e-12);
        assert!(p.expected_purchases >= 0.0);
        assert_eq!(predicted.reason(), None);
        // Purchases after the time asked are not seen: before the first one, nothing is known.
        let first = mine.iter().map(|(at, _)| *at).min().unwrap();
        let before = fit.predict(mine, first - Duration::days(1), &settings);
        assert_eq!(before.reason(), Some("the customer has no completed purchase by then"));
    }

    #[test]
    fn a_workspace_without_a_model_predicts_nothing_and_says_why() {
        let fit = ClvFit::fit(purchases(10, 3), AS_OF, TimeUnit::Days, &Eligibility::default(), NOW);
        let answer = fit.predict(
            [(AS_OF - Duration::days(3), money(100))],
            AS_OF,
            &PredictionSettings::default(),
        );
        assert_eq!(answer.prediction(), None);
        assert_eq!(answer.reason(), fit.reason());
    }

    #[test]
    fn status_names_round_trip_and_parts_must_fit_the_kind() {
        for status in [ClvStatus::Fitted, ClvStatus::InsufficientData, ClvStatus::FitFailed] {
            assert_eq!(ClvStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ClvStatus::parse("fitted"), None);
        assert_eq!(
            ClvStatus::InsufficientData.outcome(None, Some("why".into())),
            Some(ClvOutcome::InsufficientData("why".into()))
        );
        assert_eq!(ClvStatus::Fitted.outcome(None, None), None);
        assert_eq!(ClvStatus::FitFailed.outcome(None, None), None);
    }
}
