//! Gamma-Gamma: what a customer's next purchases will be worth (Fader, Hardie & Lee 2005,
//! "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", *Journal of Marketing
//! Research* 42(4), 415–430; Fader & Hardie, "The Gamma-Gamma Model of Monetary Value", 2013).
//!
//! # The model
//!
//! The value of each of a customer's purchases is `Gamma(shape p, rate ν)`; across customers
//! `ν ~ Gamma(shape q, rate v)`. A customer's mean value `m` over `x` repeat purchases then has
//! the log-likelihood
//!
//! ```text
//! ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m)
//! ```
//!
//! and the expected value of a purchase, given `x` and `m`, is the credibility-weighted mean
//!
//! ```text
//! E[Z | x, m] = (q−1)/(px+q−1) · pv/(q−1) + px/(px+q−1) · m = p (v + x m) / (px + q − 1)
//! ```
//!
//! which for a customer without repeat purchases is the population mean `pv/(q−1)` (finite
//! only when `q > 1`, which the fit requires).
//!
//! The model assumes that spending does not depend on purchase frequency; the fit reports the
//! correlation between the two among the customers it used, for the caller to judge.
//!
//! Money is handled in [`Decimal`] at the edges: the summaries' means
//! are converted to `f64` for the fit, and the expected value of a purchase is returned as
//! [`Money`], rounded half-even to two decimals.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

use super::FitError;
use super::optimize::{LogLikelihood, maximize};
use super::summary::CustomerSummary;
use crate::money::Money;

/// The three population parameters; `v` is in money units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    /// Shape of the value of one purchase.
    pub p: f64,
    /// Shape of the per-customer rate of that distribution.
    pub q: f64,
    /// Rate of the per-customer rate (money units).
    pub v: f64,
}

impl GammaGammaParams {
    /// The expected value of a purchase of a customer with `frequency` repeat purchases worth
    /// `monetary` on average (see the [module docs](self)); `monetary ≤ 0` is treated as no
    /// information (the population mean).
    pub fn expected_order_value(&self, frequency: u32, monetary: f64) -> f64 {
        let Self { p, q, v } = *self;
        let x = if monetary > 0.0 { f64::from(frequency) } else { 0.0 };
        let m = if x > 0.0 { monetary } else { 0.0 };
        p * (v + x * m) / (p * x + q - 1.0)
    }

    /// The mean value of a purchase across customers, `pv/(q−1)`.
    pub fn population_mean(&self) -> f64 {
        self.p * self.v / (self.q - 1.0)
    }

    /// The log-likelihood of a customer's mean repeat purchase value `monetary` over
    /// `frequency ≥ 1` purchases.
    pub fn log_likelihood(&self, frequency: u32, monetary: f64) -> f64 {
        let Self { p, q, v } = *self;
        let x = f64::from(frequency);
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * monetary.ln() + px * x.ln()
            - (px + q) * (v + x * monetary).ln()
    }
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GammaGammaFit {
    /// The estimates.
    pub params: GammaGammaParams,
    /// The maximized log-likelihood (money in its own unit).
    pub log_likelihood: f64,
    /// Customers in the fit: those with a repeat purchase and a positive mean value.
    pub customers: usize,
    /// Pearson correlation between frequency and mean value among them; the model assumes
    /// none (values near 0 are reassuring).
    pub frequency_value_correlation: f64,
}

impl GammaGammaFit {
    /// The expected value of the customer's next purchases, rounded to cents.
    pub fn expected_order_value(&self, summary: &CustomerSummary) -> Money {
        let monetary = summary.monetary().to_f64().unwrap_or(0.0);
        money(self.params.expected_order_value(summary.frequency(), monetary))
    }
}

/// An amount computed in `f64` as [`Money`]: rounded half-even to cents, saturating at the
/// storable maximum, 0 for NaN.
pub(super) fn money(amount: f64) -> Money {
    let decimal = if amount.is_nan() {
        Decimal::ZERO
    } else {
        Decimal::from_f64_retain(amount).unwrap_or(if amount > 0.0 { Decimal::MAX } else { Decimal::MIN })
    };
    Money::round(decimal)
}

/// Fits Gamma-Gamma.
#[derive(Debug, Clone, Copy)]
pub struct GammaGamma;

impl GammaGamma {
    /// The maximum likelihood estimate from the customers with a repeat purchase and a
    /// positive mean repeat value; the others are left out.
    ///
    /// Values are rescaled internally by their mean (`v` is scaled back); customers with the
    /// same `(x, m)` are counted once with a weight. Starting points: `p` of 1 and 5 crossed
    /// with `q` of 2 and 6, `v` making the population mean equal the observed one.
    ///
    /// Fails with [`FitError::InfiniteMeanSpend`] when the estimate has `q ≤ 1`.
    pub fn fit(summaries: &[CustomerSummary]) -> Result<GammaGammaFit, FitError> {
        let observations: Vec<(u32, f64)> = summaries
            .iter()
            .filter(|s| s.frequency() > 0)
            .filter_map(|s| {
                let m = s.monetary().to_f64()?;
                (m > 0.0 && m.is_finite()).then_some((s.frequency(), m))
            })
            .collect();
        if observations.is_empty() {
            return Err(FitError::NoRepeatPurchases);
        }
        let n = observations.len() as f64;
        let scale = observations.iter().map(|(_, m)| m).sum::<f64>() / n;
        let data = Values::new(&observations, scale);
        let mut starts = Vec::new();
        for p in [1.0, 5.0] {
            for q in [2.0, 6.0] {
                starts.push(vec![p, q, (q - 1.0) / p]);
            }
        }
        let best = maximize(&data, &starts)?;
        let params = GammaGammaParams {
            p: best.params[0],
            q: best.params[1],
            v: best.params[2] * scale,
        };
        if params.q <= 1.0 {
            return Err(FitError::InfiniteMeanSpend { q: params.q });
        }
        let log_likelihood = observations.iter().map(|&(x, m)| params.log_likelihood(x, m)).sum();
        Ok(GammaGammaFit {
            params,
            log_likelihood,
            customers: observations.len(),
            frequency_value_correlation: correlation(&observations),
        })
    }
}

fn correlation(observations: &[(u32, f64)]) -> f64 {
    let n = observations.len() as f64;
    let mean_x = observations.iter().map(|(x, _)| f64::from(*x)).sum::<f64>() / n;
    let mean_m = observations.iter().map(|(_, m)| m).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, m) in observations {
        let (dx, dm) = (f64::from(*x) - mean_x, m - mean_m);
        sxy += dx * dm;
        sxx += dx * dx;
        syy += dm * dm;
    }
    if sxx == 0.0 || syy == 0.0 {
        return 0.0;
    }
    sxy / (sxx * syy).sqrt()
}

/// Mean values (divided by the scale) with counts, grouped by frequency.
struct Values {
    groups: Vec<(f64, Vec<(f64, f64)>)>,
    customers: f64,
}

impl Values {
    fn new(observations: &[(u32, f64)], scale: f64) -> Self {
        let mut counts = std::collections::BTreeMap::<(u32, u64), f64>::new();
        for &(x, m) in observations {
            *counts.entry((x, (m / scale).to_bits())).or_default() += 1.0;
        }
        let mut groups: Vec<(f64, Vec<(f64, f64)>)> = Vec::new();
        for ((x, m), w) in counts {
            let (x, cell) = (f64::from(x), (f64::from_bits(m), w));
            match groups.last_mut() {
                Some((gx, cells)) if *gx == x => cells.push(cell),
                _ => groups.push((x, vec![cell])),
            }
        }
        Self {
            groups,
            customers: observations.len() as f64,
        }
    }
}

impl LogLikelihood for Values {
    const NAMES: &'static [&'static str] = &["p", "q", "v"];

    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (p, q, v) = (params[0], params[1], params[2]);
        let (lg_q, dg_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let mut ll = 0.0;
        let mut g = vec![0.0; 3];
        for (x, cells) in &self.groups {
            let (x, px) = (*x, p * x);
            let ln_x = x.ln();
            // The terms that depend on x only.
            let head = ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_v + px * ln_x;
            let dg_pxq = digamma(px + q);
            let dp_head = x * (dg_pxq - digamma(px) + ln_x);
            let dq_head = dg_pxq - dg_q + ln_v;
            for &(m, w) in cells {
                let (ln_m, ln_xmv) = (m.ln(), (v + x * m).ln());
                ll += w * (head + (px - 1.0) * ln_m - (px + q) * ln_xmv);
                g[0] += w * (dp_head + x * (ln_m - ln_xmv));
                g[1] += w * (dq_head - ln_xmv);
                g[2] += w * (q / v - (px + q) / (v + x * m));
            }
        }
        (ll, g)
    }

    fn customers(&self) -> f64 {
        self.customers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// The published CDNOW estimates (Fader & Hardie 2013).
    const CDNOW: GammaGammaParams = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        v: 15.44,
    };

    #[test]
    fn expected_order_value_by_hand() {
        let cases = [
            // No repeat purchase: the population mean 6.25·15.44/2.74 = 96.5/2.74.
            (0, 0.0, 96.5 / 2.74),
            // x = 2, m = 22.35: 6.25·(15.44 + 44.7)/(12.5 + 2.74) = 375.875/15.24.
            (2, 22.35, 375.875 / 15.24),
            // A non-positive mean carries no information.
            (3, 0.0, 96.5 / 2.74),
            (3, -5.0, 96.5 / 2.74),
            // A heavy buyer: 6.25·(15.44 + 150·40)/(937.5 + 2.74), close to m = 40.
            (150, 40.0, 6.25 * 6015.44 / 940.24),
        ];
        for (x, m, expected) in cases {
            let got = CDNOW.expected_order_value(x, m);
            assert!(
                (got - expected).abs() < 1e-12 * expected,
                "{x} {m}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Values::new(&[(1, 11.77), (2, 22.35), (5, 17.0), (30, 140.5), (1, 3.1)], 1.0);
        for params in [[6.25, 3.74, 15.44], [0.8, 1.5, 300.0]] {
            let (_, grad) = data.value_and_gradient(&params);
            for i in 0..3 {
                let h = 1e-6 * params[i];
                let (mut up, mut down) = (params, params);
                up[i] += h;
                down[i] -= h;
                let numeric = (data.value_and_gradient(&up).0 - data.value_and_gradient(&down).0) / (2.0 * h);
                assert!(
                    (numeric - grad[i]).abs() <= 1e-6 * numeric.abs().max(1.0),
                    "{params:?} ∂{i}: {} vs {numeric}",
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn money_is_rounded_half_even_and_saturates() {
        let cases = [
            (35.218_978_102_189_78, "35.22"),
            (0.125, "0.12"), // exactly representable: half-even
            (0.375, "0.38"),
            (0.0, "0.00"),
            (f64::NAN, "0.00"),
            (1e30, "9999999999999999.99"),
            (f64::INFINITY, "9999999999999999.99"),
        ];
        for (value, expected) in cases {
            assert_eq!(money(value).to_string(), expected, "{value}");
        }
        assert_eq!(
            money(-1e30).amount(),
            Decimal::from_str("-9999999999999999.99").unwrap()
        );
    }

    #[test]
    fn no_usable_customer_is_an_error() {
        let summaries = [
            CustomerSummary::new(0, 0.0, 10.0, Decimal::ZERO).unwrap(),
            CustomerSummary::new(2, 5.0, 10.0, Decimal::ZERO).unwrap(),
        ];
        assert_eq!(GammaGamma::fit(&summaries), Err(FitError::NoRepeatPurchases));
    }
}
