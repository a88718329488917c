//! Module metrics of a period (see [`crate::analytics::metrics`] for the definitions).

use crate::analytics::metrics::{ModuleMetrics, Period};
use crate::error::CustomerError;
use crate::ids::Scope;
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher};

use super::{CustomerService, internal};

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// The module metrics of the workspace for the period `[from, to)` (RFC 3339 date-times or
    /// dates; `to` defaults to now, `from` to 30 days before `to`), counted by the store from
    /// the history.
    ///
    /// Errors: [`CustomerError::Invalid`] naming `from` or `to` (see [`Period::parse`]).
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id))]
    pub async fn module_metrics(
        &self,
        scope: Scope,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<ModuleMetrics, CustomerError> {
        let as_of = self.clock.now();
        let period = Period::parse(from, to, as_of)?;
        let counts = self.search.metric_counts(scope, &period).await.map_err(internal)?;
        Ok(ModuleMetrics::from_counts(period, as_of, &counts))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::analytics::metrics::MetricCounts;
    use crate::error::CustomerError;
    use crate::ids::{OrganizationId, WorkspaceId};
    use crate::ports::{MockClock, MockCustomerCache, MockCustomerRepository, MockCustomerSearch, MockEventPublisher};

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);

    fn service(
        search: MockCustomerSearch,
    ) -> CustomerService<MockCustomerRepository, MockCustomerSearch, MockCustomerCache, MockEventPublisher, MockClock>
    {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        CustomerService::new(
            MockCustomerRepository::new(),
            search,
            MockCustomerCache::new(),
            MockEventPublisher::new(),
            clock,
        )
    }

    fn scope() -> Scope {
        Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(2)),
        )
    }

    #[tokio::test]
    async fn the_default_period_is_the_last_30_days_and_the_store_counts_it() {
        let mut search = MockCustomerSearch::new();
        search
            .expect_metric_counts()
            .withf(|s, p| *s == scope() && p.from() == NOW - Duration::days(30) && p.to() == NOW)
            .times(1)
            .returning(|_, _| {
                Ok(MetricCounts {
                    active_at_start: 4,
                    active_at_end: 5,
                    churned: 1,
                    leads_created: 3,
                    leads_converted: 1,
                    conversion_time: Duration::hours(12),
                    live_customers: 2,
                    lifetime_value_total: Decimal::new(300, 0),
                })
            });
        let metrics = service(search).module_metrics(scope(), None, None).await.unwrap();
        assert_eq!(metrics.as_of, NOW);
        assert_eq!(metrics.active_customers, 5);
        assert_eq!(metrics.churn_rate, Some(Decimal::new(25, 2)));
        assert_eq!(metrics.lead_conversion_rate, Some(Decimal::new(3333, 4)));
        assert_eq!(metrics.average_lead_conversion_time_days, Some(Decimal::new(5, 1)));
        assert_eq!(metrics.average_lifetime_value.unwrap().amount(), Decimal::new(15000, 2));
    }

    #[tokio::test]
    async fn a_bad_period_is_refused_before_the_store_is_asked() {
        for (from, to, field) in [
            (Some("2026-12-01"), None, "from"),
            (Some("2026-11-01"), Some("2026-10-01"), "from"),
            (None, Some("tomorrow"), "to"),
        ] {
            // No expectation: a call to the store would panic.
            let err = service(MockCustomerSearch::new())
                .module_metrics(scope(), from, to)
                .await
                .unwrap_err();
            match err {
                CustomerError::Invalid(errors) => assert_eq!(errors.errors()[0].field, field, "{from:?} {to:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
