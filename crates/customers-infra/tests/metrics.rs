//! Module metrics counted by the database from the history, on SQLite and PostgreSQL: a
//! workspace's history is built through the service with a controlled clock (every event's
//! time comes from it), and every metric of two periods is checked against the counts worked
//! out by hand from the definitions (`customers_domain::analytics::metrics`).

use std::future::Future;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use customers_domain::analytics::metrics::{MetricCounts, ModuleMetrics, Period};
use customers_domain::commands::CustomerDraft;
use customers_domain::ports::{Clock, CustomerSearch};
use customers_domain::service::ConvertLead;
use customers_domain::{CustomerId, CustomerService, CustomerStatus, CustomerType, Money, Scope, UserId};
use customers_infra::on_both_backends;
use customers_infra::sql::Codec;
use customers_infra::testing::{Backend, TestDatabase};
use customers_infra::{InMemoryCache, RecordingPublisher, SeaRepository};

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

type Service = CustomerService<SeaRepository, SeaRepository, InMemoryCache, RecordingPublisher, TestClock>;

/// A workspace's service with its clock.
struct World {
    service: Service,
    repo: SeaRepository,
    clock: TestClock,
    scope: Scope,
    actor: UserId,
    db: sea_orm::DatabaseConnection,
    emails: std::cell::Cell<u32>,
}

impl World {
    fn new(db: &TestDatabase, scope: Scope) -> Self {
        let repo = SeaRepository::new(db.connection.clone());
        let clock = TestClock(Arc::new(Mutex::new(datetime!(2026-01-01 0:00 UTC))));
        let service = CustomerService::new(
            repo.clone(),
            repo.clone(),
            InMemoryCache::disabled(),
            RecordingPublisher::default(),
            clock.clone(),
        );
        Self {
            service,
            repo,
            clock,
            scope,
            actor: UserId::from(Uuid::from_u128(7)),
            db: db.connection.clone(),
            emails: std::cell::Cell::new(0),
        }
    }

    fn draft(&self, name: &str, status: CustomerStatus) -> CustomerDraft {
        let n = self.emails.get() + 1;
        self.emails.set(n);
        CustomerDraft {
            status: Some(status),
            ..CustomerDraft::new(
                CustomerType::Individual,
                &format!("Клиент {name}"),
                &format!("c{n}@metrics.kz"),
            )
        }
    }

    async fn create(&self, at: OffsetDateTime, name: &str, status: CustomerStatus) -> CustomerId {
        self.clock.set(at);
        let input = self.draft(name, status).parse().expect("valid");
        self.service
            .create(self.scope, self.actor, input)
            .await
            .expect("created")
            .id
    }

    async fn import(&self, at: OffsetDateTime, name: &str, status: CustomerStatus) -> CustomerId {
        self.clock.set(at);
        let input = self.draft(name, status).parse().expect("valid");
        self.service
            .bulk_create(self.scope, self.actor, vec![input])
            .await
            .expect("imported")[0]
            .id
    }

    async fn status(&self, at: OffsetDateTime, id: CustomerId, status: CustomerStatus) {
        self.clock.set(at);
        self.service
            .change_status(self.scope, self.actor, id, status, None, None)
            .await
            .expect("status changed");
    }

    async fn convert(&self, at: OffsetDateTime, id: CustomerId) {
        self.clock.set(at);
        self.service
            .convert(self.scope, self.actor, id, ConvertLead::default(), None)
            .await
            .expect("converted");
    }

    async fn delete(&self, at: OffsetDateTime, id: CustomerId) {
        self.clock.set(at);
        self.service.delete(self.scope, self.actor, id).await.expect("deleted");
    }

    async fn restore(&self, at: OffsetDateTime, id: CustomerId) {
        self.clock.set(at);
        self.service
            .restore(self.scope, self.actor, id)
            .await
            .expect("restored");
    }

    async fn merge(&self, at: OffsetDateTime, primary: CustomerId, duplicate: CustomerId) {
        self.clock.set(at);
        self.service
            .merge(self.scope, self.actor, primary, &[duplicate], false)
            .await
            .expect("merged");
    }

    /// Sets a stored lifetime value (the heuristic needs purchases; the metric only reads it).
    async fn set_lifetime_value(&self, id: CustomerId, amount: &str) {
        let k = Codec::new(self.db.get_database_backend());
        let mut sql = k.sql("UPDATE customers SET lifetime_value = ");
        sql.bind(k.money(Money::parse(amount.parse().unwrap()).unwrap()))
            .push(" WHERE id = ")
            .bind(k.uuid(id));
        self.db.execute_raw(sql.build()).await.expect("updated");
    }

    async fn metrics(&self, now: OffsetDateTime, from: &str, to: &str) -> ModuleMetrics {
        self.clock.set(now);
        self.service
            .module_metrics(self.scope, Some(from), Some(to))
            .await
            .expect("metrics")
    }
}

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    test(TestDatabase::new(backend).await).await;
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn new_scope(org: Uuid) -> Scope {
    Scope::new(org.into(), Uuid::now_v7().into())
}

/// The main period is May 2026, `[05-01, 06-01)`. Each customer's story, and what it counts
/// for in May (start = state before 05-01 00:00, end = state before 06-01 00:00):
async fn every_metric_of_a_constructed_history(db: TestDatabase) {
    use CustomerStatus::{Active, Churned, Inactive, Lead, Prospect};
    let org = Uuid::now_v7();
    let w = World::new(&db, new_scope(org));

    // Before May.
    // A: active all along; the primary of a merge in May. Start ✓, end ✓.
    let a = w.create(datetime!(2026-04-01 9:00 UTC), "A", Active).await;
    // B: a lead converted in April, churned in May. Start ✓, churned ✓, end ✗.
    let b = w.create(datetime!(2026-04-02 9:00 UTC), "B", Lead).await;
    w.convert(datetime!(2026-04-10 9:00 UTC), b).await;
    w.status(datetime!(2026-05-10 9:00 UTC), b, Churned).await;
    // C: inactive at the start, active again in May. Start ✗, end ✓.
    let c = w.create(datetime!(2026-04-03 9:00 UTC), "C", Active).await;
    w.status(datetime!(2026-04-20 9:00 UTC), c, Inactive).await;
    w.status(datetime!(2026-05-05 9:00 UTC), c, Active).await;
    // D: deleted in April, restored in May. Start ✗ (not live), end ✓.
    let d_ = w.create(datetime!(2026-04-04 9:00 UTC), "D", Active).await;
    w.delete(datetime!(2026-04-25 9:00 UTC), d_).await;
    w.restore(datetime!(2026-05-03 9:00 UTC), d_).await;
    // E: deleted in May without churning. Start ✓, churned ✗, end ✗.
    let e = w.create(datetime!(2026-04-05 9:00 UTC), "E", Active).await;
    w.delete(datetime!(2026-05-15 9:00 UTC), e).await;
    // F: churned in May and won back. Start ✓, churned ✓, end ✓.
    let f = w.create(datetime!(2026-04-06 9:00 UTC), "F", Active).await;
    w.status(datetime!(2026-05-20 9:00 UTC), f, Churned).await;
    w.status(datetime!(2026-05-25 9:00 UTC), f, Active).await;
    // G: merged into A in May (removed without a deletion event). Start ✓, churned ✗, end ✗.
    let g = w.create(datetime!(2026-04-07 9:00 UTC), "G", Active).await;
    w.merge(datetime!(2026-05-12 9:00 UTC), a, g).await;
    // H: a lead of April converted in May: not one of May's leads. Start ✗, end ✓.
    let h = w.create(datetime!(2026-04-08 9:00 UTC), "H", Lead).await;
    w.convert(datetime!(2026-05-02 9:00 UTC), h).await;
    // I: churned in April. Start ✗, end ✗.
    let i = w.create(datetime!(2026-04-09 9:00 UTC), "I", Active).await;
    w.status(datetime!(2026-04-28 9:00 UTC), i, Churned).await;
    // J: churned at the very first instant of May. Start ✓, churned ✓, end ✗.
    let j = w.create(datetime!(2026-04-10 9:00 UTC), "J", Active).await;
    w.status(datetime!(2026-05-01 0:00 UTC), j, Churned).await;
    // K: churned at the first instant after May. Start ✓, churned ✗, end ✓.
    let k = w.create(datetime!(2026-04-11 9:00 UTC), "K", Active).await;
    w.status(datetime!(2026-06-01 0:00 UTC), k, Churned).await;
    // P: a lead created at April's last microsecond, converted at May's first. Start ✗, end ✓.
    let p = w.create(datetime!(2026-04-30 23:59:59.999999 UTC), "P", Lead).await;
    w.convert(datetime!(2026-05-01 0:00 UTC), p).await;

    // May's leads.
    // L1: created at May's first instant, converted 3 days later. Lead ✓, converted ✓, end ✓.
    let l1 = w.create(datetime!(2026-05-01 0:00 UTC), "L1", Lead).await;
    w.convert(datetime!(2026-05-04 0:00 UTC), l1).await;
    // L2: a prospect made ACTIVE by a status change 12 hours later. Lead ✓, converted ✓.
    let l2 = w.create(datetime!(2026-05-02 0:00 UTC), "L2", Prospect).await;
    w.status(datetime!(2026-05-02 12:00 UTC), l2, Active).await;
    // L3: stays a lead (and is the primary of a merge). Lead ✓, converted ✗.
    let l3 = w.create(datetime!(2026-05-03 0:00 UTC), "L3", Lead).await;
    // L4: converted in June. Lead ✓, converted ✗, end ✗.
    let l4 = w.create(datetime!(2026-05-06 0:00 UTC), "L4", Lead).await;
    w.convert(datetime!(2026-06-02 0:00 UTC), l4).await;
    // L5: deleted in May. Lead ✗.
    let l5 = w.create(datetime!(2026-05-07 0:00 UTC), "L5", Lead).await;
    w.delete(datetime!(2026-05-08 0:00 UTC), l5).await;
    // L6: a duplicate merged into L3. Lead ✗.
    let l6 = w.create(datetime!(2026-05-09 0:00 UTC), "L6", Lead).await;
    w.merge(datetime!(2026-05-10 0:00 UTC), l3, l6).await;
    // L7: a lost lead (LEAD → CHURNED): not a churned customer. Lead ✓, converted ✗.
    let l7 = w.create(datetime!(2026-05-11 0:00 UTC), "L7", Lead).await;
    w.status(datetime!(2026-05-12 0:00 UTC), l7, Churned).await;
    // N1: created active. End ✓.
    w.create(datetime!(2026-05-13 0:00 UTC), "N1", Active).await;
    // L8: created at May's last microsecond. Lead ✓.
    w.create(datetime!(2026-05-31 23:59:59.999999 UTC), "L8", Lead).await;
    // L9: created at June's first instant. Lead ✗.
    w.create(datetime!(2026-06-01 0:00 UTC), "L9", Lead).await;
    // L10: deleted and restored, then converted 4 days after its creation. Lead ✓, converted ✓.
    let l10 = w.create(datetime!(2026-05-14 0:00 UTC), "L10", Lead).await;
    w.delete(datetime!(2026-05-15 0:00 UTC), l10).await;
    w.restore(datetime!(2026-05-16 0:00 UTC), l10).await;
    w.convert(datetime!(2026-05-18 0:00 UTC), l10).await;
    // L11: imported in a batch. Lead ✓, converted ✗.
    w.import(datetime!(2026-05-20 0:00 UTC), "L11", Lead).await;
    // L12: merged into L3 in June, L13 deleted in June: both were live at May's end. Lead ✓.
    let l12 = w.create(datetime!(2026-05-21 0:00 UTC), "L12", Lead).await;
    w.merge(datetime!(2026-06-03 0:00 UTC), l3, l12).await;
    let l13 = w.create(datetime!(2026-05-22 0:00 UTC), "L13", Prospect).await;
    w.delete(datetime!(2026-06-04 0:00 UTC), l13).await;

    // Another workspace of the organization, and another organization: never counted.
    for other in [new_scope(org), new_scope(Uuid::now_v7())] {
        let o = World::new(&db, other);
        o.emails.set(1_000 + w.emails.get());
        let x = o.create(datetime!(2026-04-01 0:00 UTC), "X", Active).await;
        o.status(datetime!(2026-05-10 0:00 UTC), x, Churned).await;
        let y = o.create(datetime!(2026-05-10 0:00 UTC), "Y", Lead).await;
        o.convert(datetime!(2026-05-11 0:00 UTC), y).await;
        w.emails.set(o.emails.get());
    }

    // Current lifetime values: live customers only (E is deleted).
    w.set_lifetime_value(a, "1000.00").await;
    w.set_lifetime_value(c, "250.50").await;
    w.set_lifetime_value(e, "99999.00").await;

    let now = datetime!(2026-06-10 12:00 UTC);
    let may = w.metrics(now, "2026-05-01", "2026-05-31").await;
    assert_eq!(
        (may.period.from(), may.period.to()),
        (datetime!(2026-05-01 0:00 UTC), datetime!(2026-06-01 0:00 UTC))
    );
    assert_eq!(may.as_of, now);
    // A, B, E, F, G, J, K.
    assert_eq!(may.active_at_start, 7, "{may:?}");
    // B, F, J.
    assert_eq!(may.churned_customers, 3);
    assert_eq!(may.churn_rate, Some(d("0.4286")));
    // A, C, D, F, H, K, P, L1, L2, N1, L10.
    assert_eq!(may.active_customers, 11);
    // L1, L2, L3, L4, L7, L8, L10, L11, L12, L13.
    assert_eq!(may.leads_created, 10);
    // L1, L2, L10.
    assert_eq!(may.leads_converted, 3);
    assert_eq!(may.lead_conversion_rate, Some(d("0.3")));
    // (3 + 0.5 + 4) / 3 days.
    assert_eq!(may.average_lead_conversion_time_days, Some(d("2.5")));
    // Every customer but E, G, L5, L6, L12 and L13: 20; (1000.00 + 250.50) / 20 = 62.525, half-even.
    assert_eq!(may.live_customers, 20);
    assert_eq!(may.average_lifetime_value, Some(Money::parse(d("62.52")).unwrap()));

    // The second half of April, `[04-15, 05-01)`: its end is May's start.
    let april = w
        .metrics(now, "2026-04-15T00:00:00Z", "2026-05-01T05:00:00+05:00")
        .await;
    assert_eq!(april.period.to(), datetime!(2026-05-01 0:00 UTC));
    // A, B, C, D, E, F, G, I, J, K.
    assert_eq!(april.active_at_start, 10, "{april:?}");
    // I (J churned at 05-01, after the period).
    assert_eq!((april.churned_customers, april.churn_rate), (1, Some(d("0.1"))));
    assert_eq!(april.active_customers, may.active_at_start);
    // P, converted after the period.
    assert_eq!((april.leads_created, april.leads_converted), (1, 0));
    assert_eq!(april.lead_conversion_rate, Some(d("0")));
    assert_eq!(april.average_lead_conversion_time_days, None);
    // Lifetime values are the current ones whatever the period.
    assert_eq!(april.average_lifetime_value, may.average_lifetime_value);

    // Before anything happened: nothing active, no lead, rates undefined.
    let early = w.metrics(now, "2026-01-01", "2026-03-31").await;
    assert_eq!((early.active_at_start, early.active_customers), (0, 0));
    assert_eq!((early.leads_created, early.churned_customers), (0, 0));
    assert_eq!((early.lead_conversion_rate, early.churn_rate), (None, None));
    assert_eq!(early.average_lead_conversion_time_days, None);

    // The port answers the same counts when asked directly.
    let counts = w
        .repo
        .metric_counts(w.scope, &Period::new(may.period.from(), may.period.to()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        counts,
        MetricCounts {
            active_at_start: 7,
            active_at_end: 11,
            churned: 3,
            leads_created: 10,
            leads_converted: 3,
            conversion_time: time::Duration::hours(180),
            live_customers: 20,
            lifetime_value_total: d("1250.50"),
        }
    );
}
on_both_backends!(run: every_metric_of_a_constructed_history);

async fn an_empty_workspace_has_no_rates(db: TestDatabase) {
    let w = World::new(&db, new_scope(Uuid::now_v7()));
    let m = w
        .metrics(datetime!(2026-06-10 12:00 UTC), "2026-05-01", "2026-05-31")
        .await;
    assert_eq!((m.active_customers, m.active_at_start, m.live_customers), (0, 0, 0));
    assert_eq!((m.leads_created, m.leads_converted, m.churned_customers), (0, 0, 0));
    assert_eq!((m.lead_conversion_rate, m.churn_rate), (None, None));
    assert_eq!(m.average_lead_conversion_time_days, None);
    assert_eq!(m.average_lifetime_value, None);
}
on_both_backends!(run: an_empty_workspace_has_no_rates);
