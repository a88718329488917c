//! Module metrics of a period: active customers, lead conversion, churn, average lifetime
//! value and lead conversion time, each defined here once.
//!
//! A period is the half-open interval `[from, to)` in UTC. What a customer *was* at an
//! instant `t` comes from its history (the events in the outbox, in the order they were
//! written), never from its current row: it is the state once every event *before* `t` has
//! happened, so an event at exactly `from` belongs to the period.
//!
//! - **status at `t`**: the status of its last `customer.created` (the initial status) or
//!   `customer.status.changed` (the new status) event before `t`;
//! - **live at `t`**: created before `t`, its last `customer.created`, `customer.deleted` or
//!   `customer.restored` event before `t` is not a deletion, and it was not merged into another
//!   customer (`customers.merged` naming it) before `t`.
//!
//! The metrics ([`ModuleMetrics`]):
//!
//! | metric | definition |
//! |---|---|
//! | `activeCustomers` | customers live and ACTIVE at `to` |
//! | `activeAtStart` | customers live and ACTIVE at `from` |
//! | `leadsCreated` | customers created in the period as a lead (LEAD or PROSPECT, the statuses a conversion starts from) and still live at `to` |
//! | `leadsConverted` | those of `leadsCreated` converted (`customer.lead.converted`: LEAD or PROSPECT → ACTIVE, by conversion, status change or won deal) in the period |
//! | `leadConversionRate` | `leadsConverted / leadsCreated`, 0..1, null when no lead was created |
//! | `averageLeadConversionTimeDays` | mean of (first conversion − creation) over `leadsConverted`, in days, null when none |
//! | `churnedCustomers` | those of `activeAtStart` moved to CHURNED in the period |
//! | `churnRate` | `churnedCustomers / activeAtStart`, 0..1, null when none was active at the start |
//! | `averageLifetimeValue` | mean current `lifetimeValue` of the customers live now (every status), null when there are none |
//!
//! Both rates count one cohort (their numerator is a subset of their denominator), so they stay
//! between 0 and 1. A lead deleted or merged away before `to` is not counted as created: a
//! duplicate merged into another customer is not a lead of its own. Lifetime values have no
//! history, so their average is the current one whatever the period. Customers purged after
//! their retention window leave no history and count nowhere.
//!
//! Rates are rounded half-even to 4 decimals, days to 2, money to cents.

use rust_decimal::{Decimal, RoundingStrategy};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use crate::error::ValidationErrors;
use crate::money::Money;

/// The period when none is asked for: the 30 days up to now.
pub const DEFAULT_PERIOD: Duration = Duration::days(30);

/// The longest period accepted: 3660 days (ten years and then some).
pub const MAX_PERIOD: Duration = Duration::days(3660);

/// Decimals of a rate.
pub const RATE_DECIMALS: u32 = 4;

/// Decimals of a number of days.
pub const DAYS_DECIMALS: u32 = 2;

/// The period `[from, to)` of the metrics, in UTC, with microsecond precision (what the stores
/// keep), `from` before `to`, at most [`MAX_PERIOD`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: OffsetDateTime,
    to: OffsetDateTime,
}

/// One end of a period as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// An instant.
    At(OffsetDateTime),
    /// A whole day in UTC: as `from` it starts at its midnight; as `to` the day is included
    /// (the period ends at the next midnight).
    Day(Date),
}

impl Bound {
    /// Parses an RFC 3339 date-time (`2026-01-31T12:00:00+05:00`) or a date (`2026-01-31`);
    /// `field` names the parameter in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationErrors> {
        let raw = raw.trim();
        if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
            // A time whose UTC form falls outside years 1..9999 cannot be compared with stored ones.
            return at
                .checked_to_offset(UtcOffset::UTC)
                .map(Bound::At)
                .ok_or_else(|| ValidationErrors::single(field, "is out of range (years 1 to 9999 in UTC)"));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(raw, &format).map(Bound::Day).map_err(|_| {
            ValidationErrors::single(
                field,
                "must be an RFC 3339 date-time (2026-01-31T12:00:00Z) or a date (2026-01-31)",
            )
        })
    }

    /// The instant this bound stands for as the start of a period.
    fn as_start(self) -> Option<OffsetDateTime> {
        match self {
            Bound::At(at) => Some(at),
            Bound::Day(day) => Some(day.with_time(Time::MIDNIGHT).assume_utc()),
        }
    }

    /// The instant this bound stands for as the (excluded) end of a period.
    fn as_end(self) -> Option<OffsetDateTime> {
        match self {
            Bound::At(at) => Some(at),
            Bound::Day(day) => day.next_day().map(|next| next.with_time(Time::MIDNIGHT).assume_utc()),
        }
    }
}

impl Period {
    /// `[from, to)`, checked. Errors name `from` (the period must start before it ends and
    /// span at most [`MAX_PERIOD`]).
    pub fn new(from: OffsetDateTime, to: OffsetDateTime) -> Result<Self, ValidationErrors> {
        let utc = |field: &str, at: OffsetDateTime| {
            at.checked_to_offset(UtcOffset::UTC)
                .map(to_micros)
                .ok_or_else(|| ValidationErrors::single(field, "is out of range (years 1 to 9999 in UTC)"))
        };
        let (from, to) = (utc("from", from)?, utc("to", to)?);
        if from >= to {
            return Err(ValidationErrors::single("from", "must be before to"));
        }
        if to - from > MAX_PERIOD {
            return Err(ValidationErrors::single(
                "from",
                format!("the period may span at most {} days", MAX_PERIOD.whole_days()),
            ));
        }
        Ok(Self { from, to })
    }

    /// The period asked for: `to` defaults to `now`, `from` to [`DEFAULT_PERIOD`] before `to`.
    /// Errors name the parameter: `from`, `to`.
    pub fn resolve(from: Option<Bound>, to: Option<Bound>, now: OffsetDateTime) -> Result<Self, ValidationErrors> {
        let end = match to {
            None => now,
            Some(bound) => bound
                .as_end()
                .ok_or_else(|| ValidationErrors::single("to", "is out of range (years 1 to 9999 in UTC)"))?,
        };
        let start = match from {
            None => end
                .checked_sub(DEFAULT_PERIOD)
                .ok_or_else(|| ValidationErrors::single("to", "is out of range (years 1 to 9999 in UTC)"))?,
            Some(bound) => bound
                .as_start()
                .ok_or_else(|| ValidationErrors::single("from", "is out of range (years 1 to 9999 in UTC)"))?,
        };
        Self::new(start, end)
    }

    /// Parses and resolves the `from` and `to` parameters (absent or blank: the default);
    /// every bad one is reported.
    pub fn parse(from: Option<&str>, to: Option<&str>, now: OffsetDateTime) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut bound = |field: &str, raw: Option<&str>| match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(raw) => match Bound::parse(field, raw) {
                Ok(bound) => Some(bound),
                Err(e) => {
                    for error in e.errors() {
                        errors.push(error.field.clone(), error.message.clone());
                    }
                    None
                }
            },
        };
        let (from, to) = (bound("from", from), bound("to", to));
        if !errors.is_empty() {
            return Err(errors);
        }
        Self::resolve(from, to, now)
    }

    /// The first instant of the period.
    pub const fn from(&self) -> OffsetDateTime {
        self.from
    }

    /// The first instant after the period.
    pub const fn to(&self) -> OffsetDateTime {
        self.to
    }
}

/// Rounds up to the microsecond: `t ≥ from` and `t < to` stay exact for stored (microsecond)
/// times.
fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    let floor = at.replace_nanosecond(nanos / 1_000 * 1_000).unwrap_or(at);
    if nanos.is_multiple_of(1_000) {
        floor
    } else {
        floor + Duration::microseconds(1)
    }
}

/// What the store counts for the metrics of a period (see the [module docs](self) for the
/// definitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricCounts {
    /// Customers live and ACTIVE at `from`.
    pub active_at_start: u64,
    /// Customers live and ACTIVE at `to`.
    pub active_at_end: u64,
    /// Of those active at `from`, the ones moved to CHURNED in the period.
    pub churned: u64,
    /// Customers created in the period as LEAD or PROSPECT, live at `to`.
    pub leads_created: u64,
    /// Of those, the ones converted in the period.
    pub leads_converted: u64,
    /// The sum, over the converted leads, of the time from creation to the first conversion
    /// (whole milliseconds each).
    pub conversion_time: Duration,
    /// Customers live now.
    pub live_customers: u64,
    /// The sum of their current lifetime values.
    pub lifetime_value_total: Decimal,
}

/// The module metrics of a period (see the [module docs](self) for the definitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleMetrics {
    /// The period.
    pub period: Period,
    /// When they were computed (the time of the current lifetime values).
    pub as_of: OffsetDateTime,
    /// Customers live and ACTIVE at `to`.
    pub active_customers: u64,
    /// Customers live and ACTIVE at `from`.
    pub active_at_start: u64,
    /// Leads created in the period (and live at `to`).
    pub leads_created: u64,
    /// Of those, converted in the period.
    pub leads_converted: u64,
    /// `leads_converted / leads_created`.
    pub lead_conversion_rate: Option<Decimal>,
    /// Mean time from creation to conversion of the converted leads, in days.
    pub average_lead_conversion_time_days: Option<Decimal>,
    /// Of the customers active at `from`, those moved to CHURNED in the period.
    pub churned_customers: u64,
    /// `churned_customers / active_at_start`.
    pub churn_rate: Option<Decimal>,
    /// Customers live now.
    pub live_customers: u64,
    /// Mean current lifetime value of the customers live now.
    pub average_lifetime_value: Option<Money>,
}

impl ModuleMetrics {
    /// The metrics from what the store counted.
    pub fn from_counts(period: Period, as_of: OffsetDateTime, counts: &MetricCounts) -> Self {
        Self {
            period,
            as_of,
            active_customers: counts.active_at_end,
            active_at_start: counts.active_at_start,
            leads_created: counts.leads_created,
            leads_converted: counts.leads_converted,
            lead_conversion_rate: rate(counts.leads_converted, counts.leads_created),
            average_lead_conversion_time_days: mean_days(counts.conversion_time, counts.leads_converted),
            churned_customers: counts.churned,
            churn_rate: rate(counts.churned, counts.active_at_start),
            live_customers: counts.live_customers,
            average_lifetime_value: mean_money(counts.lifetime_value_total, counts.live_customers),
        }
    }
}

/// `part / whole` rounded half-even to [`RATE_DECIMALS`]; `None` when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> Option<Decimal> {
    if whole == 0 {
        return None;
    }
    let value = Decimal::from(part) / Decimal::from(whole);
    Some(value.round_dp_with_strategy(RATE_DECIMALS, RoundingStrategy::MidpointNearestEven))
}

/// The mean of `count` durations summing to `total`, in days rounded half-even to
/// [`DAYS_DECIMALS`]; `None` when `count` is 0.
pub fn mean_days(total: Duration, count: u64) -> Option<Decimal> {
    if count == 0 {
        return None;
    }
    let millis = Decimal::from_i128_with_scale(total.whole_milliseconds(), 0);
    let days = millis / Decimal::from(count) / Decimal::from(86_400_000_u64);
    Some(days.round_dp_with_strategy(DAYS_DECIMALS, RoundingStrategy::MidpointNearestEven))
}

/// The mean of `count` amounts summing to `total`, in cents (half-even); `None` when `count`
/// is 0.
pub fn mean_money(total: Decimal, count: u64) -> Option<Money> {
    (count > 0).then(|| Money::round(total / Decimal::from(count)))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-15 10:30 UTC);

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn rates_from_counts() {
        // (part, whole, expected)
        let table: [(u64, u64, Option<&str>); 9] = [
            (0, 0, None),
            (5, 0, None),
            (0, 4, Some("0")),
            (1, 4, Some("0.25")),
            (4, 4, Some("1")),
            (1, 3, Some("0.3333")),
            (2, 3, Some("0.6667")),
            // 1/16 = 0.0625 is exact in 4 decimals; 1/32 = 0.03125 rounds half to even.
            (1, 32, Some("0.0312")),
            (3, 32, Some("0.0938")),
        ];
        for (part, whole, expected) in table {
            assert_eq!(rate(part, whole), expected.map(d), "{part}/{whole}");
        }
        assert_eq!(rate(1_000_000, 3_000_000), Some(d("0.3333")));
    }

    #[test]
    fn mean_days_from_a_total() {
        let table: [(Duration, u64, Option<&str>); 7] = [
            (Duration::ZERO, 0, None),
            (Duration::days(3), 0, None),
            (Duration::ZERO, 2, Some("0")),
            (Duration::days(3), 2, Some("1.5")),
            (Duration::hours(36) + Duration::days(10), 3, Some("3.83")),
            // 1 hour = 0.041666… days.
            (Duration::hours(1), 1, Some("0.04")),
            // 0.125 days rounds half to even: 0.12.
            (Duration::hours(3), 1, Some("0.12")),
        ];
        for (total, count, expected) in table {
            assert_eq!(mean_days(total, count), expected.map(d), "{total} / {count}");
        }
    }

    #[test]
    fn mean_money_in_cents() {
        assert_eq!(mean_money(Decimal::ZERO, 0), None);
        assert_eq!(mean_money(d("100"), 3).unwrap().amount().to_string(), "33.33");
        assert_eq!(mean_money(d("0.05"), 2).unwrap().amount().to_string(), "0.02");
        assert_eq!(
            mean_money(d("1500000.00"), 2).unwrap().amount().to_string(),
            "750000.00"
        );
    }

    #[test]
    fn metrics_from_counts() {
        let period = Period::new(datetime!(2026-05-01 0:00 UTC), datetime!(2026-06-01 0:00 UTC)).unwrap();
        let counts = MetricCounts {
            active_at_start: 8,
            active_at_end: 11,
            churned: 2,
            leads_created: 6,
            leads_converted: 3,
            conversion_time: Duration::days(4) + Duration::hours(12),
            live_customers: 20,
            lifetime_value_total: d("1000.10"),
        };
        let m = ModuleMetrics::from_counts(period, NOW, &counts);
        assert_eq!((m.active_customers, m.active_at_start), (11, 8));
        assert_eq!((m.leads_created, m.leads_converted), (6, 3));
        assert_eq!(m.lead_conversion_rate, Some(d("0.5")));
        assert_eq!(m.average_lead_conversion_time_days, Some(d("1.5")));
        assert_eq!((m.churned_customers, m.churn_rate), (2, Some(d("0.25"))));
        assert_eq!(m.live_customers, 20);
        assert_eq!(m.average_lifetime_value.unwrap().amount().to_string(), "50.00");
        assert_eq!((m.period, m.as_of), (period, NOW));

        let empty = ModuleMetrics::from_counts(period, NOW, &MetricCounts::default());
        assert_eq!(empty.lead_conversion_rate, None);
        assert_eq!(empty.average_lead_conversion_time_days, None);
        assert_eq!(empty.churn_rate, None);
        assert_eq!(empty.average_lifetime_value, None);
    }

    #[test]
    fn periods_resolve_defaults_and_days() {
        let at = |s| Bound::At(s);
        // (from, to, expected from, expected to)
        let table = [
            (None, None, datetime!(2026-05-16 10:30 UTC), NOW),
            (
                Some(at(datetime!(2026-06-01 0:00 UTC))),
                None,
                datetime!(2026-06-01 0:00 UTC),
                NOW,
            ),
            (
                None,
                Some(at(datetime!(2026-03-31 0:00 UTC))),
                datetime!(2026-03-01 0:00 UTC),
                datetime!(2026-03-31 0:00 UTC),
            ),
            // A day as `to` includes that day.
            (
                Some(Bound::Day(date!(2026 - 01 - 01))),
                Some(Bound::Day(date!(2026 - 01 - 31))),
                datetime!(2026-01-01 0:00 UTC),
                datetime!(2026-02-01 0:00 UTC),
            ),
            (
                None,
                Some(Bound::Day(date!(2026 - 02 - 28))),
                datetime!(2026-01-30 0:00 UTC),
                datetime!(2026-03-01 0:00 UTC),
            ),
            // The same day as both ends: that one day.
            (
                Some(Bound::Day(date!(2026 - 05 - 05))),
                Some(Bound::Day(date!(2026 - 05 - 05))),
                datetime!(2026-05-05 0:00 UTC),
                datetime!(2026-05-06 0:00 UTC),
            ),
            // Offsets become UTC; sub-microseconds round up.
            (
                Some(at(datetime!(2026-05-01 05:00 +05:00))),
                Some(at(datetime!(2026-05-02 0:00:00.000000001 UTC))),
                datetime!(2026-05-01 0:00 UTC),
                datetime!(2026-05-02 0:00:00.000001 UTC),
            ),
        ];
        for (from, to, want_from, want_to) in table {
            let period = Period::resolve(from, to, NOW).unwrap();
            assert_eq!((period.from(), period.to()), (want_from, want_to), "{from:?} {to:?}");
            assert_eq!(period.from().offset(), UtcOffset::UTC);
        }
    }

    #[test]
    fn periods_out_of_order_or_too_long_are_refused_naming_the_field() {
        let field = |r: Result<Period, ValidationErrors>| {
            r.unwrap_err()
                .errors()
                .iter()
                .map(|e| e.field.clone())
                .collect::<Vec<_>>()
        };
        let t = datetime!(2026-05-01 0:00 UTC);
        assert_eq!(field(Period::new(t, t)), ["from"]);
        assert_eq!(field(Period::new(t, t - Duration::microseconds(1))), ["from"]);
        assert!(Period::new(t, t + Duration::microseconds(1)).is_ok());
        assert!(Period::new(t - MAX_PERIOD, t).is_ok());
        assert_eq!(
            field(Period::new(t - MAX_PERIOD - Duration::microseconds(1), t)),
            ["from"]
        );
        // A `from` after now with the default `to`.
        assert_eq!(field(Period::parse(Some("2026-07-01"), None, NOW)), ["from"]);
        // Years apart.
        assert_eq!(
            field(Period::parse(Some("0001-01-01"), Some("9999-12-30"), NOW)),
            ["from"]
        );
        // Stored times are microseconds: [t, t + 1 ns) holds t, as [t, t + 1 µs) does.
        let tiny = Period::new(t, t + Duration::nanoseconds(1)).unwrap();
        assert_eq!(tiny.to(), t + Duration::microseconds(1));
        assert_eq!(
            field(Period::new(
                t + Duration::nanoseconds(1),
                t + Duration::nanoseconds(999)
            )),
            ["from"]
        );
    }

    #[test]
    fn parameters_parse_or_name_the_field() {
        let period = Period::parse(Some("2026-01-01"), Some("2026-01-31T12:00:00+05:00"), NOW).unwrap();
        assert_eq!(period.from(), datetime!(2026-01-01 0:00 UTC));
        assert_eq!(period.to(), datetime!(2026-01-31 07:00 UTC));
        // Blank means absent.
        assert_eq!(Period::parse(Some(" "), Some(""), NOW).unwrap().to(), NOW);

        let fields = |from, to| {
            Period::parse(from, to, NOW)
                .unwrap_err()
                .errors()
                .iter()
                .map(|e| e.field.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(Some("yesterday"), None), ["from"]);
        assert_eq!(fields(None, Some("2026-02-30")), ["to"]);
        assert_eq!(fields(Some("2026-13-01"), Some("soon")), ["from", "to"]);
        // A date-time that leaves years 1..9999 once in UTC.
        assert_eq!(fields(None, Some("9999-12-31T23:00:00-05:00")), ["to"]);
        // The last day there is has no next midnight.
        assert_eq!(fields(Some("9999-12-01"), Some("9999-12-31")), ["to"]);
    }
}
