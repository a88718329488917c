//! Analytics in the database agree with the domain's rules: on randomized customers, the list's
//! segment filter and the counts per segment give exactly what `classify` gives, and the RFM
//! grid exactly what `rfm::scores` gives, on SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use customers_domain::analytics::rfm::{RfmScore, scores};
use customers_domain::analytics::segment::{
    Segment, SegmentFacts, SegmentRules, classify, own_rule, segment_condition,
};
use customers_domain::commands::CustomerDraft;
use customers_domain::ports::{CustomerRepository, CustomerSearch};
use customers_domain::query::{CustomerFilter, CustomerQuery};
use customers_domain::{Customer, CustomerId, CustomerStatus, CustomerType, Money, Rating, Scope};
use customers_infra::SeaRepository;
use customers_infra::on_both_backends;
use customers_infra::testing::with_repository;

const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Customers spread over every segment and right around every threshold: day counts near
/// the boundaries (± a few hours), counts around the purchase thresholds, values around VIP.
fn random_customers(scope: Scope, count: usize, seed: u64) -> Vec<Customer> {
    let mut rng = Rng(seed);
    let boundaries: [i64; 12] = [0, 29, 30, 59, 60, 90, 91, 180, 181, 365, 366, 700];
    (0..count)
        .map(|i| {
            let created_days = rng.pick(&boundaries) + rng.below(3) as i64;
            let created_at = NOW - Duration::days(created_days) - Duration::hours(rng.below(48) as i64 - 24);
            let mut c = CustomerDraft::new(
                CustomerType::Individual,
                &format!("Клиент {i}"),
                &format!("c{i}@seg.kz"),
            )
            .parse()
            .expect("valid")
            .into_customer(scope, Uuid::from_u128(7).into(), created_at.min(NOW));
            c.status = rng.pick(&[
                CustomerStatus::Lead,
                CustomerStatus::Prospect,
                CustomerStatus::Active,
                CustomerStatus::Active,
                CustomerStatus::Inactive,
                CustomerStatus::Churned,
            ]);
            c.purchase_count = rng.pick(&[0, 0, 1, 2, 5, 6, 10, 11, 30]);
            c.last_purchase_date = (c.purchase_count > 0 || rng.below(10) == 0)
                .then(|| NOW - Duration::days(rng.pick(&boundaries)) + Duration::hours(rng.below(48) as i64 - 24));
            c.lifetime_value = Money::parse(Decimal::from(
                rng.pick(&[0, 9_999_999, 10_000_000, 10_000_001, 50_000_000]),
            ))
            .expect("amount");
            c.rating = Rating::parse(3).expect("rating");
            c
        })
        .collect()
}

async fn check_agreement(repo: &SeaRepository, rules: &SegmentRules, seed: u64) {
    let scope = Scope::new(Uuid::now_v7().into(), Uuid::now_v7().into());
    let customers = random_customers(scope, 600, seed);
    repo.insert_many(&customers, &[]).await.expect("stored");
    let mut expected: BTreeMap<Segment, BTreeSet<CustomerId>> = BTreeMap::new();
    for c in &customers {
        let (segment, _) = classify(&SegmentFacts::from(c), rules, NOW);
        expected.entry(segment).or_default().insert(c.id);
    }
    assert!(
        expected.len() >= 6,
        "the sample reaches most segments: {:?}",
        expected.keys()
    );

    for segment in Segment::ALL {
        let mut query = CustomerQuery::new(
            CustomerFilter {
                segment: Some(segment),
                ..CustomerFilter::default()
            },
            None,
            None,
            None,
            Some(100),
        )
        .expect("query");
        query.segment_condition = Some(segment_condition(segment, rules, NOW));
        let mut found = BTreeSet::new();
        loop {
            let page = repo.search(scope, &query).await.expect("search");
            found.extend(page.items.iter().map(|c| c.id));
            match page.next {
                Some(next) => query = query.after(next).expect("same sort"),
                None => break,
            }
        }
        let want = expected.get(&segment).cloned().unwrap_or_default();
        assert_eq!(
            found.len(),
            want.len(),
            "{segment}: the SQL and the rule disagree on {:?}",
            found.symmetric_difference(&want).collect::<Vec<_>>()
        );
        assert_eq!(found, want, "{segment}");
    }

    let ordered: Vec<_> = Segment::ALL
        .iter()
        .filter(|s| **s != Segment::Promising)
        .map(|s| (*s, own_rule(*s, rules, NOW)))
        .collect();
    let counts: BTreeMap<Segment, u64> = repo
        .segment_counts(scope, &ordered, Segment::Promising)
        .await
        .expect("counts")
        .into_iter()
        .collect();
    let want: BTreeMap<Segment, u64> = expected.iter().map(|(s, ids)| (*s, ids.len() as u64)).collect();
    assert_eq!(counts, want);
}

async fn segment_sql_agrees_with_the_rule(repo: SeaRepository) {
    check_agreement(&repo, &SegmentRules::default(), 0x5EED_0001).await;
}

async fn segment_sql_agrees_with_other_thresholds(repo: SeaRepository) {
    let rules = SegmentRules {
        lost_after_days: 180,
        vip_lifetime_value: Money::parse(Decimal::from(9_999_999)).expect("amount"),
        vip_within_days: 60,
        loyal_min_purchases: 5,
        loyal_within_days: 90,
        new_within_days: 60,
        at_risk_min_purchases: 1,
        at_risk_after_days: 30,
        dormant_after_days: 91,
    };
    check_agreement(&repo, &rules, 0x5EED_0002).await;
}

async fn workspace_thresholds_are_stored_per_workspace(repo: SeaRepository) {
    let a = Scope::new(Uuid::now_v7().into(), Uuid::now_v7().into());
    let b = Scope::new(a.organization_id, Uuid::now_v7().into());
    assert_eq!(repo.segment_rules(a).await.unwrap(), None);
    let strict = SegmentRules {
        lost_after_days: 100,
        ..SegmentRules::default()
    };
    repo.put_segment_rules(a, &strict).await.unwrap();
    assert_eq!(repo.segment_rules(a).await.unwrap(), Some(strict.clone()));
    assert_eq!(repo.segment_rules(b).await.unwrap(), None);
    let stricter = SegmentRules {
        lost_after_days: 50,
        ..strict
    };
    repo.put_segment_rules(a, &stricter).await.unwrap();
    assert_eq!(repo.segment_rules(a).await.unwrap(), Some(stricter));
}

async fn rfm_grid_agrees_with_the_reference_scores(repo: SeaRepository) {
    let scope = Scope::new(Uuid::now_v7().into(), Uuid::now_v7().into());
    let mut customers = random_customers(scope, 500, 0x5EED_0003);
    // Many ties on purpose: few distinct counts and dates, a few distinct totals.
    let mut rng = Rng(99);
    for c in &mut customers {
        c.total_purchases = Money::parse(Decimal::from(rng.pick(&[100, 100, 250, 999, 5_000]))).expect("amount");
    }
    repo.insert_many(&customers, &[]).await.expect("stored");
    let scored: Vec<&Customer> = customers
        .iter()
        .filter(|c| c.purchase_count > 0 && c.last_purchase_date.is_some())
        .collect();
    let recency = scores(&scored.iter().map(|c| c.last_purchase_date).collect::<Vec<_>>());
    let frequency = scores(&scored.iter().map(|c| c.purchase_count).collect::<Vec<_>>());
    let mut want: BTreeMap<(u8, u8), (u64, Decimal)> = BTreeMap::new();
    for (i, c) in scored.iter().enumerate() {
        let cell = want.entry((recency[i], frequency[i])).or_default();
        cell.0 += 1;
        cell.1 += c.total_purchases.amount();
    }
    let got: BTreeMap<(u8, u8), (u64, Decimal)> = repo
        .rfm_grid(scope)
        .await
        .expect("grid")
        .into_iter()
        .map(|cell| ((cell.recency, cell.frequency), (cell.customers, cell.revenue.amount())))
        .collect();
    assert_eq!(got, want);
    assert!(want.len() > 5, "the sample spreads over the grid");
    // A workspace without purchases has an empty grid.
    let empty = Scope::new(Uuid::now_v7().into(), Uuid::now_v7().into());
    assert!(repo.rfm_grid(empty).await.unwrap().is_empty());

    // One customer's scores are the same as in the whole workspace's.
    let monetary = scores(&scored.iter().map(|c| c.total_purchases).collect::<Vec<_>>());
    for (i, c) in scored.iter().enumerate().step_by(7) {
        let want = RfmScore {
            recency: recency[i],
            frequency: frequency[i],
            monetary: monetary[i],
        };
        assert_eq!(repo.rfm_of(scope, c.id).await.unwrap(), Some(want), "customer {i}");
        assert_eq!(
            repo.rfm_of(empty, c.id).await.unwrap(),
            None,
            "customer {i} in another workspace"
        );
    }
    let unscored = customers
        .iter()
        .find(|c| c.purchase_count == 0)
        .expect("the sample has customers without a purchase");
    assert_eq!(repo.rfm_of(scope, unscored.id).await.unwrap(), None);
}

on_both_backends!(with_repository:
    rfm_grid_agrees_with_the_reference_scores,
    segment_sql_agrees_with_the_rule,
    segment_sql_agrees_with_other_thresholds,
    workspace_thresholds_are_stored_per_workspace,
);
