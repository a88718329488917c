//! A customer's purchases reduced to what the models need: frequency, recency, age and the
//! mean value of the repeat purchases.
//!
//! The conventions are those of Fader, Hardie & Lee and of the `lifetimes` package:
//!
//! - Time is counted in whole calendar days (UTC): all purchases of one day are **one**
//!   purchase, whose value is the sum of that day's amounts.
//! - `frequency` (x) is the number of *repeat* purchase days: the days with a purchase after
//!   the first one.
//! - `recency` (t_x) is the time from the first purchase day to the last one (0 without a
//!   repeat purchase).
//! - `age` (T) is the time from the first purchase day to the end of the observation period.
//! - `monetary` is the mean value of the repeat purchase days; the first day is left out, as
//!   the Gamma-Gamma model describes repeat spending. It is 0 without a repeat purchase.
//!
//! Recency and age are expressed in a [`TimeUnit`]: days for the service, weeks (a week being
//! seven days, not a calendar week) to compare with the published CDNOW results.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::money::Money;

/// The unit in which recency, age and the model's rate scale α are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// One day: what the service uses.
    #[default]
    Days,
    /// Seven days: what the BG/NBD and Gamma-Gamma papers use for CDNOW.
    Weeks,
}

impl TimeUnit {
    /// Days in one unit.
    pub const fn days(self) -> u32 {
        match self {
            TimeUnit::Days => 1,
            TimeUnit::Weeks => 7,
        }
    }

    /// A number of days in this unit.
    pub fn from_days(self, days: f64) -> f64 {
        days / f64::from(self.days())
    }

    /// A time in this unit, in days.
    pub fn to_days(self, time: f64) -> f64 {
        time * f64::from(self.days())
    }
}

/// Why a [`CustomerSummary`] is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    /// Recency or age is NaN or infinite.
    #[error("recency and age must be finite")]
    NotFinite,
    /// Recency or age is below 0.
    #[error("recency and age must be at least 0")]
    Negative,
    /// The last purchase is after the end of the observation period.
    #[error("recency must not exceed age")]
    RecencyAfterAge,
    /// Without a repeat purchase the last purchase is the first: recency must be 0.
    #[error("recency must be 0 without a repeat purchase")]
    RecencyWithoutRepeat,
}

/// One customer's purchase history as the models see it (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    frequency: u32,
    recency: f64,
    age: f64,
    monetary: Decimal,
}

impl CustomerSummary {
    /// A summary from its four figures; `recency` and `age` in the unit of the model that will
    /// use it. Checks that `0 ≤ recency ≤ age`, both finite, and `recency = 0` when
    /// `frequency = 0`. `monetary` is not checked: a customer whose repeat purchases were worth
    /// nothing (or were refunded) is simply left out of the spend model.
    pub fn new(frequency: u32, recency: f64, age: f64, monetary: Decimal) -> Result<Self, SummaryError> {
        if !recency.is_finite() || !age.is_finite() {
            return Err(SummaryError::NotFinite);
        }
        if recency < 0.0 || age < 0.0 {
            return Err(SummaryError::Negative);
        }
        if recency > age {
            return Err(SummaryError::RecencyAfterAge);
        }
        if frequency == 0 && recency != 0.0 {
            return Err(SummaryError::RecencyWithoutRepeat);
        }
        Ok(Self {
            frequency,
            recency,
            age,
            monetary,
        })
    }

    /// Repeat purchase days (x).
    pub const fn frequency(&self) -> u32 {
        self.frequency
    }

    /// From the first purchase to the last (t_x).
    pub const fn recency(&self) -> f64 {
        self.recency
    }

    /// From the first purchase to the end of the observation period (T).
    pub const fn age(&self) -> f64 {
        self.age
    }

    /// Mean value of a repeat purchase day; 0 without one.
    pub const fn monetary(&self) -> Decimal {
        self.monetary
    }
}

/// Summaries of every customer with at least one purchase at or before `observation_end`,
/// from `(customer, time, amount)` purchases in any order; later purchases are ignored.
///
/// Days are calendar days in UTC; recency and age are whole days expressed in `unit`. The mean
/// value of the repeat days is exact (a [`Decimal`] quotient).
pub fn summarize<K, I>(purchases: I, observation_end: OffsetDateTime, unit: TimeUnit) -> BTreeMap<K, CustomerSummary>
where
    K: Ord,
    I: IntoIterator<Item = (K, OffsetDateTime, Money)>,
{
    let end = utc_date(observation_end);
    let mut days: BTreeMap<K, BTreeMap<Date, Decimal>> = BTreeMap::new();
    for (customer, at, amount) in purchases {
        if at > observation_end {
            continue;
        }
        let total = days.entry(customer).or_default().entry(utc_date(at)).or_default();
        *total = saturating_add(*total, amount.amount());
    }
    days.into_iter()
        .filter_map(|(customer, days)| {
            let (&first, _) = days.first_key_value()?;
            let (&last, _) = days.last_key_value()?;
            let frequency = u32::try_from(days.len() - 1).unwrap_or(u32::MAX);
            let repeat_total = days
                .values()
                .skip(1)
                .fold(Decimal::ZERO, |acc, v| saturating_add(acc, *v));
            let monetary = if frequency == 0 {
                Decimal::ZERO
            } else {
                repeat_total / Decimal::from(frequency)
            };
            let recency = unit.from_days((last - first).whole_days() as f64);
            let age = unit.from_days((end - first).whole_days() as f64);
            let summary = CustomerSummary {
                frequency,
                recency,
                age,
                monetary,
            };
            Some((customer, summary))
        })
        .collect()
}

fn utc_date(at: OffsetDateTime) -> Date {
    at.to_offset(UtcOffset::UTC).date()
}

fn saturating_add(a: Decimal, b: Decimal) -> Decimal {
    a.checked_add(b).unwrap_or(if b.is_sign_negative() {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::datetime;

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    #[test]
    fn same_day_purchases_count_once_and_are_summed() {
        let end = datetime!(2025-03-31 23:59:59 UTC);
        let purchases = vec![
            ("a", datetime!(2025-01-01 09:00 UTC), money("10")),
            ("a", datetime!(2025-01-01 18:00 UTC), money("5")), // same day as the first: not a repeat
            ("a", datetime!(2025-01-15 10:00 UTC), money("20")),
            ("a", datetime!(2025-01-15 11:00 UTC), money("30")), // the 15th is worth 50
            ("a", datetime!(2025-02-04 08:00 UTC), money("25")),
            ("a", datetime!(2025-04-01 00:00 UTC), money("999")), // after the end: ignored
            ("b", datetime!(2025-03-01 12:00 UTC), money("7")),
        ];
        let summaries = summarize(purchases, end, TimeUnit::Days);
        assert_eq!(summaries.len(), 2);
        let a = &summaries["a"];
        assert_eq!(a.frequency(), 2);
        assert_eq!(a.recency(), 34.0); // Jan 1 → Feb 4
        assert_eq!(a.age(), 89.0); // Jan 1 → Mar 31
        assert_eq!(a.monetary(), Decimal::from_str("37.5").unwrap()); // (50 + 25) / 2
        let b = &summaries["b"];
        assert_eq!(
            (b.frequency(), b.recency(), b.age(), b.monetary()),
            (0, 0.0, 30.0, Decimal::ZERO)
        );
    }

    #[test]
    fn weeks_are_seven_days() {
        let end = datetime!(1997-09-30 0:00 UTC);
        let purchases = vec![
            (1, datetime!(1997-01-01 0:00 UTC), money("29.33")),
            (1, datetime!(1997-01-18 0:00 UTC), money("29.73")),
            (1, datetime!(1997-08-02 0:00 UTC), money("14.96")),
            (1, datetime!(1997-12-12 0:00 UTC), money("26.48")),
        ];
        let s = &summarize(purchases, end, TimeUnit::Weeks)[&1];
        assert_eq!(s.frequency(), 2);
        assert_eq!(s.recency(), 213.0 / 7.0); // 30.43 weeks in the published summary
        assert_eq!(s.age(), 272.0 / 7.0); // 38.86 weeks
        assert_eq!(s.monetary(), Decimal::from_str("22.345").unwrap());
    }

    #[test]
    fn days_are_utc_days() {
        // 23:30 at UTC+5 on the 2nd is 18:30 UTC on the 2nd; 03:00 at UTC+5 on the 3rd is
        // 22:00 UTC on the 2nd: one day.
        let end = datetime!(2025-01-10 12:00 UTC);
        let purchases = vec![
            ("c", datetime!(2025-01-02 23:30 +5), money("1")),
            ("c", datetime!(2025-01-03 03:00 +5), money("2")),
        ];
        let s = &summarize(purchases, end, TimeUnit::Days)["c"];
        assert_eq!((s.frequency(), s.age()), (0, 8.0));
    }

    #[test]
    fn validation() {
        let zero = Decimal::ZERO;
        assert!(CustomerSummary::new(0, 0.0, 0.0, zero).is_ok());
        assert!(CustomerSummary::new(3, 5.0, 5.0, zero).is_ok());
        let cases = [
            (1, f64::NAN, 3.0, SummaryError::NotFinite),
            (1, 1.0, f64::INFINITY, SummaryError::NotFinite),
            (1, -1.0, 3.0, SummaryError::Negative),
            (0, 0.0, -3.0, SummaryError::Negative),
            (1, 4.0, 3.0, SummaryError::RecencyAfterAge),
            (0, 1.0, 3.0, SummaryError::RecencyWithoutRepeat),
        ];
        for (x, tx, t, expected) in cases {
            assert_eq!(CustomerSummary::new(x, tx, t, zero), Err(expected), "{x} {tx} {t}");
        }
    }
}
