//! The customer list at scale: keyset pagination (`after` = `next`) in every sort order with
//! many ties, also while customers are added between page reads; offset pages; the count modes
//! (`exact`, `estimated`, `none`); and, on PostgreSQL, that every list query is served by an
//! index (no sequential scan of `customers`).
//!
//! `both_backends!(name)` expands to `mod name { sqlite(), postgres() }` and
//! `postgres_only!(name)` to `mod name { postgres() }`, so a failure names the backend:
//! `cargo test -p customers-infra --test listing -- postgres`.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;

use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft};
use customers_domain::model::fold_case;
use customers_domain::ports::{CustomerRepository, CustomerSearch};
use customers_domain::query::{
    CountMode, CustomerFilter, CustomerQuery, ESTIMATE_TRUSTED_ABOVE, EXACT_COUNT_UP_TO, Keyset, SearchTerm, SortField,
    SortOrder,
};
use customers_domain::values::tax_id::control_digit;
use customers_domain::{
    AddressType, Customer, CustomerId, CustomerStatus, CustomerType, Money, OrganizationId, Rating, Scope, UserId,
    WorkspaceId,
};
use customers_infra::SeaRepository;
use customers_infra::testing::{Backend, TestDatabase};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Runs `test` on a fresh database of `backend`; the database lives until the test returns.
async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(SeaRepository) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDatabase::new(backend).await;
    test(SeaRepository::new(db.connection.clone())).await;
    drop(db);
}

/// One `#[tokio::test]` per backend for each named story. A story may be preceded by
/// `#[ignore = "bug: …"]` (both backends) or `#[ignore_on_sqlite = "bug: …"]` (SQLite only)
/// while a known bug makes it fail.
macro_rules! both_backends {
    ($( $(#[ignore = $both:literal])? $(#[ignore_on_sqlite = $sqlite:literal])? $name:ident ),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[ignore = $both])?
                $(#[ignore = $sqlite])?
                async fn sqlite() {
                    super::run(customers_infra::testing::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[ignore = $both])?
                async fn postgres() {
                    super::run(customers_infra::testing::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
}

/// A story that only means something on PostgreSQL (its planner).
macro_rules! postgres_only {
    ($( $(#[$attr:meta])* $name:ident ),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$attr])*
                async fn postgres() {
                    super::run(customers_infra::testing::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
}

both_backends!(
    keyset_walks_visit_every_customer_once_in_sort_order,
    keyset_walks_stay_exact_while_customers_are_added,
    offset_pages_are_slices_of_the_sorted_list,
    offset_pages_with_a_filter_are_slices_of_the_filtered_list,
    filter_combinations_page_in_every_sort_order,
    offset_pages_count_each_customer_once_whatever_its_tags_and_addresses,
    count_modes_and_next_follow_the_matches,
    estimated_count_beyond_the_exact_limit_is_flagged_only_on_postgres,
);

postgres_only!(
    estimated_count_takes_large_planner_estimates_without_counting,
    list_queries_never_scan_the_customers_table
);

/// Pages whose best plan does not depend on the values run with PostgreSQL's cached generic
/// plan; a tags page is planned for its values every time (`pg_prepared_statements` counts
/// both, per connection: the repository gets a pool of one connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_independent_pages_use_generic_plans_and_tag_pages_custom_ones() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let mut options = sea_orm::ConnectOptions::new(db.url.clone());
    options.max_connections(1).min_connections(1).sqlx_logging(false);
    let pool = sea_orm::Database::connect(options).await.unwrap();
    let repo = SeaRepository::new(pool.clone());
    let scope = new_scope();
    let all: Vec<Customer> = (0..300).map(|n| customer(scope, n, Kind::Ties)).collect();
    insert_all(&repo, &all).await;
    let pages = [
        ("unfiltered", CustomerFilter::default()),
        (
            "status, type and industry",
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                customer_type: Some(CustomerType::Company),
                industry: Some("retail".into()),
                ..CustomerFilter::default()
            },
        ),
        (
            "tags",
            CustomerFilter {
                tags: vec!["vip".into()],
                ..CustomerFilter::default()
            },
        ),
    ];
    for (_, filter) in &pages {
        let query = CustomerQuery::new(filter.clone(), None, None, Some(2), Some(10))
            .unwrap()
            .counted(CountMode::None);
        for _ in 0..8 {
            repo.search(scope, &query).await.unwrap();
        }
    }
    let rows = pool
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement LIKE 'WITH page AS MATERIALIZED%'",
        ))
        .await
        .unwrap();
    let plans: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get::<String>("", "statement").unwrap(),
                row.try_get::<i64>("", "generic_plans").unwrap(),
                row.try_get::<i64>("", "custom_plans").unwrap(),
            )
        })
        .collect();
    let find = |what: &str, test: &dyn Fn(&str) -> bool| {
        let found: Vec<_> = plans.iter().filter(|(sql, _, _)| test(sql)).collect();
        assert_eq!(found.len(), 1, "one prepared statement for the {what} page: {plans:?}");
        (found[0].1, found[0].2)
    };
    let (generic, _) = find("unfiltered", &|sql| {
        !sql.contains("customer_tags t WHERE") && !sql.contains("c.status =")
    });
    assert!(generic >= 1, "the unfiltered page keeps a generic plan");
    let (generic, _) = find("status, type and industry", &|sql| sql.contains("c.status ="));
    assert!(generic >= 1, "the status, type and industry page runs its generic plan");
    let (generic, custom) = find("tags", &|sql| sql.contains("customer_tags t WHERE"));
    assert_eq!(
        (generic, custom),
        (0, 8),
        "a tags page is planned for its values each time"
    );
    drop(pool);
    drop(db);
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// A moment with microseconds, in Almaty time (the stores keep the instant).
const T0: OffsetDateTime = datetime!(2026-11-25 10:11:12.123456 +05:00);

/// Page size of the walks: prime, so that pages never line up with the tie groups.
const LIMIT: u32 = 37;

/// Names with many case-folded ties ("Альфа" = "альфа" = "АЛЬФА"), Kazakh letters, digits and
/// accents, so that the name order is the code-point order of `fold_case(name)`.
const NAMES: [&str; 24] = [
    "Альфа",
    "альфа",
    "АЛЬФА",
    "Alpha",
    "alpha",
    "ALPHA",
    "Бета",
    "бета",
    "Әлем",
    "әлем",
    "Қазына",
    "Өрнек",
    "Ұлы Дала",
    "Zeta",
    "zeta",
    "Ёлка",
    "Ежевика",
    "100 Грамм",
    "Omega",
    "Ómega",
    "ómega",
    "Ωmega",
    "ТОО Самал",
    "ИП Самал",
];

/// Totals with ties, equal values of other scales ("10.5" = "10.50") and the extremes.
const TOTALS: [&str; 11] = [
    "0",
    "0.01",
    "10.5",
    "10.50",
    "99.99",
    "1000",
    "1000.00",
    "123456.78",
    "9999999999.99",
    "0.10",
    "5",
];

const TAGS: [&[&str]; 5] = [&[], &["vip"], &["VIP", "опт"], &["Опт"], &["retail"]];

const STATUSES: [CustomerStatus; 5] = [
    CustomerStatus::Lead,
    CustomerStatus::Prospect,
    CustomerStatus::Active,
    CustomerStatus::Inactive,
    CustomerStatus::Churned,
];

const INDUSTRIES: [Option<&str>; 6] = [
    None,
    Some("Retail"),
    Some("IT"),
    Some("Manufacturing"),
    Some("Логистика"),
    Some("Agro"),
];

const CITIES: [&str; 7] = [
    "Алматы",
    "Астана",
    "Шымкент",
    "Караганда",
    "Актобе",
    "Павлодар",
    "Талдыкорган",
];

const SOURCES: [Option<&str>; 5] = [None, Some("website"), Some("referral"), Some("instagram"), Some("2gis")];

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn money(text: &str) -> Money {
    Money::parse(dec(text)).unwrap()
}

fn new_scope() -> Scope {
    Scope::new(OrganizationId::new(), WorkspaceId::new())
}

/// SplitMix64: a bijection of u64 that looks random (deterministic test data).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A distinct id for each `n` in no relation to `n` or to the creation order, so that neither
/// insertion order nor time can pass for id order.
fn id_of(n: u64) -> CustomerId {
    CustomerId::from(Uuid::from_u64_pair(mix(n), mix(n ^ 0xA5A5_A5A5_A5A5_A5A5)))
}

/// A pronounceable word for `n` ("bakodu"), distinct for each `n` below 274,625.
fn word(n: u64) -> String {
    const CONSONANTS: &[u8] = b"bdgklmnprstvz";
    const VOWELS: &[u8] = b"aeiou";
    let mut rest = n;
    let mut out = String::new();
    for _ in 0..3 {
        let syllable = (rest % 65) as usize;
        rest /= 65;
        out.push(CONSONANTS[syllable / 5] as char);
        out.push(VOWELS[syllable % 5] as char);
    }
    out
}

/// A valid IIN (born 1990-05-15, male) with serial `serial`, unless that serial is never issued.
fn iin(serial: u64) -> Option<String> {
    let first_eleven = format!("9005153{:04}", serial % 10_000);
    let digits: [u8; 11] = first_eleven
        .bytes()
        .map(|b| b - b'0')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    control_digit(&digits).map(|c| format!("{first_eleven}{c}"))
}

/// A manager id, one of eight.
fn manager(k: u64) -> Uuid {
    Uuid::from_u128(0x1000 + u128::from(k % 8))
}

/// What a generated customer looks like.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Names from [`NAMES`] only: many ties on every key.
    Ties,
    /// A distinct word after the name (substring search), an IIN for every fourth customer,
    /// and a contact (lookups of the children).
    Searchable,
}

/// Customer number `n`, its fields derived from `n` with deliberate ties: the status by
/// groups of 3 (one in five ACTIVE, all of them with a tag `vip` or `опт`), the creation time
/// by groups of 7, the update time by every 50th, the name (case-folded) by every
/// 24th, the total by every 11th, the rating by every 10th.
fn customer(scope: Scope, n: u64, kind: Kind) -> Customer {
    let i = n as usize;
    let name = match kind {
        Kind::Ties => NAMES[i % NAMES.len()].to_owned(),
        Kind::Searchable => format!("{} {}", NAMES[i % NAMES.len()], word(n)),
    };
    let customer_type = if i.is_multiple_of(3) {
        CustomerType::Company
    } else {
        CustomerType::Individual
    };
    let draft = CustomerDraft {
        status: Some(STATUSES[(i / 3) % STATUSES.len()]),
        tags: TAGS[i % TAGS.len()].iter().map(|t| (*t).to_owned()).collect(),
        industry: INDUSTRIES[(i / 3) % INDUSTRIES.len()].map(str::to_owned),
        lead_source: SOURCES[(i / 4) % SOURCES.len()].map(str::to_owned),
        assigned_to: (!i.is_multiple_of(5)).then(|| manager(n / 5)),
        addresses: vec![AddressDraft::new(
            AddressType::Office,
            "пр. Абая, 150",
            CITIES[(i / 5) % CITIES.len()],
            "050000",
        )],
        // IINs are unique per organization: only the first 40,000 numbers get one.
        iin: if kind == Kind::Searchable && i.is_multiple_of(4) && n < 40_000 {
            iin(n / 4)
        } else {
            None
        },
        contacts: if kind == Kind::Searchable && i.is_multiple_of(2) {
            vec![ContactDraft {
                first_name: "Асет".into(),
                last_name: "Жумабеков".into(),
                email: format!("contact{n}@example.kz"),
                phone: "+77011111111".into(),
                ..ContactDraft::default()
            }]
        } else {
            Vec::new()
        },
        ..CustomerDraft::new(customer_type, &name, &format!("c{n}@example.kz"))
    };
    let created = T0 + Duration::seconds((i / 7) as i64) + Duration::microseconds((i % 3) as i64);
    let mut c = draft
        .parse()
        .unwrap_or_else(|e| panic!("invalid test draft {n}: {e}"))
        .into_customer(scope, UserId::from(Uuid::from_u128(1)), created);
    set_id(&mut c, id_of(n));
    c.updated_at = T0 + Duration::minutes((i % 50) as i64);
    c.total_purchases = money(TOTALS[i % TOTALS.len()]);
    c.rating = Rating::parse(((i * 3) % 10 + 1) as i64).unwrap();
    c.is_active = !i.is_multiple_of(9);
    c
}

/// Gives `c` the id `id`, with its children following.
fn set_id(c: &mut Customer, id: CustomerId) {
    c.id = id;
    for contact in &mut c.contacts {
        contact.customer_id = id;
    }
    for address in &mut c.addresses {
        address.customer_id = id;
    }
}

async fn insert_all(repo: &SeaRepository, customers: &[Customer]) {
    for chunk in customers.chunks(2_000) {
        repo.insert_many(chunk, &[])
            .await
            .unwrap_or_else(|e| panic!("insert_many of {} customers failed: {e:?}", chunk.len()));
    }
}

async fn analyze(repo: &SeaRepository) {
    if repo.connection().get_database_backend() == DbBackend::Postgres {
        repo.connection().execute_unprepared("ANALYZE").await.unwrap();
    }
}

fn is_postgres(repo: &SeaRepository) -> bool {
    repo.connection().get_database_backend() == DbBackend::Postgres
}

// ---------------------------------------------------------------------------------------------
// The reference: what the list must hold, and in which order
// ---------------------------------------------------------------------------------------------

/// The list order: the sort key (names by the code points of `fold_case(name)`), then the id,
/// both in the direction of `order`.
fn compare(a: &Customer, b: &Customer, sort: SortField, order: SortOrder) -> Ordering {
    let key = match sort {
        SortField::CreatedAt => a.created_at.cmp(&b.created_at),
        SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        SortField::Name => fold_case(&a.name).cmp(&fold_case(&b.name)),
        SortField::TotalPurchases => a.total_purchases.cmp(&b.total_purchases),
        SortField::Rating => a.rating.cmp(&b.rating),
    };
    let ordering = key.then(a.id.cmp(&b.id));
    match order {
        SortOrder::Asc => ordering,
        SortOrder::Desc => ordering.reverse(),
    }
}

/// Whether `c` matches `filter` (the filters these stories use).
fn matches(c: &Customer, filter: &CustomerFilter) -> bool {
    assert!(
        filter.search.is_none()
            && filter.city.is_none()
            && filter.assigned_to.is_none()
            && filter.lead_source.is_none()
            && filter.min_purchases.is_none()
            && filter.max_purchases.is_none()
            && filter.created_from.is_none()
            && filter.created_to.is_none(),
        "the reference does not model {filter:?}"
    );
    filter.customer_type.is_none_or(|t| c.customer_type == t)
        && filter.status.is_none_or(|s| c.status == s)
        && filter
            .industry
            .as_ref()
            .is_none_or(|i| c.industry.as_deref().map(fold_case).as_ref() == Some(i))
        && filter.is_active.is_none_or(|a| c.is_active == a)
        && (filter.tags.is_empty() || c.tags.iter().any(|t| filter.tags.contains(&fold_case(t))))
}

fn sorted_ids(customers: &[Customer], sort: SortField, order: SortOrder) -> Vec<CustomerId> {
    let mut sorted: Vec<&Customer> = customers.iter().collect();
    sorted.sort_by(|a, b| compare(a, b, sort, order));
    sorted.iter().map(|c| c.id).collect()
}

const SORTS: [SortField; 5] = [
    SortField::CreatedAt,
    SortField::UpdatedAt,
    SortField::Name,
    SortField::TotalPurchases,
    SortField::Rating,
];

const ORDERS: [SortOrder; 2] = [SortOrder::Asc, SortOrder::Desc];

/// No filter; status ACTIVE with any of the tags `vip`, `ОПТ` (matched case-insensitively);
/// industry `retail` (read as ten branches, one per status and type, merged).
fn walk_filters() -> Vec<(&'static str, CustomerFilter)> {
    vec![
        ("no filter", CustomerFilter::default()),
        (
            "status+tags",
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                tags: vec!["vip".into(), "ОПТ".into()],
                ..CustomerFilter::default()
            },
        ),
        (
            "industry",
            CustomerFilter {
                industry: Some("retail".into()),
                ..CustomerFilter::default()
            },
        ),
    ]
}

fn list_query(
    filter: &CustomerFilter,
    sort: SortField,
    order: SortOrder,
    page: Option<i64>,
    limit: u32,
) -> CustomerQuery {
    CustomerQuery::new(filter.clone(), Some(sort), Some(order), page, Some(i64::from(limit))).unwrap()
}

/// Repeated ids of `ids`.
fn repeated(ids: &[CustomerId]) -> Vec<CustomerId> {
    let mut seen = HashSet::new();
    ids.iter().filter(|id| !seen.insert(**id)).copied().collect()
}

// ---------------------------------------------------------------------------------------------
// The fixture of the walks
// ---------------------------------------------------------------------------------------------

/// 1,000 live customers in one workspace with many ties, plus customers that must never be
/// listed: 20 deleted ones and 30 of another workspace of the same organization.
struct Fixture {
    scope: Scope,
    /// Every live customer of `scope`, as inserted.
    live: Vec<Customer>,
    /// The number of the next customer made.
    next_n: u64,
}

impl Fixture {
    async fn new(repo: &SeaRepository) -> Self {
        let scope = new_scope();
        let mut live: Vec<Customer> = (0..1_020).map(|n| customer(scope, n, Kind::Ties)).collect();
        insert_all(repo, &live).await;
        let deleted: Vec<CustomerId> = live.iter().skip(500).step_by(26).take(20).map(|c| c.id).collect();
        let gone = repo
            .soft_delete(scope, &deleted, T0 + Duration::days(1), UserId::new(), &[])
            .await
            .unwrap();
        assert_eq!(gone.len(), 20);
        live.retain(|c| !deleted.contains(&c.id));
        assert_eq!(live.len(), 1_000);
        let neighbour = Scope::new(scope.organization_id, WorkspaceId::new());
        let others: Vec<Customer> = (5_000..5_030).map(|n| customer(neighbour, n, Kind::Ties)).collect();
        insert_all(repo, &others).await;
        Self {
            scope,
            live,
            next_n: 10_000,
        }
    }

    fn make(&mut self) -> Customer {
        self.next_n += 1;
        customer(self.scope, self.next_n, Kind::Ties)
    }

    /// Customers to add after a page whose last row is `last`: two with its sort keys (and
    /// status, type, industry and tags) and ids just below and above its id, and two ordinary
    /// ones.
    fn around(&mut self, last: &Customer) -> Vec<Customer> {
        let mut rows = Vec::new();
        for sign in [-1i128, 1] {
            let mut tie = self.make();
            tie.created_at = last.created_at;
            tie.updated_at = last.updated_at;
            tie.name = last.name.clone();
            tie.total_purchases = last.total_purchases;
            tie.rating = last.rating;
            tie.status = last.status;
            tie.customer_type = last.customer_type;
            tie.industry = last.industry.clone();
            tie.tags = last.tags.clone();
            // Close to the last id, but never onto an id used before.
            let step = 1 + i128::from(mix(self.next_n) % (1 << 40));
            let id = Uuid::from_u128((last.id.into_uuid().as_u128() as i128).wrapping_add(sign * step) as u128);
            set_id(&mut tie, CustomerId::from(id));
            rows.push(tie);
        }
        rows.push(self.make());
        rows.push(self.make());
        rows
    }
}

/// Reads every page of the list of `filter` sorted by `sort`/`order` with `after` = `next`,
/// from the first page to the one without `next`, and checks it against the reference. With
/// `add`, customers are added after every page (see [`Fixture::around`]): those after the
/// current position must be listed, those before it must not.
async fn walk(
    repo: &SeaRepository,
    fx: &mut Fixture,
    label: &str,
    filter: &CustomerFilter,
    sort: SortField,
    order: SortOrder,
    add: bool,
) {
    let base = list_query(filter, sort, order, None, LIMIT);
    let what = format!("{label}, {sort:?} {order:?}{}", if add { ", adding" } else { "" });
    // The normalized filter (tags case-folded) decides what matches.
    let filter = base.filter.clone();
    let mut expected: Vec<Customer> = fx.live.iter().filter(|c| matches(c, &filter)).cloned().collect();
    assert!(
        expected.len() > 3 * LIMIT as usize,
        "{what}: the fixture has pages of matches"
    );
    let mut not_listed: HashSet<CustomerId> = HashSet::new();
    let total_at_start = expected.len();
    let mut seen: Vec<CustomerId> = Vec::new();
    let mut query = base.clone();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 200, "{what}: the walk does not end");
        let page = repo.search(fx.scope, &query).await.unwrap();
        assert!(
            page.items.len() <= LIMIT as usize,
            "{what}: page {pages} holds {}",
            page.items.len()
        );
        assert_eq!(page.limit, LIMIT, "{what}");
        assert_eq!(page.page, 1, "{what}: a keyset page reports page 1");
        if !add {
            assert_eq!(page.total, Some(total_at_start as u64), "{what}: total on page {pages}");
        } else if pages == 1 {
            assert_eq!(
                page.total,
                Some(total_at_start as u64),
                "{what}: total on the first page"
            );
        }
        assert!(!page.total_is_estimate, "{what}");
        seen.extend(page.items.iter().map(|c| c.id));
        let Some(next) = page.next else {
            break;
        };
        assert_eq!(
            page.items.len(),
            LIMIT as usize,
            "{what}: page {pages} has a next page but is not full"
        );
        let last = page.items.last().unwrap();
        assert_eq!(
            next,
            Keyset::of(last, sort),
            "{what}: next is the position of the last row"
        );
        if add {
            let rows = fx.around(last);
            repo.insert_many(&rows, &[]).await.unwrap();
            for row in rows {
                if matches(&row, &filter) && compare(&row, last, sort, order) == Ordering::Greater {
                    expected.push(row.clone());
                } else {
                    not_listed.insert(row.id);
                }
                fx.live.push(row);
            }
        }
        query = base.clone().after(next).unwrap();
    }
    if !add {
        assert_eq!(pages, total_at_start.div_ceil(LIMIT as usize).max(1), "{what}: pages");
    }
    let expected = sorted_ids(&expected, sort, order);
    let again = repeated(&seen);
    assert!(again.is_empty(), "{what}: listed more than once: {again:?}");
    let leaked: Vec<_> = seen.iter().filter(|id| not_listed.contains(id)).collect();
    assert!(
        leaked.is_empty(),
        "{what}: customers added before the position (or not matching) were listed: {leaked:?}"
    );
    let seen_set: HashSet<_> = seen.iter().copied().collect();
    let missed: Vec<_> = expected.iter().filter(|id| !seen_set.contains(id)).collect();
    assert!(
        missed.is_empty(),
        "{what}: {} customers missed: {missed:?}",
        missed.len()
    );
    let unexpected: Vec<_> = seen.iter().filter(|id| !expected.contains(id)).collect();
    assert!(unexpected.is_empty(), "{what}: listed but not expected: {unexpected:?}");
    if seen != expected {
        let at = seen.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{what}: order differs from the reference at position {at}: listed {:?}, expected {:?}",
            &seen[at..(at + 3).min(seen.len())],
            &expected[at..(at + 3).min(expected.len())]
        );
    }
}

/// A few offset pages (`page`) of the same lists: the slices of the reference order, and their
/// `next` continues exactly where the following offset page starts.
async fn offset_spot_checks(
    repo: &SeaRepository,
    fx: &Fixture,
    label: &str,
    filter: &CustomerFilter,
    sort: SortField,
    order: SortOrder,
) {
    let base = list_query(filter, sort, order, None, LIMIT);
    let matching: Vec<Customer> = fx.live.iter().filter(|c| matches(c, &base.filter)).cloned().collect();
    let expected = sorted_ids(&matching, sort, order);
    let pages = expected.len().div_ceil(LIMIT as usize) as i64;
    for p in [1, 2, pages / 2, pages - 1, pages, pages + 1] {
        if p < 1 {
            continue;
        }
        let what = format!("{label}, {sort:?} {order:?}, page {p}");
        let query = list_query(filter, sort, order, Some(p), LIMIT);
        let page = repo.search(fx.scope, &query).await.unwrap();
        let from = ((p - 1) as usize * LIMIT as usize).min(expected.len());
        let to = (from + LIMIT as usize).min(expected.len());
        let got: Vec<_> = page.items.iter().map(|c| c.id).collect();
        if got != expected[from..to] {
            let at: Vec<_> = got.iter().map(|id| expected.iter().position(|e| e == id)).collect();
            eprintln!("{what}: the positions of the listed customers in the reference: {at:?}");
        }
        assert_eq!(got, expected[from..to], "{what}");
        assert_eq!(page.total, Some(expected.len() as u64), "{what}: total");
        assert_eq!(page.page, p as u32, "{what}");
        assert_eq!(page.next.is_some(), to < expected.len(), "{what}: next");
        if let Some(next) = page.next {
            let after = repo.search(fx.scope, &base.clone().after(next).unwrap()).await.unwrap();
            let got: Vec<_> = after.items.iter().map(|c| c.id).collect();
            let end = (to + LIMIT as usize).min(expected.len());
            assert_eq!(got, expected[to..end], "{what}: the page after its next");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Keyset walks
// ---------------------------------------------------------------------------------------------

async fn keyset_walks_visit_every_customer_once_in_sort_order(repo: SeaRepository) {
    let mut fx = Fixture::new(&repo).await;
    for (label, filter) in walk_filters() {
        for sort in SORTS {
            for order in ORDERS {
                walk(&repo, &mut fx, label, &filter, sort, order, false).await;
            }
        }
    }
}

async fn offset_pages_are_slices_of_the_sorted_list(repo: SeaRepository) {
    let fx = Fixture::new(&repo).await;
    let filter = CustomerFilter::default();
    for sort in SORTS {
        for order in ORDERS {
            offset_spot_checks(&repo, &fx, "no filter", &filter, sort, order).await;
        }
    }
}

async fn offset_pages_with_a_filter_are_slices_of_the_filtered_list(repo: SeaRepository) {
    let fx = Fixture::new(&repo).await;
    for (label, filter) in walk_filters().into_iter().skip(1) {
        for sort in SORTS {
            for order in ORDERS {
                offset_spot_checks(&repo, &fx, label, &filter, sort, order).await;
            }
        }
    }
}

/// A filter on status, type or industry is read as one branch per status and type it leaves
/// open, merged in sort order: 1,200 customers whose status, type and industry vary
/// independently (with ties in every sort key), each combination of the three filters in every
/// sort order, walked through cursors and read as offset pages, against the reference.
async fn filter_combinations_page_in_every_sort_order(repo: SeaRepository) {
    const PAGE: u32 = 11;
    let scope = new_scope();
    let mut all: Vec<Customer> = (0..1_220)
        .map(|n| {
            let mut c = customer(scope, n, Kind::Ties);
            let r = mix(n ^ 0x5eed);
            c.status = STATUSES[(r % 5) as usize];
            c.customer_type = if (r >> 8).is_multiple_of(3) {
                CustomerType::Company
            } else {
                CustomerType::Individual
            };
            c.industry = INDUSTRIES[((r >> 16) % 6) as usize].map(str::to_owned);
            c
        })
        .collect();
    insert_all(&repo, &all).await;
    // Deleted customers and another workspace's are never listed.
    let deleted: Vec<CustomerId> = all.iter().skip(7).step_by(61).take(20).map(|c| c.id).collect();
    let gone = repo
        .soft_delete(scope, &deleted, T0 + Duration::days(1), UserId::new(), &[])
        .await
        .unwrap();
    assert_eq!(gone.len(), 20);
    all.retain(|c| !deleted.contains(&c.id));
    let neighbour = Scope::new(scope.organization_id, WorkspaceId::new());
    let others: Vec<Customer> = (5_000..5_060).map(|n| customer(neighbour, n, Kind::Ties)).collect();
    insert_all(&repo, &others).await;

    for mask in 1..8_u8 {
        let filter = CustomerFilter {
            status: (mask & 1 != 0).then_some(CustomerStatus::Active),
            customer_type: (mask & 2 != 0).then_some(CustomerType::Individual),
            industry: (mask & 4 != 0).then(|| "RETAIL".to_owned()),
            ..CustomerFilter::default()
        };
        let label = [("status", 1), ("type", 2), ("industry", 4)]
            .iter()
            .filter(|(_, bit)| mask & bit != 0)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join("+");
        for sort in SORTS {
            for order in ORDERS {
                let what = format!("{label}, {sort:?} {order:?}");
                let base = list_query(&filter, sort, order, None, PAGE);
                let matching: Vec<Customer> = all.iter().filter(|c| matches(c, &base.filter)).cloned().collect();
                let expected = sorted_ids(&matching, sort, order);
                assert!(
                    expected.len() > 2 * PAGE as usize,
                    "{what}: the fixture has pages of matches ({})",
                    expected.len()
                );
                let mut seen = Vec::new();
                let mut query = base.clone();
                loop {
                    let page = repo.search(scope, &query).await.unwrap();
                    assert_eq!(page.total, Some(expected.len() as u64), "{what}: total");
                    seen.extend(page.items.iter().map(|c| c.id));
                    assert!(seen.len() <= expected.len(), "{what}: the walk does not end");
                    match page.next {
                        Some(next) => query = base.clone().after(next).unwrap(),
                        None => break,
                    }
                }
                assert_eq!(seen, expected, "{what}: cursor walk");
                let pages = expected.len().div_ceil(PAGE as usize);
                for p in [1, 2, pages / 2, pages - 1, pages, pages + 1] {
                    let query = list_query(&filter, sort, order, Some(p as i64), PAGE);
                    let page = repo.search(scope, &query).await.unwrap();
                    let from = ((p - 1) * PAGE as usize).min(expected.len());
                    let to = (from + PAGE as usize).min(expected.len());
                    let got: Vec<_> = page.items.iter().map(|c| c.id).collect();
                    assert_eq!(got, expected[from..to], "{what}: page {p}");
                    assert_eq!(page.next.is_some(), to < expected.len(), "{what}: next of page {p}");
                }
            }
        }
    }
}

/// The smallest case of the offset bug: customers with two matching tags or two addresses in
/// the city filtered by.
async fn offset_pages_count_each_customer_once_whatever_its_tags_and_addresses(repo: SeaRepository) {
    let scope = new_scope();
    let all: Vec<Customer> = (0..40)
        .map(|n| {
            let mut c = customer(scope, n, Kind::Ties);
            c.tags = if n % 2 == 0 {
                vec!["vip".into(), "опт".into()]
            } else {
                vec!["vip".into()]
            };
            let mut second = c.addresses[0].clone();
            second.id = customers_domain::AddressId::new();
            second.address_type = AddressType::Shipping;
            c.addresses[0].city = "Алматы".into();
            if n % 3 == 0 {
                second.city = "Алматы".into();
            }
            c.addresses.push(second);
            c
        })
        .collect();
    insert_all(&repo, &all).await;
    let expected = sorted_ids(&all, SortField::CreatedAt, SortOrder::Asc);
    let filters = [
        (
            "tags vip, опт",
            CustomerFilter {
                tags: vec!["vip".into(), "опт".into()],
                ..CustomerFilter::default()
            },
        ),
        (
            "city Алматы",
            CustomerFilter {
                city: Some("Алматы".into()),
                ..CustomerFilter::default()
            },
        ),
    ];
    let mut failures = Vec::new();
    for (label, filter) in filters {
        let mut listed = Vec::new();
        for p in 1..=4_i64 {
            let query = list_query(&filter, SortField::CreatedAt, SortOrder::Asc, Some(p), 10);
            let page = repo.search(scope, &query).await.unwrap();
            assert_eq!(page.total, Some(40), "{label}: total");
            listed.extend(page.items.iter().map(|c| c.id));
        }
        let again = repeated(&listed);
        let missed = expected.iter().filter(|id| !listed.contains(id)).count();
        if listed != expected {
            failures.push(format!(
                "{label}: pages 1-4 of 10 repeat {} and miss {missed} of the 40 customers",
                again.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn keyset_walks_stay_exact_while_customers_are_added(repo: SeaRepository) {
    let mut fx = Fixture::new(&repo).await;
    for (label, filter) in walk_filters() {
        for sort in SORTS {
            for order in ORDERS {
                walk(&repo, &mut fx, label, &filter, sort, order, true).await;
            }
        }
    }
    // Everything added meanwhile (ties with the page boundaries included) is in its place.
    assert!(fx.live.len() > 2_000, "customers were added: {}", fx.live.len());
    for (label, filter) in walk_filters() {
        for sort in SORTS {
            for order in ORDERS {
                walk(&repo, &mut fx, label, &filter, sort, order, false).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Count modes
// ---------------------------------------------------------------------------------------------

/// The total a page must report in `mode` when `matches` customers match (at most 10,000).
fn small_total(mode: CountMode, matches: usize) -> Option<u64> {
    match mode {
        CountMode::None => None,
        CountMode::Exact | CountMode::Estimated => Some(matches as u64),
    }
}

async fn count_modes_and_next_follow_the_matches(repo: SeaRepository) {
    let scope = new_scope();
    let all: Vec<Customer> = (0..150).map(|n| customer(scope, n, Kind::Ties)).collect();
    insert_all(&repo, &all).await;
    let filters = [
        ("no filter", CustomerFilter::default()),
        (
            "status",
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                ..CustomerFilter::default()
            },
        ),
        (
            "status+tags",
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                tags: vec!["VIP".into(), "опт".into()],
                ..CustomerFilter::default()
            },
        ),
        (
            "nothing",
            CustomerFilter {
                industry: Some("нет такой".into()),
                ..CustomerFilter::default()
            },
        ),
    ];
    for (label, filter) in filters {
        let normalized = list_query(&filter, SortField::Name, SortOrder::Asc, None, 1).filter;
        let matching: Vec<Customer> = all.iter().filter(|c| matches(c, &normalized)).cloned().collect();
        let expected = sorted_ids(&matching, SortField::Name, SortOrder::Asc);
        let n = expected.len();
        assert!(label == "nothing" || n > 7, "{label}: the fixture has matches ({n})");
        // Pages that split the matches, a page size that divides them exactly (the last page
        // is full and has no next), one page holding them all, and one larger than that.
        let mut limits = vec![7, n.clamp(1, 100) as u32, 100];
        if n > 2 && n.is_multiple_of(2) {
            limits.push((n / 2) as u32);
        }
        for limit in limits {
            for mode in [CountMode::Exact, CountMode::Estimated, CountMode::None] {
                let what = format!("{label} ({n} matches), limit {limit}, {mode:?}");
                let base = list_query(&filter, SortField::Name, SortOrder::Asc, None, limit).counted(mode);
                let mut query = base.clone();
                let mut seen = Vec::new();
                loop {
                    let page = repo.search(scope, &query).await.unwrap();
                    assert_eq!(page.total, small_total(mode, n), "{what}: total");
                    assert!(!page.total_is_estimate, "{what}: never an estimate up to 10,000");
                    assert_eq!(page.pages(), page.total.map(|t| t.div_ceil(u64::from(limit))), "{what}");
                    seen.extend(page.items.iter().map(|c| c.id));
                    match page.next {
                        Some(next) => {
                            assert!(seen.len() < n, "{what}: next on the last page");
                            assert_eq!(page.items.len(), limit as usize, "{what}");
                            query = base.clone().after(next).unwrap();
                        }
                        None => {
                            assert_eq!(seen.len(), n, "{what}: no next before the last page");
                            break;
                        }
                    }
                }
                assert_eq!(seen, expected, "{what}");
                // An offset page reports the same total; past the end it is empty. (Offset pages
                // of a tags filter are checked by the offset stories: SQLite gets them wrong.)
                let offsets = if filter.tags.is_empty() {
                    vec![2, (n as u32).div_ceil(limit).max(1) + 1]
                } else {
                    Vec::new()
                };
                for p in offsets {
                    let q =
                        list_query(&filter, SortField::Name, SortOrder::Asc, Some(i64::from(p)), limit).counted(mode);
                    let page = repo.search(scope, &q).await.unwrap();
                    assert_eq!(page.total, small_total(mode, n), "{what}: total of page {p}");
                    assert!(!page.total_is_estimate, "{what}: page {p}");
                    let from = ((p - 1) * limit) as usize;
                    assert_eq!(
                        page.next.is_some(),
                        from + (limit as usize) < n,
                        "{what}: next of page {p}"
                    );
                }
            }
        }
    }
}

async fn estimated_count_beyond_the_exact_limit_is_flagged_only_on_postgres(repo: SeaRepository) {
    const N: u64 = 12_000;
    let scope = new_scope();
    let all: Vec<Customer> = (0..N)
        .map(|n| {
            let mut c = customer(scope, n, Kind::Ties);
            c.status = if n % 12 == 0 {
                CustomerStatus::Lead
            } else {
                CustomerStatus::Active
            };
            c
        })
        .collect();
    insert_all(&repo, &all).await;
    // Another workspace's customers are no matches.
    let neighbour = Scope::new(scope.organization_id, WorkspaceId::new());
    let others: Vec<Customer> = (100_000..101_000).map(|n| customer(neighbour, n, Kind::Ties)).collect();
    insert_all(&repo, &others).await;
    analyze(&repo).await;
    let postgres = is_postgres(&repo);

    let status = |s| CustomerFilter {
        status: Some(s),
        ..CustomerFilter::default()
    };
    let cases = [
        ("all", CustomerFilter::default(), 12_000_u64),
        ("ACTIVE", status(CustomerStatus::Active), 11_000),
        ("LEAD", status(CustomerStatus::Lead), 1_000),
    ];
    for (label, filter, matching) in cases {
        let first = CustomerQuery::new(filter.clone(), None, None, None, Some(20)).unwrap();
        let page = repo
            .search(scope, &first.clone().counted(CountMode::Exact))
            .await
            .unwrap();
        assert_eq!(
            (page.total, page.total_is_estimate),
            (Some(matching), false),
            "{label}: exact"
        );
        let next = page.next.clone().expect("more than one page");
        let page = repo
            .search(scope, &first.clone().counted(CountMode::None))
            .await
            .unwrap();
        assert_eq!((page.total, page.total_is_estimate), (None, false), "{label}: none");
        assert_eq!(page.pages(), None, "{label}: none");
        assert!(page.next.is_some(), "{label}: none still pages");

        // The first page, a page after a cursor, an offset page: the same kind of total.
        let estimated = [
            first.clone(),
            first.clone().after(next).unwrap(),
            CustomerQuery::new(filter.clone(), None, None, Some(3), Some(20)).unwrap(),
        ];
        for (i, query) in estimated.into_iter().enumerate() {
            let what = format!("{label} ({matching} matches), estimated, query {i}");
            let page = repo.search(scope, &query.counted(CountMode::Estimated)).await.unwrap();
            let total = page.total.unwrap_or_else(|| panic!("{what}: a total"));
            if matching <= EXACT_COUNT_UP_TO || !postgres {
                assert_eq!((total, page.total_is_estimate), (matching, false), "{what}: exact");
            } else {
                eprintln!("{what}: estimate {total}");
                assert!(page.total_is_estimate, "{what}: flagged as an estimate (total {total})");
                assert!(
                    total > EXACT_COUNT_UP_TO && total.abs_diff(matching) <= matching / 2,
                    "{what}: estimate {total} is not within 50% of {matching} (or not above {EXACT_COUNT_UP_TO})"
                );
            }
            assert_eq!(page.items.len(), 20, "{what}");
        }
    }
}

/// Above [`ESTIMATE_TRUSTED_ABOVE`] estimated rows an estimated total is the planner's estimate
/// without counting: as good as the statistics, so stale until the next ANALYZE (the
/// documented trade-off), never below what the page itself proves, and counted exactly again
/// once the planner expects few matches.
async fn estimated_count_takes_large_planner_estimates_without_counting(repo: SeaRepository) {
    let db = repo.connection();
    // The statistics change only when the story analyzes.
    db.execute_unprepared("ALTER TABLE customers SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let scope = new_scope();
    let all: Vec<Customer> = (0..30_000)
        .map(|n| {
            let mut c = customer(scope, n, Kind::Ties);
            c.status = if n < 22_000 {
                CustomerStatus::Active
            } else {
                CustomerStatus::Lead
            };
            c
        })
        .collect();
    insert_all(&repo, &all).await;
    analyze(&repo).await;
    let active = CustomerFilter {
        status: Some(CustomerStatus::Active),
        ..CustomerFilter::default()
    };
    let total = async |page: Option<i64>, mode: CountMode| {
        let query = CustomerQuery::new(active.clone(), None, None, page, Some(20)).unwrap();
        let list = repo.search(scope, &query.counted(mode)).await.unwrap();
        assert_eq!(list.items.len(), 20);
        (list.total.unwrap(), list.total_is_estimate)
    };
    let update = async |sql: &str| {
        let workspace = Value::Uuid(Some(scope.workspace_id.into()));
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, vec![workspace]);
        db.execute_raw(statement).await.unwrap();
    };

    // 22,000 ACTIVE: the planner's estimate, flagged.
    let (estimate, flagged) = total(None, CountMode::Estimated).await;
    assert!(flagged, "22,000 matches: an estimate ({estimate})");
    assert!(
        estimate > ESTIMATE_TRUSTED_ABOVE && estimate.abs_diff(22_000) <= 2_200,
        "22,000 matches: estimated {estimate}"
    );

    // 8,000 more become ACTIVE behind the planner's back: still its estimate, but never fewer
    // than page 1,400 proves (27,980 rows before it, 20 on it and one after).
    update("UPDATE customers SET status = 'ACTIVE' WHERE workspace_id = $1").await;
    assert_eq!(total(Some(1_400), CountMode::Exact).await, (30_000, false));
    let (estimate, flagged) = total(Some(1_400), CountMode::Estimated).await;
    assert!(flagged && estimate >= 28_001, "page 1,400: estimated {estimate}");

    // All but 4,000 become LEADs: the stale estimate, above 20,000, still answers (flagged)
    // while an exact count says 4,000.
    update(
        "UPDATE customers SET status = 'LEAD' WHERE workspace_id = $1 AND id NOT IN \
         (SELECT id FROM customers WHERE workspace_id = $1 ORDER BY id LIMIT 4000)",
    )
    .await;
    assert_eq!(total(None, CountMode::Exact).await, (4_000, false));
    let (estimate, flagged) = total(None, CountMode::Estimated).await;
    assert!(
        flagged && estimate > ESTIMATE_TRUSTED_ABOVE,
        "stale statistics: estimated {estimate}"
    );

    // Analyzed, the planner expects about 4,000. The repository reuses the estimate it was
    // given a moment ago (flagged, above 20,000); one that asks the planner every time counts,
    // exactly.
    analyze(&repo).await;
    let (estimate, flagged) = total(None, CountMode::Estimated).await;
    assert!(
        flagged && estimate > ESTIMATE_TRUSTED_ABOVE,
        "reused estimate: {estimate}"
    );
    let fresh = repo.clone().reusing_estimates_for(std::time::Duration::ZERO);
    let query = CustomerQuery::new(active.clone(), None, None, None, Some(20)).unwrap();
    let list = fresh.search(scope, &query.counted(CountMode::Estimated)).await.unwrap();
    assert_eq!((list.total, list.total_is_estimate), (Some(4_000), false));
}

// ---------------------------------------------------------------------------------------------
// 3. Index use (PostgreSQL)
// ---------------------------------------------------------------------------------------------

/// The plan of a statement (`EXPLAIN`), one line per row.
async fn explain(repo: &SeaRepository, sql: &str, values: Vec<Value>) -> String {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, format!("EXPLAIN {sql}"), values);
    let rows = repo.connection().query_all_raw(statement).await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn list_queries_never_scan_the_customers_table(repo: SeaRepository) {
    // 40,000 customers: 15,000 in the workspace listed, 15,000 in two other workspaces of the
    // organization, 10,000 in another organization; every customer has an address and most
    // have tags, a manager, an industry and a lead source.
    let scope = new_scope();
    let sibling = Scope::new(scope.organization_id, WorkspaceId::new());
    let cousin = Scope::new(scope.organization_id, WorkspaceId::new());
    let stranger = new_scope();
    let mut target = Vec::new();
    for (s, base, count) in [
        (scope, 0_u64, 15_000_u64),
        (sibling, 100_000, 10_000),
        (cousin, 200_000, 5_000),
        (stranger, 300_000, 10_000),
    ] {
        let customers: Vec<Customer> = (base..base + count).map(|n| customer(s, n, Kind::Searchable)).collect();
        insert_all(&repo, &customers).await;
        if s == scope {
            target = customers;
        }
    }
    repo.connection().execute_unprepared("ANALYZE").await.unwrap();
    // The list indexes exist (a stale build of the migrations would test the old schema).
    let indexes = repo
        .connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers'",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "indexname").unwrap())
        .collect::<Vec<_>>();
    for index in [
        "ix_customers_live_created",
        "ix_customers_live_total",
        "ix_customers_search_trgm",
        "ix_customers_live_status_type_total",
        "ix_customers_live_industry_status_type_name",
    ] {
        assert!(indexes.iter().any(|i| i == index), "index {index} missing: {indexes:?}");
    }

    let probe = &target[4_444];
    let iin_holder = target.iter().skip(7_000).find(|c| c.iin.is_some()).unwrap();
    let substring: String = word(1_234).chars().skip(1).take(4).collect();
    let filter = CustomerFilter::default;
    let mut cases: Vec<(String, CustomerFilter, SortField, SortOrder)> = Vec::new();
    let mut add =
        |label: &str, f: CustomerFilter| cases.push((label.to_owned(), f, SortField::CreatedAt, SortOrder::Desc));
    add("default list", filter());
    add(
        "type",
        CustomerFilter {
            customer_type: Some(CustomerType::Company),
            ..filter()
        },
    );
    add(
        "status",
        CustomerFilter {
            status: Some(CustomerStatus::Churned),
            ..filter()
        },
    );
    add(
        "industry",
        CustomerFilter {
            industry: Some("it".into()),
            ..filter()
        },
    );
    add(
        "city",
        CustomerFilter {
            city: Some("караганда".into()),
            ..filter()
        },
    );
    add(
        "assignedTo",
        CustomerFilter {
            assigned_to: probe.assigned_to,
            ..filter()
        },
    );
    add(
        "isActive=false",
        CustomerFilter {
            is_active: Some(false),
            ..filter()
        },
    );
    add(
        "isActive=true",
        CustomerFilter {
            is_active: Some(true),
            ..filter()
        },
    );
    add(
        "leadSource",
        CustomerFilter {
            lead_source: Some("Instagram".into()),
            ..filter()
        },
    );
    add(
        "tags",
        CustomerFilter {
            tags: vec!["vip".into()],
            ..filter()
        },
    );
    add(
        "minPurchases",
        CustomerFilter {
            min_purchases: Some(dec("100000")),
            ..filter()
        },
    );
    add(
        "maxPurchases",
        CustomerFilter {
            max_purchases: Some(dec("0.05")),
            ..filter()
        },
    );
    add(
        "minPurchases+maxPurchases",
        CustomerFilter {
            min_purchases: Some(dec("10")),
            max_purchases: Some(dec("100")),
            ..filter()
        },
    );
    add(
        "createdFrom+createdTo (ten minutes)",
        CustomerFilter {
            created_from: Some(T0 + Duration::minutes(10)),
            created_to: Some(T0 + Duration::minutes(20)),
            ..filter()
        },
    );
    add(
        "createdFrom",
        CustomerFilter {
            created_from: Some(T0 + Duration::minutes(20)),
            ..filter()
        },
    );
    add(
        "createdTo",
        CustomerFilter {
            created_to: Some(T0 + Duration::minutes(10)),
            ..filter()
        },
    );
    add(
        &format!("search {substring:?} (4-letter name substring)"),
        CustomerFilter {
            search: SearchTerm::parse(&substring),
            ..filter()
        },
    );
    let exact_iin = iin_holder.iin.as_ref().unwrap().as_str().to_owned();
    add(
        &format!("search {exact_iin} (exact IIN)"),
        CustomerFilter {
            search: SearchTerm::parse(&exact_iin),
            ..filter()
        },
    );
    add(
        "search by e-mail",
        CustomerFilter {
            search: SearchTerm::parse(probe.email.as_str()),
            ..filter()
        },
    );
    for sort in SORTS {
        for order in ORDERS {
            cases.push((format!("sortBy {sort:?} {order:?}"), filter(), sort, order));
        }
    }
    // Every combination of status, type and industry in every sort order, each with the index
    // that must deliver its rows in order: `(status, type, sort key, id)` or `(industry,
    // status, type, sort key, id)`.
    let mut ordered: Vec<(String, CustomerFilter, SortField, SortOrder, String)> = Vec::new();
    for mask in 1..8_u8 {
        let f = CustomerFilter {
            status: (mask & 1 != 0).then_some(CustomerStatus::Active),
            customer_type: (mask & 2 != 0).then_some(CustomerType::Company),
            industry: (mask & 4 != 0).then(|| "retail".to_owned()),
            ..filter()
        };
        let label = [("status", 1), ("type", 2), ("industry", 4)]
            .iter()
            .filter(|(_, bit)| mask & bit != 0)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join("+");
        let index = if mask & 4 != 0 {
            "ix_customers_live_industry_status_type"
        } else {
            "ix_customers_live_status_type"
        };
        for sort in SORTS {
            let key = match sort {
                SortField::CreatedAt => "created",
                SortField::UpdatedAt => "updated",
                SortField::Name => "name",
                SortField::TotalPurchases => "total",
                SortField::Rating => "rating",
            };
            for order in ORDERS {
                let label = format!("{label}, sortBy {sort:?} {order:?}");
                ordered.push((label, f.clone(), sort, order, format!("{index}_{key}")));
            }
        }
    }

    let mut scans = Vec::new();
    let mut notes = Vec::new();
    // `LISTING_PLANS=1 cargo test … -- --nocapture` prints every plan.
    let print_all = std::env::var_os("LISTING_PLANS").is_some();
    let mut check = |label: String, plan: String| {
        if print_all {
            eprintln!("--- {label}:\n{plan}");
        }
        if plan.contains("Seq Scan on customers") {
            scans.push(format!("--- {label}:\n{plan}"));
        } else if plan.contains("Seq Scan") {
            notes.push(format!("--- {label}:\n{plan}"));
        }
    };
    for (label, f, sort, order) in cases {
        let first = CustomerQuery::new(f, Some(sort), Some(order), None, Some(20)).unwrap();
        // The matches of the first page, then a keyset page after it and a deep offset page.
        let page = repo.search(scope, &first).await.unwrap();
        check(label.clone(), repo.explain_search(scope, &first).await.unwrap());
        if let Some(next) = page.next {
            let after = first.clone().after(next).unwrap();
            check(
                format!("{label}, after a cursor"),
                repo.explain_search(scope, &after).await.unwrap(),
            );
        }
    }
    // The filter combinations: the first page and a page after a cursor come out of their
    // index in order (no sort node) with every condition in the index scan (no filter). (Deep
    // offset pages of a few hundred matches may sort them all: as cheap at this size.)
    let mut misplanned = Vec::new();
    for (label, f, sort, order, index) in ordered {
        let first = CustomerQuery::new(f, Some(sort), Some(order), None, Some(20)).unwrap();
        let page = repo.search(scope, &first).await.unwrap();
        let next = page.next.unwrap_or_else(|| panic!("{label}: more than one page"));
        let queries = [
            (label.clone(), first.clone()),
            (format!("{label}, after a cursor"), first.after(next).unwrap()),
        ];
        for (what, query) in queries {
            let plan = repo.explain_search(scope, &query).await.unwrap();
            let node = |line: &str| line.trim_start().trim_start_matches("->").trim_start().to_owned();
            let sorted = plan
                .lines()
                .map(node)
                .any(|n| n.starts_with("Sort  (") || n.starts_with("Incremental Sort  ("));
            let filtered = plan.lines().map(node).any(|n| n.starts_with("Filter:"));
            if !plan.contains(&index) || sorted || filtered {
                misplanned.push(format!("--- {what} (expected {index}, in order, no filter):\n{plan}"));
            }
            check(what, plan);
        }
    }
    // Lookups of one customer and of a page's children.
    let id = |c: &Customer| Value::Uuid(Some(c.id.into_uuid()));
    let org = Value::Uuid(Some(scope.organization_id.into()));
    let ws = Value::Uuid(Some(scope.workspace_id.into()));
    check(
        "get by id".into(),
        explain(
            &repo,
            "SELECT c.id FROM customers c WHERE c.organization_id = $1 AND c.workspace_id = $2 \
             AND c.deleted_at IS NULL AND c.id = $3",
            vec![org.clone(), ws.clone(), id(probe)],
        )
        .await,
    );
    let page_ids: Vec<Value> = target.iter().skip(100).step_by(97).take(20).map(id).collect();
    let placeholders = (1..=page_ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    for table in ["customer_contacts", "customer_addresses"] {
        let plan = explain(
            &repo,
            &format!("SELECT id FROM {table} WHERE customer_id IN ({placeholders}) ORDER BY customer_id, position"),
            page_ids.clone(),
        )
        .await;
        check(format!("{table} of a page"), plan);
    }
    check(
        "get by e-mail".into(),
        explain(
            &repo,
            "SELECT c.id FROM customers c WHERE c.organization_id = $1 AND c.email = $2 AND c.deleted_at IS NULL",
            vec![org, Value::String(Some(probe.email.as_str().to_owned()))],
        )
        .await,
    );
    if !notes.is_empty() {
        eprintln!("sequential scans of other tables (not failing):\n{}", notes.join("\n"));
    }
    assert!(
        scans.is_empty(),
        "{} list queries scan the customers table:\n{}",
        scans.len(),
        scans.join("\n")
    );
    assert!(
        misplanned.is_empty(),
        "{} filter combinations are not read in order from their index:\n{}",
        misplanned.len(),
        misplanned.join("\n")
    );
}
