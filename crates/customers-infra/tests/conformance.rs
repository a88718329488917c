//! Storage conformance suite of the SeaORM adapter: every test is written once as
//! `async fn(SeaRepository)` against the ports (`CustomerRepository`, `CustomerSearch`) and run
//! on SQLite and on PostgreSQL, each time on a fresh migrated database.
//!
//! `conformance!(name);` expands to `mod name { sqlite(), postgres() }`, so a failure names the
//! backend: `cargo test -p customers-infra --test conformance -- postgres`.

use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;
use uuid::Uuid;

use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft, SocialMediaDraft};
use customers_domain::ports::{CustomerRepository, CustomerSearch, RepositoryError};
use customers_domain::query::{CustomerFilter, CustomerQuery, Page, SearchTerm, SortField, SortOrder};
use customers_domain::values::tax_id::control_digit;
use customers_domain::{
    AddressType, CompanySize, Coordinates, Customer, CustomerId, CustomerStatus, CustomerType, Money, OrganizationId,
    Rating, Scope, UniqueField, UserId, WorkspaceId,
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

/// One `#[tokio::test]` per backend for each named story.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::run(customers_infra::testing::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::run(customers_infra::testing::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
}

conformance!(
    insert_and_get_round_trips_every_field,
    insert_and_get_round_trips_a_minimal_customer,
    get_is_scoped_to_workspace_and_organization,
    unique_fields_are_enforced_per_organization,
    failed_insert_leaves_nothing_behind,
    concurrent_inserts_with_the_same_email_have_one_winner,
    concurrent_updates_with_the_same_version_have_one_winner,
    deletes_succeed_while_other_writes_run,
    update_replaces_fields_and_children_only_when_flagged,
    update_with_a_stale_version_conflicts_and_changes_nothing,
    update_of_a_missing_or_foreign_customer_is_not_found,
    update_to_a_taken_unique_value_is_a_duplicate,
    delete_removes_the_customer_and_its_children,
    delete_of_a_missing_or_foreign_customer_returns_false,
    find_by_unique_finds_by_each_field_with_its_scope,
    search_is_scoped_to_the_workspace,
    search_filters_by_type_status_flags_and_people,
    search_text_matches_names_emails_phones_and_tax_ids,
    search_filters_by_industry_city_lead_source_and_tags,
    search_filters_by_purchases_and_creation_time,
    search_time_bounds_finer_than_a_microsecond_stay_exact,
    search_treats_like_wildcards_literally,
    search_sorts_by_every_field_in_both_orders_with_ties_by_id,
    search_pages_with_totals_and_carries_children,
    ping_answers,
);

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn money(text: &str) -> Money {
    Money::parse(dec(text)).unwrap()
}

fn new_scope() -> Scope {
    Scope::new(OrganizationId::new(), WorkspaceId::new())
}

/// A moment with microseconds, in Almaty time (the stores keep the instant).
const T0: OffsetDateTime = datetime!(2026-11-25 10:11:12.123456 +05:00);

/// A valid IIN (born 1990-05-15, male), distinct for each `n`.
fn iin(n: u32) -> String {
    tax_id(&format!("9005153{:04}", n % 10_000))
}

/// A valid BIN (2005-01, resident head office), distinct for each `n`.
fn bin(n: u32) -> String {
    tax_id(&format!("050140{:05}", n % 100_000))
}

/// Completes 11 digits with their control digit. The serials used here are never the
/// "never issued" kind; a panic says so if one is.
fn tax_id(first_eleven: &str) -> String {
    let digits: [u8; 11] = first_eleven
        .bytes()
        .map(|b| b - b'0')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let control = control_digit(&digits).unwrap_or_else(|| panic!("{first_eleven} is never issued"));
    format!("{first_eleven}{control}")
}

/// A draft of a company with only the required fields.
fn company(name: &str, email: &str) -> CustomerDraft {
    CustomerDraft::new(CustomerType::Company, name, email)
}

/// A draft of an individual with only the required fields.
fn individual(name: &str, email: &str) -> CustomerDraft {
    CustomerDraft::new(CustomerType::Individual, name, email)
}

/// The customer `CustomerService::create` would store for `draft` in `scope` at `now`.
fn build_at(scope: Scope, draft: CustomerDraft, now: OffsetDateTime) -> Customer {
    draft
        .parse()
        .unwrap_or_else(|e| panic!("invalid test draft: {e}"))
        .into_customer(scope, UserId::new(), now)
}

fn build(scope: Scope, draft: CustomerDraft) -> Customer {
    build_at(scope, draft, T0)
}

/// A contact with every optional field set.
fn full_contact(first_name: &str, email: &str, phone: &str, primary: bool) -> ContactDraft {
    ContactDraft {
        first_name: first_name.into(),
        last_name: "Жумабеков".into(),
        middle_name: Some("Серикович".into()),
        position: Some("Финансовый директор".into()),
        department: Some("Бухгалтерия".into()),
        email: email.into(),
        phone: phone.into(),
        mobile_phone: Some("+77771234567".into()),
        is_primary: Some(primary),
        is_decision_maker: Some(!primary),
        social_media: Some(SocialMediaDraft {
            linkedin: Some(format!("https://linkedin.com/in/{first_name}")),
            telegram: Some("@aset_kz".into()),
            whatsapp: Some("+77011111111".into()),
        }),
        notes: Some("Звонить после 14:00, «важно»".into()),
    }
}

/// An address with every optional field set.
fn full_address(address_type: AddressType, city: &str, postal_code: &str, primary: bool) -> AddressDraft {
    AddressDraft {
        building: Some("2Б".into()),
        apartment: Some("офис 305".into()),
        region: Some("Алматинская область".into()),
        country: Some("Казахстан".into()),
        is_primary: Some(primary),
        contact_name: Some("Гульнара Ахметова".into()),
        contact_phone: Some("+77012345678".into()),
        delivery_instructions: Some("Въезд со двора; позвонить за 30 минут".into()),
        coordinates: Some(Coordinates {
            latitude: 43.238949,
            longitude: 76.889709,
        }),
        ..AddressDraft::new(address_type, "пр. Абая, 150/230", city, postal_code)
    }
}

/// A customer with every field set to a non-default value, children in an order that differs
/// from the order of their ids.
fn full_customer(scope: Scope) -> Customer {
    let draft = CustomerDraft {
        phone: Some("+7 (701) 234-56-78".into()),
        iin: Some(iin(1)),
        bin: Some(bin(1)),
        company_name: Some("ТОО «Альфа Трейдинг»".into()),
        company_size: Some(CompanySize::Medium),
        industry: Some("Розничная торговля".into()),
        credit_limit: Some(dec("9999999999999999.99")),
        status: Some(CustomerStatus::Active),
        lead_source: Some("Выставка KIOSK-2026".into()),
        contacts: vec![
            full_contact("Асет", "aset@alpha.kz", "+77011111111", false),
            full_contact("Бауыржан", "baur@alpha.kz", "+77012222222", true),
            full_contact("Ержан", "erzhan@alpha.kz", "+77013333333", false),
        ],
        addresses: vec![
            full_address(AddressType::Shipping, "Астана", "010000", false),
            full_address(AddressType::Billing, "Алматы", "A05F4K5", true),
            AddressDraft {
                country: Some("Australia".into()),
                region: Some("NSW".into()),
                coordinates: Some(Coordinates {
                    latitude: -33.868820,
                    longitude: 151.209296,
                }),
                ..full_address(AddressType::Warehouse, "Sydney", "2000", false)
            },
        ],
        custom_fields: Some(json!({
            "zeta": 1,
            "альфа": { "вложено": [1, 2.5, "три", null, true, { "k": "v" }] },
            "a": "b",
            "big": 12_345_678_901_234_567_i64,
            "neg": -7,
            "empty": {},
        })),
        tags: vec!["VIP".into(), "Алматы".into(), "b2b".into(), "опт".into()],
        assigned_to: Some(Uuid::now_v7()),
        ..company("ТОО «Альфа-Қазақстан»", " Info@Alpha.KZ ")
    };
    let mut c = build_at(scope, draft, T0);
    c.current_balance = money("-9999999999999999.99");
    c.total_purchases = money("0.01");
    c.lifetime_value = money("1234567.89");
    c.purchase_count = 42;
    c.first_purchase_date = Some(datetime!(1969-12-31 23:59:59.999999 UTC));
    c.last_purchase_date = Some(datetime!(2026-11-24 18:00:00.000001 +06:00));
    c.rating = Rating::parse(9).unwrap();
    c.is_active = false;
    c.version = 7;
    c.updated_at = T0 + Duration::microseconds(1_500_001);
    c.updated_by = Some(UserId::new());
    reverse_child_ids(&mut c);
    for (i, contact) in c.contacts.iter_mut().enumerate() {
        contact.created_at = T0 - Duration::days(i as i64 + 1) + Duration::microseconds(7);
        contact.updated_at = T0 + Duration::microseconds(i as i64 + 1);
    }
    for (i, address) in c.addresses.iter_mut().enumerate() {
        address.created_at = T0 - Duration::hours(i as i64 + 1) + Duration::microseconds(3);
        address.updated_at = T0 + Duration::microseconds(10 * (i as i64 + 1));
    }
    c
}

/// Gives the children ids in the reverse of their order, so that reading them back in id
/// order instead of the given order shows.
fn reverse_child_ids(c: &mut Customer) {
    let ids: Vec<_> = c.contacts.iter().map(|x| x.id).rev().collect();
    for (contact, id) in c.contacts.iter_mut().zip(ids) {
        contact.id = id;
    }
    let ids: Vec<_> = c.addresses.iter().map(|x| x.id).rev().collect();
    for (address, id) in c.addresses.iter_mut().zip(ids) {
        address.id = id;
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn insert(repo: &SeaRepository, customer: &Customer) {
    repo.insert(customer)
        .await
        .unwrap_or_else(|e| panic!("insert of {} failed: {e}", customer.name));
}

async fn get(repo: &SeaRepository, customer: &Customer) -> Option<Customer> {
    repo.get(customer.scope(), customer.id).await.unwrap()
}

fn query(filter: CustomerFilter) -> CustomerQuery {
    CustomerQuery::new(filter, None, None, None, Some(100)).unwrap()
}

fn search_filter(text: &str) -> CustomerFilter {
    CustomerFilter {
        search: SearchTerm::parse(text),
        ..CustomerFilter::default()
    }
}

/// Names of the matches, in the default order (newest first), after checking that the total
/// agrees with the page.
async fn names(repo: &SeaRepository, scope: Scope, filter: CustomerFilter) -> Vec<String> {
    let page = repo.search(scope, &query(filter.clone())).await.unwrap();
    assert_eq!(page.total, page.items.len() as u64, "total of {filter:?}");
    page.items.into_iter().map(|c| c.name).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Rows of `table` that belong to `customer` (read directly, not through the adapter).
async fn count_rows(repo: &SeaRepository, table: &str, customer: CustomerId) -> i64 {
    let db = repo.connection();
    let backend = db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let statement = Statement::from_sql_and_values(
        backend,
        format!("SELECT COUNT(*) AS n FROM {table} WHERE customer_id = {placeholder}"),
        [Value::Uuid(Some(customer.into_uuid()))],
    );
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Rows of the customer in each child table, by name.
async fn children(repo: &SeaRepository, customer: CustomerId) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "customer_contacts",
        "customer_addresses",
        "customer_tags",
        "customer_notes",
    ] {
        out.push((table, count_rows(repo, table, customer).await));
    }
    out
}

fn no_children() -> Vec<(&'static str, i64)> {
    vec![
        ("customer_contacts", 0),
        ("customer_addresses", 0),
        ("customer_tags", 0),
        ("customer_notes", 0),
    ]
}

/// Adds a note to a customer with plain SQL (notes have no port here).
async fn add_note(repo: &SeaRepository, customer: CustomerId) {
    let db = repo.connection();
    let backend = db.get_database_backend();
    let (sql, at) = if backend == DbBackend::Postgres {
        (
            "INSERT INTO customer_notes (id, customer_id, author_id, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            Value::TimeDateTimeWithTimeZone(Some(T0)),
        )
    } else {
        (
            "INSERT INTO customer_notes (id, customer_id, author_id, body, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            Value::BigInt(Some(i64::try_from(T0.unix_timestamp_nanos() / 1_000).unwrap())),
        )
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            Value::Uuid(Some(Uuid::now_v7())),
            Value::Uuid(Some(customer.into_uuid())),
            Value::Uuid(Some(Uuid::now_v7())),
            Value::String(Some("Клиент просил перезвонить".into())),
            at.clone(),
            at,
        ],
    );
    db.execute_raw(statement).await.unwrap();
}

fn assert_duplicate(result: Result<(), RepositoryError>, field: UniqueField) {
    match result {
        Err(RepositoryError::Duplicate(got)) => assert_eq!(got, field),
        other => panic!("expected Duplicate({field:?}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Round trip
// ---------------------------------------------------------------------------------------------

async fn insert_and_get_round_trips_every_field(repo: SeaRepository) {
    let scope = new_scope();
    let customer = full_customer(scope);
    // The builder really set what the test claims to check.
    assert_eq!(customer.email.as_str(), "info@alpha.kz");
    assert_eq!(customer.phone.as_ref().unwrap().as_str(), "+77012345678");
    assert_eq!(customer.contacts.len(), 3);
    assert_eq!(customer.addresses.len(), 3);
    assert!(customer.contacts[0].id > customer.contacts[2].id);

    insert(&repo, &customer).await;
    let stored = get(&repo, &customer).await.expect("the inserted customer");

    // Field by field first, so that a failure names the field.
    assert_eq!(stored.id, customer.id);
    assert_eq!(stored.scope(), scope);
    assert_eq!(stored.credit_limit.to_string(), "9999999999999999.99");
    assert_eq!(stored.current_balance.to_string(), "-9999999999999999.99");
    assert_eq!(stored.total_purchases.to_string(), "0.01");
    assert_eq!(stored.lifetime_value.to_string(), "1234567.89");
    assert_eq!(stored.custom_fields, customer.custom_fields);
    assert_eq!(stored.tags, strings(&["VIP", "Алматы", "b2b", "опт"]));
    assert_eq!(stored.name, "ТОО «Альфа-Қазақстан»");
    assert_eq!(stored.created_at, T0);
    assert_eq!(stored.created_at.unix_timestamp_nanos() % 1_000_000_000, 123_456_000);
    assert_eq!(stored.updated_at, customer.updated_at);
    assert_eq!(stored.first_purchase_date, customer.first_purchase_date);
    assert_eq!(stored.last_purchase_date, customer.last_purchase_date);
    let contact_names: Vec<_> = stored.contacts.iter().map(|c| c.first_name.as_str()).collect();
    assert_eq!(contact_names, ["Асет", "Бауыржан", "Ержан"]);
    let cities: Vec<_> = stored.addresses.iter().map(|a| a.city.as_str()).collect();
    assert_eq!(cities, ["Астана", "Алматы", "Sydney"]);
    assert_eq!(
        stored.addresses[2].coordinates,
        Some(Coordinates {
            latitude: -33.868820,
            longitude: 151.209296
        })
    );
    for (got, want) in stored.contacts.iter().zip(&customer.contacts) {
        assert_eq!(got, want);
    }
    for (got, want) in stored.addresses.iter().zip(&customer.addresses) {
        assert_eq!(got, want);
    }
    // Then the whole aggregate.
    assert_eq!(stored, customer);
}

async fn insert_and_get_round_trips_a_minimal_customer(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, individual("Ли", "li@mail.kz"));
    assert_eq!(customer.custom_fields, None);
    insert(&repo, &customer).await;
    let stored = get(&repo, &customer).await.expect("the inserted customer");
    assert_eq!(stored, customer);
    assert!(stored.tags.is_empty() && stored.contacts.is_empty() && stored.addresses.is_empty());

    // An empty object and a contact without optional parts stay what they are.
    let mut other = build(
        scope,
        CustomerDraft {
            custom_fields: Some(json!({})),
            contacts: vec![ContactDraft {
                first_name: "A".into(),
                last_name: "B".into(),
                email: "ab@mail.kz".into(),
                phone: "87012345678".into(),
                ..ContactDraft::default()
            }],
            addresses: vec![AddressDraft::new(
                AddressType::Office,
                "ул. Сатпаева, 1",
                "Алматы",
                "050000",
            )],
            ..company("Ab LLP", "ab@mail.kz")
        },
    );
    other.current_balance = money("0.01");
    insert(&repo, &other).await;
    let stored = get(&repo, &other).await.expect("the inserted customer");
    assert_eq!(stored.custom_fields, Some(serde_json::Map::new()));
    assert_eq!(stored.contacts[0].social_media, None);
    assert_eq!(stored.addresses[0].coordinates, None);
    assert_eq!(stored.current_balance.to_string(), "0.01");
    assert_eq!(stored, other);
}

// ---------------------------------------------------------------------------------------------
// 2. Scope of get
// ---------------------------------------------------------------------------------------------

async fn get_is_scoped_to_workspace_and_organization(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, company("Alpha LLP", "alpha@alpha.kz"));
    insert(&repo, &customer).await;

    let other_workspace = Scope::new(scope.organization_id, WorkspaceId::new());
    let other_organization = Scope::new(OrganizationId::new(), scope.workspace_id);
    for foreign in [other_workspace, other_organization, new_scope()] {
        assert_eq!(repo.get(foreign, customer.id).await.unwrap(), None, "{foreign:?}");
    }
    assert_eq!(repo.get(scope, CustomerId::new()).await.unwrap(), None);
    assert_eq!(repo.get(scope, customer.id).await.unwrap(), Some(customer));
}

// ---------------------------------------------------------------------------------------------
// 3. Unique fields
// ---------------------------------------------------------------------------------------------

async fn unique_fields_are_enforced_per_organization(repo: SeaRepository) {
    let org = OrganizationId::new();
    let home = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    let existing = build(
        home,
        CustomerDraft {
            iin: Some(iin(10)),
            bin: Some(bin(10)),
            ..company("Alpha LLP", "info@alpha.kz")
        },
    );
    insert(&repo, &existing).await;

    let with_contact = |draft: CustomerDraft| CustomerDraft {
        contacts: vec![full_contact("Асет", "aset@beta.kz", "+77011111111", true)],
        addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
        tags: vec!["dup".into()],
        ..draft
    };
    let cases = [
        (
            UniqueField::Email,
            build(sibling, with_contact(company("Beta LLP", " INFO@Alpha.kz"))),
        ),
        (
            UniqueField::Iin,
            build(
                sibling,
                with_contact(CustomerDraft {
                    iin: Some(iin(10)),
                    ..individual("Берик", "berik@beta.kz")
                }),
            ),
        ),
        (
            UniqueField::Bin,
            build(
                home,
                with_contact(CustomerDraft {
                    bin: Some(bin(10)),
                    ..company("Gamma LLP", "gamma@beta.kz")
                }),
            ),
        ),
    ];
    for (field, duplicate) in &cases {
        assert_duplicate(repo.insert(duplicate).await, *field);
        assert_eq!(get(&repo, duplicate).await, None, "{field:?}");
        assert_eq!(children(&repo, duplicate.id).await, no_children(), "{field:?}");
    }
    for scope in [home, sibling] {
        let page = repo.search(scope, &query(CustomerFilter::default())).await.unwrap();
        let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
        let expected = if scope == home { vec![existing.id] } else { vec![] };
        assert_eq!(ids, expected);
    }
    assert_eq!(get(&repo, &existing).await, Some(existing.clone()));

    // Another organization may hold the same values, in a workspace with the same id too.
    let elsewhere = build(
        Scope::new(OrganizationId::new(), home.workspace_id),
        CustomerDraft {
            iin: Some(iin(10)),
            bin: Some(bin(10)),
            ..company("Alpha LLP", "info@alpha.kz")
        },
    );
    insert(&repo, &elsewhere).await;
    assert_eq!(get(&repo, &elsewhere).await, Some(elsewhere));

    // Absent IINs and BINs never collide.
    for n in 0..3 {
        insert(&repo, &build(home, company("No ids", &format!("noid{n}@alpha.kz")))).await;
    }
}

async fn failed_insert_leaves_nothing_behind(repo: SeaRepository) {
    // A failure after the customer row was written (two primary billing addresses break
    // ux_customer_addresses_primary) must roll the whole aggregate back.
    let scope = new_scope();
    let mut broken = build(
        scope,
        CustomerDraft {
            contacts: vec![full_contact("Асет", "aset@alpha.kz", "+77011111111", true)],
            addresses: vec![
                full_address(AddressType::Billing, "Алматы", "050000", true),
                full_address(AddressType::Shipping, "Астана", "010000", true),
            ],
            tags: vec!["vip".into()],
            ..company("Alpha LLP", "info@alpha.kz")
        },
    );
    broken.addresses[1].address_type = AddressType::Billing;
    let result = repo.insert(&broken).await;
    assert!(result.is_err(), "two primary billing addresses were stored");
    assert_eq!(get(&repo, &broken).await, None);
    assert_eq!(children(&repo, broken.id).await, no_children());

    // The e-mail is still free.
    let fine = build(scope, company("Alpha LLP", "info@alpha.kz"));
    insert(&repo, &fine).await;
    assert_eq!(get(&repo, &fine).await, Some(fine));
}

// ---------------------------------------------------------------------------------------------
// 4. Concurrency
// ---------------------------------------------------------------------------------------------

async fn concurrent_inserts_with_the_same_email_have_one_winner(repo: SeaRepository) {
    let org = OrganizationId::new();
    for tasks in 2..=8_usize {
        let email = format!("race{tasks}@alpha.kz");
        let barrier = Arc::new(Barrier::new(tasks));
        let mut handles = Vec::new();
        for i in 0..tasks {
            let customer = build(
                Scope::new(org, WorkspaceId::new()),
                CustomerDraft {
                    contacts: vec![full_contact("Асет", "aset@alpha.kz", "+77011111111", true)],
                    ..company(&format!("Гонка {tasks}-{i}"), &email)
                },
            );
            let (repo, barrier) = (repo.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let result = repo.insert(&customer).await;
                (customer, result)
            }));
        }
        let mut winners = Vec::new();
        for handle in handles {
            let (customer, result) = handle.await.unwrap();
            match result {
                Ok(()) => winners.push(customer),
                Err(RepositoryError::Duplicate(UniqueField::Email)) => {
                    assert_eq!(get(&repo, &customer).await, None);
                    assert_eq!(children(&repo, customer.id).await, no_children());
                }
                Err(other) => {
                    panic!("{tasks} tasks: expected Ok or Duplicate(Email), got {other:?}")
                }
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{tasks} tasks: winners {:?}",
            winners.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
        let winner = &winners[0];
        assert_eq!(get(&repo, winner).await.as_ref(), Some(winner));
        assert_eq!(
            repo.find_by_unique(org, UniqueField::Email, &email).await.unwrap(),
            Some((winner.scope(), winner.id))
        );
    }
}

async fn concurrent_updates_with_the_same_version_have_one_winner(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;
    let mut current = v1.clone();
    for tasks in 2..=8_usize {
        let barrier = Arc::new(Barrier::new(tasks));
        let mut handles = Vec::new();
        for i in 0..tasks {
            let mut next = next_version(&current, 1 + i as i64);
            next.name = format!("Writer {tasks}-{i}");
            next.tags = vec![format!("w{tasks}-{i}")];
            next.contacts = other_contacts(&v1);
            let expected_version = current.version;
            let (repo, barrier) = (repo.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let result = repo.update(&next, expected_version, true, false).await;
                (next, result)
            }));
        }
        let mut winners = Vec::new();
        for handle in handles {
            let (next, result) = handle.await.unwrap();
            match result {
                Ok(()) => winners.push(next),
                Err(RepositoryError::VersionConflict) => {}
                Err(other) => {
                    panic!("{tasks} tasks: expected Ok or VersionConflict, got {other:?}")
                }
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{tasks} tasks: winners {:?}",
            winners.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
        let winner = winners.pop().unwrap();
        assert_eq!(get(&repo, &v1).await, Some(winner.clone()), "{tasks} tasks");
        assert_eq!(count_rows(&repo, "customer_contacts", v1.id).await, 3);
        assert_eq!(count_rows(&repo, "customer_tags", v1.id).await, 1);
        current = winner;
    }
}

/// Deletes run while other customers are written: a delete must wait for the other writers,
/// like inserts and updates do, not fail.
async fn deletes_succeed_while_other_writes_run(repo: SeaRepository) {
    let scope = new_scope();
    for round in 0..5 {
        let mut victims = Vec::new();
        for i in 0..4 {
            let victim = build(
                scope,
                CustomerDraft {
                    contacts: vec![full_contact("Асет", "aset@alpha.kz", "+77011111111", true)],
                    tags: vec!["victim".into()],
                    ..company(&format!("Victim {round}-{i}"), &format!("victim{round}-{i}@alpha.kz"))
                },
            );
            insert(&repo, &victim).await;
            victims.push(victim);
        }
        let barrier = Arc::new(Barrier::new(8));
        let mut deletes = Vec::new();
        let mut inserts = Vec::new();
        for (i, victim) in victims.iter().enumerate() {
            let (task_repo, task_barrier, id) = (repo.clone(), barrier.clone(), victim.id);
            deletes.push(tokio::spawn(async move {
                task_barrier.wait().await;
                task_repo.delete(scope, id).await
            }));
            let newcomer = build(
                scope,
                CustomerDraft {
                    contacts: vec![full_contact("Дана", "dana@beta.kz", "+77014444444", true)],
                    ..company(&format!("Newcomer {round}-{i}"), &format!("new{round}-{i}@beta.kz"))
                },
            );
            let (repo, barrier) = (repo.clone(), barrier.clone());
            inserts.push(tokio::spawn(async move {
                barrier.wait().await;
                repo.insert(&newcomer).await.map(|()| newcomer)
            }));
        }
        for (victim, handle) in victims.iter().zip(deletes) {
            match handle.await.unwrap() {
                Ok(true) => {}
                other => panic!("round {round}: delete of {} gave {other:?}", victim.name),
            }
            assert_eq!(get(&repo, victim).await, None);
            assert_eq!(children(&repo, victim.id).await, no_children());
        }
        for handle in inserts {
            let newcomer = handle
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: insert failed: {e}"));
            assert_eq!(get(&repo, &newcomer).await, Some(newcomer));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Update
// ---------------------------------------------------------------------------------------------

/// A customer with two contacts, two addresses and tags, stored.
async fn stored_customer(repo: &SeaRepository, scope: Scope) -> Customer {
    let customer = build(
        scope,
        CustomerDraft {
            phone: Some("+77012345678".into()),
            industry: Some("Retail".into()),
            lead_source: Some("Website".into()),
            contacts: vec![
                full_contact("Асет", "aset@alpha.kz", "+77011111111", true),
                full_contact("Бауыржан", "baur@alpha.kz", "+77012222222", false),
            ],
            addresses: vec![
                full_address(AddressType::Billing, "Алматы", "050000", true),
                full_address(AddressType::Shipping, "Астана", "010000", false),
            ],
            tags: vec!["vip".into(), "almaty".into()],
            ..company("ТОО Альфа", "info@alpha.kz")
        },
    );
    insert(repo, &customer).await;
    customer
}

/// The customer as the service would write it next: new version, time and author.
fn next_version(current: &Customer, micros: i64) -> Customer {
    let mut next = current.clone();
    next.version = current.version + 1;
    next.updated_at = current.updated_at + Duration::microseconds(micros);
    next.updated_by = Some(UserId::new());
    next
}

fn other_contacts(customer: &Customer) -> Vec<customers_domain::CustomerContact> {
    let mut other = build(
        customer.scope(),
        CustomerDraft {
            contacts: vec![
                full_contact("Ержан", "erzhan@alpha.kz", "+77013333333", false),
                full_contact("Дана", "dana@alpha.kz", "+77014444444", true),
                full_contact("Ким", "kim@alpha.kz", "+77015555555", false),
            ],
            ..company("x x", "x@x.kz")
        },
    );
    reverse_child_ids(&mut other);
    other
        .contacts
        .into_iter()
        .map(|mut c| {
            c.customer_id = customer.id;
            c
        })
        .collect()
}

fn other_addresses(customer: &Customer) -> Vec<customers_domain::CustomerAddress> {
    let other = build(
        customer.scope(),
        CustomerDraft {
            addresses: vec![full_address(AddressType::Warehouse, "Шымкент", "160000", true)],
            ..company("x x", "x@x.kz")
        },
    );
    other
        .addresses
        .into_iter()
        .map(|mut a| {
            a.customer_id = customer.id;
            a
        })
        .collect()
}

async fn update_replaces_fields_and_children_only_when_flagged(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;

    // Fields and tags change; children are left alone although the struct carries new ones.
    let mut v2 = next_version(&v1, 1_000_001);
    v2.customer_type = CustomerType::Individual;
    v2.status = CustomerStatus::Churned;
    v2.name = "Берик Сейткали".into();
    v2.email = customers_domain::values::Email::parse("Berik@Mail.kz").unwrap();
    v2.phone = None;
    v2.iin = Some(customers_domain::values::Iin::parse(&iin(20)).unwrap());
    v2.company_name = Some("ИП Сейткали".into());
    v2.company_size = Some(CompanySize::Micro);
    v2.industry = Some("Строительство".into());
    v2.credit_limit = money("0.01");
    v2.current_balance = money("-15.50");
    v2.custom_fields = Some(json!({ "ключ": "значение" }).as_object().unwrap().clone());
    v2.tags = strings(&["Опт", "new"]);
    v2.lead_source = Some("Referral".into());
    v2.first_purchase_date = Some(T0);
    v2.last_purchase_date = Some(T0 + Duration::days(1));
    v2.total_purchases = money("9999999999999999.99");
    v2.purchase_count = 3;
    v2.lifetime_value = money("100.10");
    v2.rating = Rating::parse(1).unwrap();
    v2.assigned_to = Some(UserId::new());
    v2.is_active = false;
    v2.contacts = other_contacts(&v1);
    v2.addresses = other_addresses(&v1);
    repo.update(&v2, 1, false, false).await.unwrap();
    let expected = Customer {
        contacts: v1.contacts.clone(),
        addresses: v1.addresses.clone(),
        ..v2.clone()
    };
    assert_eq!(get(&repo, &v1).await, Some(expected.clone()));

    // The search keys follow the new values.
    assert_eq!(names(&repo, scope, search_filter("альфа")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, search_filter("сейткали")).await, ["Берик Сейткали"]);
    assert_eq!(
        names(&repo, scope, search_filter("berik@mail")).await,
        ["Берик Сейткали"]
    );
    assert_eq!(
        names(&repo, scope, search_filter("7012345678")).await,
        Vec::<String>::new()
    );
    let tag = |t: &str| CustomerFilter {
        tags: vec![t.into()],
        ..CustomerFilter::default()
    };
    assert_eq!(names(&repo, scope, tag("vip")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, tag("опт")).await, ["Берик Сейткали"]);
    let industry = |i: &str| CustomerFilter {
        industry: Some(i.into()),
        ..CustomerFilter::default()
    };
    assert_eq!(names(&repo, scope, industry("retail")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, industry("СТРОИТЕЛЬСТВО")).await, ["Берик Сейткали"]);
    let source = CustomerFilter {
        lead_source: Some("referral".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(names(&repo, scope, source).await, ["Берик Сейткали"]);

    // Contacts replaced, addresses kept.
    let mut v3 = next_version(&expected, 5);
    v3.contacts = other_contacts(&v1);
    v3.addresses = Vec::new();
    repo.update(&v3, 2, true, false).await.unwrap();
    let expected = Customer {
        addresses: v1.addresses.clone(),
        ..v3.clone()
    };
    assert_eq!(get(&repo, &v1).await, Some(expected.clone()));
    assert_eq!(count_rows(&repo, "customer_contacts", v1.id).await, 3);

    // Addresses replaced, contacts kept; the city filter follows.
    let mut v4 = next_version(&expected, 5);
    v4.contacts = Vec::new();
    v4.addresses = other_addresses(&v1);
    repo.update(&v4, 3, false, true).await.unwrap();
    let expected = Customer {
        contacts: v3.contacts.clone(),
        ..v4.clone()
    };
    assert_eq!(get(&repo, &v1).await, Some(expected.clone()));
    let city = |c: &str| CustomerFilter {
        city: Some(c.into()),
        ..CustomerFilter::default()
    };
    assert_eq!(names(&repo, scope, city("алматы")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, city("шымкент")).await, ["Берик Сейткали"]);

    // Both replaced by nothing; tags cleared.
    let mut v5 = next_version(&expected, 5);
    v5.contacts = Vec::new();
    v5.addresses = Vec::new();
    v5.tags = Vec::new();
    v5.custom_fields = None;
    repo.update(&v5, 4, true, true).await.unwrap();
    assert_eq!(get(&repo, &v1).await, Some(v5.clone()));
    assert_eq!(children(&repo, v1.id).await, no_children());
}

async fn update_with_a_stale_version_conflicts_and_changes_nothing(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;
    let mut v2 = next_version(&v1, 1);
    v2.name = "Second".into();
    repo.update(&v2, 1, false, false).await.unwrap();

    // A writer that read v1 comes late, with every kind of change.
    let mut late = next_version(&v1, 2);
    late.name = "Late".into();
    late.email = customers_domain::values::Email::parse("late@alpha.kz").unwrap();
    late.tags = strings(&["late"]);
    late.contacts = other_contacts(&v1);
    late.addresses = other_addresses(&v1);
    for (contacts, addresses) in [(false, false), (true, true)] {
        match repo.update(&late, 1, contacts, addresses).await {
            Err(RepositoryError::VersionConflict) => {}
            other => panic!("expected VersionConflict, got {other:?}"),
        }
        assert_eq!(get(&repo, &v1).await, Some(v2.clone()));
    }
    // An expected version from the future conflicts too.
    let mut ahead = next_version(&v2, 3);
    ahead.name = "Ahead".into();
    assert!(matches!(
        repo.update(&ahead, 5, false, false).await,
        Err(RepositoryError::VersionConflict)
    ));
    assert_eq!(get(&repo, &v1).await, Some(v2.clone()));
    assert_eq!(names(&repo, scope, search_filter("late")).await, Vec::<String>::new());
    assert_eq!(
        repo.find_by_unique(scope.organization_id, UniqueField::Email, "late@alpha.kz")
            .await
            .unwrap(),
        None
    );
}

async fn update_of_a_missing_or_foreign_customer_is_not_found(repo: SeaRepository) {
    let scope = new_scope();
    let missing = next_version(&build(scope, company("Ghost LLP", "ghost@alpha.kz")), 1);
    match repo.update(&missing, 1, true, true).await {
        Err(RepositoryError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(get(&repo, &missing).await, None);
    assert_eq!(children(&repo, missing.id).await, no_children());

    // The same id seen from another workspace or organization does not exist there.
    let v1 = stored_customer(&repo, scope).await;
    for foreign in [
        Scope::new(scope.organization_id, WorkspaceId::new()),
        Scope::new(OrganizationId::new(), scope.workspace_id),
    ] {
        let mut intruder = next_version(&v1, 1);
        intruder.organization_id = foreign.organization_id;
        intruder.workspace_id = foreign.workspace_id;
        intruder.name = "Intruder".into();
        intruder.contacts = Vec::new();
        match repo.update(&intruder, 1, true, true).await {
            Err(RepositoryError::NotFound) => {}
            other => panic!("expected NotFound for {foreign:?}, got {other:?}"),
        }
        assert_eq!(get(&repo, &v1).await, Some(v1.clone()));
        assert_eq!(repo.get(foreign, v1.id).await.unwrap(), None);
    }
}

async fn update_to_a_taken_unique_value_is_a_duplicate(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let v1 = stored_customer(&repo, scope).await;
    let owner = build(
        Scope::new(org, WorkspaceId::new()),
        CustomerDraft {
            iin: Some(iin(30)),
            bin: Some(bin(30)),
            ..company("Owner LLP", "owner@beta.kz")
        },
    );
    insert(&repo, &owner).await;

    let mut taken_email = next_version(&v1, 1);
    taken_email.email = owner.email.clone();
    let mut taken_iin = next_version(&v1, 1);
    taken_iin.iin = owner.iin.clone();
    let mut taken_bin = next_version(&v1, 1);
    taken_bin.bin = owner.bin.clone();
    for (field, mut attempt) in [
        (UniqueField::Email, taken_email),
        (UniqueField::Iin, taken_iin),
        (UniqueField::Bin, taken_bin),
    ] {
        attempt.name = "Taken".into();
        attempt.tags = strings(&["taken"]);
        attempt.contacts = other_contacts(&v1);
        assert_duplicate(repo.update(&attempt, 1, true, false).await, field);
        assert_eq!(get(&repo, &v1).await, Some(v1.clone()), "{field:?}");
        assert_eq!(get(&repo, &owner).await, Some(owner.clone()), "{field:?}");
    }

    // Keeping one's own values is no conflict.
    let mut same = next_version(&v1, 1);
    same.name = "Same values".into();
    repo.update(&same, 1, false, false).await.unwrap();
    assert_eq!(get(&repo, &v1).await, Some(same));
}

// ---------------------------------------------------------------------------------------------
// 6. Delete
// ---------------------------------------------------------------------------------------------

async fn delete_removes_the_customer_and_its_children(repo: SeaRepository) {
    let scope = new_scope();
    let doomed = stored_customer(&repo, scope).await;
    add_note(&repo, doomed.id).await;
    let neighbour = build(
        scope,
        CustomerDraft {
            contacts: vec![full_contact("Дана", "dana@beta.kz", "+77014444444", true)],
            addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
            tags: vec!["vip".into()],
            ..company("Beta LLP", "beta@beta.kz")
        },
    );
    insert(&repo, &neighbour).await;
    add_note(&repo, neighbour.id).await;
    assert_eq!(
        children(&repo, doomed.id).await,
        vec![
            ("customer_contacts", 2),
            ("customer_addresses", 2),
            ("customer_tags", 2),
            ("customer_notes", 1)
        ]
    );

    assert!(repo.delete(scope, doomed.id).await.unwrap());
    assert_eq!(get(&repo, &doomed).await, None);
    assert_eq!(children(&repo, doomed.id).await, no_children());
    let page = repo.search(scope, &query(CustomerFilter::default())).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items, vec![neighbour.clone()]);
    assert_eq!(names(&repo, scope, search_filter("альфа")).await, Vec::<String>::new());
    let city = CustomerFilter {
        city: Some("астана".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(names(&repo, scope, city).await, Vec::<String>::new());
    assert_eq!(
        repo.find_by_unique(scope.organization_id, UniqueField::Email, "info@alpha.kz")
            .await
            .unwrap(),
        None
    );

    // The neighbour kept everything.
    assert_eq!(get(&repo, &neighbour).await, Some(neighbour.clone()));
    assert_eq!(count_rows(&repo, "customer_notes", neighbour.id).await, 1);

    // Deleting again finds nothing; the e-mail is free again.
    assert!(!repo.delete(scope, doomed.id).await.unwrap());
    let reborn = build(scope, company("ТОО Альфа", "info@alpha.kz"));
    insert(&repo, &reborn).await;
    assert_eq!(get(&repo, &reborn).await, Some(reborn));
}

async fn delete_of_a_missing_or_foreign_customer_returns_false(repo: SeaRepository) {
    let scope = new_scope();
    let customer = stored_customer(&repo, scope).await;
    assert!(!repo.delete(scope, CustomerId::new()).await.unwrap());
    for foreign in [
        Scope::new(scope.organization_id, WorkspaceId::new()),
        Scope::new(OrganizationId::new(), scope.workspace_id),
        new_scope(),
    ] {
        assert!(!repo.delete(foreign, customer.id).await.unwrap(), "{foreign:?}");
        assert_eq!(get(&repo, &customer).await, Some(customer.clone()), "{foreign:?}");
    }
    assert_eq!(
        children(&repo, customer.id).await,
        vec![
            ("customer_contacts", 2),
            ("customer_addresses", 2),
            ("customer_tags", 2),
            ("customer_notes", 0)
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 7. find_by_unique
// ---------------------------------------------------------------------------------------------

async fn find_by_unique_finds_by_each_field_with_its_scope(repo: SeaRepository) {
    let org = OrganizationId::new();
    let first = Scope::new(org, WorkspaceId::new());
    let second = Scope::new(org, WorkspaceId::new());
    let alpha = build(
        first,
        CustomerDraft {
            iin: Some(iin(40)),
            bin: Some(bin(40)),
            ..company("Alpha LLP", "info@alpha.kz")
        },
    );
    let beta = build(
        second,
        CustomerDraft {
            iin: Some(iin(41)),
            ..individual("Берик", "berik@beta.kz")
        },
    );
    insert(&repo, &alpha).await;
    insert(&repo, &beta).await;
    let find = |field: UniqueField, value: String| {
        let repo = repo.clone();
        async move { repo.find_by_unique(org, field, &value).await.unwrap() }
    };

    assert_eq!(
        find(UniqueField::Email, "info@alpha.kz".into()).await,
        Some((first, alpha.id))
    );
    assert_eq!(
        find(UniqueField::Email, " INFO@Alpha.KZ ".into()).await,
        Some((first, alpha.id))
    );
    assert_eq!(
        find(UniqueField::Email, "Berik@BETA.kz".into()).await,
        Some((second, beta.id))
    );
    assert_eq!(find(UniqueField::Iin, iin(40)).await, Some((first, alpha.id)));
    assert_eq!(
        find(UniqueField::Iin, format!(" {} ", iin(41))).await,
        Some((second, beta.id))
    );
    assert_eq!(find(UniqueField::Bin, bin(40)).await, Some((first, alpha.id)));

    // Misses: unknown values, a value of another field, another organization.
    assert_eq!(find(UniqueField::Email, "nobody@alpha.kz".into()).await, None);
    assert_eq!(find(UniqueField::Iin, bin(40)).await, None);
    assert_eq!(find(UniqueField::Bin, iin(40)).await, None);
    assert_eq!(find(UniqueField::Bin, bin(41)).await, None);
    assert_eq!(
        repo.find_by_unique(OrganizationId::new(), UniqueField::Email, "info@alpha.kz")
            .await
            .unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Search
// ---------------------------------------------------------------------------------------------

async fn search_is_scoped_to_the_workspace(repo: SeaRepository) {
    let org = OrganizationId::new();
    let home = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    let stranger = Scope::new(OrganizationId::new(), home.workspace_id);
    let mut inserted = Vec::new();
    for (scope, prefix, n) in [(home, "home", 3), (sibling, "sibling", 2), (stranger, "stranger", 4)] {
        for i in 0..n {
            let customer = build_at(
                scope,
                CustomerDraft {
                    tags: vec!["shared".into()],
                    ..company(&format!("{prefix} {i} Альфа"), &format!("{prefix}{i}@alpha.kz"))
                },
                T0 + Duration::seconds(i),
            );
            insert(&repo, &customer).await;
            inserted.push(customer);
        }
    }
    for (scope, prefix, n) in [(home, "home", 3), (sibling, "sibling", 2), (stranger, "stranger", 4)] {
        let expected: Vec<String> = (0..n).rev().map(|i| format!("{prefix} {i} Альфа")).collect();
        assert_eq!(names(&repo, scope, CustomerFilter::default()).await, expected);
        let filtered = CustomerFilter {
            tags: vec!["shared".into()],
            ..search_filter("альфа")
        };
        assert_eq!(names(&repo, scope, filtered).await, expected);
    }
    assert_eq!(
        names(&repo, new_scope(), CustomerFilter::default()).await,
        Vec::<String>::new()
    );
    let empty = repo
        .search(new_scope(), &query(CustomerFilter::default()))
        .await
        .unwrap();
    assert_eq!((empty.total, empty.pages(), empty.items.len()), (0, 0, 0));
}

/// Four customers in `scope` with distinct values in every filtered field, created one after
/// the other (microseconds apart), plus a copy of each in another organization under the same
/// workspace id, which no search of `scope` may return.
struct Fixture {
    scope: Scope,
    manager_one: UserId,
    manager_two: UserId,
    created: Vec<OffsetDateTime>,
}

async fn search_fixture(repo: &SeaRepository) -> Fixture {
    let scope = new_scope();
    let manager_one = UserId::new();
    let manager_two = UserId::new();
    let created = vec![
        T0,
        T0 + Duration::microseconds(1),
        T0 + Duration::microseconds(2),
        T0 + Duration::seconds(3600),
    ];
    let drafts = [
        CustomerDraft {
            phone: Some("+77012345678".into()),
            bin: Some(bin(50)),
            company_name: Some("Alpha Trading".into()),
            status: Some(CustomerStatus::Active),
            industry: Some("Retail".into()),
            lead_source: Some("Website".into()),
            addresses: vec![AddressDraft::new(
                AddressType::Billing,
                "пр. Абая, 1",
                "Алматы",
                "050000",
            )],
            tags: vec!["VIP".into(), "Almaty".into()],
            assigned_to: Some(manager_one.into_uuid()),
            ..company("ТОО Альфа", "info@alpha.kz")
        },
        CustomerDraft {
            phone: Some("+77471112233".into()),
            iin: Some(iin(50)),
            status: Some(CustomerStatus::Lead),
            industry: Some("RETAIL".into()),
            lead_source: Some("Cold call".into()),
            addresses: vec![AddressDraft::new(
                AddressType::Shipping,
                "ул. Кенесары, 2",
                "Астана",
                "010000",
            )],
            tags: vec!["vip-gold".into()],
            assigned_to: Some(manager_one.into_uuid()),
            ..individual("Берик Сейткали", "berik@mail.kz")
        },
        CustomerDraft {
            status: Some(CustomerStatus::Churned),
            industry: Some("Construction".into()),
            lead_source: Some("referral".into()),
            addresses: vec![
                AddressDraft::new(AddressType::Office, "ул. Байтурсынова, 3", "Астана", "010000"),
                AddressDraft::new(AddressType::Warehouse, "ул. Рыскулова, 4", "АЛМАТЫ", "050060"),
            ],
            tags: vec!["Wholesale".into()],
            assigned_to: Some(manager_two.into_uuid()),
            ..company("Gamma LLP", "sales@gamma.com")
        },
        CustomerDraft {
            status: Some(CustomerStatus::Prospect),
            ..individual("Дана Омарова", "dana@omarova.kz")
        },
    ];
    let purchases = ["1000.00", "0.00", "1000.01", "5000.00"];
    let other_org = Scope::new(OrganizationId::new(), scope.workspace_id);
    for copy in [false, true] {
        for (i, draft) in drafts.iter().enumerate() {
            let mut customer = build_at(if copy { other_org } else { scope }, draft.clone(), created[i]);
            customer.total_purchases = money(purchases[i]);
            customer.is_active = i != 2;
            insert(repo, &customer).await;
        }
    }
    Fixture {
        scope,
        manager_one,
        manager_two,
        created,
    }
}

const ALPHA: &str = "ТОО Альфа";
const BERIK: &str = "Берик Сейткали";
const GAMMA: &str = "Gamma LLP";
const DANA: &str = "Дана Омарова";

async fn search_filters_by_type_status_flags_and_people(repo: SeaRepository) {
    let f = search_fixture(&repo).await;
    let s = f.scope;
    assert_eq!(
        names(&repo, s, CustomerFilter::default()).await,
        [DANA, GAMMA, BERIK, ALPHA]
    );
    let cases: Vec<(CustomerFilter, Vec<&str>)> = vec![
        (
            CustomerFilter {
                customer_type: Some(CustomerType::Company),
                ..Default::default()
            },
            vec![GAMMA, ALPHA],
        ),
        (
            CustomerFilter {
                customer_type: Some(CustomerType::Individual),
                ..Default::default()
            },
            vec![DANA, BERIK],
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                ..Default::default()
            },
            vec![ALPHA],
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Churned),
                ..Default::default()
            },
            vec![GAMMA],
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Inactive),
                ..Default::default()
            },
            vec![],
        ),
        (
            CustomerFilter {
                assigned_to: Some(f.manager_one),
                ..Default::default()
            },
            vec![BERIK, ALPHA],
        ),
        (
            CustomerFilter {
                assigned_to: Some(f.manager_two),
                ..Default::default()
            },
            vec![GAMMA],
        ),
        (
            CustomerFilter {
                assigned_to: Some(UserId::new()),
                ..Default::default()
            },
            vec![],
        ),
        (
            CustomerFilter {
                is_active: Some(false),
                ..Default::default()
            },
            vec![GAMMA],
        ),
        (
            CustomerFilter {
                is_active: Some(true),
                ..Default::default()
            },
            vec![DANA, BERIK, ALPHA],
        ),
        // Filters combine with AND.
        (
            CustomerFilter {
                customer_type: Some(CustomerType::Company),
                is_active: Some(true),
                assigned_to: Some(f.manager_one),
                ..Default::default()
            },
            vec![ALPHA],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&repo, s, filter.clone()).await, expected, "{filter:?}");
    }
}

async fn search_text_matches_names_emails_phones_and_tax_ids(repo: SeaRepository) {
    let f = search_fixture(&repo).await;
    let cases: Vec<(String, Vec<&str>)> = vec![
        // Name substrings, Cyrillic case folding.
        ("альфа".into(), vec![ALPHA]),
        ("АЛЬФА".into(), vec![ALPHA]),
        ("тоо аль".into(), vec![ALPHA]),
        ("  сейткали ".into(), vec![BERIK]),
        ("gamma llp".into(), vec![GAMMA]),
        // Company name.
        ("trading".into(), vec![ALPHA]),
        // E-mail substrings.
        ("gamma.com".into(), vec![GAMMA]),
        ("@MAIL.kz".into(), vec![BERIK]),
        ("info@alpha.kz".into(), vec![ALPHA]),
        // Phone digits, in any typed form.
        ("7012345678".into(), vec![ALPHA]),
        ("+7 (747) 111".into(), vec![BERIK]),
        // IIN and BIN exactly, not as substrings.
        (iin(50), vec![BERIK]),
        (bin(50), vec![ALPHA]),
        (iin(50)[..8].to_owned(), vec![]),
        (bin(50)[1..].to_owned(), vec![]),
        // A match may not span two fields.
        ("альфа alpha".into(), vec![]),
        ("nothing like it".into(), vec![]),
    ];
    for (text, expected) in cases {
        assert_eq!(
            names(&repo, f.scope, search_filter(&text)).await,
            expected,
            "search {text:?}"
        );
    }
}

async fn search_filters_by_industry_city_lead_source_and_tags(repo: SeaRepository) {
    let f = search_fixture(&repo).await;
    let filter = |build: fn(&mut CustomerFilter)| {
        let mut filter = CustomerFilter::default();
        build(&mut filter);
        filter
    };
    let cases: Vec<(CustomerFilter, Vec<&str>)> = vec![
        (filter(|f| f.industry = Some(" retail ".into())), vec![BERIK, ALPHA]),
        (filter(|f| f.industry = Some("CONSTRUCTION".into())), vec![GAMMA]),
        (filter(|f| f.industry = Some("retai".into())), vec![]),
        (filter(|f| f.city = Some("алматы".into())), vec![GAMMA, ALPHA]),
        (filter(|f| f.city = Some("  АсТаНа".into())), vec![GAMMA, BERIK]),
        (filter(|f| f.city = Some("алма".into())), vec![]),
        (filter(|f| f.lead_source = Some("WEBSITE".into())), vec![ALPHA]),
        (filter(|f| f.lead_source = Some("Referral".into())), vec![GAMMA]),
        (filter(|f| f.lead_source = Some("cold call".into())), vec![BERIK]),
        (filter(|f| f.lead_source = Some("cold".into())), vec![]),
        (filter(|f| f.tags = vec!["vip".into()]), vec![ALPHA]),
        (filter(|f| f.tags = vec!["VIP-GOLD".into()]), vec![BERIK]),
        (
            filter(|f| f.tags = vec!["wholesale".into(), "none".into()]),
            vec![GAMMA],
        ),
        (
            filter(|f| f.tags = vec!["vip,WHOLESALE".into(), "almaty".into()]),
            vec![GAMMA, ALPHA],
        ),
        (filter(|f| f.tags = vec!["none".into()]), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&repo, f.scope, filter.clone()).await, expected, "{filter:?}");
    }
}

async fn search_filters_by_purchases_and_creation_time(repo: SeaRepository) {
    let f = search_fixture(&repo).await;
    let range = |min: Option<&str>, max: Option<&str>| CustomerFilter {
        min_purchases: min.map(dec),
        max_purchases: max.map(dec),
        ..CustomerFilter::default()
    };
    let cases: Vec<(CustomerFilter, Vec<&str>)> = vec![
        (range(Some("1000.01"), None), vec![DANA, GAMMA]),
        (range(Some("1000"), None), vec![DANA, GAMMA, ALPHA]),
        (range(Some("1000.001"), None), vec![DANA, GAMMA]),
        (range(None, Some("1000.00")), vec![BERIK, ALPHA]),
        (range(None, Some("1000.009")), vec![BERIK, ALPHA]),
        (range(None, Some("0")), vec![BERIK]),
        (range(Some("1000"), Some("1000")), vec![ALPHA]),
        (range(Some("0.01"), Some("4999.99")), vec![GAMMA, ALPHA]),
        (range(Some("5000.01"), None), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&repo, f.scope, filter.clone()).await, expected, "{filter:?}");
    }

    let t = &f.created;
    let us = Duration::microseconds(1);
    let window = |from: Option<OffsetDateTime>, to: Option<OffsetDateTime>| CustomerFilter {
        created_from: from,
        created_to: to,
        ..CustomerFilter::default()
    };
    let cases: Vec<(CustomerFilter, Vec<&str>)> = vec![
        (window(Some(t[1]), None), vec![DANA, GAMMA, BERIK]),
        (window(Some(t[1] + us), None), vec![DANA, GAMMA]),
        (window(None, Some(t[1])), vec![BERIK, ALPHA]),
        (window(None, Some(t[1] - us)), vec![ALPHA]),
        (window(Some(t[1]), Some(t[2])), vec![GAMMA, BERIK]),
        (window(Some(t[3]), Some(t[3])), vec![DANA]),
        // The same instants written in another offset.
        (
            window(
                Some(t[1].to_offset(time::UtcOffset::UTC)),
                Some(t[2].to_offset(time::macros::offset!(-3))),
            ),
            vec![GAMMA, BERIK],
        ),
        (window(Some(t[3] + us), None), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&repo, f.scope, filter.clone()).await, expected, "{filter:?}");
    }
}

/// Bounds may come with nanoseconds (RFC 3339 allows them) while the stores keep
/// microseconds: "created at or after 12.1234561" must not match a customer created at
/// 12.123456.
async fn search_time_bounds_finer_than_a_microsecond_stay_exact(repo: SeaRepository) {
    let f = search_fixture(&repo).await;
    let t = &f.created;
    let ns = Duration::nanoseconds(1);
    let window = |from: Option<OffsetDateTime>, to: Option<OffsetDateTime>| CustomerFilter {
        created_from: from,
        created_to: to,
        ..CustomerFilter::default()
    };
    let cases: Vec<(CustomerFilter, Vec<&str>)> = vec![
        (window(Some(t[1] - ns), Some(t[1] + ns)), vec![BERIK]),
        (window(None, Some(t[1] - ns)), vec![ALPHA]),
        (window(Some(t[1] + ns), None), vec![DANA, GAMMA]),
        (window(Some(t[1] + Duration::nanoseconds(999)), Some(t[2] - ns)), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&repo, f.scope, filter.clone()).await, expected, "{filter:?}");
    }
}

async fn search_treats_like_wildcards_literally(repo: SeaRepository) {
    let scope = new_scope();
    let titles = [
        "Скидка 50% Плюс",
        "Скидка 500 Плюс",
        "Скидка 5 0 Плюс",
        "Under_score",
        "UnderXscore",
        "Back\\slash",
        "Backslash",
    ];
    for (i, title) in titles.iter().enumerate() {
        let customer = build_at(
            scope,
            company(title, &format!("c{i}@wild.kz")),
            T0 + Duration::seconds(i as i64),
        );
        insert(&repo, &customer).await;
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("50%", vec!["Скидка 50% Плюс"]),
        ("%", vec!["Скидка 50% Плюс"]),
        ("5_0", vec![]),
        ("r_s", vec!["Under_score"]),
        ("_", vec!["Under_score"]),
        ("k\\s", vec!["Back\\slash"]),
        ("\\", vec!["Back\\slash"]),
        ("скидка", vec!["Скидка 5 0 Плюс", "Скидка 500 Плюс", "Скидка 50% Плюс"]),
    ];
    for (text, expected) in cases {
        assert_eq!(
            names(&repo, scope, search_filter(text)).await,
            expected,
            "search {text:?}"
        );
    }
}

async fn search_sorts_by_every_field_in_both_orders_with_ties_by_id(repo: SeaRepository) {
    let scope = new_scope();
    // Ties on every key; ids handed out in the reverse of insertion order, so that neither
    // insertion order nor creation order can pass for the id order.
    let rows: [(&str, &str, u8, i64, i64); 7] = [
        // name, total purchases, rating, created (s), updated (s)
        ("delta", "10.00", 5, 5, 50),
        ("alpha", "30.00", 9, 1, 10),
        ("charlie", "20.00", 5, 3, 10),
        ("bravo", "30.00", 1, 3, 70),
        ("alpha", "0.00", 9, 1, 20),
        ("echo", "9999999999999999.99", 10, 7, 20),
        ("bravo", "0.01", 1, 2, 70),
    ];
    let mut ids: Vec<CustomerId> = (0..rows.len()).map(|_| CustomerId::new()).collect();
    ids.reverse();
    let mut customers = Vec::new();
    for (i, (name, total, rating, created, updated)) in rows.iter().enumerate() {
        let mut c = build_at(
            scope,
            company(name, &format!("sort{i}@alpha.kz")),
            T0 + Duration::seconds(*created),
        );
        c.id = ids[i];
        c.total_purchases = money(total);
        c.rating = Rating::parse(i64::from(*rating)).unwrap();
        c.updated_at = T0 + Duration::seconds(*updated);
        insert(&repo, &c).await;
        customers.push(c);
    }
    for sort_by in [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Name,
        SortField::TotalPurchases,
        SortField::Rating,
    ] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut expected = customers.clone();
            expected.sort_by(|a, b| {
                let key = match sort_by {
                    SortField::CreatedAt => a.created_at.cmp(&b.created_at),
                    SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                    SortField::Name => a.name.cmp(&b.name),
                    SortField::TotalPurchases => a.total_purchases.cmp(&b.total_purchases),
                    SortField::Rating => a.rating.cmp(&b.rating),
                };
                key.then(a.id.cmp(&b.id))
            });
            if order == SortOrder::Desc {
                expected.reverse();
            }
            let expected: Vec<_> = expected.iter().map(|c| (c.name.clone(), c.id)).collect();
            let q = CustomerQuery::new(CustomerFilter::default(), Some(sort_by), Some(order), None, Some(100)).unwrap();
            let page = repo.search(scope, &q).await.unwrap();
            let got: Vec<_> = page.items.iter().map(|c| (c.name.clone(), c.id)).collect();
            assert_eq!(got, expected, "{sort_by:?} {order:?}");

            // The same order holds across pages of 2.
            let mut paged = Vec::new();
            for p in 1..=4 {
                let q = CustomerQuery::new(CustomerFilter::default(), Some(sort_by), Some(order), Some(p), Some(2))
                    .unwrap();
                paged.extend(
                    repo.search(scope, &q)
                        .await
                        .unwrap()
                        .items
                        .into_iter()
                        .map(|c| (c.name, c.id)),
                );
            }
            assert_eq!(paged, expected, "{sort_by:?} {order:?} paged");
        }
    }
    // The default is newest first.
    let page = repo.search(scope, &query(CustomerFilter::default())).await.unwrap();
    let mut expected = customers.clone();
    expected.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    assert_eq!(page.items, expected);
}

async fn search_pages_with_totals_and_carries_children(repo: SeaRepository) {
    let scope = new_scope();
    let mut customers = Vec::new();
    for i in 0..7_usize {
        let contacts = (0..i % 3)
            .map(|j| {
                full_contact(
                    &format!("Контакт{j}"),
                    &format!("p{i}c{j}@alpha.kz"),
                    "+77011111111",
                    j == 0,
                )
            })
            .collect();
        let addresses = (0..(i + 1) % 3)
            .map(|j| {
                full_address(
                    if j == 0 {
                        AddressType::Billing
                    } else {
                        AddressType::Office
                    },
                    &format!("Город{i}"),
                    "050000",
                    j == 0,
                )
            })
            .collect();
        let mut c = build_at(
            scope,
            CustomerDraft {
                contacts,
                addresses,
                tags: vec![format!("t{i}")],
                ..company(&format!("Клиент {i}"), &format!("page{i}@alpha.kz"))
            },
            T0 + Duration::seconds(i as i64),
        );
        reverse_child_ids(&mut c);
        insert(&repo, &c).await;
        customers.push(c);
    }
    // Oldest first, so page 1 holds customers 0, 1, 2.
    let page_of = |page: i64, limit: i64| {
        CustomerQuery::new(
            CustomerFilter::default(),
            None,
            Some(SortOrder::Asc),
            Some(page),
            Some(limit),
        )
        .unwrap()
    };
    let check = |got: Page<Customer>, page: u32, limit: u32, items: &[Customer], pages: u64| {
        assert_eq!(
            (got.total, got.page, got.limit, got.pages()),
            (7, page, limit, pages),
            "page {page}"
        );
        assert_eq!(got.items, items, "page {page}");
    };
    check(
        repo.search(scope, &page_of(1, 3)).await.unwrap(),
        1,
        3,
        &customers[0..3],
        3,
    );
    check(
        repo.search(scope, &page_of(2, 3)).await.unwrap(),
        2,
        3,
        &customers[3..6],
        3,
    );
    check(
        repo.search(scope, &page_of(3, 3)).await.unwrap(),
        3,
        3,
        &customers[6..7],
        3,
    );
    check(repo.search(scope, &page_of(4, 3)).await.unwrap(), 4, 3, &[], 3);
    check(
        repo.search(scope, &page_of(1000, 100)).await.unwrap(),
        1000,
        100,
        &[],
        1,
    );
    check(repo.search(scope, &page_of(1, 7)).await.unwrap(), 1, 7, &customers, 1);
    check(
        repo.search(scope, &page_of(1, 100)).await.unwrap(),
        1,
        100,
        &customers,
        1,
    );
    check(
        repo.search(scope, &page_of(7, 1)).await.unwrap(),
        7,
        1,
        &customers[6..7],
        7,
    );

    // A filtered page counts the matches only.
    let filter = CustomerFilter {
        tags: vec!["t1".into(), "t4".into(), "t5".into()],
        ..CustomerFilter::default()
    };
    let q = CustomerQuery::new(filter, None, Some(SortOrder::Asc), Some(2), Some(2)).unwrap();
    let page = repo.search(scope, &q).await.unwrap();
    assert_eq!((page.total, page.pages()), (3, 2));
    assert_eq!(page.items, &customers[5..6]);

    // Every customer came with its own children, in their order.
    let counts: Vec<_> = customers
        .iter()
        .map(|c| (c.contacts.len(), c.addresses.len()))
        .collect();
    assert_eq!(counts, [(0, 1), (1, 2), (2, 0), (0, 1), (1, 2), (2, 0), (0, 1)]);
    let all: HashSet<_> = customers.iter().flat_map(|c| c.contacts.iter().map(|x| x.id)).collect();
    assert_eq!(all.len(), 6);
}

// ---------------------------------------------------------------------------------------------
// 9. Ping
// ---------------------------------------------------------------------------------------------

async fn ping_answers(repo: SeaRepository) {
    repo.ping().await.unwrap();
    // And the store really answers queries afterwards.
    let page = repo
        .search(new_scope(), &query(CustomerFilter::default()))
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}
