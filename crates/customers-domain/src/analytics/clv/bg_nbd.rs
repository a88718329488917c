//! BG/NBD: how many purchases a customer will still make, and whether they are still a
//! customer at all (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An
//! Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284).
//!
//! # The model
//!
//! While active, a customer buys at the times of a Poisson process of rate `λ`; after each
//! purchase they drop out, for good, with probability `p`. Across customers
//! `λ ~ Gamma(shape r, rate α)` and `p ~ Beta(a, b)`. With `x` repeat purchases, the last at
//! `t_x`, observed up to `T` (all measured from the first purchase), the likelihood is
//!
//! ```text
//! ln L = lnΓ(r+x) − lnΓ(r) + r ln α + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//!      + ln( (α+T)^{−(r+x)} + [x>0] · a/(b+x−1) · (α+t_x)^{−(r+x)} )
//! ```
//!
//! (FHL 2005, eq. 6), whose last term is evaluated as a log-sum-exp.
//!
//! # Predictions
//!
//! ```text
//! P(alive | x, t_x, T) = 1 / (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})
//!
//! E[Y(t) | x, t_x, T] = P(alive) · (a+b+x−1)/(a−1)
//!                       · (1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; z)),
//! z = t/(α+T+t)                                                         (FHL 2005, eq. 10)
//! ```
//!
//! `Y(t)` counts the purchases in the `t` after the end of the observation; a new customer
//! (x = t_x = T = 0) gives the unconditional `E[X(t)]` (eq. 9). The expectation is computed in
//! a form that is stable for every positive `a` (including `a = 1`, where the quotient is
//! `0/0`) and any `x`: with `C = a+b+x−1`, `q = a+b−1−r`, `L = ln(1−z)` and Euler's
//! transformation of the `₂F₁` (summed in `hypergeometric.rs` without overflow),
//!
//! ```text
//! E[Y(t) | x, t_x, T] = P(alive) · ( C · (1 − e^{(a−1)L})/(a−1)  −  e^{(a−1)L} · H )
//! H = Σ_{n≥1} (q)ₙ (a)ₙ₋₁ zⁿ / ((C+1)ₙ₋₁ n!)
//! ```
//!
//! where `(1 − e^{(a−1)L})/(a−1)` is `−expm1((a−1)L)/(a−1)` (and `−L` at `a = 1`). Where
//! that series is slow or cancels (`a` much larger than `r + x`, or `r` much larger than
//! `a + b`), eq. 10 is evaluated as written instead, its `₂F₁` summed in the same overflow-free
//! way.

use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

use super::FitError;
use super::hypergeometric::{euler_tail, gauss_tail};
use super::optimize::{LogLikelihood, maximize};
use super::summary::{CustomerSummary, TimeUnit};

/// The four population parameters; `alpha` is in the [`TimeUnit`] of the fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    /// Shape of the purchase rate distribution.
    pub r: f64,
    /// Rate (inverse scale) of the purchase rate distribution, in time units: the mean
    /// purchase rate of an active customer is `r / alpha` per unit.
    pub alpha: f64,
    /// First shape of the dropout probability distribution.
    pub a: f64,
    /// Second shape of the dropout probability distribution.
    pub b: f64,
}

impl BgNbdParams {
    /// The log-likelihood of one customer (FHL 2005, eq. 6).
    pub fn log_likelihood(&self, summary: &CustomerSummary) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = f64::from(summary.frequency());
        let head = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
            - ln_gamma(b)
            - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + summary.age()).ln();
        if summary.frequency() == 0 {
            return head + a3;
        }
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + summary.recency()).ln();
        head + log_add_exp(a3, a4)
    }

    /// The log-likelihood of several customers.
    pub fn total_log_likelihood(&self, summaries: &[CustomerSummary]) -> f64 {
        summaries.iter().map(|s| self.log_likelihood(s)).sum()
    }

    /// The probability that the customer is still active at the end of the observation.
    /// Always 1 without a repeat purchase (in BG/NBD dropout happens right after a purchase).
    pub fn p_alive(&self, summary: &CustomerSummary) -> f64 {
        if summary.frequency() == 0 {
            return 1.0;
        }
        let Self { r, alpha, a, b } = *self;
        let x = f64::from(summary.frequency());
        let log_odds_dead =
            a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + summary.age()).ln() - (alpha + summary.recency()).ln());
        1.0 / (1.0 + log_odds_dead.exp())
    }

    /// Expected purchases of a new customer in its first `t` time units after the first
    /// purchase, `E[X(t)]` (FHL 2005, eq. 9).
    pub fn expected_purchases(&self, t: f64) -> f64 {
        self.expected_given(0.0, 0.0, 1.0, t)
    }

    /// Expected purchases of the customer in the `t` time units after the end of the
    /// observation, `E[Y(t) | x, t_x, T]` (FHL 2005, eq. 10). 0 for `t ≤ 0`.
    pub fn conditional_expected_purchases(&self, summary: &CustomerSummary, t: f64) -> f64 {
        self.expected_given(f64::from(summary.frequency()), summary.age(), self.p_alive(summary), t)
    }

    /// The time, in units, after the end of the observation by which the customer's expected
    /// purchases reach `purchases`, if that is within `horizon`; found by bisection to a
    /// relative precision of 10⁻⁹ of the horizon (the expectation increases with `t`).
    pub fn time_to_purchases(&self, summary: &CustomerSummary, purchases: f64, horizon: f64) -> Option<f64> {
        if purchases.is_nan() || horizon.is_nan() || purchases <= 0.0 || horizon <= 0.0 {
            return None;
        }
        if self.conditional_expected_purchases(summary, horizon) < purchases {
            return None;
        }
        let (mut low, mut high) = (0.0, horizon);
        while high - low > 1e-9 * horizon {
            let mid = 0.5 * (low + high);
            if self.conditional_expected_purchases(summary, mid) >= purchases {
                high = mid;
            } else {
                low = mid;
            }
        }
        Some(high)
    }

    /// `E[Y(t)]` for `x` repeat purchases, age `T` and probability alive `p_alive`.
    fn expected_given(&self, x: f64, age: f64, p_alive: f64, t: f64) -> f64 {
        if t.is_nan() || t <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, a, b } = *self;
        let c = a + b + x - 1.0;
        let q = a + b - 1.0 - r;
        let z = t / (alpha + age + t);
        let l = -(t / (alpha + age)).ln_1p(); // ln(1 − z)
        let u = a - 1.0;
        // The transformed series has terms of one sign for q ≥ −1 (a few alternate for
        // q ≥ −2) and costs about a·z/(1−z) terms; the untransformed one has positive terms
        // and costs about (r+x)·z/(1−z), but needs C > 0 and divides by a − 1.
        let transformed = (q >= -2.0 && (a <= 2.0 || a <= r + x)) || c <= 0.0 || u == 0.0;
        let alive = if transformed {
            let first = if u == 0.0 { -l } else { -(u * l).exp_m1() / u };
            c * first - euler_tail(q, a, c, z, u * l)
        } else {
            // C/(a−1) · (1 − S), S = (1−z)^{r+x} ₂F₁(r+x, b+x; C; z) = e^k (1 + tail), k = (r+x)L
            let k = (r + x) * l;
            c / u * (-k.exp_m1() - gauss_tail(r + x, b + x, c, z, k))
        };
        (p_alive * alive).max(0.0)
    }
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgNbdFit {
    /// The estimates.
    pub params: BgNbdParams,
    /// The maximized log-likelihood, with times in `time_unit`.
    pub log_likelihood: f64,
    /// Customers in the fit.
    pub customers: usize,
    /// The unit of recency, age, `alpha` and every horizon given to the predictions.
    pub time_unit: TimeUnit,
}

/// Fits BG/NBD.
#[derive(Debug, Clone, Copy)]
pub struct BgNbd;

impl BgNbd {
    /// The maximum likelihood estimate from customers' summaries (recency and age in `unit`).
    ///
    /// Times are rescaled internally so that the oldest customer's age is 10 (the estimate
    /// does not depend on the unit: `alpha` is scaled back); customers with the same
    /// `(x, t_x, T)` are counted once with a weight. Nine starting points are tried (`r` of
    /// 0.3, 1 and 3 crossed with `(a, b)` of (0.5, 1.5), (1, 3) and (2, 8), with `alpha` set so
    /// that `r/alpha` is the observed repeat purchase rate).
    pub fn fit(summaries: &[CustomerSummary], unit: TimeUnit) -> Result<BgNbdFit, FitError> {
        if summaries.is_empty() {
            return Err(FitError::NoCustomers);
        }
        let max_age = summaries.iter().map(CustomerSummary::age).fold(0.0, f64::max);
        if max_age.is_nan() || max_age <= 0.0 {
            return Err(FitError::NoHistory);
        }
        let repeats: f64 = summaries.iter().map(|s| f64::from(s.frequency())).sum();
        if repeats == 0.0 {
            return Err(FitError::NoRepeatPurchases);
        }
        let scale = 10.0 / max_age;
        let data = Patterns::new(summaries, scale);
        let exposure: f64 = summaries.iter().map(|s| s.age() * scale).sum();
        let rate = repeats / exposure;
        let mut starts = Vec::new();
        for r in [0.3, 1.0, 3.0] {
            for (a, b) in [(0.5, 1.5), (1.0, 3.0), (2.0, 8.0)] {
                starts.push(vec![r, r / rate, a, b]);
            }
        }
        let best = maximize(&data, &starts)?;
        let params = BgNbdParams {
            r: best.params[0],
            alpha: best.params[1] / scale,
            a: best.params[2],
            b: best.params[3],
        };
        let log_likelihood = Patterns::new(summaries, 1.0).value_and_gradient(&best_vec(&params)).0;
        Ok(BgNbdFit {
            params,
            log_likelihood,
            customers: summaries.len(),
            time_unit: unit,
        })
    }
}

fn best_vec(p: &BgNbdParams) -> [f64; 4] {
    [p.r, p.alpha, p.a, p.b]
}

fn log_add_exp(u: f64, v: f64) -> f64 {
    let m = u.max(v);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((u - m).exp() + (v - m).exp()).ln()
}

/// Customers grouped by frequency, then by (recency, age), with counts as weights.
struct Patterns {
    groups: Vec<Group>,
    customers: f64,
}

struct Group {
    x: f64,
    weight: f64,
    cells: Vec<Cell>,
}

struct Cell {
    recency: f64,
    age: f64,
    weight: f64,
}

impl Patterns {
    fn new(summaries: &[CustomerSummary], scale: f64) -> Self {
        let mut counts = std::collections::BTreeMap::<(u32, u64, u64), f64>::new();
        for s in summaries {
            let key = (
                s.frequency(),
                (s.recency() * scale).to_bits(),
                (s.age() * scale).to_bits(),
            );
            *counts.entry(key).or_default() += 1.0;
        }
        let mut groups: Vec<Group> = Vec::new();
        for ((x, recency, age), weight) in counts {
            let cell = Cell {
                recency: f64::from_bits(recency),
                age: f64::from_bits(age),
                weight,
            };
            let x = f64::from(x);
            match groups.last_mut() {
                Some(g) if g.x == x => {
                    g.weight += weight;
                    g.cells.push(cell);
                }
                _ => groups.push(Group {
                    x,
                    weight,
                    cells: vec![cell],
                }),
            }
        }
        Self {
            groups,
            customers: summaries.len() as f64,
        }
    }
}

impl LogLikelihood for Patterns {
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];

    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (r, alpha, a, b) = (params[0], params[1], params[2], params[3]);
        let ln_alpha = alpha.ln();
        let (lg_r, dg_r) = (ln_gamma(r), digamma(r));
        let (lg_ab, dg_ab) = (ln_gamma(a + b), digamma(a + b));
        let (lg_b, dg_b) = (ln_gamma(b), digamma(b));
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for group in &self.groups {
            let x = group.x;
            let w = group.weight;
            ll += w * (ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + x) - lg_b - ln_gamma(a + b + x));
            let dg_abx = digamma(a + b + x);
            g[0] += w * (digamma(r + x) - dg_r + ln_alpha);
            g[1] += w * r / alpha;
            g[2] += w * (dg_ab - dg_abx);
            g[3] += w * (dg_ab + digamma(b + x) - dg_b - dg_abx);
            if x == 0.0 {
                for cell in &group.cells {
                    let l_age = (alpha + cell.age).ln();
                    ll -= cell.weight * r * l_age;
                    g[0] -= cell.weight * l_age;
                    g[1] -= cell.weight * r / (alpha + cell.age);
                }
                continue;
            }
            let ln_ratio = a.ln() - (b + x - 1.0).ln();
            for cell in &group.cells {
                let l_age = (alpha + cell.age).ln();
                let l_rec = (alpha + cell.recency).ln();
                let a3 = -(r + x) * l_age;
                let a4 = ln_ratio - (r + x) * l_rec;
                let m = a3.max(a4);
                let (e3, e4) = ((a3 - m).exp(), (a4 - m).exp());
                let w4 = e4 / (e3 + e4); // the share of the "dropped out after t_x" term
                let cw = cell.weight;
                ll += cw * (m + (e3 + e4).ln());
                g[0] -= cw * ((1.0 - w4) * l_age + w4 * l_rec);
                g[1] -= cw * (r + x) * ((1.0 - w4) / (alpha + cell.age) + w4 / (alpha + cell.recency));
                g[2] += cw * w4 / a;
                g[3] -= cw * w4 / (b + x - 1.0);
            }
        }
        (ll, g.to_vec())
    }

    fn customers(&self) -> f64 {
        self.customers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    /// The published CDNOW estimates (FHL 2005), per week.
    const CDNOW: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn summary(x: u32, recency: f64, age: f64) -> CustomerSummary {
        CustomerSummary::new(x, recency, age, Decimal::ZERO).unwrap()
    }

    fn close(got: f64, expected: f64, rel: f64) -> bool {
        (got - expected).abs() <= rel * expected.abs().max(1e-300)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let summaries = [
            summary(0, 0.0, 38.86),
            summary(0, 0.0, 20.0),
            summary(2, 30.43, 38.86),
            summary(1, 1.71, 38.86),
            summary(7, 29.43, 38.86),
            summary(120, 36.0, 38.0),
            summary(3, 12.0, 12.0),
        ];
        let data = Patterns::new(&summaries, 1.0);
        for params in [
            [0.243, 4.414, 0.793, 2.426],
            [1.5, 0.7, 3.0, 0.9],
            [0.05, 40.0, 0.2, 12.0],
        ] {
            let (_, grad) = data.value_and_gradient(&params);
            for i in 0..4 {
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
            // The grouped total equals the per-customer sum.
            let p = BgNbdParams {
                r: params[0],
                alpha: params[1],
                a: params[2],
                b: params[3],
            };
            let total = p.total_log_likelihood(&summaries);
            assert!(close(data.value_and_gradient(&params).0, total, 1e-12));
        }
    }

    /// (x, t_x, T, P(alive)) computed by hand from the closed form.
    #[test]
    fn p_alive_by_hand() {
        let cases = [
            // No repeat purchase: alive by assumption.
            (0, 0.0, 38.86, 1.0),
            // Age equal to recency: 1 / (1 + a/(b+x−1)) = 4.426 / 5.219.
            (3, 20.0, 20.0, 4.426 / 5.219),
            // x = 1, t_x = T: 1 / (1 + 0.793/2.426) = 2.426 / 3.219.
            (1, 38.86, 38.86, 2.426 / 3.219),
        ];
        for (x, tx, t, expected) in cases {
            let got = CDNOW.p_alive(&summary(x, tx, t));
            assert!(close(got, expected, 1e-14), "{x} {tx} {t}: {got} vs {expected}");
        }
        // A heavy buyer silent for a long time is almost surely gone, without overflow:
        // log-odds = ln(0.793/121.426) + 120.243·ln(44.414/8.414) ≈ 194.9.
        let gone = CDNOW.p_alive(&summary(120, 4.0, 40.0));
        assert!(gone > 0.0 && gone < 1e-80, "{gone}");
        let odds = (0.793f64 / 121.426).ln() + 120.243 * (44.414f64 / 8.414).ln();
        assert!(close(gone, 1.0 / (1.0 + odds.exp()), 1e-12));
    }

    /// (params, x, t_x, T, t, E[Y(t) | x, t_x, T]): references from eq. 10 summed as written
    /// (untransformed ₂F₁ series) in 60-digit decimal arithmetic.
    #[test]
    fn conditional_expectations_against_a_high_precision_reference() {
        // Published CDNOW parameters (a < 1), per week.
        let p = CDNOW;
        // a > 1, per day.
        let q = BgNbdParams {
            r: 0.8,
            alpha: 35.0,
            a: 1.6,
            b: 4.2,
        };
        // a = 1 exactly: eq. 10 is 0/0; the reference is at a = 1 + 10⁻³⁰.
        let one = BgNbdParams {
            r: 0.5,
            alpha: 10.0,
            a: 1.0,
            b: 3.0,
        };
        let huge_ab = BgNbdParams {
            r: 7.258351256888843,
            alpha: 9.736458780853438,
            a: 6268044.415543929,
            b: 1754773685.895232,
        };
        let r_big = BgNbdParams {
            r: 50.0,
            alpha: 400.0,
            a: 1.5,
            b: 3.0,
        };
        let r_big_a1 = BgNbdParams {
            r: 30.0,
            alpha: 200.0,
            a: 1.0005,
            b: 2.0,
        };
        let c_neg = BgNbdParams {
            r: 4.0,
            alpha: 60.0,
            a: 0.3,
            b: 0.5,
        };
        let cases = [
            // FHL 2005 quote 1.226 for this customer over the 39-week holdout.
            (p, 2, 30.43, 38.86, 39.0, 1.2260281747671444),
            // No repeat purchase.
            (p, 0, 0.0, 38.86, 39.0, 0.19509805201126262),
            // A new customer: E[X(t)] (eq. 9).
            (p, 0, 0.0, 0.0, 39.0, 1.196723193320817),
            (p, 0, 0.0, 0.0, 52.0, 1.4460505953964038),
            (p, 1, 1.71, 38.86, 13.0, 0.07467616500337061),
            (p, 7, 29.43, 38.86, 39.0, 3.3370532748514163),
            // Age equal to recency.
            (p, 3, 20.0, 20.0, 13.0, 1.291759094788396),
            // Heavy buyers: 120, 150 and 29 repeat purchases.
            (p, 120, 36.0, 38.0, 90.0 / 7.0, 10.32524229410365),
            (p, 150, 38.0, 38.0, 104.0, 212.0496050946262),
            (p, 29, 37.71, 38.0, 39.0, 20.05294898649679),
            // A heavy buyer long silent: almost surely gone.
            (p, 120, 4.0, 40.0, 39.0, 1.6483947066183325e-83),
            (q, 0, 0.0, 0.0, 90.0, 1.3350273985298653),
            (q, 0, 0.0, 200.0, 730.0, 1.5153439359509018),
            (q, 5, 150.0, 160.0, 90.0, 1.7259344840764137),
            (q, 140, 400.0, 400.0, 90.0, 24.85677260627237),
            (q, 140, 400.0, 400.0, 730.0, 105.11310243601025),
            (q, 3, 60.0, 60.0, 30.0, 0.8404964300581055),
            (one, 0, 0.0, 0.0, 30.0, 1.0439017597601055),
            (one, 4, 20.0, 25.0, 30.0, 2.2801565496873564),
            (one, 200, 99.0, 100.0, 50.0, 73.023455462301),
            // Dropout nearly the same for everyone (a, b in the millions and billions).
            (huge_ab, 150, 360.0, 365.0, 90.0, 34.312536500673474),
            (huge_ab, 0, 0.0, 365.0, 730.0, 13.743222024593686),
            (huge_ab, 300, 300.0, 365.0, 730.0, 2.628930329707232e-21),
            // Purchase rates nearly the same for everyone (r ≫ a + b).
            (r_big, 0, 0.0, 0.0, 90.0, 3.8035369751780554),
            (r_big, 0, 0.0, 100.0, 730.0, 5.647453428997161),
            (r_big, 10, 80.0, 100.0, 90.0, 2.8439431735207923),
            (r_big_a1, 0, 0.0, 0.0, 90.0, 4.47782699390048),
            (r_big_a1, 5, 40.0, 60.0, 180.0, 2.8588765121357715),
            // a + b < 1 and r > a + b: C ≤ 0 for x = 0.
            (c_neg, 0, 0.0, 0.0, 90.0, 3.2744200773117567),
            (c_neg, 0, 0.0, 50.0, 365.0, 5.70942030042898),
        ];
        for (params, x, tx, age, t, expected) in cases {
            let got = params.conditional_expected_purchases(&summary(x, tx, age), t);
            assert!(
                close(got, expected, 1e-10),
                "{params:?} {x} {tx} {age} {t}: {got} vs {expected}"
            );
        }
        assert_eq!(
            CDNOW.expected_purchases(39.0),
            CDNOW.conditional_expected_purchases(&summary(0, 0.0, 0.0), 39.0)
        );
        assert_eq!(
            CDNOW.conditional_expected_purchases(&summary(2, 30.43, 38.86), 0.0),
            0.0
        );
    }

    #[test]
    fn time_to_purchases_inverts_the_expectation() {
        let s = summary(2, 30.43, 38.86);
        // E[Y(39)] = 1.226 > 1: one more purchase is expected before week 39.
        let t = CDNOW.time_to_purchases(&s, 1.0, 104.0).unwrap();
        assert!(t > 0.0 && t < 39.0, "{t}");
        assert!((CDNOW.conditional_expected_purchases(&s, t) - 1.0).abs() < 1e-7);
        // A customer without a repeat purchase: E[Y(104)] stays below 1.
        let quiet = summary(0, 0.0, 38.86);
        assert!(CDNOW.conditional_expected_purchases(&quiet, 104.0) < 1.0);
        assert_eq!(CDNOW.time_to_purchases(&quiet, 1.0, 104.0), None);
        assert_eq!(CDNOW.time_to_purchases(&s, 1.0, 0.0), None);
        assert_eq!(CDNOW.time_to_purchases(&s, 0.0, 10.0), None);
    }

    #[test]
    fn data_that_cannot_be_fitted() {
        use TimeUnit::Days;
        assert_eq!(BgNbd::fit(&[], Days), Err(FitError::NoCustomers));
        assert_eq!(BgNbd::fit(&[summary(0, 0.0, 0.0)], Days), Err(FitError::NoHistory));
        let once = vec![summary(0, 0.0, 10.0); 5];
        assert_eq!(BgNbd::fit(&once, Days), Err(FitError::NoRepeatPurchases));
        // Identical customers: no heterogeneity in purchase rates, r runs off to infinity.
        let same = vec![summary(2, 50.0, 100.0); 300];
        assert!(
            matches!(
                BgNbd::fit(&same, Days),
                Err(FitError::Degenerate { parameter: "r", .. })
            ),
            "{:?}",
            BgNbd::fit(&same, Days)
        );
    }
}
