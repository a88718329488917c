//! Segments on the wire.

use poem_openapi::{Enum, Object};
use time::OffsetDateTime;

use customers_domain::SegmentCounts;
use customers_domain::analytics::segment::{Segment, SegmentRules};
use customers_domain::{Money, ValidationErrors};

use crate::json::Amount;

/// A customer segment (first match wins, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SegmentName {
    /// Status CHURNED, or no purchase for more than `lostAfterDays`.
    #[oai(rename = "LOST")]
    Lost,
    /// Lifetime value above `vipLifetimeValue` and a purchase within `vipWithinDays`.
    #[oai(rename = "VIP")]
    Vip,
    /// More than `loyalMinPurchases` purchases, the last within `loyalWithinDays`.
    #[oai(rename = "LOYAL")]
    Loyal,
    /// One purchase within `newWithinDays`, or none and created within it.
    #[oai(rename = "NEW")]
    New,
    /// More than `atRiskMinPurchases` purchases, none for more than `atRiskAfterDays`.
    #[oai(rename = "AT_RISK")]
    AtRisk,
    /// No purchase for more than `dormantAfterDays` (or none, created before that).
    #[oai(rename = "DORMANT")]
    Dormant,
    /// Everyone else.
    #[oai(rename = "PROMISING")]
    Promising,
}

impl From<SegmentName> for Segment {
    fn from(value: SegmentName) -> Self {
        match value {
            SegmentName::Lost => Segment::Lost,
            SegmentName::Vip => Segment::Vip,
            SegmentName::Loyal => Segment::Loyal,
            SegmentName::New => Segment::New,
            SegmentName::AtRisk => Segment::AtRisk,
            SegmentName::Dormant => Segment::Dormant,
            SegmentName::Promising => Segment::Promising,
        }
    }
}

impl From<Segment> for SegmentName {
    fn from(value: Segment) -> Self {
        match value {
            Segment::Lost => SegmentName::Lost,
            Segment::Vip => SegmentName::Vip,
            Segment::Loyal => SegmentName::Loyal,
            Segment::New => SegmentName::New,
            Segment::AtRisk => SegmentName::AtRisk,
            Segment::Dormant => SegmentName::Dormant,
            Segment::Promising => SegmentName::Promising,
        }
    }
}

/// The segment thresholds of a workspace (days are whole days since the last purchase, or
/// since creation for customers without purchases). In a request, a field left out takes its
/// default.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", default)]
pub struct SegmentRulesDto {
    /// LOST: no purchase for more than this many days (default 365).
    pub lost_after_days: u32,
    /// VIP: lifetime value above this (default 10000000.00).
    pub vip_lifetime_value: Amount,
    /// VIP: last purchase fewer than this many days ago (default 30).
    pub vip_within_days: u32,
    /// LOYAL: more than this many purchases (default 10) …
    pub loyal_min_purchases: u32,
    /// … the last fewer than this many days ago (default 60).
    pub loyal_within_days: u32,
    /// NEW: the only purchase, or the creation, fewer than this many days ago (default 30).
    pub new_within_days: u32,
    /// AT_RISK: more than this many purchases (default 5) …
    pub at_risk_min_purchases: u32,
    /// … none for more than this many days (default 90).
    pub at_risk_after_days: u32,
    /// DORMANT: no purchase (or none since creation) for more than this many days (default 180).
    pub dormant_after_days: u32,
}

impl Default for SegmentRulesDto {
    fn default() -> Self {
        SegmentRules::default().into()
    }
}

impl From<SegmentRules> for SegmentRulesDto {
    fn from(r: SegmentRules) -> Self {
        Self {
            lost_after_days: r.lost_after_days,
            vip_lifetime_value: r.vip_lifetime_value.into(),
            vip_within_days: r.vip_within_days,
            loyal_min_purchases: r.loyal_min_purchases,
            loyal_within_days: r.loyal_within_days,
            new_within_days: r.new_within_days,
            at_risk_min_purchases: r.at_risk_min_purchases,
            at_risk_after_days: r.at_risk_after_days,
            dormant_after_days: r.dormant_after_days,
        }
    }
}

impl SegmentRulesDto {
    /// The domain thresholds (money checked; ranges checked by the domain).
    pub fn into_rules(self) -> Result<SegmentRules, ValidationErrors> {
        let vip = Money::parse_non_negative(self.vip_lifetime_value.0)
            .map_err(|e| ValidationErrors::single("vipLifetimeValue", e.to_string()))?;
        Ok(SegmentRules {
            lost_after_days: self.lost_after_days,
            vip_lifetime_value: vip,
            vip_within_days: self.vip_within_days,
            loyal_min_purchases: self.loyal_min_purchases,
            loyal_within_days: self.loyal_within_days,
            new_within_days: self.new_within_days,
            at_risk_min_purchases: self.at_risk_min_purchases,
            at_risk_after_days: self.at_risk_after_days,
            dormant_after_days: self.dormant_after_days,
        })
    }
}

/// How many customers a segment holds.
#[derive(Debug, Clone, Object)]
pub struct SegmentCount {
    /// The segment.
    pub segment: SegmentName,
    /// Live customers in it.
    pub count: u64,
}

/// The customers of the workspace per segment.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SegmentsResponse {
    /// When the segments were computed (they depend on the time: days since purchases).
    pub as_of: OffsetDateTime,
    /// Every segment, in the rule's order, with its count.
    pub segments: Vec<SegmentCount>,
    /// The thresholds used.
    pub rules: SegmentRulesDto,
}

impl From<SegmentCounts> for SegmentsResponse {
    fn from(c: SegmentCounts) -> Self {
        Self {
            as_of: c.as_of,
            segments: c
                .counts
                .into_iter()
                .map(|(segment, count)| SegmentCount {
                    segment: segment.into(),
                    count,
                })
                .collect(),
            rules: c.rules.into(),
        }
    }
}

/// One cell of the recency × frequency grid.
#[derive(Debug, Clone, Object)]
pub struct RfmCellDto {
    /// Recency score, 5 = bought most recently.
    pub recency: u8,
    /// Frequency score, 5 = most purchases.
    pub frequency: u8,
    /// Customers in the cell.
    pub customers: u64,
    /// Their total purchases.
    pub revenue: Amount,
}

/// The RFM grid of a workspace.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RfmResponse {
    /// When it was computed.
    pub as_of: OffsetDateTime,
    /// Customers scored (those with a purchase).
    pub customers: u64,
    /// All 25 cells, recency 5 to 1, frequency 1 to 5 within each.
    pub cells: Vec<RfmCellDto>,
}

impl From<(OffsetDateTime, u64, Vec<customers_domain::analytics::rfm::RfmCell>)> for RfmResponse {
    fn from((as_of, customers, cells): (OffsetDateTime, u64, Vec<customers_domain::analytics::rfm::RfmCell>)) -> Self {
        Self {
            as_of,
            customers,
            cells: cells
                .into_iter()
                .map(|c| RfmCellDto {
                    recency: c.recency,
                    frequency: c.frequency,
                    customers: c.customers,
                    revenue: c.revenue.into(),
                })
                .collect(),
        }
    }
}
