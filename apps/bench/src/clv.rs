//! `clv-fit`: purchase histories drawn from the BG/NBD and Gamma-Gamma processes with known
//! parameters, then timed through what a workspace's fit does in the service (`summarize`,
//! `ClvModel::fit`) and the predictions for every customer, with the recovered parameters
//! next to the true ones.
//!
//! Each customer makes a first purchase on a day drawn uniformly over the observation; while
//! active it buys at a rate λ ~ Gamma(r, α) per day, and after each repeat purchase drops out
//! with a probability p ~ Beta(a, b). Its purchases are worth Gamma(p, ν) each, with
//! ν ~ Gamma(q, v) per customer. No database is involved.

use std::time::Instant;

use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

use customers_domain::Money;
use customers_domain::analytics::clv::{ClvModel, Eligibility, PredictionSettings, TimeUnit, summarize};

use crate::rng::Rng;

/// The true parameters: the published CDNOW estimates (Fader, Hardie & Lee 2005; Fader &
/// Hardie 2013), with α in days instead of weeks and v in tenge (at 470 KZT to the dollar).
#[derive(Debug, Clone, Copy)]
pub struct Truth {
    /// BG/NBD purchase rate shape.
    pub r: f64,
    /// BG/NBD purchase rate rate, per day.
    pub alpha: f64,
    /// BG/NBD dropout shapes.
    pub a: f64,
    /// BG/NBD dropout shapes.
    pub b: f64,
    /// Gamma-Gamma shapes and rate.
    pub p: f64,
    /// Gamma-Gamma per-customer shape.
    pub q: f64,
    /// Gamma-Gamma per-customer rate, in tenge.
    pub v: f64,
}

/// The CDNOW parameters in days and tenge.
pub const CDNOW: Truth = Truth {
    r: 0.243,
    alpha: 4.414 * 7.0,
    a: 0.793,
    b: 2.426,
    p: 6.25,
    q: 3.74,
    v: 15.44 * 470.0,
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct ClvPlan {
    /// Customers (each with at least one purchase).
    pub customers: usize,
    /// Days of observation.
    pub days: u32,
    /// PRNG seed.
    pub seed: u64,
}

/// A Gamma(shape, 1) draw (Marsaglia & Tsang; shapes below 1 through `Gamma(k + 1)·U^(1/k)`).
fn gamma(rng: &mut Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.unit();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = 1.0 - rng.unit();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Every purchase of `plan.customers` customers over `plan.days` days before `end`.
pub fn histories(plan: &ClvPlan, truth: &Truth, end: OffsetDateTime) -> Vec<(u32, OffsetDateTime, Money)> {
    let mut rng = Rng::new(plan.seed);
    let days = f64::from(plan.days);
    let start = end - Duration::days(i64::from(plan.days));
    let mut out = Vec::new();
    for customer in 0..plan.customers {
        let rate = gamma(&mut rng, truth.r) / truth.alpha;
        let x = gamma(&mut rng, truth.a);
        let dropout = x / (x + gamma(&mut rng, truth.b));
        let nu = gamma(&mut rng, truth.q) / truth.v;
        let mut day = days * rng.unit();
        let mut bought = 0u32;
        while day < days {
            let value = (gamma(&mut rng, truth.p) / nu).clamp(0.01, 1e12);
            let amount = Money::round(Decimal::from_f64_retain(value).unwrap_or(Decimal::ONE));
            let at = start + Duration::seconds((day * 86_400.0) as i64);
            out.push((u32::try_from(customer).unwrap_or(u32::MAX), at, amount));
            bought += 1;
            if bought > 1 && rng.unit() < dropout {
                break;
            }
            if rate <= 0.0 {
                break;
            }
            day += -(1.0 - rng.unit()).ln() / rate;
        }
    }
    out
}

/// CPU time of this thread so far (Linux: `/proc/thread-self/schedstat`), when known. On a
/// busy machine it shows the work a step needs, where wall-clock time also counts the waits for
/// a core.
fn cpu_time() -> Option<std::time::Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(nanos))
}

/// Wall-clock and CPU time of `step`.
fn timed<T>(step: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let out = step();
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu
        .zip(cpu_time())
        .map(|(before, after)| (after - before).as_secs_f64());
    (out, wall, cpu)
}

/// Generates, times and prints the figures (Markdown).
pub fn run(plan: ClvPlan) -> Result<(), String> {
    let truth = CDNOW;
    // A fixed end: the same figures on every run.
    let end = time::macros::datetime!(2026-06-30 23:59:59 UTC);
    let started = Instant::now();
    let purchases = histories(&plan, &truth, end);
    let generated = started.elapsed();
    let orders = purchases.len();

    let (summaries, summarize_wall, summarize_cpu) = timed(|| summarize(purchases, end, TimeUnit::Days));
    let summaries: Vec<_> = summaries.into_values().collect();
    let (model, fit_wall, fit_cpu) = timed(|| ClvModel::fit(&summaries, TimeUnit::Days, &Eligibility::default()));
    let model = model.map_err(|e| format!("no model: {e}"))?;
    let settings = PredictionSettings::default();
    let (total_clv, predict_wall, predict_cpu) = timed(|| {
        summaries
            .iter()
            .map(|s| model.predict(s, end.date(), &settings).predicted_clv.amount())
            .sum::<Decimal>()
    });
    let repeaters = summaries.iter().filter(|s| s.frequency() > 0).count();
    println!(
        "{} customers ({} with a repeat purchase), {} orders over {} days (generated in {:.2} s)\n",
        summaries.len(),
        repeaters,
        orders,
        plan.days,
        generated.as_secs_f64()
    );
    let seconds = |s: Option<f64>| s.map_or("?".to_owned(), |s| format!("{s:.3}"));
    println!("| step | wall-clock s | CPU s |\n|---|---:|---:|");
    for (step, wall, cpu) in [
        ("`summarize`", summarize_wall, summarize_cpu),
        ("`ClvModel::fit` (BG/NBD + Gamma-Gamma)", fit_wall, fit_cpu),
        ("`ClvModel::predict`, every customer", predict_wall, predict_cpu),
    ] {
        println!("| {step} | {wall:.3} | {} |", seconds(cpu));
    }
    println!(
        "| summarize + fit | {:.3} | {} |\n",
        summarize_wall + fit_wall,
        seconds(summarize_cpu.zip(fit_cpu).map(|(a, b)| a + b))
    );
    let bg = model.bg_nbd.params;
    let gg = model.gamma_gamma.params;
    println!("| parameter | true | recovered |\n|---|---:|---:|");
    for (name, t, e) in [
        ("r", truth.r, bg.r),
        ("alpha (days)", truth.alpha, bg.alpha),
        ("a", truth.a, bg.a),
        ("b", truth.b, bg.b),
        ("p", truth.p, gg.p),
        ("q", truth.q, gg.q),
        ("v (KZT)", truth.v, gg.v),
    ] {
        println!("| {name} | {t:.4} | {e:.4} |");
    }
    println!(
        "\nlog-likelihood: BG/NBD {:.1}, Gamma-Gamma {:.1}; predicted 12-month value of all customers {} KZT",
        model.bg_nbd.log_likelihood,
        model.gamma_gamma.log_likelihood,
        total_clv.round_dp(2)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_draws_have_the_right_mean_and_variance() {
        let mut rng = Rng::new(3);
        for shape in [0.25, 0.8, 2.4, 6.25] {
            let n = 200_000;
            let draws: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape)).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (mean - shape).abs() < 0.02 * shape.max(1.0),
                "shape {shape}: mean {mean}"
            );
            assert!(
                (var - shape).abs() < 0.05 * shape.max(1.0),
                "shape {shape}: variance {var}"
            );
        }
    }

    #[test]
    fn histories_are_reproducible_and_inside_the_observation() {
        let plan = ClvPlan {
            customers: 500,
            days: 365,
            seed: 9,
        };
        let end = time::macros::datetime!(2026-06-30 00:00 UTC);
        let a = histories(&plan, &CDNOW, end);
        assert_eq!(a, histories(&plan, &CDNOW, end));
        assert!(
            a.iter()
                .all(|(_, at, m)| *at <= end && *at >= end - Duration::days(365) && m.amount() > Decimal::ZERO)
        );
        let customers: std::collections::BTreeSet<_> = a.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(customers.len(), 500);
    }
}
