//! The lifetime value models of a workspace on the wire.

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use customers_domain::ValidationErrors;
use customers_domain::analytics::clv::{ClvFit, ClvModel, ClvStatus, NOT_FITTED, TimeUnit};
use customers_domain::service::AsOf;

/// Body of `POST …/customers/analytics/clv/fit` (optional: an empty body fits as of now).
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ClvFitRequest {
    /// The end of the observation: a date `YYYY-MM-DD` (a UTC day, observed through its end;
    /// today means up to now) or an RFC 3339 date-time (`2026-01-31T18:00:00+05:00`).
    /// Purchases completed later are not seen, and customers' ages are counted up to it. Must
    /// not be in the future; now when absent or null.
    #[serde(default)]
    pub as_of: Option<String>,
}

impl ClvFitRequest {
    /// The end of the observation asked for, if any.
    pub fn as_of(&self) -> Result<Option<AsOf>, ValidationErrors> {
        parse_as_of(self.as_of.as_deref())
    }
}

/// A day (`YYYY-MM-DD`) or an RFC 3339 date-time, named `asOf` in errors; blank is none.
pub fn parse_as_of(raw: Option<&str>) -> Result<Option<AsOf>, ValidationErrors> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return match at.checked_to_offset(time::UtcOffset::UTC) {
            Some(utc) => Ok(Some(AsOf::At(utc))),
            None => Err(ValidationErrors::single(
                "asOf",
                "is out of range (years 1 to 9999 in UTC)",
            )),
        };
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, &format).map(|day| Some(AsOf::Day(day))).map_err(|_| {
        ValidationErrors::single(
            "asOf",
            "must be a date (2026-01-31) or an RFC 3339 date-time (2026-01-31T18:00:00+05:00)",
        )
    })
}

/// Whether and how the workspace's models were fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClvModelStatus {
    /// Both models were fitted: `model` holds them.
    Fitted,
    /// Too little data (fewer than 200 customers with a completed purchase, or less than 90
    /// days from the earliest first purchase to `asOf`); `reason` says which.
    InsufficientData,
    /// Enough data, but a model could not be fitted to it (e.g. nobody bought twice);
    /// `reason` says why.
    FitFailed,
    /// The workspace was never fitted (`POST …/analytics/clv/fit` fits it; workspaces with
    /// orders are also refitted daily).
    NotFitted,
}

impl From<ClvStatus> for ClvModelStatus {
    fn from(status: ClvStatus) -> Self {
        match status {
            ClvStatus::Fitted => ClvModelStatus::Fitted,
            ClvStatus::InsufficientData => ClvModelStatus::InsufficientData,
            ClvStatus::FitFailed => ClvModelStatus::FitFailed,
        }
    }
}

/// The unit of recency, customer age and the BG/NBD rate `alpha`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ClvTimeUnit {
    /// Days (what the service fits with).
    Days,
    /// Weeks of seven days.
    Weeks,
}

impl From<TimeUnit> for ClvTimeUnit {
    fn from(unit: TimeUnit) -> Self {
        match unit {
            TimeUnit::Days => ClvTimeUnit::Days,
            TimeUnit::Weeks => ClvTimeUnit::Weeks,
        }
    }
}

/// The BG/NBD model of purchases and dropout (Fader, Hardie & Lee 2005): while active, a
/// customer buys at a rate drawn from Gamma(r, alpha); after each purchase it drops out with a
/// probability drawn from Beta(a, b).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct BgNbdDto {
    /// Shape of the purchase rate distribution.
    pub r: f64,
    /// Rate of the purchase rate distribution, in `timeUnit`s: an active customer buys
    /// `r / alpha` times per `timeUnit` (per day) on average.
    pub alpha: f64,
    /// First shape of the dropout probability distribution: a customer drops out after a
    /// purchase with probability `a / (a + b)` on average.
    pub a: f64,
    /// Second shape of the dropout probability distribution.
    pub b: f64,
    /// The maximized log-likelihood (times in `timeUnit`s).
    pub log_likelihood: f64,
    /// Customers in the fit (every customer with a completed purchase).
    pub customers: u64,
}

/// The Gamma-Gamma model of order values (Fader & Hardie 2013): a customer's purchases are
/// worth Gamma(p, ν) each, with ν drawn from Gamma(q, v) per customer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct GammaGammaDto {
    /// Shape of the value of one purchase.
    pub p: f64,
    /// Shape of the per-customer rate; the mean order value `p·v/(q−1)` is finite as q > 1.
    pub q: f64,
    /// Rate of the per-customer rate, in the workspace's currency (KZT).
    pub v: f64,
    /// The maximized log-likelihood (amounts in the currency).
    pub log_likelihood: f64,
    /// Customers in the fit: those with a repeat purchase worth more than 0.
    pub customers: u64,
    /// Pearson correlation between purchase frequency and mean order value among them; the
    /// model assumes none, so values near 0 are reassuring.
    pub frequency_value_correlation: f64,
}

/// The fitted models.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ClvModelDto {
    /// Purchases and dropout.
    pub bg_nbd: BgNbdDto,
    /// Order values.
    pub gamma_gamma: GammaGammaDto,
}

impl From<&ClvModel> for ClvModelDto {
    fn from(m: &ClvModel) -> Self {
        let (bg, gg) = (&m.bg_nbd, &m.gamma_gamma);
        Self {
            bg_nbd: BgNbdDto {
                r: bg.params.r,
                alpha: bg.params.alpha,
                a: bg.params.a,
                b: bg.params.b,
                log_likelihood: bg.log_likelihood,
                customers: bg.customers as u64,
            },
            gamma_gamma: GammaGammaDto {
                p: gg.params.p,
                q: gg.params.q,
                v: gg.params.v,
                log_likelihood: gg.log_likelihood,
                customers: gg.customers as u64,
                frequency_value_correlation: gg.frequency_value_correlation,
            },
        }
    }
}

/// The workspace's lifetime value models: BG/NBD (will the customer buy again, how often)
/// and Gamma-Gamma (how much), fitted by maximum likelihood on the completed, not cancelled or
/// refunded, orders of its customers. `model` is null when there is none, and `reason` says
/// why.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ClvModelResponse {
    /// `FITTED`, `INSUFFICIENT_DATA`, `FIT_FAILED`, or `NOT_FITTED` (never fitted yet).
    pub status: ClvModelStatus,
    /// The fitted models; null unless `status` is `FITTED`.
    #[oai(nullable)]
    pub model: Option<ClvModelDto>,
    /// The unit of recency, age and `alpha`: `days`.
    pub time_unit: ClvTimeUnit,
    /// Customers with at least one completed purchase up to `asOf` (the sample of the fit;
    /// 0 when never fitted).
    pub sample_size: u64,
    /// The end of the observation (UTC): purchases completed later were not seen. Null when
    /// never fitted.
    #[oai(nullable)]
    pub as_of: Option<OffsetDateTime>,
    /// When the fit ran (UTC). Null when never fitted.
    #[oai(nullable)]
    pub fitted_at: Option<OffsetDateTime>,
    /// Why there is no model (`not enough data: 150 customers with a purchase; a model needs
    /// at least 200`, `not fitted yet`); null when `status` is `FITTED`.
    #[oai(nullable)]
    pub reason: Option<String>,
}

impl From<Option<ClvFit>> for ClvModelResponse {
    fn from(fit: Option<ClvFit>) -> Self {
        match fit {
            Some(fit) => Self {
                status: fit.status().into(),
                model: fit.model().map(Into::into),
                time_unit: fit.time_unit.into(),
                sample_size: fit.sample_size,
                as_of: Some(fit.as_of),
                fitted_at: Some(fit.fitted_at),
                reason: fit.reason().map(str::to_owned),
            },
            None => Self {
                status: ClvModelStatus::NotFitted,
                model: None,
                time_unit: ClvTimeUnit::Days,
                sample_size: 0,
                as_of: None,
                fitted_at: None,
                reason: Some(NOT_FITTED.to_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn as_of_is_a_day_or_an_instant() {
        assert_eq!(parse_as_of(None).unwrap(), None);
        assert_eq!(parse_as_of(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_as_of(Some("2026-01-31")).unwrap(),
            Some(AsOf::Day(date!(2026 - 01 - 31)))
        );
        assert_eq!(
            parse_as_of(Some("2026-01-31T18:00:00+05:00")).unwrap(),
            Some(AsOf::At(datetime!(2026-01-31 13:00 UTC)))
        );
        for bad in ["2026-02-30", "31.01.2026", "yesterday", "2026-01-31T25:00:00Z"] {
            let errors = parse_as_of(Some(bad)).unwrap_err();
            assert_eq!(errors.errors()[0].field, "asOf", "{bad}");
        }
    }
}
