//! BG/NBD and Gamma-Gamma on the CDNOW sample reproduce the published estimates.
//!
//! # The fixtures
//!
//! Both files derive from `lifetimes/datasets/CDNOW_sample.txt` of the `lifetimes` package
//! (version 0.11.3 on PyPI): 6,919 purchases of 2,357 customers who made their first purchase
//! at CDNOW in the first quarter of 1997, with columns master id, sample id (1–2357), date
//! (YYYYMMDD), number of CDs and dollar value.
//!
//! - `fixtures/cdnow_calibration.csv` (`customer,date,amount`): the 4,960 purchases of the
//!   39-week calibration period, dated up to 1997-09-30 inclusive; `customer` is the sample id.
//! - `fixtures/cdnow_summary.csv` (`customer,frequency,recency_days,age_days,monetary`): per
//!   customer, with purchases of one day merged into one (their values summed): `frequency`
//!   the number of purchase days after the first, `recency_days` the days from the first
//!   purchase day to the last, `age_days` the days from the first purchase day to 1997-09-30,
//!   `monetary` the mean value of the repeat purchase days (0 without), rounded half-even to
//!   six decimals.
//!
//! Recency and age in weeks are the days divided by 7. These are the conventions of the
//! published summary (the Fader-Hardie file shipped as `cdnow_customers_summary.csv`, with
//! which the summary agrees for every customer to its two decimals, mean values included) and
//! of `lifetimes`' `summary_data_from_transaction_data` at daily frequency. Calendar-week
//! periods (`freq='W'`) would be a different summary: purchases of one week would merge, which
//! changes the frequency of 151 customers, and the published estimates would not be
//! reproduced.

use std::collections::BTreeMap;
use std::str::FromStr;

use customers_domain::Money;
use customers_domain::analytics::clv::{
    BgNbd, BgNbdParams, ClvModel, CustomerSummary, Eligibility, GammaGamma, ModelUnavailable, PredictionSettings,
    TimeUnit, summarize,
};
use rust_decimal::{Decimal, RoundingStrategy};
use time::macros::{date, datetime};
use time::{Date, Month, OffsetDateTime};

const SUMMARY: &str = include_str!("fixtures/cdnow_summary.csv");
const CALIBRATION: &str = include_str!("fixtures/cdnow_calibration.csv");

/// The summaries of the fixture, recency and age in `unit`.
fn summaries(unit: TimeUnit) -> BTreeMap<u32, CustomerSummary> {
    SUMMARY
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let days = |s: &str| unit.from_days(f64::from(s.parse::<u32>().unwrap()));
            let summary = CustomerSummary::new(
                f[1].parse().unwrap(),
                days(f[2]),
                days(f[3]),
                Decimal::from_str(f[4]).unwrap(),
            )
            .unwrap();
            (f[0].parse().unwrap(), summary)
        })
        .collect()
}

fn weekly() -> Vec<CustomerSummary> {
    summaries(TimeUnit::Weeks).into_values().collect()
}

fn ymd(s: &str) -> Date {
    let n: u32 = s.parse().unwrap();
    let month = Month::try_from((n / 100 % 100) as u8).unwrap();
    Date::from_calendar_date((n / 10_000) as i32, month, (n % 100) as u8).unwrap()
}

fn purchases() -> Vec<(u32, OffsetDateTime, Money)> {
    CALIBRATION
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let at = ymd(f[1]).midnight().assume_utc();
            (
                f[0].parse().unwrap(),
                at,
                Money::parse(Decimal::from_str(f[2]).unwrap()).unwrap(),
            )
        })
        .collect()
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[test]
fn the_summary_builder_reproduces_the_fixture() {
    let built = summarize(purchases(), datetime!(1997-09-30 23:59:59 UTC), TimeUnit::Weeks);
    let expected = summaries(TimeUnit::Weeks);
    assert_eq!(built.len(), 2357);
    assert_eq!(built.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (customer, s) in &built {
        let e = &expected[customer];
        assert_eq!(s.frequency(), e.frequency(), "customer {customer}");
        assert_eq!(s.recency(), e.recency(), "customer {customer}");
        assert_eq!(s.age(), e.age(), "customer {customer}");
        assert_eq!(s.monetary().round_dp(6), e.monetary(), "customer {customer}");
    }
    // Customers of the published summary (x, t_x, T in weeks, mean value; rounded half up).
    let published = [
        (1, 2, 30.43, 38.86, "22.35"),
        (2, 1, 1.71, 38.86, "11.77"),
        (3, 0, 0.0, 38.86, "0.00"),
        (157, 29, 37.71, 38.0, "26.26"),
    ];
    for (customer, x, tx, t, m) in published {
        let s = &built[&customer];
        assert_eq!(s.frequency(), x);
        assert_eq!(round(s.recency(), 2), tx);
        assert_eq!(round(s.age(), 2), t);
        let half_up = s
            .monetary()
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(half_up, Decimal::from_str(m).unwrap(), "customer {customer}");
    }
}

#[test]
fn bg_nbd_reproduces_the_published_estimates() {
    let summaries = weekly();
    let fit = BgNbd::fit(&summaries, TimeUnit::Weeks).unwrap();
    let p = fit.params;
    // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
    assert_eq!(
        (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)),
        (0.243, 4.414, 0.793, 2.426),
        "{p:?}"
    );
    assert_eq!(round(fit.log_likelihood, 1), -9582.4, "{}", fit.log_likelihood);
    assert_eq!(fit.customers, 2357);
    assert_eq!(fit.time_unit, TimeUnit::Weeks);
    // The reported log-likelihood is the data's at the estimate, and no published-rounded
    // neighbour does better.
    assert!((p.total_log_likelihood(&summaries) - fit.log_likelihood).abs() < 1e-6);
    let published = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let at_published = published.total_log_likelihood(&summaries);
    assert!(at_published <= fit.log_likelihood && fit.log_likelihood - at_published < 0.01);
}

#[test]
fn the_estimate_does_not_depend_on_the_time_unit() {
    let weeks = BgNbd::fit(&weekly(), TimeUnit::Weeks).unwrap().params;
    let days: Vec<CustomerSummary> = summaries(TimeUnit::Days).into_values().collect();
    let daily = BgNbd::fit(&days, TimeUnit::Days).unwrap().params;
    let rel = |a: f64, b: f64| (a - b).abs() / b;
    assert!(rel(daily.r, weeks.r) < 1e-5, "{daily:?} {weeks:?}");
    assert!(rel(daily.alpha, weeks.alpha * 7.0) < 1e-5, "{daily:?} {weeks:?}");
    assert!(rel(daily.a, weeks.a) < 1e-5, "{daily:?} {weeks:?}");
    assert!(rel(daily.b, weeks.b) < 1e-5, "{daily:?} {weeks:?}");
}

#[test]
fn gamma_gamma_reproduces_the_published_estimates() {
    let fit = GammaGamma::fit(&weekly()).unwrap();
    let p = fit.params;
    // Fader & Hardie (2013): p = 6.25, q = 3.74, γ = 15.44 (lifetimes prints v = 15.45).
    assert_eq!((round(p.p, 2), round(p.q, 2)), (6.25, 3.74), "{p:?}");
    assert!((p.v - 15.445).abs() < 0.01, "{p:?}");
    assert_eq!(fit.customers, 946);
    // Frequency and spend are close to uncorrelated in CDNOW (the model's assumption).
    assert!(
        fit.frequency_value_correlation.abs() < 0.2,
        "{}",
        fit.frequency_value_correlation
    );
}

#[test]
fn predictions_for_cdnow_customers() {
    let summaries = summaries(TimeUnit::Weeks);
    let all: Vec<CustomerSummary> = summaries.values().cloned().collect();
    let model = ClvModel::fit(&all, TimeUnit::Weeks, &Eligibility::default()).unwrap();
    let as_of = date!(1997 - 09 - 30);
    let settings = PredictionSettings::default();

    // Customer 1: x = 2, t_x = 30.43, T = 38.86; FHL 2005 quote E[Y(39)] = 1.226.
    let one = &summaries[&1];
    let bg = &model.bg_nbd.params;
    assert_eq!(round(bg.conditional_expected_purchases(one, 39.0), 3), 1.226);
    let prediction = model.predict(one, as_of, &settings);
    assert!((prediction.churn_probability + prediction.p_alive - 1.0).abs() < 1e-15);
    assert_eq!(round(prediction.p_alive, 3), 0.727);
    // 90 days = 12.857 weeks.
    assert!((prediction.expected_purchases - bg.conditional_expected_purchases(one, 90.0 / 7.0)).abs() < 1e-15);
    // Gamma-Gamma: p(v + 2·22.345)/(2p + q − 1), between the mean 22.345 and the population's.
    let eov = prediction.expected_order_value.amount();
    assert!(
        eov > Decimal::from_str("22.345").unwrap() && eov < Decimal::from(36),
        "{eov}"
    );
    // The 12-month value is the expected purchases over 365.25 days times that value.
    let year = bg.conditional_expected_purchases(one, 365.25 / 7.0);
    let eov_f = model.gamma_gamma.params.expected_order_value(2, 22.345);
    let expected_clv = Decimal::from_f64_retain(year * eov_f).unwrap().round_dp(2);
    assert_eq!(prediction.predicted_clv.amount(), expected_clv);
    // One more purchase is expected within the 39 weeks (E = 1.226 there).
    let next = prediction.next_purchase.unwrap();
    assert!(next > as_of && next < as_of + time::Duration::weeks(39), "{next}");

    // A customer without a repeat purchase is alive by assumption, and buys rarely.
    let three = model.predict(&summaries[&3], as_of, &settings);
    assert_eq!((three.p_alive, three.churn_probability), (1.0, 0.0));
    assert_eq!(three.next_purchase, None);
    assert_eq!(
        three.expected_order_value,
        Money::round(Decimal::from_f64_retain(model.gamma_gamma.params.population_mean()).unwrap())
    );

    // Over the whole sample, churn probabilities are probabilities and the predictions finite.
    for s in &all {
        let p = model.predict(s, as_of, &settings);
        assert!((0.0..=1.0).contains(&p.churn_probability));
        assert!(p.expected_purchases.is_finite() && p.expected_purchases >= 0.0);
        assert!(p.predicted_clv >= Money::ZERO);
    }

    // Stored and read back, the model predicts the same. (JSON numbers can come back one ulp
    // off: compare the predictions, not the bits.)
    let json = serde_json::to_string(&model).unwrap();
    assert!(
        json.contains("\"bgNbd\"") && json.contains("\"timeUnit\":\"weeks\""),
        "{json}"
    );
    let back: ClvModel = serde_json::from_str(&json).unwrap();
    for customer in [1, 3, 157] {
        let (a, b) = (
            model.predict(&summaries[&customer], as_of, &settings),
            back.predict(&summaries[&customer], as_of, &settings),
        );
        assert!((a.p_alive - b.p_alive).abs() < 1e-12 && (a.expected_purchases - b.expected_purchases).abs() < 1e-12);
        assert_eq!(
            (a.expected_order_value, a.predicted_clv, a.next_purchase),
            (b.expected_order_value, b.predicted_clv, b.next_purchase)
        );
    }
}

#[test]
fn discounting_lowers_the_value() {
    let all = weekly();
    let model = ClvModel::fit(&all, TimeUnit::Weeks, &Eligibility::default()).unwrap();
    let heavy = &summaries(TimeUnit::Weeks)[&157]; // 29 repeat purchases
    let plain = model.predict(heavy, date!(1997 - 09 - 30), &PredictionSettings::default());
    let discounted = model.predict(
        heavy,
        date!(1997 - 09 - 30),
        &PredictionSettings {
            monthly_discount_rate: Some(Decimal::from_str("0.01").unwrap()),
            ..PredictionSettings::default()
        },
    );
    assert!(discounted.predicted_clv < plain.predicted_clv);
    // Every month's purchases are discounted by at least 1/1.01^12 and at most 1/1.01.
    let ratio = discounted.predicted_clv.amount() / plain.predicted_clv.amount();
    assert!(
        ratio > Decimal::ONE / Decimal::from_str("1.126825").unwrap()
            && ratio < Decimal::from(100) / Decimal::from(101)
    );
    // A heavy buyer buys again within days.
    let next = plain.next_purchase.unwrap();
    assert!(next <= date!(1997 - 10 - 14), "{next}");
}

#[test]
fn a_small_workspace_gets_no_model_with_the_reason() {
    let some: Vec<CustomerSummary> = weekly().into_iter().take(150).collect();
    let error = ClvModel::fit(&some, TimeUnit::Weeks, &Eligibility::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not enough data: 150 customers with a purchase; a model needs at least 200"
    );
    assert!(matches!(error, ModelUnavailable::Ineligible(_)));
    // With a lower threshold the same customers are fitted.
    let relaxed = Eligibility {
        min_customers: 100,
        min_history_days: 90,
    };
    assert!(ClvModel::fit(&some, TimeUnit::Weeks, &relaxed).is_ok());
}
