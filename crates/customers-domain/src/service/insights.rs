//! The analytics of one customer (`GET /{id}/analytics`): its own figures over a period,
//! recommendations from the workspace's baskets, its segment and RFM scores, and what the
//! workspace's CLV models predict for it.

use time::OffsetDateTime;

use crate::analytics::clv::{CustomerClv, NOT_FITTED, PredictionSettings};
use crate::analytics::customer::{AnalyticsPeriod, CustomerFigures, figures};
use crate::analytics::rfm::RfmScore;
use crate::analytics::segment::{Segment, SegmentFacts, classify};
use crate::error::CustomerError;
use crate::ids::{CustomerId, Scope};
use crate::ports::{Clock, ClvStore, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, InboundStore};

use super::clv::AsOf;
use super::{CustomerService, internal};

/// How many products are recommended.
pub const RECOMMENDATIONS: usize = 5;

/// How many of the customer's products seed the recommendations (its most bought by amount
/// first, then the rest by id): bounds the baskets query.
pub const RECOMMENDATION_SEEDS: usize = 100;

/// Everything known about one customer, over a period and as of a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerInsights {
    /// The period and the moment.
    pub period: AnalyticsPeriod,
    /// Its own figures.
    pub figures: CustomerFigures,
    /// Products bought together with its products by other customers of the workspace, which
    /// it never bought; best first.
    pub recommended_products: Vec<String>,
    /// Its segment now, as the list's `segment` filter sees it.
    pub segment: Segment,
    /// Why, in words ("LOYAL: 14 purchases, the last 12 days ago").
    pub segment_reason: String,
    /// Its RFM scores now among the workspace's customers with a purchase; `None` without a
    /// purchase.
    pub rfm: Option<RfmScore>,
    /// What the workspace's CLV models say as of the period's moment.
    pub prediction: CustomerClv,
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository + InboundStore + ClvStore,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// The analytics of a live customer over `[from, to)` as of `as_of` (now by default).
    ///
    /// The figures are computed from its orders, notes and the read model of other modules
    /// (see [`crate::analytics::customer`]); the segment and RFM scores describe it as stored
    /// now (as the list and `GET /segments` do); the predictions are those of the workspace's
    /// stored models for its purchases up to `as_of`.
    ///
    /// Errors: [`CustomerError::NotFound`] when there is no such live customer in `scope`;
    /// [`CustomerError::Invalid`] naming `to` when it is not after `from`, or `asOf` when it
    /// is in the future.
    pub async fn customer_insights(
        &self,
        scope: Scope,
        id: CustomerId,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        as_of: Option<AsOf>,
    ) -> Result<CustomerInsights, CustomerError> {
        let now = self.clock.now();
        let end = match as_of {
            Some(as_of) => as_of.resolve(now)?,
            None => now,
        };
        let period = AnalyticsPeriod::new(from, to, end)?;
        let customer = self
            .repository
            .get(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let orders = self
            .repository
            .orders_of(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let activity = self
            .repository
            .activity_of(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let figures = figures(&customer, &orders, &activity, &period);

        let mut seeds: Vec<String> = figures.top_products.iter().map(|p| p.product_id.clone()).collect();
        for product in &figures.bought_products {
            if seeds.len() >= RECOMMENDATION_SEEDS {
                break;
            }
            if !seeds.contains(product) {
                seeds.push(product.clone());
            }
        }
        let mut recommended_products = self
            .repository
            .co_purchased(
                scope,
                id,
                &seeds,
                RECOMMENDATIONS + figures.bought_products.len().saturating_sub(seeds.len()),
            )
            .await
            .map_err(internal)?;
        // Seeds are bounded; what the customer bought beyond them is left out here.
        recommended_products.retain(|p| figures.bought_products.binary_search(p).is_err());
        recommended_products.truncate(RECOMMENDATIONS);

        let rules = self.segment_rules(scope).await?;
        let (segment, segment_reason) = classify(&SegmentFacts::from(&customer), &rules, now);
        let rfm = self.search.rfm_of(scope, id).await.map_err(internal)?;
        // The stored models applied to the orders already read: those counted at `end`.
        let whole_history = AnalyticsPeriod::new(None, None, end)?;
        let counted = orders
            .iter()
            .filter(|o| whole_history.counts(o))
            .map(|o| (o.completed_at, o.total_amount));
        let prediction = match self.repository.clv_fit(scope).await.map_err(internal)? {
            Some(fit) => fit.predict(counted, end, &PredictionSettings::default()),
            None => CustomerClv::Unavailable {
                reason: NOT_FITTED.to_owned(),
            },
        };
        Ok(CustomerInsights {
            period,
            figures,
            recommended_products,
            segment,
            segment_reason,
            rfm,
            prediction,
        })
    }
}
