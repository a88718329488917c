//! Predicted lifetime value and churn: the BG/NBD and Gamma-Gamma models of a workspace
//! (see [`crate::analytics::clv`]), fitted on its counted purchases, stored, refitted when
//! stale, and applied to one customer. Available when the repository also implements
//! [`ClvStore`].

use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};
use tracing::{info, warn};

use crate::analytics::clv::{ClvFit, CustomerClv, Eligibility, NOT_FITTED, PredictionSettings, TimeUnit};
use crate::error::{CustomerError, ValidationErrors};
use crate::ids::{CustomerId, Scope};
use crate::ports::{Clock, ClvStore, CountedPurchase};

use super::{CustomerService, internal};

/// The end of an observation as a client gives it: a day (observed through its end, UTC) or
/// an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Through the end of this UTC day (through now, for today).
    Day(Date),
    /// Up to this instant.
    At(OffsetDateTime),
}

impl AsOf {
    /// The instant the observation ends, given `now`; refused (naming `asOf`) when it is in
    /// the future.
    pub fn resolve(self, now: OffsetDateTime) -> Result<OffsetDateTime, CustomerError> {
        let now = now.to_offset(UtcOffset::UTC);
        let future = || CustomerError::Invalid(ValidationErrors::single("asOf", "must not be in the future"));
        match self {
            AsOf::At(at) if at > now => Err(future()),
            AsOf::At(at) => at.checked_to_offset(UtcOffset::UTC).ok_or_else(|| {
                CustomerError::Invalid(ValidationErrors::single(
                    "asOf",
                    "is out of range (years 1 to 9999 in UTC)",
                ))
            }),
            AsOf::Day(day) if day > now.date() => Err(future()),
            AsOf::Day(day) if day == now.date() => Ok(now),
            // The last microsecond of the day (what the databases store).
            AsOf::Day(day) => {
                Ok(day.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1) - Duration::MICROSECOND)
            }
        }
    }
}

/// The end of the observation: `as_of` resolved, or now.
fn observation_end(as_of: Option<AsOf>, now: OffsetDateTime) -> Result<OffsetDateTime, CustomerError> {
    as_of.map_or(Ok(now.to_offset(UtcOffset::UTC)), |as_of| as_of.resolve(now))
}

fn purchase_tuples(
    purchases: Vec<CountedPurchase>,
) -> impl Iterator<Item = (CustomerId, OffsetDateTime, crate::money::Money)> {
    purchases
        .into_iter()
        .map(|p| (p.customer_id, p.completed_at, p.total_amount))
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: ClvStore,
    K: Clock,
{
    /// Fits the workspace's models on the counted purchases of its live customers up to
    /// `as_of` (now by default), with times in days and the default [`Eligibility`] (200
    /// customers with a purchase, 90 days of history), stores the fit and returns it.
    ///
    /// A workspace with too little data, or whose data a model cannot be fitted to, is not an
    /// error: its fit has no model and says why. The stored fit replaces the previous one
    /// (unless a fit that ran later was stored meanwhile; the later run is kept and
    /// returned).
    ///
    /// Errors: [`CustomerError::Invalid`] naming `asOf` when it is in the future.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id))]
    pub async fn fit_clv(&self, scope: Scope, as_of: Option<AsOf>) -> Result<ClvFit, CustomerError> {
        let now = self.clock.now();
        let end = observation_end(as_of, now)?;
        let purchases = self.repository.counted_purchases(scope, end).await.map_err(internal)?;
        let orders = purchases.len();
        let started = std::time::Instant::now();
        let fit = ClvFit::fit(
            purchase_tuples(purchases),
            end,
            TimeUnit::Days,
            &Eligibility::default(),
            now,
        );
        info!(
            orders,
            customers = fit.sample_size,
            status = fit.status().as_str(),
            reason = fit.reason().unwrap_or(""),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "CLV models fitted"
        );
        if self.repository.put_clv_fit(scope, &fit).await.map_err(internal)? {
            return Ok(fit);
        }
        // A fit that ran later is stored: that one is the workspace's.
        Ok(self.repository.clv_fit(scope).await.map_err(internal)?.unwrap_or(fit))
    }

    /// The workspace's stored fit; `None` while it was never fitted.
    pub async fn clv_model(&self, scope: Scope) -> Result<Option<ClvFit>, CustomerError> {
        self.repository.clv_fit(scope).await.map_err(internal)
    }

    /// What the workspace's stored models say about a customer, from its counted purchases up
    /// to `as_of` (now by default), with the default horizons ([`PredictionSettings`]: 90 days
    /// of expected purchases, 12 months of predicted value): the probability that it is still
    /// active (and of churn), its expected purchases and order value, its predicted value and
    /// the day by which one more purchase is expected.
    ///
    /// When there is nothing to say the answer is [`CustomerClv::Unavailable`] with the
    /// reason: the workspace was never fitted ([`NOT_FITTED`]) or its last fit gave no model
    /// (that fit's reason), or the customer had no counted purchase by `as_of`.
    ///
    /// Errors: [`CustomerError::NotFound`] when there is no such live customer in `scope`;
    /// [`CustomerError::Invalid`] naming `asOf` when it is in the future.
    pub async fn customer_prediction(
        &self,
        scope: Scope,
        customer: CustomerId,
        as_of: Option<AsOf>,
    ) -> Result<CustomerClv, CustomerError> {
        let end = observation_end(as_of, self.clock.now())?;
        let purchases = self
            .repository
            .counted_purchases_of(scope, customer, end)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let Some(fit) = self.repository.clv_fit(scope).await.map_err(internal)? else {
            return Ok(CustomerClv::Unavailable {
                reason: NOT_FITTED.to_owned(),
            });
        };
        let purchases = purchases.into_iter().map(|p| (p.completed_at, p.total_amount));
        Ok(fit.predict(purchases, end, &PredictionSettings::default()))
    }

    /// Refits, as of now, every workspace with counted orders whose stored fit is older than
    /// `max_age` (or that was never fitted), one after the other. A workspace that fails is
    /// logged and skipped. Returns how many were refitted.
    ///
    /// Several server copies may run it at once: each fit is complete in itself, and the
    /// store keeps the one that ran last.
    pub async fn refit_stale_clv(&self, max_age: Duration) -> Result<usize, CustomerError> {
        let due = self
            .repository
            .clv_refit_due(self.clock.now() - max_age)
            .await
            .map_err(internal)?;
        let mut refitted = 0;
        for scope in due {
            match self.fit_clv(scope, None).await {
                Ok(_) => refitted += 1,
                Err(err) => warn!(
                    organization_id = %scope.organization_id,
                    workspace_id = %scope.workspace_id,
                    error = %err,
                    "CLV refit failed"
                ),
            }
        }
        Ok(refitted)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use rust_decimal::Decimal;
    use time::macros::{date, datetime};

    use super::*;
    use crate::analytics::clv::{ClvOutcome, ClvStatus};
    use crate::ids::{OrganizationId, WorkspaceId};
    use crate::money::Money;
    use crate::ports::{MockClock, MockClvStore, RepositoryError};

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);

    /// The CLV use cases need only the store and the clock.
    type Svc = CustomerService<MockClvStore, (), (), (), MockClock>;

    fn service(store: MockClvStore) -> Svc {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        CustomerService {
            repository: store,
            search: (),
            cache: (),
            events: (),
            clock,
            retention: super::super::DEFAULT_RETENTION,
        }
    }

    fn scope() -> Scope {
        Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(2)),
        )
    }

    fn purchase(customer: u128, at: OffsetDateTime, cents: i64) -> CountedPurchase {
        CountedPurchase {
            customer_id: CustomerId::from_uuid(uuid::Uuid::from_u128(customer)),
            completed_at: at,
            total_amount: Money::parse(Decimal::new(cents, 2)).unwrap(),
        }
    }

    fn invalid_field(err: CustomerError) -> String {
        match err {
            CustomerError::Invalid(errors) => errors.errors()[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn as_of_days_end_at_their_last_microsecond_and_the_future_is_refused() {
        assert_eq!(
            AsOf::Day(date!(2026 - 11 - 24)).resolve(NOW).unwrap(),
            datetime!(2026-11-24 23:59:59.999999 UTC)
        );
        assert_eq!(AsOf::Day(date!(2026 - 11 - 25)).resolve(NOW).unwrap(), NOW);
        assert_eq!(
            AsOf::At(datetime!(2026-11-25 14:00 +5)).resolve(NOW).unwrap(),
            datetime!(2026-11-25 09:00 UTC)
        );
        assert_eq!(AsOf::At(NOW).resolve(NOW).unwrap(), NOW);
        assert_eq!(
            invalid_field(AsOf::Day(date!(2026 - 11 - 26)).resolve(NOW).unwrap_err()),
            "asOf"
        );
        assert_eq!(
            invalid_field(AsOf::At(NOW + Duration::MICROSECOND).resolve(NOW).unwrap_err()),
            "asOf"
        );
    }

    #[tokio::test]
    async fn fit_reads_up_to_as_of_stores_and_returns_the_outcome() {
        let stored = Arc::new(Mutex::new(None));
        let mut store = MockClvStore::new();
        store
            .expect_counted_purchases()
            .withf(|s, end| *s == scope() && *end == datetime!(2026-10-31 23:59:59.999999 UTC))
            .times(1)
            .returning(|_, _| {
                Ok(vec![
                    purchase(1, datetime!(2026-06-01 10:00 UTC), 10_000),
                    purchase(1, datetime!(2026-07-01 10:00 UTC), 12_000),
                    purchase(2, datetime!(2026-08-01 10:00 UTC), 5_000),
                ])
            });
        let sink = stored.clone();
        store.expect_put_clv_fit().times(1).returning(move |_, fit| {
            *sink.lock().unwrap() = Some(fit.clone());
            Ok(true)
        });
        let fit = service(store)
            .fit_clv(scope(), Some(AsOf::Day(date!(2026 - 10 - 31))))
            .await
            .unwrap();
        assert_eq!(fit.sample_size, 2);
        assert_eq!(fit.status(), ClvStatus::InsufficientData);
        assert_eq!(
            fit.reason(),
            Some("not enough data: 2 customers with a purchase; a model needs at least 200")
        );
        assert_eq!(
            (fit.as_of, fit.fitted_at),
            (datetime!(2026-10-31 23:59:59.999999 UTC), NOW)
        );
        assert_eq!(stored.lock().unwrap().as_ref(), Some(&fit));
    }

    #[tokio::test]
    async fn a_fit_in_the_future_is_refused_before_reading() {
        let store = MockClvStore::new(); // any call would panic
        let err = service(store)
            .fit_clv(scope(), Some(AsOf::At(NOW + Duration::minutes(1))))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(err), "asOf");
    }

    #[tokio::test]
    async fn a_fit_that_lost_the_race_returns_the_stored_one() {
        let later = ClvFit {
            outcome: ClvOutcome::FitFailed("stored by another copy".into()),
            time_unit: TimeUnit::Days,
            sample_size: 7,
            as_of: NOW,
            fitted_at: NOW + Duration::seconds(1),
        };
        let mut store = MockClvStore::new();
        store.expect_counted_purchases().returning(|_, _| Ok(vec![]));
        store.expect_put_clv_fit().returning(|_, _| Ok(false));
        let kept = later.clone();
        store.expect_clv_fit().returning(move |_| Ok(Some(kept.clone())));
        assert_eq!(service(store).fit_clv(scope(), None).await.unwrap(), later);
    }

    #[tokio::test]
    async fn predictions_say_why_there_is_none_and_unknown_customers_are_not_found() {
        let mut store = MockClvStore::new();
        store.expect_counted_purchases_of().returning(|_, customer, _| {
            Ok((customer == CustomerId::from_uuid(uuid::Uuid::from_u128(1))).then(Vec::new))
        });
        store.expect_clv_fit().returning(|_| Ok(None));
        let svc = service(store);
        let known = CustomerId::from_uuid(uuid::Uuid::from_u128(1));
        let answer = svc.customer_prediction(scope(), known, None).await.unwrap();
        assert_eq!(answer.reason(), Some(NOT_FITTED));
        let unknown = CustomerId::from_uuid(uuid::Uuid::from_u128(9));
        assert!(matches!(
            svc.customer_prediction(scope(), unknown, None).await,
            Err(CustomerError::NotFound)
        ));
        let err = svc
            .customer_prediction(scope(), known, Some(AsOf::Day(date!(2027 - 01 - 01))))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(err), "asOf");
    }

    #[tokio::test]
    async fn refit_fits_every_due_workspace_and_skips_failures() {
        let other = Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(5)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(6)),
        );
        let mut store = MockClvStore::new();
        store
            .expect_clv_refit_due()
            .withf(|before| *before == NOW - Duration::hours(24))
            .returning(move |_| Ok(vec![scope(), other]));
        store.expect_counted_purchases().returning(move |s, _| {
            if s == other {
                Err(RepositoryError::Unexpected("connection lost".into()))
            } else {
                Ok(vec![])
            }
        });
        store.expect_put_clv_fit().times(1).returning(|s, _| {
            assert_eq!(s, scope());
            Ok(true)
        });
        assert_eq!(service(store).refit_stale_clv(Duration::hours(24)).await.unwrap(), 1);
    }
}
