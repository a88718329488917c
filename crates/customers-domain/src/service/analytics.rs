//! Segments of a workspace: thresholds and counts.

use time::OffsetDateTime;

use crate::analytics::rfm::RfmCell;
use crate::analytics::segment::{Segment, SegmentRules, own_rule};
use crate::error::CustomerError;
use crate::ids::Scope;
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher};

use super::{CustomerService, internal};

/// How many customers each segment holds, as of a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCounts {
    /// When the segments were computed.
    pub as_of: OffsetDateTime,
    /// Every segment, in the rule's order, with its count (0 included).
    pub counts: Vec<(Segment, u64)>,
    /// The thresholds used.
    pub rules: SegmentRules,
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// The workspace's segment thresholds (the defaults unless set).
    pub async fn segment_rules(&self, scope: Scope) -> Result<SegmentRules, CustomerError> {
        Ok(self
            .repository
            .segment_rules(scope)
            .await
            .map_err(internal)?
            .unwrap_or_default())
    }

    /// Sets the workspace's segment thresholds (checked with [`SegmentRules::validate`]).
    pub async fn set_segment_rules(&self, scope: Scope, rules: SegmentRules) -> Result<SegmentRules, CustomerError> {
        let rules = rules.validate()?;
        self.repository
            .put_segment_rules(scope, &rules)
            .await
            .map_err(internal)?;
        Ok(rules)
    }

    /// How many live customers of the workspace each segment holds now.
    pub async fn segment_counts(&self, scope: Scope) -> Result<SegmentCounts, CustomerError> {
        let rules = self.segment_rules(scope).await?;
        let now = self.clock.now();
        let ordered: Vec<_> = Segment::ALL
            .iter()
            .filter(|s| **s != Segment::Promising)
            .map(|s| (*s, own_rule(*s, &rules, now)))
            .collect();
        let found = self
            .search
            .segment_counts(scope, &ordered, Segment::Promising)
            .await
            .map_err(internal)?;
        let counts = Segment::ALL
            .iter()
            .map(|s| (*s, found.iter().find(|(f, _)| f == s).map_or(0, |(_, n)| *n)))
            .collect();
        Ok(SegmentCounts {
            as_of: now,
            counts,
            rules,
        })
    }

    /// The recency × frequency grid of the workspace: all 25 cells (recency 5..1, frequency
    /// 1..5), with the customers and revenue in each, and how many customers were scored.
    pub async fn rfm_grid(&self, scope: Scope) -> Result<(OffsetDateTime, u64, Vec<RfmCell>), CustomerError> {
        let now = self.clock.now();
        let found = self.search.rfm_grid(scope).await.map_err(internal)?;
        let scored = found.iter().map(|c| c.customers).sum();
        let mut cells = Vec::with_capacity(25);
        for recency in (1..=5).rev() {
            for frequency in 1..=5 {
                cells.push(
                    found
                        .iter()
                        .find(|c| c.recency == recency && c.frequency == frequency)
                        .cloned()
                        .unwrap_or(RfmCell {
                            recency,
                            frequency,
                            customers: 0,
                            revenue: crate::money::Money::round(rust_decimal::Decimal::ZERO),
                        }),
                );
            }
        }
        Ok((now, scored, cells))
    }
}
