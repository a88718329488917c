//! Customer segments: one rule, first match wins, with thresholds per workspace.
//!
//! With `d` the whole days since the last purchase, `n` the purchase count and `age` the whole
//! days since the customer was created:
//!
//! | # | segment   | when |
//! |---|-----------|------|
//! | 1 | LOST      | status CHURNED, or n ≥ 1 and d > 365 |
//! | 2 | VIP       | lifetimeValue > 10,000,000 KZT and d < 30 |
//! | 3 | LOYAL     | n > 10 and d < 60 |
//! | 4 | NEW       | n = 1 and d < 30, or n = 0 and age < 30 |
//! | 5 | AT_RISK   | n > 5 and d > 90 |
//! | 6 | DORMANT   | d > 180, or n = 0 and age > 180 |
//! | 7 | PROMISING | everything else |
//!
//! (the numbers are the defaults of [`SegmentRules`]). A customer without a last purchase
//! date has no `d`: every condition on `d` is false for it.
//!
//! # Deliberate differences from the design document
//!
//! The design's `determineSegment` tests DORMANT (d > 180) before LOST (d > 365 or CHURNED),
//! so LOST is unreachable for most lost customers; and a customer without purchases has
//! `d = Infinity`, so a lead created yesterday lands in DORMANT. Here LOST comes first, and a
//! customer without purchases is NEW, PROMISING or DORMANT by its age.
//!
//! Every rule is a [`Condition`] over stored columns, so the database can filter and count
//! segments with the very same logic ([`segment_condition`], evaluated in Rust by
//! [`Condition::holds`] and translated to SQL by the adapter).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::ValidationErrors;
use crate::model::{Customer, CustomerStatus, UnknownValue};
use crate::money::Money;

/// A segment of customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Segment {
    /// Churned, or no purchase for over a year.
    #[serde(rename = "LOST")]
    Lost,
    /// High lifetime value and a recent purchase.
    #[serde(rename = "VIP")]
    Vip,
    /// Many purchases, recently.
    #[serde(rename = "LOYAL")]
    Loyal,
    /// A first purchase recently, or created recently without one.
    #[serde(rename = "NEW")]
    New,
    /// Several purchases, none for a while.
    #[serde(rename = "AT_RISK")]
    AtRisk,
    /// No purchase for a long time, or none since long ago.
    #[serde(rename = "DORMANT")]
    Dormant,
    /// Everyone else.
    #[serde(rename = "PROMISING")]
    Promising,
}

impl Segment {
    /// Every segment, in the order the rule tries them.
    pub const ALL: [Segment; 7] = [
        Segment::Lost,
        Segment::Vip,
        Segment::Loyal,
        Segment::New,
        Segment::AtRisk,
        Segment::Dormant,
        Segment::Promising,
    ];

    /// Every wire name.
    pub const WIRE: &'static [&'static str] = &["LOST", "VIP", "LOYAL", "NEW", "AT_RISK", "DORMANT", "PROMISING"];

    /// The wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Segment::Lost => "LOST",
            Segment::Vip => "VIP",
            Segment::Loyal => "LOYAL",
            Segment::New => "NEW",
            Segment::AtRisk => "AT_RISK",
            Segment::Dormant => "DORMANT",
            Segment::Promising => "PROMISING",
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Segment {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Segment::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownValue {
                value: s.to_owned(),
                allowed: Segment::WIRE,
            })
    }
}

/// The thresholds of the segment rule (days are whole days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SegmentRules {
    /// LOST: no purchase for more than this many days.
    pub lost_after_days: u32,
    /// VIP: lifetime value above this.
    pub vip_lifetime_value: Money,
    /// VIP: last purchase fewer than this many days ago.
    pub vip_within_days: u32,
    /// LOYAL: more than this many purchases …
    pub loyal_min_purchases: u32,
    /// … the last fewer than this many days ago.
    pub loyal_within_days: u32,
    /// NEW: the only purchase, or the creation, fewer than this many days ago.
    pub new_within_days: u32,
    /// AT_RISK: more than this many purchases …
    pub at_risk_min_purchases: u32,
    /// … none for more than this many days.
    pub at_risk_after_days: u32,
    /// DORMANT: no purchase (or, without any, no creation) for more than this many days.
    pub dormant_after_days: u32,
}

impl Default for SegmentRules {
    fn default() -> Self {
        Self {
            lost_after_days: 365,
            vip_lifetime_value: Money::parse(rust_decimal::Decimal::from(10_000_000)).unwrap_or(Money::ZERO),
            vip_within_days: 30,
            loyal_min_purchases: 10,
            loyal_within_days: 60,
            new_within_days: 30,
            at_risk_min_purchases: 5,
            at_risk_after_days: 90,
            dormant_after_days: 180,
        }
    }
}

/// The longest threshold accepted, in days (about 100 years).
pub const MAX_DAYS: u32 = 36_600;

impl SegmentRules {
    /// Checks the thresholds: days from 1 to [`MAX_DAYS`], a non-negative VIP value.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (field, days) in [
            ("lostAfterDays", self.lost_after_days),
            ("vipWithinDays", self.vip_within_days),
            ("loyalWithinDays", self.loyal_within_days),
            ("newWithinDays", self.new_within_days),
            ("atRiskAfterDays", self.at_risk_after_days),
            ("dormantAfterDays", self.dormant_after_days),
        ] {
            if !(1..=MAX_DAYS).contains(&days) {
                errors.push(field, format!("must be between 1 and {MAX_DAYS} days"));
            }
        }
        for (field, count) in [
            ("loyalMinPurchases", self.loyal_min_purchases),
            ("atRiskMinPurchases", self.at_risk_min_purchases),
        ] {
            if count > 1_000_000 {
                errors.push(field, "must be at most 1000000");
            }
        }
        if self.vip_lifetime_value.amount().is_sign_negative() && !self.vip_lifetime_value.amount().is_zero() {
            errors.push("vipLifetimeValue", "must be greater than or equal to 0");
        }
        errors.into_result(|| self)
    }
}

/// What the rule looks at, as stored on the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentFacts {
    /// Funnel status.
    pub status: CustomerStatus,
    /// Completed orders.
    pub purchase_count: i32,
    /// The last one.
    pub last_purchase: Option<OffsetDateTime>,
    /// Creation.
    pub created_at: OffsetDateTime,
    /// Estimated lifetime value.
    pub lifetime_value: Money,
}

impl From<&Customer> for SegmentFacts {
    fn from(c: &Customer) -> Self {
        Self {
            status: c.status,
            purchase_count: c.purchase_count,
            last_purchase: c.last_purchase_date,
            created_at: c.created_at,
            lifetime_value: c.lifetime_value,
        }
    }
}

/// A condition on the stored columns of a customer; two-valued (a missing last purchase date
/// makes every comparison with it false).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The status is this one.
    StatusIs(CustomerStatus),
    /// purchaseCount ≥ this.
    PurchasesAtLeast(i64),
    /// purchaseCount = this.
    PurchasesEqual(i64),
    /// lastPurchaseDate exists and is at or before this instant.
    LastPurchaseAtOrBefore(OffsetDateTime),
    /// lastPurchaseDate exists and is after this instant.
    LastPurchaseAfter(OffsetDateTime),
    /// createdAt is at or before this instant.
    CreatedAtOrBefore(OffsetDateTime),
    /// createdAt is after this instant.
    CreatedAfter(OffsetDateTime),
    /// lifetimeValue > this.
    LifetimeValueAbove(Money),
    /// All of them.
    All(Vec<Condition>),
    /// Any of them.
    Any(Vec<Condition>),
    /// Not this one.
    Not(Box<Condition>),
}

impl Condition {
    /// Whether `facts` satisfy the condition.
    pub fn holds(&self, facts: &SegmentFacts) -> bool {
        match self {
            Condition::StatusIs(s) => facts.status == *s,
            Condition::PurchasesAtLeast(n) => i64::from(facts.purchase_count) >= *n,
            Condition::PurchasesEqual(n) => i64::from(facts.purchase_count) == *n,
            Condition::LastPurchaseAtOrBefore(t) => facts.last_purchase.is_some_and(|l| l <= *t),
            Condition::LastPurchaseAfter(t) => facts.last_purchase.is_some_and(|l| l > *t),
            Condition::CreatedAtOrBefore(t) => facts.created_at <= *t,
            Condition::CreatedAfter(t) => facts.created_at > *t,
            Condition::LifetimeValueAbove(v) => facts.lifetime_value > *v,
            Condition::All(all) => all.iter().all(|c| c.holds(facts)),
            Condition::Any(any) => any.iter().any(|c| c.holds(facts)),
            Condition::Not(c) => !c.holds(facts),
        }
    }
}

/// `d > days` for whole days `d` since the last purchase: the last purchase is at least
/// `days + 1` whole days before `now`.
fn purchase_more_than(days: u32, now: OffsetDateTime) -> Condition {
    Condition::LastPurchaseAtOrBefore(now - Duration::days(i64::from(days) + 1))
}

/// `d < days`: the last purchase is less than `days` days before `now` (or after it).
fn purchase_less_than(days: u32, now: OffsetDateTime) -> Condition {
    Condition::LastPurchaseAfter(now - Duration::days(i64::from(days)))
}

/// The rule of one segment on its own (without the earlier segments' rules).
pub fn own_rule(segment: Segment, rules: &SegmentRules, now: OffsetDateTime) -> Condition {
    use Condition::{All, Any};
    let days = |d: u32| Duration::days(i64::from(d));
    match segment {
        Segment::Lost => Any(vec![
            Condition::StatusIs(CustomerStatus::Churned),
            All(vec![
                Condition::PurchasesAtLeast(1),
                purchase_more_than(rules.lost_after_days, now),
            ]),
        ]),
        Segment::Vip => All(vec![
            Condition::LifetimeValueAbove(rules.vip_lifetime_value),
            purchase_less_than(rules.vip_within_days, now),
        ]),
        Segment::Loyal => All(vec![
            Condition::PurchasesAtLeast(i64::from(rules.loyal_min_purchases) + 1),
            purchase_less_than(rules.loyal_within_days, now),
        ]),
        Segment::New => Any(vec![
            All(vec![
                Condition::PurchasesEqual(1),
                purchase_less_than(rules.new_within_days, now),
            ]),
            All(vec![
                Condition::PurchasesEqual(0),
                Condition::CreatedAfter(now - days(rules.new_within_days)),
            ]),
        ]),
        Segment::AtRisk => All(vec![
            Condition::PurchasesAtLeast(i64::from(rules.at_risk_min_purchases) + 1),
            purchase_more_than(rules.at_risk_after_days, now),
        ]),
        Segment::Dormant => Any(vec![
            purchase_more_than(rules.dormant_after_days, now),
            All(vec![
                Condition::PurchasesEqual(0),
                Condition::CreatedAtOrBefore(now - days(rules.dormant_after_days + 1)),
            ]),
        ]),
        Segment::Promising => All(vec![]),
    }
}

/// Membership of `segment` as the rule decides it: its own rule, and none of the rules tried
/// before it.
pub fn segment_condition(segment: Segment, rules: &SegmentRules, now: OffsetDateTime) -> Condition {
    let mut all: Vec<Condition> = Segment::ALL
        .iter()
        .take_while(|s| **s != segment)
        .map(|earlier| Condition::Not(Box::new(own_rule(*earlier, rules, now))))
        .collect();
    all.push(own_rule(segment, rules, now));
    Condition::All(all)
}

/// The segment of a customer, and why, in words ("LOYAL: 14 purchases, the last 12 days ago").
pub fn classify(facts: &SegmentFacts, rules: &SegmentRules, now: OffsetDateTime) -> (Segment, String) {
    let segment = Segment::ALL
        .into_iter()
        .find(|s| own_rule(*s, rules, now).holds(facts))
        .unwrap_or(Segment::Promising);
    (segment, reason(segment, facts, now))
}

fn whole_days(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_days().max(0)
}

fn reason(segment: Segment, facts: &SegmentFacts, now: OffsetDateTime) -> String {
    let n = facts.purchase_count;
    let last = facts
        .last_purchase
        .map(|l| format!("the last {} days ago", whole_days(l, now)));
    let purchases = match (n, &last) {
        (0, _) | (_, None) => format!("{n} purchases"),
        (1, Some(last)) => format!("1 purchase, {}", last.replacen("the last", "", 1).trim()),
        (_, Some(last)) => format!("{n} purchases, {last}"),
    };
    let age = whole_days(facts.created_at, now);
    let detail = match segment {
        Segment::Lost if facts.status == CustomerStatus::Churned => "status CHURNED".to_owned(),
        Segment::Vip => format!("lifetime value {}, {purchases}", facts.lifetime_value),
        Segment::New | Segment::Dormant if n == 0 => format!("no purchases, created {age} days ago"),
        _ => purchases,
    };
    format!("{segment}: {detail}")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use rust_decimal::Decimal;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn facts(status: CustomerStatus, n: i32, days_ago: Option<i64>, age_days: i64, ltv: i64) -> SegmentFacts {
        SegmentFacts {
            status,
            purchase_count: n,
            last_purchase: days_ago.map(|d| NOW - Duration::days(d)),
            created_at: NOW - Duration::days(age_days),
            lifetime_value: Money::parse(Decimal::from(ltv)).unwrap(),
        }
    }

    use CustomerStatus::{Active, Churned, Lead};
    use Segment::*;

    /// Every row of the rule and every boundary, with the default thresholds.
    #[test]
    fn the_rule_row_by_row_at_every_boundary() {
        let vip = 10_000_001;
        let cases: &[(SegmentFacts, Segment)] = &[
            // 1. LOST
            (facts(Churned, 0, None, 1, 0), Lost),
            (facts(Churned, 50, Some(1), 900, vip), Lost),
            (facts(Active, 1, Some(366), 400, 0), Lost),
            (facts(Active, 1, Some(365), 400, 0), Dormant),
            // 2. VIP (LTV strictly above the threshold, d < 30)
            (facts(Active, 3, Some(29), 400, vip), Vip),
            (facts(Active, 3, Some(30), 400, vip), Promising),
            (facts(Active, 3, Some(29), 400, 10_000_000), Promising),
            (facts(Active, 0, None, 10, vip), New),
            // 3. LOYAL (n > 10, d < 60)
            (facts(Active, 11, Some(59), 400, 0), Loyal),
            (facts(Active, 10, Some(59), 400, 0), Promising),
            (facts(Active, 11, Some(60), 400, 0), Promising),
            // 4. NEW
            (facts(Active, 1, Some(29), 29, 0), New),
            (facts(Active, 1, Some(30), 30, 0), Promising),
            (facts(Lead, 0, None, 29, 0), New),
            (facts(Lead, 0, None, 30, 0), Promising),
            // 5. AT_RISK (n > 5, d > 90)
            (facts(Active, 6, Some(91), 400, 0), AtRisk),
            (facts(Active, 6, Some(90), 400, 0), Promising),
            (facts(Active, 5, Some(91), 400, 0), Promising),
            (facts(Active, 11, Some(200), 400, 0), AtRisk),
            // 6. DORMANT
            (facts(Active, 2, Some(181), 400, 0), Dormant),
            (facts(Active, 2, Some(180), 400, 0), Promising),
            (facts(Lead, 0, None, 181, 0), Dormant),
            (facts(Lead, 0, None, 180, 0), Promising),
            // 7. PROMISING
            (facts(Active, 4, Some(44), 400, 0), Promising),
            // A count without dates (imported): no d, nothing on d holds.
            (facts(Active, 3, None, 400, 0), Promising),
        ];
        for (i, (f, expected)) in cases.iter().enumerate() {
            let (got, why) = classify(f, &SegmentRules::default(), NOW);
            assert_eq!(got, *expected, "case {i}: {f:?} ({why})");
            assert!(why.starts_with(expected.as_str()), "{why}");
        }
    }

    #[test]
    fn membership_conditions_agree_with_the_rule() {
        // A deterministic sweep over the space the thresholds cut.
        let rules = SegmentRules::default();
        let mut checked = 0;
        for status in [Lead, Active, Churned] {
            for n in [0, 1, 2, 5, 6, 10, 11, 40] {
                for d in [
                    None,
                    Some(0),
                    Some(29),
                    Some(30),
                    Some(59),
                    Some(60),
                    Some(90),
                    Some(91),
                    Some(180),
                    Some(181),
                    Some(365),
                    Some(366),
                ] {
                    for age in [0, 29, 30, 180, 181, 900] {
                        for ltv in [0, 10_000_000, 10_000_001] {
                            let f = facts(status, n, d, age, ltv);
                            let (segment, _) = classify(&f, &rules, NOW);
                            for s in Segment::ALL {
                                assert_eq!(
                                    segment_condition(s, &rules, NOW).holds(&f),
                                    s == segment,
                                    "{s} for {f:?}"
                                );
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 8 * 12 * 6 * 3);
    }

    #[test]
    fn reasons_and_names() {
        let (_, why) = classify(&facts(Active, 14, Some(12), 400, 0), &SegmentRules::default(), NOW);
        assert_eq!(why, "LOYAL: 14 purchases, the last 12 days ago");
        let (_, why) = classify(&facts(Lead, 0, None, 3, 0), &SegmentRules::default(), NOW);
        assert_eq!(why, "NEW: no purchases, created 3 days ago");
        assert_eq!(Segment::from_str("AT_RISK").unwrap(), AtRisk);
        assert!(Segment::from_str("at_risk").is_err());
        assert_eq!(serde_json::to_value(AtRisk).unwrap(), "AT_RISK");
    }

    #[test]
    fn thresholds_are_checked_and_configurable() {
        let bad = SegmentRules {
            lost_after_days: 0,
            dormant_after_days: MAX_DAYS + 1,
            ..SegmentRules::default()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lostAfterDays", "dormantAfterDays"]);
        let strict = SegmentRules {
            loyal_min_purchases: 2,
            ..SegmentRules::default()
        };
        assert_eq!(classify(&facts(Active, 3, Some(5), 400, 0), &strict, NOW).0, Loyal);
        // Partial JSON fills the rest with the defaults.
        let parsed: SegmentRules = serde_json::from_str(r#"{"lostAfterDays": 200}"#).unwrap();
        assert_eq!(parsed.lost_after_days, 200);
        assert_eq!(parsed.dormant_after_days, 180);
    }
}
