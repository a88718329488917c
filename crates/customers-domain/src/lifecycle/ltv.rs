//! Lifetime value (LTV): the design's heuristic estimate of what a customer will bring in.
//!
//! ```text
//! average   = total_purchases / purchase_count            (0 without purchases)
//! months    = max(1, elapsed seconds since the first purchase (or creation) / 86 400 / 30)
//! frequency = purchase_count / months                     (orders per month)
//! lifetime  = max(1, base(status) × rating / 5)           (months; 0 for CHURNED, see below)
//! LTV       = average × frequency × lifetime, rounded half-even to 2 decimals
//! ```
//!
//! with `base` = LEAD 3, PROSPECT 6, ACTIVE 24, INACTIVE 12, CHURNED 0 months.
//!
//! Everything is computed in [`Decimal`], never in floating point.
//!
//! # Deliberate difference from the design document
//!
//! The design's `estimateCustomerLifetime` reads `baseLifetime[status] || 12`: in JavaScript the
//! CHURNED base of `0` is falsy, so a churned customer silently got the default of 12 months
//! (and then at least 1), i.e. a *positive* lifetime value. That contradicts the table it is
//! read from. Here a CHURNED customer has an expected lifetime of 0 months and therefore an LTV
//! of exactly 0.

use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::model::{CustomerStatus, Rating};
use crate::money::Money;

/// Seconds in the design's 30-day "month".
const SECONDS_PER_MONTH: i64 = 30 * 86_400;

/// The expected remaining relationship, in months, before the rating adjustment.
pub const fn base_lifetime_months(status: CustomerStatus) -> u32 {
    match status {
        CustomerStatus::Lead => 3,
        CustomerStatus::Prospect => 6,
        CustomerStatus::Active => 24,
        CustomerStatus::Inactive => 12,
        CustomerStatus::Churned => 0,
    }
}

/// The expected lifetime in months: `max(1, base(status) × rating / 5)`, and 0 for a CHURNED
/// customer (see the [module docs](self) for why that differs from the design).
pub fn estimated_lifetime_months(status: CustomerStatus, rating: Rating) -> Decimal {
    if status == CustomerStatus::Churned {
        return Decimal::ZERO;
    }
    let months = Decimal::from(base_lifetime_months(status)) * Decimal::from(rating.value()) / Decimal::from(5);
    months.max(Decimal::ONE)
}

/// Months (of 30 days) elapsed from `since` to `now`, at least 1; exact to the nanosecond.
pub fn months_since(since: OffsetDateTime, now: OffsetDateTime) -> Decimal {
    let elapsed = (now - since).whole_nanoseconds();
    // OffsetDateTime spans ±10 000 years, about 6·10^20 ns: always inside Decimal's 96 bits.
    let seconds = Decimal::try_from_i128_with_scale(elapsed, 9).unwrap_or(Decimal::MAX);
    let months = seconds
        .checked_div(Decimal::from(SECONDS_PER_MONTH))
        .unwrap_or(Decimal::ONE);
    months.max(Decimal::ONE)
}

/// The estimated lifetime value of a customer (see the [module docs](self) for the formula).
///
/// `first_purchase` is where purchase frequency is measured from; without one, `created_at`
/// is used. A `purchase_count` of 0 (or less) gives 0. Never panics: an amount too large to
/// store saturates at [`Money`]'s maximum.
pub fn lifetime_value(
    total_purchases: Money,
    purchase_count: i32,
    first_purchase: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    status: CustomerStatus,
    rating: Rating,
    now: OffsetDateTime,
) -> Money {
    let lifetime = estimated_lifetime_months(status, rating);
    if purchase_count <= 0 || lifetime.is_zero() {
        // `Money::round` gives the canonical "0.00" (Money::ZERO displays as "0").
        return Money::round(Decimal::ZERO);
    }
    let count = Decimal::from(purchase_count);
    let months = months_since(first_purchase.unwrap_or(created_at), now);
    let average = total_purchases.amount() / count;
    let frequency = count / months;
    // average × frequency is total / months up to Decimal's 28 significant digits; rounding
    // to cents below absorbs that. Overflow (impossible with storable amounts: at most
    // 10^16 × 48 months) saturates.
    let value = average
        .checked_mul(frequency)
        .and_then(|v| v.checked_mul(lifetime))
        .unwrap_or(if total_purchases.amount().is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        });
    Money::round(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CustomerStatus::{Active, Churned, Inactive, Lead, Prospect};
    use std::str::FromStr;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    fn rating(v: i64) -> Rating {
        Rating::parse(v).unwrap()
    }

    #[test]
    fn lifetime_months_per_status_and_rating() {
        let cases = [
            (Lead, 1, "1"), // 0.6 → floor of 1
            (Lead, 5, "3"),
            (Lead, 10, "6"),
            (Prospect, 1, "1.2"),
            (Prospect, 5, "6"),
            (Prospect, 7, "8.4"),
            (Prospect, 10, "12"),
            (Active, 1, "4.8"),
            (Active, 5, "24"),
            (Active, 10, "48"),
            (Inactive, 1, "2.4"),
            (Inactive, 5, "12"),
            (Inactive, 10, "24"),
            (Churned, 1, "0"),
            (Churned, 5, "0"),
            (Churned, 10, "0"),
        ];
        for (status, r, expected) in cases {
            assert_eq!(
                estimated_lifetime_months(status, rating(r)),
                Decimal::from_str(expected).unwrap(),
                "{status} rating {r}"
            );
        }
    }

    #[test]
    fn months_since_is_exact_with_a_floor_of_one() {
        let dec = |s: &str| Decimal::from_str(s).unwrap();
        let cases = [
            (Duration::days(60), dec("2")),
            (Duration::days(45), dec("1.5")),
            (Duration::days(31) + Duration::hours(12), dec("1.05")),
            (Duration::days(30) + Duration::hours(12), dec("61") / dec("60")),
            (Duration::days(3650), dec("365") / dec("3")),
            (Duration::days(30), dec("1")),
            (Duration::days(10), dec("1")),
            (Duration::ZERO, dec("1")),
            (Duration::days(-90), dec("1")), // a date in the future
        ];
        for (elapsed, expected) in cases {
            assert_eq!(months_since(NOW - elapsed, NOW), expected, "{elapsed}");
        }
    }

    /// (total, count, days since first purchase, status, rating, expected LTV)
    type Case = (&'static str, i32, i64, CustomerStatus, i64, &'static str);

    #[test]
    fn hand_computed_values() {
        let cases: [Case; 17] = [
            // average 30 000, 60 days = 2 months → frequency 2/month.
            ("120000", 4, 60, Lead, 1, "60000.00"),     // lifetime max(1, 0.6) = 1
            ("120000", 4, 60, Lead, 5, "180000.00"),    // lifetime 3
            ("120000", 4, 60, Lead, 10, "360000.00"),   // lifetime 6
            ("120000", 4, 60, Prospect, 1, "72000.00"), // lifetime 1.2
            ("120000", 4, 60, Prospect, 5, "360000.00"), // lifetime 6
            ("120000", 4, 60, Prospect, 7, "504000.00"), // lifetime 8.4
            ("120000", 4, 60, Active, 1, "288000.00"),  // lifetime 4.8
            ("120000", 4, 60, Active, 5, "1440000.00"), // lifetime 24
            ("120000", 4, 60, Active, 10, "2880000.00"), // lifetime 48
            ("120000", 4, 60, Inactive, 1, "144000.00"), // lifetime 2.4
            ("120000", 4, 60, Inactive, 5, "720000.00"), // lifetime 12
            ("120000", 4, 60, Inactive, 10, "1440000.00"), // lifetime 24
            // 45 days = 1.5 months: average 333.33…, frequency 2 → 1000 / 1.5 × 24.
            ("1000", 3, 45, Active, 5, "16000.00"),
            // 70 days = 7/3 months: 100 × 24 × 3 / 7 = 1028.571428… → 1028.57.
            ("100", 1, 70, Active, 5, "1028.57"),
            // 10 days: months floored to 1 → total × lifetime.
            ("5000.50", 2, 10, Active, 5, "120012.00"),
            // a first purchase "in the future" also counts as 1 month.
            ("5000.50", 2, -5, Inactive, 5, "60006.00"),
            // 0.01 × 1.2 = 0.012 → 0.01.
            ("0.01", 1, 0, Prospect, 1, "0.01"),
        ];
        for (total, count, days, status, r, expected) in cases {
            let first = NOW - Duration::days(days);
            let created = first - Duration::days(400); // ignored: there is a first purchase
            let value = lifetime_value(money(total), count, Some(first), created, status, rating(r), NOW);
            assert_eq!(value.to_string(), expected, "{total}/{count}/{days}d/{status}/{r}");
        }
    }

    #[test]
    fn elapsed_time_is_exact_not_whole_days() {
        // 30.5 days = 61/60 months: 61 × 24 × 60 / 61 = 1440.
        let first = NOW - Duration::days(30) - Duration::hours(12);
        let value = lifetime_value(money("61"), 1, Some(first), first, Active, rating(5), NOW);
        assert_eq!(value.to_string(), "1440.00");
    }

    #[test]
    fn without_a_first_purchase_created_at_is_used() {
        let created = NOW - Duration::days(60);
        let value = lifetime_value(money("120000"), 4, None, created, Active, rating(5), NOW);
        assert_eq!(value.to_string(), "1440000.00");
        let recent = NOW - Duration::days(3);
        let value = lifetime_value(money("120000"), 4, None, recent, Active, rating(5), NOW);
        assert_eq!(value.to_string(), "2880000.00");
    }

    #[test]
    fn no_purchases_is_zero() {
        let cases = [("0", 0), ("500", 0), ("500", -1), ("0", 3)];
        for (total, count) in cases {
            for status in CustomerStatus::ALL {
                let value = lifetime_value(money(total), count, None, NOW, *status, rating(10), NOW);
                assert_eq!(value, Money::ZERO, "{total}/{count}/{status}");
                assert_eq!(value.to_string(), "0.00");
            }
        }
    }

    #[test]
    fn churned_is_zero_unlike_the_design() {
        // The design's `0 || 12` would have given 120000 / 2 × 12 × 5/5 = 720000.
        for r in 1..=10 {
            let value = lifetime_value(
                money("120000"),
                4,
                Some(NOW - Duration::days(60)),
                NOW,
                Churned,
                rating(r),
                NOW,
            );
            assert_eq!(value.to_string(), "0.00", "rating {r}");
        }
    }

    #[test]
    fn huge_totals_saturate_without_panicking() {
        let max = "9999999999999999.99";
        let cases = [
            (max, 1, Active, 10, max),        // 10^16 × 48 saturates
            (max, i32::MAX, Active, 10, max), // same: the count cancels out
            (max, 1, Lead, 1, max),           // × 1 stays at the maximum
            ("1000000000000", 1, Active, 10, "48000000000000.00"),
            ("-9999999999999999.99", 1, Active, 10, "-9999999999999999.99"),
        ];
        for (total, count, status, r, expected) in cases {
            let value = lifetime_value(money(total), count, None, NOW, status, rating(r), NOW);
            assert_eq!(value.to_string(), expected, "{total}/{count}/{status}/{r}");
        }
        // The longest representable span does not overflow either.
        let value = lifetime_value(
            money(max),
            i32::MAX,
            Some(datetime!(-9999-01-01 0:00 UTC)),
            NOW,
            Active,
            rating(10),
            datetime!(9999-12-31 23:59:59.999_999_999 UTC),
        );
        assert!(value > Money::ZERO);
    }
}
