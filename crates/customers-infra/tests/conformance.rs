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
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait, Value};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;
use uuid::Uuid;

use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft, SocialMediaDraft};
use customers_domain::events::{CustomerEvent, EVENT_SCHEMA_VERSION, EventEnvelope, diff};
use customers_domain::lifecycle::merge::merge;
use customers_domain::lifecycle::names::{match_key, match_tokens};
use customers_domain::ports::{BatchError, CustomerRepository, CustomerSearch, DuplicateProbe, RepositoryError};
use customers_domain::query::{CustomerFilter, CustomerList, CustomerQuery, Page, SearchTerm, SortField, SortOrder};
use customers_domain::values::tax_id::control_digit;
use customers_domain::{
    AddressType, CompanySize, Coordinates, Customer, CustomerId, CustomerNote, CustomerStatus, CustomerType, Money,
    NoteChannel, NoteDirection, NoteId, OrganizationId, Rating, Scope, UniqueField, UserId, WorkspaceId,
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
/// `#[ignore = "bug: …"]` (both backends) or `#[ignore_on_postgres = "bug: …"]` (PostgreSQL
/// only) while a known adapter bug makes it fail.
macro_rules! conformance {
    ($( $(#[ignore = $both:literal])? $(#[ignore_on_postgres = $postgres:literal])? $name:ident ),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                $(#[ignore = $both])?
                async fn sqlite() {
                    super::run(customers_infra::testing::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                $(#[ignore = $both])?
                $(#[ignore = $postgres])?
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
    a_page_gives_each_customer_its_own_children_in_order,
    a_tag_count_counts_each_live_customer_of_the_workspace_once,
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
    soft_delete_hides_the_customer_and_keeps_its_children,
    soft_delete_returns_only_live_ids_of_the_scope,
    get_deleted_and_restore_bring_the_customer_back_whole,
    restore_when_a_live_customer_took_a_unique_value_is_a_duplicate,
    purge_removes_only_customers_deleted_before_the_cut_off,
    insert_many_stores_all_or_nothing,
    merge_moves_children_and_notes_to_the_primary_and_removes_the_duplicates,
    merge_that_fails_changes_nothing,
    duplicate_candidates_match_each_key_within_the_scope,
    notes_are_added_listed_newest_first_paged_updated_and_deleted,
    note_calls_for_a_foreign_missing_or_deleted_customer_are_not_found,
    merge_keeps_a_note_added_to_a_duplicate_meanwhile,
    restore_racing_purge_keeps_the_customer_whole_or_removes_it_whole,
    customers_stored_before_the_lifecycle_migration_are_found_by_name,
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
    insert_stores_its_events_in_the_outbox_in_the_given_order,
    a_refused_write_stores_none_of_its_events,
    a_write_whose_events_cannot_be_stored_changes_nothing,
    update_restore_and_merge_append_their_events,
    soft_delete_appends_only_the_events_of_the_customers_it_deleted,
    events_of_one_customer_are_in_version_order_by_seq,
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

/// Inserts through the port with the events the service writes with it.
async fn insert(repo: &SeaRepository, customer: &Customer) {
    repo.insert(customer, &created(customer))
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
    assert_eq!(page.total, Some(page.items.len() as u64), "total of {filter:?}");
    page.items.into_iter().map(|c| c.name).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Rows of `table` that belong to `customer` (read directly, not through the adapter).
async fn count_rows(repo: &SeaRepository, table: &str, customer: CustomerId) -> i64 {
    count_where(repo, table, "customer_id", customer.into_uuid()).await
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

/// Rows of `table` whose `column` holds `id` (read directly, not through the adapter).
async fn count_where(repo: &SeaRepository, table: &str, column: &str, id: Uuid) -> i64 {
    let db = repo.connection();
    let backend = db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let statement = Statement::from_sql_and_values(
        backend,
        format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = {placeholder}"),
        [Value::Uuid(Some(id))],
    );
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The customer's own row (live or soft-deleted): 1 while it exists, 0 once removed for good.
async fn customer_rows(repo: &SeaRepository, customer: CustomerId) -> i64 {
    count_where(repo, "customers", "id", customer.into_uuid()).await
}

/// Every row of `table`.
async fn count_all(repo: &SeaRepository, table: &str) -> i64 {
    let db = repo.connection();
    let statement = Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}"));
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Every row of the five tables, by key and owner (read directly), sorted: two dumps are
/// equal when no row was added, removed, moved to another customer or changed version or
/// deletion state.
#[derive(Debug, PartialEq)]
struct Dump {
    live: Vec<(Uuid, i64)>,
    deleted: Vec<(Uuid, i64)>,
    contacts: Vec<(Uuid, Uuid)>,
    addresses: Vec<(Uuid, Uuid)>,
    notes: Vec<(Uuid, Uuid, String)>,
    tags: Vec<(Uuid, String)>,
}

async fn dump(repo: &SeaRepository) -> Dump {
    let db = repo.connection();
    let backend = db.get_database_backend();
    let rows = |sql: &str| {
        let statement = Statement::from_string(backend, sql.to_owned());
        async move { db.query_all_raw(statement).await.unwrap() }
    };
    let uuid = |row: &sea_orm::QueryResult, column: &str| row.try_get::<Uuid>("", column).unwrap();
    let text = |row: &sea_orm::QueryResult, column: &str| row.try_get::<String>("", column).unwrap();
    let int = |row: &sea_orm::QueryResult, column: &str| row.try_get::<i64>("", column).unwrap();
    let mut live = Vec::new();
    let mut deleted = Vec::new();
    for row in rows("SELECT id, version, deleted_at FROM customers").await {
        let is_deleted = if backend == DbBackend::Postgres {
            row.try_get::<Option<OffsetDateTime>>("", "deleted_at")
                .unwrap()
                .is_some()
        } else {
            row.try_get::<Option<i64>>("", "deleted_at").unwrap().is_some()
        };
        let entry = (uuid(&row, "id"), int(&row, "version"));
        if is_deleted {
            deleted.push(entry);
        } else {
            live.push(entry);
        }
    }
    let pairs = |rows: Vec<sea_orm::QueryResult>| {
        sorted(
            rows.iter()
                .map(|row| (uuid(row, "id"), uuid(row, "customer_id")))
                .collect(),
        )
    };
    Dump {
        live: sorted(live),
        deleted: sorted(deleted),
        contacts: pairs(rows("SELECT id, customer_id FROM customer_contacts").await),
        addresses: pairs(rows("SELECT id, customer_id FROM customer_addresses").await),
        notes: sorted(
            rows("SELECT id, customer_id, body FROM customer_notes")
                .await
                .iter()
                .map(|row| (uuid(row, "id"), uuid(row, "customer_id"), text(row, "body")))
                .collect(),
        ),
        tags: sorted(
            rows("SELECT customer_id, tag_key FROM customer_tags")
                .await
                .iter()
                .map(|row| (uuid(row, "customer_id"), text(row, "tag_key")))
                .collect(),
        ),
    }
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

/// A note about `customer` written at `at`.
fn note_at(customer: CustomerId, body: &str, at: OffsetDateTime) -> CustomerNote {
    CustomerNote {
        id: NoteId::new(),
        customer_id: customer,
        author_id: UserId::new(),
        body: body.into(),
        channel: None,
        direction: None,
        created_at: at,
        updated_at: at,
    }
}

/// Adds a note through the port.
async fn add_note(
    repo: &SeaRepository,
    scope: Scope,
    customer: CustomerId,
    body: &str,
    at: OffsetDateTime,
) -> CustomerNote {
    let note = note_at(customer, body, at);
    repo.add_note(scope, &note)
        .await
        .unwrap_or_else(|e| panic!("add_note failed: {e}"));
    note
}

/// All notes of a live customer (newest first) through the port.
async fn notes_of(repo: &SeaRepository, scope: Scope, customer: CustomerId) -> Option<Vec<CustomerNote>> {
    repo.list_notes(scope, customer, 1, 1000)
        .await
        .unwrap()
        .map(|page| page.items)
}

/// Soft-deletes one customer of `scope` at `at`, with its `customer.deleted` event; panics
/// unless exactly it was deleted.
async fn soft_delete(repo: &SeaRepository, customer: &Customer, at: OffsetDateTime) {
    let by = UserId::new();
    assert_eq!(
        repo.soft_delete(customer.scope(), &[customer.id], at, by, &[deleted(customer, by, at)])
            .await
            .unwrap(),
        vec![customer.id],
        "soft delete of {}",
        customer.name
    );
}

async fn get_deleted(repo: &SeaRepository, customer: &Customer) -> Option<(Customer, OffsetDateTime)> {
    repo.get_deleted(customer.scope(), customer.id).await.unwrap()
}

/// `customer` as the service restores it: next version, new stamp and author.
fn restored(customer: &Customer, at: OffsetDateTime) -> Customer {
    let mut next = customer.clone();
    next.version = customer.version + 1;
    next.updated_at = at;
    next.updated_by = Some(UserId::new());
    next
}

/// A company with two contacts, two addresses and the tags `vip` and `tag`.
fn rich_draft(name: &str, email: &str, tag: &str) -> CustomerDraft {
    CustomerDraft {
        contacts: vec![
            full_contact("Асет", &format!("aset.{email}"), "+77011111111", true),
            full_contact("Бауыржан", &format!("baur.{email}"), "+77012222222", false),
        ],
        addresses: vec![
            full_address(AddressType::Billing, "Алматы", "050000", true),
            full_address(AddressType::Shipping, "Астана", "010000", false),
        ],
        tags: vec!["vip".into(), tag.into()],
        ..company(name, email)
    }
}

fn rich(scope: Scope, name: &str, email: &str, tag: &str) -> Customer {
    build(scope, rich_draft(name, email, tag))
}

fn children_of_rich(notes: i64) -> Vec<(&'static str, i64)> {
    vec![
        ("customer_contacts", 2),
        ("customer_addresses", 2),
        ("customer_tags", 2),
        ("customer_notes", notes),
    ]
}

fn tag_filter(tag: &str) -> CustomerFilter {
    CustomerFilter {
        tags: vec![tag.into()],
        ..CustomerFilter::default()
    }
}

fn city_filter(city: &str) -> CustomerFilter {
    CustomerFilter {
        city: Some(city.into()),
        ..CustomerFilter::default()
    }
}

fn assert_not_found(result: Result<(), RepositoryError>, what: &str) {
    match result {
        Err(RepositoryError::NotFound) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn assert_conflict(result: Result<(), RepositoryError>, what: &str) {
    match result {
        Err(RepositoryError::VersionConflict) => {}
        other => panic!("{what}: expected VersionConflict, got {other:?}"),
    }
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

/// Customers with more contacts than addresses, more addresses than contacts, and none, on
/// one page in each sort direction: each gets exactly its own children, in their order.
async fn a_page_gives_each_customer_its_own_children_in_order(repo: SeaRepository) {
    let scope = new_scope();
    let shapes = [(3, 1), (0, 2), (0, 0), (2, 0), (1, 3), (2, 2)];
    let mut stored = Vec::new();
    for (i, (contacts, addresses)) in shapes.into_iter().enumerate() {
        let draft = CustomerDraft {
            contacts: (0..contacts)
                .map(|n| {
                    full_contact(
                        &format!("К{i}-{n}"),
                        &format!("c{i}-{n}@kids.kz"),
                        "+77011111111",
                        n == 0,
                    )
                })
                .collect(),
            addresses: (0..addresses)
                .map(|n| full_address(AddressType::Shipping, &format!("Город {i}-{n}"), "050000", n == 0))
                .collect(),
            ..company(&format!("ТОО «Дети {i}»"), &format!("kids{i}@kids.kz"))
        };
        let mut customer = build_at(scope, draft, T0 + Duration::seconds(i as i64));
        reverse_child_ids(&mut customer);
        insert(&repo, &customer).await;
        stored.push(customer);
    }
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let q = CustomerQuery::new(
            CustomerFilter::default(),
            Some(SortField::CreatedAt),
            Some(order),
            None,
            Some(100),
        )
        .unwrap();
        let page = repo.search(scope, &q).await.unwrap();
        let mut want = stored.clone();
        if order == SortOrder::Desc {
            want.reverse();
        }
        assert_eq!(page.total, Some(shapes.len() as u64));
        assert_eq!(page.items, want, "{order:?}");
    }
    for customer in &stored {
        assert_eq!(get(&repo, customer).await.as_ref(), Some(customer));
    }
}

/// Counting a tag filter beyond the first page: a customer with two of the tags counts once;
/// deleted customers, other workspaces and the other filters' misfits do not count.
async fn a_tag_count_counts_each_live_customer_of_the_workspace_once(repo: SeaRepository) {
    let scope = new_scope();
    let elsewhere = new_scope();
    let tagged = |scope: Scope, i: usize, tags: &[&str], status: CustomerStatus| {
        let draft = CustomerDraft {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            status: Some(status),
            ..individual(&format!("Клиент {i}"), &format!("tag{i}@count.kz"))
        };
        build_at(scope, draft, T0 + Duration::seconds(i as i64))
    };
    let mut gone = Vec::new();
    for i in 0..9 {
        let tags: &[&str] = match i % 3 {
            0 => &["VIP", "опт"],
            1 => &["vip"],
            _ => &["Опт", "другой"],
        };
        let status = if i < 7 {
            CustomerStatus::Active
        } else {
            CustomerStatus::Lead
        };
        let customer = tagged(scope, i, tags, status);
        insert(&repo, &customer).await;
        if i == 3 {
            gone.push(customer);
        }
    }
    insert(&repo, &tagged(scope, 20, &["другой"], CustomerStatus::Active)).await;
    insert(&repo, &tagged(elsewhere, 21, &["vip", "опт"], CustomerStatus::Active)).await;
    for customer in &gone {
        soft_delete(&repo, customer, T0 + Duration::days(1)).await;
    }
    let cases = [
        (vec!["vip", "опт"], None, 8),
        (vec!["vip"], None, 5),
        (vec!["опт"], Some(CustomerStatus::Active), 4),
        (vec!["другой", "vip"], Some(CustomerStatus::Lead), 2),
        (vec!["нет-такого"], None, 0),
    ];
    for (tags, status, want) in cases {
        let filter = CustomerFilter {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            status,
            ..CustomerFilter::default()
        };
        for page in [1, 2] {
            let q = CustomerQuery::new(filter.clone(), None, None, Some(page), Some(2)).unwrap();
            let list = repo.search(scope, &q).await.unwrap();
            assert_eq!(list.total, Some(want), "{tags:?} {status:?} page {page}");
            assert!(!list.total_is_estimate);
        }
    }
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
        assert_duplicate(repo.insert(duplicate, &[]).await, *field);
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
    let result = repo.insert(&broken, &[]).await;
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
                let result = repo.insert(&customer, &[]).await;
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
                let result = repo.update(&next, expected_version, true, false, &[]).await;
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

/// Soft deletes run while other customers are written: a delete must wait for the other
/// writers, like inserts and updates do, not fail.
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
                task_repo
                    .soft_delete(scope, &[id], T0 + Duration::days(1), UserId::new(), &[])
                    .await
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
                repo.insert(&newcomer, &[]).await.map(|()| newcomer)
            }));
        }
        for (victim, handle) in victims.iter().zip(deletes) {
            match handle.await.unwrap() {
                Ok(deleted) if deleted == [victim.id] => {}
                other => panic!("round {round}: delete of {} gave {other:?}", victim.name),
            }
            assert_eq!(get(&repo, victim).await, None);
            // Soft delete: the children stay for a restore.
            assert_eq!(
                children(&repo, victim.id).await,
                vec![
                    ("customer_contacts", 1),
                    ("customer_addresses", 0),
                    ("customer_tags", 1),
                    ("customer_notes", 0)
                ]
            );
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
    repo.update(&v2, 1, false, false, &[]).await.unwrap();
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
    repo.update(&v3, 2, true, false, &[]).await.unwrap();
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
    repo.update(&v4, 3, false, true, &[]).await.unwrap();
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
    repo.update(&v5, 4, true, true, &[]).await.unwrap();
    assert_eq!(get(&repo, &v1).await, Some(v5.clone()));
    assert_eq!(children(&repo, v1.id).await, no_children());
}

async fn update_with_a_stale_version_conflicts_and_changes_nothing(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;
    let mut v2 = next_version(&v1, 1);
    v2.name = "Second".into();
    repo.update(&v2, 1, false, false, &[]).await.unwrap();

    // A writer that read v1 comes late, with every kind of change.
    let mut late = next_version(&v1, 2);
    late.name = "Late".into();
    late.email = customers_domain::values::Email::parse("late@alpha.kz").unwrap();
    late.tags = strings(&["late"]);
    late.contacts = other_contacts(&v1);
    late.addresses = other_addresses(&v1);
    for (contacts, addresses) in [(false, false), (true, true)] {
        match repo.update(&late, 1, contacts, addresses, &[]).await {
            Err(RepositoryError::VersionConflict) => {}
            other => panic!("expected VersionConflict, got {other:?}"),
        }
        assert_eq!(get(&repo, &v1).await, Some(v2.clone()));
    }
    // An expected version from the future conflicts too.
    let mut ahead = next_version(&v2, 3);
    ahead.name = "Ahead".into();
    assert!(matches!(
        repo.update(&ahead, 5, false, false, &[]).await,
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
    match repo.update(&missing, 1, true, true, &[]).await {
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
        match repo.update(&intruder, 1, true, true, &[]).await {
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
        assert_duplicate(repo.update(&attempt, 1, true, false, &[]).await, field);
        assert_eq!(get(&repo, &v1).await, Some(v1.clone()), "{field:?}");
        assert_eq!(get(&repo, &owner).await, Some(owner.clone()), "{field:?}");
    }

    // Keeping one's own values is no conflict.
    let mut same = next_version(&v1, 1);
    same.name = "Same values".into();
    repo.update(&same, 1, false, false, &[]).await.unwrap();
    assert_eq!(get(&repo, &v1).await, Some(same));
}

// ---------------------------------------------------------------------------------------------
// 6. Soft delete, restore, purge
// ---------------------------------------------------------------------------------------------

async fn soft_delete_hides_the_customer_and_keeps_its_children(repo: SeaRepository) {
    let scope = new_scope();
    let doomed = build(
        scope,
        CustomerDraft {
            iin: Some(iin(60)),
            bin: Some(bin(60)),
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
    insert(&repo, &doomed).await;
    add_note(&repo, scope, doomed.id, "Клиент просил перезвонить", T0).await;
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
    add_note(&repo, scope, neighbour.id, "Соседняя заметка", T0).await;
    assert_eq!(children(&repo, doomed.id).await, children_of_rich(1));

    let at = T0 + Duration::days(1) + Duration::microseconds(7);
    let by = UserId::new();
    assert_eq!(
        repo.soft_delete(scope, &[doomed.id], at, by, &[]).await.unwrap(),
        vec![doomed.id]
    );

    // Gone from every read.
    assert_eq!(get(&repo, &doomed).await, None);
    let page = repo.search(scope, &query(CustomerFilter::default())).await.unwrap();
    assert_eq!((page.total, page.items), (Some(1), vec![neighbour.clone()]));
    assert_eq!(names(&repo, scope, search_filter("альфа")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, search_filter(&iin(60))).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, city_filter("астана")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, tag_filter("almaty")).await, Vec::<String>::new());
    assert_eq!(names(&repo, scope, tag_filter("vip")).await, ["Beta LLP"]);
    for (field, value) in [
        (UniqueField::Email, "info@alpha.kz".to_owned()),
        (UniqueField::Iin, iin(60)),
        (UniqueField::Bin, bin(60)),
    ] {
        assert_eq!(
            repo.find_by_unique(scope.organization_id, field, &value).await.unwrap(),
            None,
            "{field:?}"
        );
    }
    assert_eq!(notes_of(&repo, scope, doomed.id).await, None);
    // A deleted customer is gone for writers too.
    let mut late = next_version(&doomed, 1);
    late.name = "Late writer".into();
    late.contacts = Vec::new();
    assert_not_found(
        repo.update(&late, doomed.version, true, true, &[]).await,
        "update of a deleted customer",
    );

    // But every row is kept for a restore, and the deletion is recorded.
    assert_eq!(children(&repo, doomed.id).await, children_of_rich(1));
    assert_eq!(customer_rows(&repo, doomed.id).await, 1);
    assert_eq!(get_deleted(&repo, &doomed).await, Some((doomed.clone(), at)));

    // The neighbour kept everything.
    assert_eq!(get(&repo, &neighbour).await, Some(neighbour.clone()));
    assert_eq!(children(&repo, neighbour.id).await[3], ("customer_notes", 1));

    // Deleting again deletes nothing and keeps the first deletion time.
    assert_eq!(
        repo.soft_delete(scope, &[doomed.id], at + Duration::days(1), by, &[])
            .await
            .unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_eq!(get_deleted(&repo, &doomed).await, Some((doomed.clone(), at)));

    // The e-mail, IIN and BIN are free for a new customer; the deleted one's rows stay.
    let reborn = build(
        scope,
        CustomerDraft {
            iin: Some(iin(60)),
            bin: Some(bin(60)),
            ..company("ТОО Альфа", "INFO@alpha.kz")
        },
    );
    insert(&repo, &reborn).await;
    assert_eq!(get(&repo, &reborn).await, Some(reborn.clone()));
    assert_eq!(
        repo.find_by_unique(scope.organization_id, UniqueField::Bin, &bin(60))
            .await
            .unwrap(),
        Some((scope, reborn.id))
    );
    assert_eq!(children(&repo, doomed.id).await, children_of_rich(1));
    assert_eq!(get_deleted(&repo, &doomed).await, Some((doomed.clone(), at)));
}

async fn soft_delete_returns_only_live_ids_of_the_scope(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling_scope = Scope::new(org, WorkspaceId::new());
    let stranger_scope = Scope::new(OrganizationId::new(), scope.workspace_id);
    let first = rich(scope, "First LLP", "first@alpha.kz", "first");
    let second = rich(scope, "Second LLP", "second@alpha.kz", "second");
    let gone = rich(scope, "Gone LLP", "gone@alpha.kz", "gone");
    let sibling = rich(sibling_scope, "Sibling LLP", "sibling@alpha.kz", "sibling");
    let stranger = rich(stranger_scope, "Stranger LLP", "stranger@alpha.kz", "stranger");
    for customer in [&first, &second, &gone, &sibling, &stranger] {
        insert(&repo, customer).await;
    }
    let gone_at = T0 + Duration::seconds(1);
    soft_delete(&repo, &gone, gone_at).await;

    // Nothing is deleted through another workspace or organization, nor an empty list.
    for foreign in [sibling_scope, stranger_scope, new_scope()] {
        assert_eq!(
            repo.soft_delete(foreign, &[first.id, second.id], T0, UserId::new(), &[])
                .await
                .unwrap(),
            Vec::<CustomerId>::new(),
            "{foreign:?}"
        );
    }
    assert_eq!(
        repo.soft_delete(scope, &[], T0, UserId::new(), &[]).await.unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_eq!(get(&repo, &first).await, Some(first.clone()));
    assert_eq!(get(&repo, &second).await, Some(second.clone()));

    let at = T0 + Duration::days(2);
    let asked = [CustomerId::new(), sibling.id, second.id, stranger.id, gone.id, first.id];
    let mut deleted = repo.soft_delete(scope, &asked, at, UserId::new(), &[]).await.unwrap();
    deleted.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(deleted, expected);

    assert_eq!(get_deleted(&repo, &first).await, Some((first.clone(), at)));
    assert_eq!(get_deleted(&repo, &second).await, Some((second.clone(), at)));
    // The already deleted one keeps its first deletion time.
    assert_eq!(get_deleted(&repo, &gone).await, Some((gone.clone(), gone_at)));
    // Customers of other scopes are untouched.
    assert_eq!(get(&repo, &sibling).await, Some(sibling.clone()));
    assert_eq!(get(&repo, &stranger).await, Some(stranger.clone()));
    assert_eq!(get_deleted(&repo, &sibling).await, None);
    for customer in [&first, &second, &gone, &sibling, &stranger] {
        assert_eq!(
            children(&repo, customer.id).await,
            children_of_rich(0),
            "{}",
            customer.name
        );
    }
}

async fn get_deleted_and_restore_bring_the_customer_back_whole(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(
        scope,
        CustomerDraft {
            iin: Some(iin(61)),
            bin: Some(bin(61)),
            ..rich_draft("ТОО Гамма", "info@gamma.kz", "gamma")
        },
    );
    insert(&repo, &customer).await;
    let older = add_note(&repo, scope, customer.id, "Первая", T0).await;
    let newer = add_note(&repo, scope, customer.id, "Вторая", T0 + Duration::minutes(5)).await;
    let live = rich(scope, "Live LLP", "live@gamma.kz", "live");
    insert(&repo, &live).await;

    // get_deleted sees deleted customers only, in their own scope only.
    assert_eq!(get_deleted(&repo, &customer).await, None);
    let at = T0 + Duration::hours(3) + Duration::microseconds(1);
    soft_delete(&repo, &customer, at).await;
    assert_eq!(get_deleted(&repo, &customer).await, Some((customer.clone(), at)));
    for foreign in [
        Scope::new(scope.organization_id, WorkspaceId::new()),
        Scope::new(OrganizationId::new(), scope.workspace_id),
    ] {
        assert_eq!(
            repo.get_deleted(foreign, customer.id).await.unwrap(),
            None,
            "{foreign:?}"
        );
    }
    assert_eq!(repo.get_deleted(scope, CustomerId::new()).await.unwrap(), None);
    assert_eq!(get_deleted(&repo, &live).await, None);

    // Restoring through another scope, a live customer or a missing one is not found and
    // changes nothing.
    let back = restored(&customer, T0 + Duration::days(1));
    for foreign in [
        Scope::new(scope.organization_id, WorkspaceId::new()),
        Scope::new(OrganizationId::new(), scope.workspace_id),
    ] {
        let mut intruder = back.clone();
        intruder.organization_id = foreign.organization_id;
        intruder.workspace_id = foreign.workspace_id;
        assert_not_found(repo.restore(&intruder, &[]).await, &format!("{foreign:?}"));
        assert_eq!(get_deleted(&repo, &customer).await, Some((customer.clone(), at)));
    }
    assert_not_found(
        repo.restore(&restored(&live, T0 + Duration::days(1)), &[]).await,
        "live",
    );
    assert_eq!(get(&repo, &live).await, Some(live.clone()));
    let missing = restored(&build(scope, company("Ghost LLP", "ghost@gamma.kz")), T0);
    assert_not_found(repo.restore(&missing, &[]).await, "missing");
    assert_eq!(customer_rows(&repo, missing.id).await, 0);

    // The restore brings everything back.
    repo.restore(&back, &[]).await.unwrap();
    assert_eq!(get(&repo, &customer).await, Some(back.clone()));
    assert_eq!(get_deleted(&repo, &customer).await, None);
    assert_eq!(names(&repo, scope, tag_filter("gamma")).await, ["ТОО Гамма"]);
    assert_eq!(
        names(&repo, scope, city_filter("астана")).await,
        ["Live LLP", "ТОО Гамма"]
    );
    assert_eq!(names(&repo, scope, search_filter("гамма")).await, ["ТОО Гамма"]);
    assert_eq!(names(&repo, scope, search_filter(&bin(61))).await, ["ТОО Гамма"]);
    for (field, value) in [
        (UniqueField::Email, "info@gamma.kz".to_owned()),
        (UniqueField::Iin, iin(61)),
        (UniqueField::Bin, bin(61)),
    ] {
        assert_eq!(
            repo.find_by_unique(scope.organization_id, field, &value).await.unwrap(),
            Some((scope, customer.id)),
            "{field:?}"
        );
    }
    assert_eq!(notes_of(&repo, scope, customer.id).await, Some(vec![newer, older]));
    assert_eq!(children(&repo, customer.id).await, children_of_rich(2));

    // A restored customer is live: restoring again is not found; it can be updated.
    assert_not_found(
        repo.restore(&restored(&back, T0 + Duration::days(2)), &[]).await,
        "again",
    );
    let mut next = next_version(&back, 1);
    next.name = "ТОО Гамма Плюс".into();
    repo.update(&next, back.version, false, false, &[]).await.unwrap();
    assert_eq!(get(&repo, &customer).await, Some(next));
}

async fn restore_when_a_live_customer_took_a_unique_value_is_a_duplicate(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    for (n, field) in [(62, UniqueField::Email), (63, UniqueField::Iin), (64, UniqueField::Bin)] {
        let email = format!("owner{n}@delta.kz");
        let deleted = build(
            scope,
            CustomerDraft {
                iin: Some(iin(n)),
                bin: Some(bin(n)),
                ..rich_draft("ТОО Дельта", &email, "delta")
            },
        );
        insert(&repo, &deleted).await;
        add_note(&repo, scope, deleted.id, "Заметка", T0).await;
        let at = T0 + Duration::days(1);
        soft_delete(&repo, &deleted, at).await;

        // A live customer (in another workspace of the organization) takes one value.
        let taker = build(
            sibling,
            match field {
                UniqueField::Email => company("Taker LLP", &email.to_uppercase()),
                UniqueField::Iin => CustomerDraft {
                    iin: Some(iin(n)),
                    ..company("Taker LLP", &format!("taker{n}@delta.kz"))
                },
                UniqueField::Bin => CustomerDraft {
                    bin: Some(bin(n)),
                    ..company("Taker LLP", &format!("taker{n}@delta.kz"))
                },
            },
        );
        insert(&repo, &taker).await;

        let back = restored(&deleted, T0 + Duration::days(2));
        assert_duplicate(repo.restore(&back, &[]).await, field);
        assert_eq!(get(&repo, &deleted).await, None, "{field:?}");
        assert_eq!(
            get_deleted(&repo, &deleted).await,
            Some((deleted.clone(), at)),
            "{field:?}"
        );
        assert_eq!(children(&repo, deleted.id).await, children_of_rich(1), "{field:?}");
        assert_eq!(get(&repo, &taker).await, Some(taker.clone()), "{field:?}");
        assert_eq!(notes_of(&repo, scope, deleted.id).await, None, "{field:?}");

        // Once the value is free again, the restore succeeds.
        soft_delete(&repo, &taker, T0 + Duration::days(3)).await;
        repo.restore(&back, &[]).await.unwrap();
        assert_eq!(get(&repo, &deleted).await, Some(back), "{field:?}");
    }
}

/// Customers deleted before the cut-off are removed with every child row, in every tenant;
/// live customers and those deleted at or after the cut-off stay whole.
async fn purge_removes_only_customers_deleted_before_the_cut_off(repo: SeaRepository) {
    let first = new_scope();
    let second = new_scope();
    let cut = T0 + Duration::days(30);
    let us = Duration::microseconds(1);
    // (customer, deleted at)
    let mut all: Vec<(Customer, Option<OffsetDateTime>)> = Vec::new();
    for (scope, tenant) in [(first, "one"), (second, "two")] {
        for (kind, deleted_at) in [
            ("old", Some(cut - Duration::days(3))),
            ("just-before", Some(cut - us)),
            ("at-cut", Some(cut)),
            ("recent", Some(cut + Duration::hours(1))),
            ("live", None),
        ] {
            let customer = rich(
                scope,
                &format!("{kind} {tenant}"),
                &format!("{kind}@{tenant}.kz"),
                &format!("{kind}-{tenant}"),
            );
            insert(&repo, &customer).await;
            add_note(&repo, scope, customer.id, "Заметка", T0).await;
            all.push((customer, deleted_at));
        }
    }
    for (customer, deleted_at) in &all {
        if let Some(at) = deleted_at {
            soft_delete(&repo, customer, *at).await;
        }
    }
    assert_eq!(count_all(&repo, "customers").await, 10);
    let purged = |name: &str| name.starts_with("old") || name.starts_with("just-before");

    assert_eq!(repo.purge(cut).await.unwrap(), 4);
    for (customer, deleted_at) in &all {
        let name = &customer.name;
        if purged(name) {
            assert_eq!(customer_rows(&repo, customer.id).await, 0, "{name}");
            assert_eq!(children(&repo, customer.id).await, no_children(), "{name}");
            assert_eq!(get_deleted(&repo, customer).await, None, "{name}");
        } else {
            assert_eq!(customer_rows(&repo, customer.id).await, 1, "{name}");
            assert_eq!(children(&repo, customer.id).await, children_of_rich(1), "{name}");
            match deleted_at {
                Some(at) => assert_eq!(
                    get_deleted(&repo, customer).await,
                    Some((customer.clone(), *at)),
                    "{name}"
                ),
                None => assert_eq!(get(&repo, customer).await, Some(customer.clone()), "{name}"),
            }
        }
    }
    for (table, rows) in [
        ("customers", 6),
        ("customer_contacts", 12),
        ("customer_addresses", 12),
        ("customer_tags", 12),
        ("customer_notes", 6),
    ] {
        assert_eq!(count_all(&repo, table).await, rows, "{table}");
    }

    // Nothing more to purge at the same cut-off; the survivors can still be restored.
    assert_eq!(repo.purge(cut).await.unwrap(), 0);
    let (at_cut, _) = &all[2];
    let back = restored(at_cut, cut + Duration::days(1));
    repo.restore(&back, &[]).await.unwrap();
    assert_eq!(get(&repo, at_cut).await, Some(back));
    assert_eq!(notes_of(&repo, first, at_cut.id).await.map(|n| n.len()), Some(1));

    // A later cut-off takes the remaining deleted ones, never a live (or restored) one.
    assert_eq!(repo.purge(cut + Duration::days(365)).await.unwrap(), 3);
    assert_eq!(count_all(&repo, "customers").await, 3);
    assert_eq!(count_all(&repo, "customer_notes").await, 3);
    for (customer, deleted_at) in &all {
        let kept = deleted_at.is_none() || customer.id == at_cut.id;
        assert_eq!(
            customer_rows(&repo, customer.id).await,
            i64::from(kept),
            "{}",
            customer.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6b. Batch insert
// ---------------------------------------------------------------------------------------------

fn batch_item(scope: Scope, n: usize, draft: impl FnOnce(CustomerDraft) -> CustomerDraft) -> Customer {
    build(
        scope,
        draft(CustomerDraft {
            contacts: vec![full_contact("Асет", &format!("aset{n}@batch.kz"), "+77011111111", true)],
            addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
            tags: vec![format!("batch{n}")],
            ..company(&format!("Batch {n}"), &format!("item{n}@batch.kz"))
        }),
    )
}

fn assert_batch_error(result: Result<(), BatchError>, index: usize, field: Option<UniqueField>) {
    match (result, field) {
        (Err(BatchError { index: got, error }), Some(field)) => {
            assert_eq!(got, index, "index ({error})");
            match error {
                RepositoryError::Duplicate(got) => assert_eq!(got, field),
                other => panic!("item {index}: expected Duplicate({field:?}), got {other:?}"),
            }
        }
        (Err(BatchError { index: got, error }), None) => {
            assert_eq!(got, index, "index ({error})");
            assert!(
                matches!(error, RepositoryError::Unexpected(_)),
                "item {index}: expected Unexpected, got {error:?}"
            );
        }
        (Ok(()), _) => panic!("expected a BatchError for item {index}, the batch was stored"),
    }
}

async fn insert_many_stores_all_or_nothing(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    repo.insert_many(&[], &[]).await.unwrap();

    // A good batch is stored whole.
    let good: Vec<Customer> = (0..3)
        .map(|n| {
            batch_item(scope, n, |d| CustomerDraft {
                iin: Some(iin(70 + n as u32)),
                ..d
            })
        })
        .collect();
    repo.insert_many(&good, &[]).await.unwrap();
    for customer in &good {
        assert_eq!(get(&repo, customer).await, Some(customer.clone()));
    }
    let existing = build(
        sibling,
        CustomerDraft {
            iin: Some(iin(79)),
            bin: Some(bin(79)),
            ..company("Existing LLP", "existing@batch.kz")
        },
    );
    insert(&repo, &existing).await;
    let before = dump(&repo).await;

    let bad_batches: Vec<(&str, Vec<Customer>, usize, Option<UniqueField>)> = vec![
        (
            "item 2 takes an existing e-mail",
            vec![
                batch_item(scope, 10, |d| d),
                batch_item(scope, 11, |d| d),
                batch_item(scope, 12, |d| CustomerDraft {
                    email: " Existing@Batch.KZ ".into(),
                    ..d
                }),
                batch_item(scope, 13, |d| d),
            ],
            2,
            Some(UniqueField::Email),
        ),
        (
            "item 1 takes the IIN of a customer of the good batch",
            vec![
                batch_item(scope, 20, |d| d),
                batch_item(scope, 21, |d| CustomerDraft {
                    iin: Some(iin(71)),
                    ..d
                }),
            ],
            1,
            Some(UniqueField::Iin),
        ),
        (
            "items 1 and 3 share an IIN",
            vec![
                batch_item(scope, 30, |d| d),
                batch_item(scope, 31, |d| CustomerDraft {
                    iin: Some(iin(90)),
                    ..d
                }),
                batch_item(scope, 32, |d| d),
                batch_item(scope, 33, |d| CustomerDraft {
                    iin: Some(iin(90)),
                    ..d
                }),
            ],
            3,
            Some(UniqueField::Iin),
        ),
        (
            "items 0 and 1 share a BIN",
            vec![
                batch_item(scope, 40, |d| CustomerDraft {
                    bin: Some(bin(90)),
                    ..d
                }),
                batch_item(sibling, 41, |d| CustomerDraft {
                    bin: Some(bin(90)),
                    ..d
                }),
            ],
            1,
            Some(UniqueField::Bin),
        ),
        (
            "items 0 and 2 share an e-mail in two spellings",
            vec![
                batch_item(scope, 50, |d| CustomerDraft {
                    email: "same@batch.kz".into(),
                    ..d
                }),
                batch_item(scope, 51, |d| d),
                batch_item(sibling, 52, |d| CustomerDraft {
                    email: "SAME@batch.kz".into(),
                    ..d
                }),
            ],
            2,
            Some(UniqueField::Email),
        ),
        (
            "item 1 breaks after its customer row was written (two primary billing addresses)",
            vec![batch_item(scope, 60, |d| d), {
                let mut broken = batch_item(scope, 61, |d| CustomerDraft {
                    addresses: vec![
                        full_address(AddressType::Billing, "Алматы", "050000", true),
                        full_address(AddressType::Shipping, "Астана", "010000", true),
                    ],
                    ..d
                });
                broken.addresses[1].address_type = AddressType::Billing;
                broken
            }],
            1,
            None,
        ),
    ];
    for (what, batch, index, field) in bad_batches {
        assert_batch_error(repo.insert_many(&batch, &[]).await, index, field);
        assert_eq!(dump(&repo).await, before, "{what}");
        for customer in &batch {
            assert_eq!(customer_rows(&repo, customer.id).await, 0, "{what}");
            assert_eq!(children(&repo, customer.id).await, no_children(), "{what}");
        }
    }
    assert_eq!(count_all(&repo, "customers").await, 4);
    let page = repo.search(scope, &query(CustomerFilter::default())).await.unwrap();
    assert_eq!(page.total, Some(3));

    // Values of a deleted customer, or of another organization, are free.
    soft_delete(&repo, &existing, T0 + Duration::days(1)).await;
    let reuse = vec![
        batch_item(scope, 80, |d| CustomerDraft {
            email: "existing@batch.kz".into(),
            iin: Some(iin(79)),
            bin: Some(bin(79)),
            ..d
        }),
        batch_item(Scope::new(OrganizationId::new(), scope.workspace_id), 81, |d| {
            CustomerDraft {
                iin: Some(iin(70)),
                ..d
            }
        }),
    ];
    repo.insert_many(&reuse, &[]).await.unwrap();
    for customer in &reuse {
        assert_eq!(get(&repo, customer).await, Some(customer.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// 6c. Merge
// ---------------------------------------------------------------------------------------------

/// A primary without BIN, phone or IIN and two duplicates that have them, each with
/// contacts, addresses, tags and notes, stored.
struct MergeFixture {
    scope: Scope,
    primary: Customer,
    first: Customer,
    second: Customer,
    notes: Vec<CustomerNote>,
}

async fn merge_fixture(repo: &SeaRepository) -> MergeFixture {
    let scope = new_scope();
    let primary = build_at(
        scope,
        CustomerDraft {
            contacts: vec![full_contact("Асет", "aset@alfa.kz", "+77011111111", true)],
            addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
            tags: vec!["vip".into()],
            ..company("ТОО «Альфа»", "info@alfa.kz")
        },
        T0,
    );
    let first = build_at(
        scope,
        CustomerDraft {
            bin: Some(bin(121)),
            contacts: vec![
                full_contact("Бауыржан", "baur@alfa.kz", "+77012222222", true),
                full_contact("Ержан", "erzhan@alfa.kz", "+77013333333", false),
            ],
            addresses: vec![
                full_address(AddressType::Billing, "Астана", "010000", true),
                full_address(AddressType::Warehouse, "Шымкент", "160000", true),
            ],
            tags: vec!["VIP".into(), "wholesale".into()],
            ..company("Alfa LLP", "office@alfa.kz")
        },
        T0 + Duration::seconds(1),
    );
    let second = build_at(
        scope,
        CustomerDraft {
            phone: Some("+77015550000".into()),
            iin: Some(iin(100)),
            contacts: vec![full_contact("Дана", "dana@alfa.kz", "+77014444444", false)],
            addresses: vec![full_address(AddressType::Office, "Караганда", "100000", false)],
            tags: vec!["export".into()],
            ..company("Альфа Трейд", "trade@alfa.kz")
        },
        T0 + Duration::seconds(2),
    );
    let mut notes = Vec::new();
    for (i, customer) in [&primary, &first, &second].into_iter().enumerate() {
        insert(repo, customer).await;
        for j in 0..=i {
            let at = T0 + Duration::minutes((10 * i + j) as i64);
            notes.push(add_note(repo, scope, customer.id, &format!("Заметка {i}-{j}"), at).await);
        }
    }
    MergeFixture {
        scope,
        primary,
        first,
        second,
        notes,
    }
}

async fn merge_moves_children_and_notes_to_the_primary_and_removes_the_duplicates(repo: SeaRepository) {
    let f = merge_fixture(&repo).await;
    let scope = f.scope;
    let now = T0 + Duration::days(1);
    let merged = merge(&f.primary, &[f.first.clone(), f.second.clone()], UserId::new(), now);
    // The pure rule did what this story relies on.
    assert_eq!(merged.bin, f.first.bin);
    assert_eq!(merged.iin, f.second.iin);
    assert_eq!(merged.phone, f.second.phone);
    assert_eq!((merged.contacts.len(), merged.addresses.len()), (4, 4));
    assert_eq!(merged.tags, strings(&["vip", "wholesale", "export"]));

    repo.merge(
        &merged,
        f.primary.version,
        &[(f.first.id, f.first.version), (f.second.id, f.second.version)],
        &[],
    )
    .await
    .unwrap();

    // The primary is the merged customer, holding the duplicates' children under their ids.
    assert_eq!(get(&repo, &f.primary).await, Some(merged.clone()));
    let ids = |customers: &[&Customer]| {
        let mut ids: Vec<Uuid> = customers
            .iter()
            .flat_map(|c| c.contacts.iter().map(|x| x.id.into_uuid()))
            .collect();
        ids.sort();
        ids
    };
    let stored = get(&repo, &f.primary).await.unwrap();
    assert_eq!(ids(&[&stored]), ids(&[&f.primary, &f.first, &f.second]));
    let address_ids = |customers: &[&Customer]| {
        let mut ids: Vec<Uuid> = customers
            .iter()
            .flat_map(|c| c.addresses.iter().map(|x| x.id.into_uuid()))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(address_ids(&[&stored]), address_ids(&[&f.primary, &f.first, &f.second]));
    assert_eq!(
        children(&repo, f.primary.id).await,
        vec![
            ("customer_contacts", 4),
            ("customer_addresses", 4),
            ("customer_tags", 3),
            ("customer_notes", 6)
        ]
    );

    // Every note now belongs to the primary, newest first.
    let mut expected_notes: Vec<CustomerNote> = f
        .notes
        .iter()
        .map(|n| CustomerNote {
            customer_id: f.primary.id,
            ..n.clone()
        })
        .collect();
    expected_notes.sort_by_key(|n| std::cmp::Reverse(n.created_at));
    assert_eq!(notes_of(&repo, scope, f.primary.id).await, Some(expected_notes.clone()));
    for n in &f.notes {
        assert!(repo.get_note(scope, f.primary.id, n.id).await.unwrap().is_some());
    }

    // The duplicates are gone for good, with all their rows.
    for duplicate in [&f.first, &f.second] {
        assert_eq!(get(&repo, duplicate).await, None);
        assert_eq!(get_deleted(&repo, duplicate).await, None);
        assert_eq!(customer_rows(&repo, duplicate.id).await, 0);
        assert_eq!(children(&repo, duplicate.id).await, no_children());
        assert_eq!(notes_of(&repo, scope, duplicate.id).await, None);
    }
    assert_eq!(count_all(&repo, "customers").await, 1);

    // Reads reflect the merged customer: tags, cities, text and unique values.
    let name = "ТОО «Альфа»";
    for tag in ["vip", "wholesale", "export"] {
        assert_eq!(names(&repo, scope, tag_filter(tag)).await, [name], "tag {tag}");
    }
    for city in ["алматы", "астана", "шымкент", "караганда"] {
        assert_eq!(names(&repo, scope, city_filter(city)).await, [name], "city {city}");
    }
    assert_eq!(names(&repo, scope, search_filter(&bin(121))).await, [name]);
    assert_eq!(names(&repo, scope, search_filter("7015550000")).await, [name]);
    assert_eq!(
        names(&repo, scope, search_filter("trade@alfa")).await,
        Vec::<String>::new()
    );
    let org = scope.organization_id;
    assert_eq!(
        repo.find_by_unique(org, UniqueField::Bin, &bin(121)).await.unwrap(),
        Some((scope, f.primary.id))
    );
    assert_eq!(
        repo.find_by_unique(org, UniqueField::Iin, &iin(100)).await.unwrap(),
        Some((scope, f.primary.id))
    );
    assert_eq!(
        repo.find_by_unique(org, UniqueField::Email, "office@alfa.kz")
            .await
            .unwrap(),
        None
    );
    let probe = DuplicateProbe {
        bin: Some(bin(121)),
        ..DuplicateProbe::default()
    };
    assert_eq!(
        repo.duplicate_candidates(scope, &probe, 10).await.unwrap(),
        vec![merged.clone()]
    );

    // The duplicates' e-mails are free, and the merged customer takes its next update.
    insert(&repo, &build(scope, company("Alfa LLP", "office@alfa.kz"))).await;
    let mut next = next_version(&merged, 1);
    next.contacts.truncate(1);
    repo.update(&next, merged.version, true, false, &[]).await.unwrap();
    assert_eq!(get(&repo, &f.primary).await, Some(next));
}

/// What a failed merge must have left as it was.
struct Unchanged<'a> {
    before: &'a Dump,
    live: Vec<&'a Customer>,
    deleted: (&'a Customer, OffsetDateTime),
    notes: Vec<(&'a Customer, usize)>,
    holder_of_bin: &'a Customer,
}

async fn assert_unchanged(repo: &SeaRepository, what: &str, expected: Unchanged<'_>) {
    assert_eq!(&dump(repo).await, expected.before, "{what}");
    for customer in &expected.live {
        assert_eq!(
            get(repo, customer).await.as_ref(),
            Some(*customer),
            "{what}: {}",
            customer.name
        );
    }
    let (deleted, at) = expected.deleted;
    assert_eq!(get_deleted(repo, deleted).await, Some((deleted.clone(), at)), "{what}");
    for (customer, count) in &expected.notes {
        let notes = notes_of(repo, customer.scope(), customer.id).await.unwrap();
        assert_eq!(notes.len(), *count, "{what}: notes of {}", customer.name);
        assert!(notes.iter().all(|n| n.customer_id == customer.id), "{what}");
    }
    let holder = expected.holder_of_bin;
    let scope = holder.scope();
    assert_eq!(
        names(repo, scope, tag_filter("wholesale")).await,
        std::slice::from_ref(&holder.name),
        "{what}"
    );
    let bin = holder.bin.as_ref().unwrap().as_str();
    assert_eq!(
        repo.find_by_unique(scope.organization_id, UniqueField::Bin, bin)
            .await
            .unwrap(),
        Some((scope, holder.id)),
        "{what}"
    );
}

/// A merge that fails anywhere changes nothing: in particular when the primary's write fails
/// after the duplicates were already removed in the transaction.
async fn merge_that_fails_changes_nothing(repo: SeaRepository) {
    let f = merge_fixture(&repo).await;
    let scope = f.scope;
    // Both the primary and the second duplicate moved on to version 2 since.
    let mut primary = next_version(&f.primary, 1);
    primary.name = "ТОО «Альфа» (2)".into();
    repo.update(&primary, 1, false, false, &[]).await.unwrap();
    let mut second = next_version(&f.second, 1);
    second.industry = Some("Retail".into());
    repo.update(&second, 1, false, false, &[]).await.unwrap();
    let first = f.first.clone();
    // A customer already deleted, one of another workspace and a holder of a BIN.
    let deleted = rich(scope, "Deleted LLP", "deleted@alfa.kz", "deleted");
    insert(&repo, &deleted).await;
    soft_delete(&repo, &deleted, T0 + Duration::days(1)).await;
    let foreign = rich(
        Scope::new(scope.organization_id, WorkspaceId::new()),
        "Foreign LLP",
        "foreign@alfa.kz",
        "foreign",
    );
    insert(&repo, &foreign).await;
    let holder = build(
        scope,
        CustomerDraft {
            bin: Some(bin(122)),
            ..company("Holder LLP", "holder@alfa.kz")
        },
    );
    insert(&repo, &holder).await;

    let now = T0 + Duration::days(2);
    let merged = merge(&primary, &[first.clone(), second.clone()], UserId::new(), now);
    let before = dump(&repo).await;
    let unchanged = |what: &'static str| {
        let expected = Unchanged {
            before: &before,
            live: vec![&primary, &first, &second, &foreign, &holder],
            deleted: (&deleted, T0 + Duration::days(1)),
            notes: vec![(&primary, 1), (&first, 2), (&second, 3)],
            holder_of_bin: &first,
        };
        assert_unchanged(&repo, what, expected)
    };

    // Stale versions: of a duplicate (the first is removed before the second's check fails),
    // of the primary (both duplicates are removed before the primary's write fails), and a
    // primary version from the future.
    let stale = [
        ("stale second duplicate", 2, [(first.id, 1), (second.id, 1)]),
        ("stale first duplicate", 2, [(first.id, 0), (second.id, 2)]),
        ("stale primary", 1, [(first.id, 1), (second.id, 2)]),
        ("primary from the future", 3, [(first.id, 1), (second.id, 2)]),
    ];
    for (what, expected_version, duplicates) in stale {
        assert_conflict(repo.merge(&merged, expected_version, &duplicates, &[]).await, what);
        unchanged(what).await;
    }

    // A duplicate that is missing, deleted or in another workspace. The port allows
    // NotFound ("any is gone") or VersionConflict; this adapter answers VersionConflict
    // (a missing row and a stale version look the same to its conditional DELETE), and the
    // service reloads and reports NotFound then.
    for (what, id) in [
        ("missing duplicate", CustomerId::new()),
        ("deleted duplicate", deleted.id),
        ("duplicate of another workspace", foreign.id),
    ] {
        match repo
            .merge(&merged, 2, &[(first.id, 1), (id, 1), (second.id, 2)], &[])
            .await
        {
            Err(RepositoryError::VersionConflict | RepositoryError::NotFound) => {}
            other => panic!("{what}: expected VersionConflict or NotFound, got {other:?}"),
        }
        unchanged(what).await;
    }

    // The merged customer would take a BIN another live customer holds.
    let mut taken = merged.clone();
    taken.bin = holder.bin.clone();
    assert_duplicate(
        repo.merge(&taken, 2, &[(first.id, 1), (second.id, 2)], &[]).await,
        UniqueField::Bin,
    );
    unchanged("taken BIN").await;

    // The primary is gone (deleted meanwhile): NotFound, the duplicates stay.
    soft_delete(&repo, &primary, T0 + Duration::days(3)).await;
    let before_deleted_primary = dump(&repo).await;
    assert_not_found(
        repo.merge(&merged, 2, &[(first.id, 1), (second.id, 2)], &[]).await,
        "deleted primary",
    );
    assert_eq!(dump(&repo).await, before_deleted_primary);
    assert_eq!(get(&repo, &first).await, Some(first.clone()));
    assert_eq!(get(&repo, &second).await, Some(second.clone()));
    assert_eq!(notes_of(&repo, scope, first.id).await.map(|n| n.len()), Some(2));

    // After all that, the right versions merge.
    repo.restore(&restored(&primary, T0 + Duration::days(4)), &[])
        .await
        .unwrap();
    let current = get(&repo, &primary).await.unwrap();
    let merged = merge(&current, &[first.clone(), second.clone()], UserId::new(), now);
    repo.merge(&merged, current.version, &[(first.id, 1), (second.id, 2)], &[])
        .await
        .unwrap();
    assert_eq!(get(&repo, &primary).await, Some(merged));
    assert_eq!(notes_of(&repo, scope, primary.id).await.map(|n| n.len()), Some(6));
}

// ---------------------------------------------------------------------------------------------
// 6d. Duplicate candidates
// ---------------------------------------------------------------------------------------------

fn sorted_ids(customers: &[Customer]) -> Vec<CustomerId> {
    let mut ids: Vec<_> = customers.iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

async fn duplicate_candidates_match_each_key_within_the_scope(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    let stranger = Scope::new(OrganizationId::new(), scope.workspace_id);
    // The keys this story relies on (see `lifecycle::names`).
    assert_eq!(match_key("ТОО «Альфа»"), "alfa");
    assert_eq!(match_tokens("Alfa LLP"), ["alfa"]);
    assert_eq!(match_key("Gamma LLP"), "gama");
    assert_eq!(match_key("Бета Строй"), "betastroi");
    assert_eq!(match_tokens("Строй Гамма"), ["stroi", "gama"]);
    assert_eq!(match_tokens("Kazakhtelecom"), [match_key("АО «Казахтелеком»")]);

    let alfa = build_at(
        scope,
        CustomerDraft {
            phone: Some("+77011234567".into()),
            contacts: vec![full_contact("Асет", "aset@alfa.kz", "+77011111111", true)],
            addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
            ..company("ТОО «Альфа»", "info@alfa.kz")
        },
        T0,
    );
    let berik = build_at(
        scope,
        CustomerDraft {
            iin: Some(iin(110)),
            ..individual("Берик Сейткали", "berik@mail.kz")
        },
        T0 + Duration::seconds(1),
    );
    let gamma = build_at(
        scope,
        CustomerDraft {
            bin: Some(bin(110)),
            ..company("Gamma LLP", "sales@gamma.kz")
        },
        T0 + Duration::seconds(2),
    );
    let beta = build_at(scope, company("Бета Строй", "beta@stroi.kz"), T0 + Duration::seconds(3));
    let telecom = build_at(
        scope,
        company("АО «Казахтелеком»", "info@telecom.kz"),
        T0 + Duration::seconds(3) + Duration::microseconds(1),
    );
    // Look-alikes that must never be returned: deleted, or of another scope.
    let deleted = build_at(
        scope,
        CustomerDraft {
            phone: Some("+77011234567".into()),
            iin: Some(iin(111)),
            bin: Some(bin(111)),
            ..company("Alfa Group", "deleted@alfa.kz")
        },
        T0 + Duration::seconds(4),
    );
    let in_sibling = build_at(
        sibling,
        CustomerDraft {
            phone: Some("+77011234567".into()),
            iin: Some(iin(112)),
            ..company("Alpha", "sibling@alfa.kz")
        },
        T0 + Duration::seconds(5),
    );
    let in_stranger = build_at(
        stranger,
        CustomerDraft {
            phone: Some("+77011234567".into()),
            iin: Some(iin(110)),
            bin: Some(bin(110)),
            ..company("ТОО Альфа", "info@alfa.kz")
        },
        T0 + Duration::seconds(6),
    );
    for customer in [
        &alfa,
        &berik,
        &gamma,
        &beta,
        &telecom,
        &deleted,
        &in_sibling,
        &in_stranger,
    ] {
        insert(&repo, customer).await;
    }
    soft_delete(&repo, &deleted, T0 + Duration::days(1)).await;

    let probe = |build: fn(&mut DuplicateProbe)| {
        let mut probe = DuplicateProbe::default();
        build(&mut probe);
        probe
    };
    let cases: Vec<(&str, DuplicateProbe, Vec<&Customer>)> = vec![
        ("email", probe(|p| p.email = Some("info@alfa.kz".into())), vec![&alfa]),
        ("phone", probe(|p| p.phone = Some("+77011234567".into())), vec![&alfa]),
        ("iin", probe(|p| p.iin = Some(iin(110))), vec![&berik]),
        ("bin", probe(|p| p.bin = Some(bin(110))), vec![&gamma]),
        (
            "name token of Alfa LLP",
            probe(|p| p.name_tokens = match_tokens("Alfa LLP")),
            vec![&alfa],
        ),
        (
            "name tokens of Строй Гамма",
            probe(|p| p.name_tokens = match_tokens("Строй Гамма")),
            vec![&gamma, &beta],
        ),
        (
            "name in the other script",
            probe(|p| p.name_tokens = match_tokens("Kazakhtelecom")),
            vec![&telecom],
        ),
        (
            "several keys of one customer give it once",
            probe(|p| {
                p.email = Some("info@alfa.kz".into());
                p.phone = Some("+77011234567".into());
                p.name_tokens = vec!["alfa".into()];
            }),
            vec![&alfa],
        ),
        (
            "keys of different customers",
            probe(|p| {
                p.email = Some("info@alfa.kz".into());
                p.iin = Some(iin(110));
                p.bin = Some(bin(110));
            }),
            vec![&alfa, &berik, &gamma],
        ),
        // Values only a deleted customer or another scope holds.
        ("deleted iin", probe(|p| p.iin = Some(iin(111))), vec![]),
        ("deleted bin", probe(|p| p.bin = Some(bin(111))), vec![]),
        (
            "deleted email",
            probe(|p| p.email = Some("deleted@alfa.kz".into())),
            vec![],
        ),
        ("group", probe(|p| p.name_tokens = vec!["group".into()]), vec![]),
        ("sibling iin", probe(|p| p.iin = Some(iin(112))), vec![]),
        (
            "sibling email",
            probe(|p| p.email = Some("sibling@alfa.kz".into())),
            vec![],
        ),
        // Misses and wildcards taken literally.
        ("other phone", probe(|p| p.phone = Some("+77019999999".into())), vec![]),
        ("percent", probe(|p| p.name_tokens = vec!["%".into()]), vec![]),
        ("underscore", probe(|p| p.name_tokens = vec!["_".into()]), vec![]),
        // Nothing to look for finds nothing.
        ("empty probe", DuplicateProbe::default(), vec![]),
    ];
    for (what, probe, expected) in cases {
        let found = repo.duplicate_candidates(scope, &probe, 50).await.unwrap();
        let expected: Vec<Customer> = expected.into_iter().cloned().collect();
        assert_eq!(sorted_ids(&found), sorted_ids(&expected), "{what}");
        // Candidates come whole, with contacts and addresses.
        for candidate in &found {
            let original = expected.iter().find(|c| c.id == candidate.id).unwrap();
            assert_eq!(candidate, original, "{what}");
        }
    }
    // The other scopes see their own customers.
    let phone = probe(|p| p.phone = Some("+77011234567".into()));
    assert_eq!(
        repo.duplicate_candidates(sibling, &phone, 50).await.unwrap(),
        vec![in_sibling.clone()]
    );
    assert_eq!(
        repo.duplicate_candidates(stranger, &phone, 50).await.unwrap(),
        vec![in_stranger.clone()]
    );

    // The limit holds.
    let mut alfas = vec![alfa.clone()];
    for n in 0..5 {
        let customer = build_at(
            scope,
            company(&format!("Альфа {n}"), &format!("alfa{n}@alfa.kz")),
            T0 + Duration::seconds(10 + n),
        );
        insert(&repo, &customer).await;
        alfas.push(customer);
    }
    let by_name = probe(|p| p.name_tokens = vec!["alfa".into()]);
    assert_eq!(
        sorted_ids(&repo.duplicate_candidates(scope, &by_name, 50).await.unwrap()),
        sorted_ids(&alfas)
    );
    for limit in [0, 1, 3, 6] {
        let found = repo.duplicate_candidates(scope, &by_name, limit).await.unwrap();
        assert_eq!(found.len(), limit as usize, "limit {limit}");
        let ids: HashSet<_> = found.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), found.len(), "limit {limit}: repeated candidates");
        assert!(
            found.iter().all(|c| alfas.iter().any(|a| a.id == c.id)),
            "limit {limit}"
        );
    }

    // The limit applies to exact and similar matches separately: similar names never crowd
    // an exact match out.
    let mixed = probe(|p| {
        p.email = Some("berik@mail.kz".into());
        p.bin = Some(bin(110));
        p.name_tokens = vec!["alfa".into()];
    });
    for (limit, exact) in [(2, 2), (1, 1)] {
        let found = repo.duplicate_candidates(scope, &mixed, limit).await.unwrap();
        let exact_found = found.iter().filter(|c| c.id == berik.id || c.id == gamma.id).count();
        let similar_found = found.iter().filter(|c| alfas.iter().any(|a| a.id == c.id)).count();
        assert_eq!(
            (exact_found, similar_found, found.len()),
            (exact, limit as usize, exact + limit as usize),
            "limit {limit}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6e. Notes
// ---------------------------------------------------------------------------------------------

async fn notes_are_added_listed_newest_first_paged_updated_and_deleted(repo: SeaRepository) {
    let scope = new_scope();
    let customer = rich(scope, "ТОО Альфа", "info@alpha.kz", "alpha");
    let other = rich(scope, "ТОО Бета", "info@beta.kz", "beta");
    insert(&repo, &customer).await;
    insert(&repo, &other).await;
    assert_eq!(
        repo.list_notes(scope, customer.id, 1, 10).await.unwrap(),
        Some(Page {
            items: Vec::new(),
            total: 0,
            page: 1,
            limit: 10
        })
    );

    // Written out of time order; each at a distinct microsecond.
    // Each with another channel and direction (or none), which must round-trip.
    let offsets = [3, 0, 4, 1, 2];
    let kinds = [
        (Some(NoteChannel::Call), Some(NoteDirection::Inbound)),
        (Some(NoteChannel::Email), Some(NoteDirection::Outbound)),
        (None, None),
        (Some(NoteChannel::Meeting), None),
        (Some(NoteChannel::Message), Some(NoteDirection::Inbound)),
    ];
    let mut notes = Vec::new();
    for (i, (offset, (channel, direction))) in offsets.iter().zip(kinds).enumerate() {
        let at = T0 + Duration::microseconds(*offset);
        let note = CustomerNote {
            channel,
            direction,
            ..note_at(customer.id, &format!("Заметка «{i}»"), at)
        };
        repo.add_note(scope, &note).await.unwrap();
        notes.push(note);
    }
    let foreign_note = add_note(&repo, scope, other.id, "Чужая", T0 + Duration::days(1)).await;
    let mut newest_first = notes.clone();
    newest_first.sort_by_key(|n| std::cmp::Reverse(n.created_at));

    let id = customer.id;
    let list = |page: u32, limit: u32| {
        let repo = repo.clone();
        async move { repo.list_notes(scope, id, page, limit).await.unwrap().unwrap() }
    };
    let all = list(1, 100).await;
    assert_eq!((all.total, all.page, all.limit), (5, 1, 100));
    assert_eq!(all.items, newest_first);
    for (page, expected) in [
        (1, &newest_first[0..2]),
        (2, &newest_first[2..4]),
        (3, &newest_first[4..5]),
    ] {
        let got = list(page, 2).await;
        assert_eq!(
            (got.total, got.page, got.limit, got.pages()),
            (5, page, 2, 3),
            "page {page}"
        );
        assert_eq!(got.items, expected, "page {page}");
    }
    assert_eq!(list(4, 2).await.items, Vec::<CustomerNote>::new());
    assert_eq!(list(4, 2).await.total, 5);

    // get: by customer and note, both must match.
    for n in &notes {
        assert_eq!(repo.get_note(scope, customer.id, n.id).await.unwrap().as_ref(), Some(n));
        assert_eq!(repo.get_note(scope, other.id, n.id).await.unwrap(), None);
    }
    assert_eq!(repo.get_note(scope, customer.id, foreign_note.id).await.unwrap(), None);
    assert_eq!(repo.get_note(scope, customer.id, NoteId::new()).await.unwrap(), None);

    // update: body, channel, direction and updated_at change, the rest stays.
    let mut edited = notes[1].clone();
    edited.body = "Исправлено: перезвонить в 15:00".into();
    edited.channel = Some(NoteChannel::Other);
    edited.direction = Some(NoteDirection::Outbound);
    edited.updated_at = T0 + Duration::hours(2) + Duration::microseconds(5);
    repo.update_note(scope, &edited).await.unwrap();
    let stored = repo.get_note(scope, customer.id, edited.id).await.unwrap().unwrap();
    assert_eq!(stored, edited);
    assert_eq!(stored.created_at, notes[1].created_at);
    // Listing order is by creation, not by update.
    assert_eq!(
        list(1, 100).await.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        newest_first.iter().map(|n| n.id).collect::<Vec<_>>()
    );
    // A note updated under the wrong customer, or a missing note, is not found.
    let mut misplaced = edited.clone();
    misplaced.customer_id = other.id;
    misplaced.body = "Не туда".into();
    assert_not_found(repo.update_note(scope, &misplaced).await, "misplaced");
    assert_not_found(
        repo.update_note(scope, &note_at(customer.id, "Нет такой", T0)).await,
        "missing note",
    );
    assert_eq!(
        repo.get_note(scope, customer.id, edited.id).await.unwrap(),
        Some(edited.clone())
    );

    // delete: once true, then false; the other customer's notes stay.
    assert!(!repo.delete_note(scope, other.id, notes[0].id).await.unwrap());
    assert!(repo.delete_note(scope, customer.id, notes[0].id).await.unwrap());
    assert!(!repo.delete_note(scope, customer.id, notes[0].id).await.unwrap());
    assert_eq!(repo.get_note(scope, customer.id, notes[0].id).await.unwrap(), None);
    let left = list(1, 100).await;
    assert_eq!(left.total, 4);
    assert!(left.items.iter().all(|n| n.id != notes[0].id));
    assert_eq!(notes_of(&repo, scope, other.id).await, Some(vec![foreign_note]));
    assert_eq!(count_rows(&repo, "customer_notes", customer.id).await, 4);
}

async fn note_calls_for_a_foreign_missing_or_deleted_customer_are_not_found(repo: SeaRepository) {
    let scope = new_scope();
    let customer = rich(scope, "ТОО Альфа", "info@alpha.kz", "alpha");
    insert(&repo, &customer).await;
    let kept = add_note(&repo, scope, customer.id, "Исходная", T0).await;

    // Every call that does not find its customer: nothing written, the kept note unchanged.
    let check = |scope: Scope, customer_id: CustomerId, what: String| {
        let repo = repo.clone();
        let kept = kept.clone();
        async move {
            assert_not_found(
                repo.add_note(scope, &note_at(customer_id, "Лишняя", T0)).await,
                &format!("{what}: add"),
            );
            assert_eq!(
                repo.list_notes(scope, customer_id, 1, 10).await.unwrap(),
                None,
                "{what}: list"
            );
            assert_eq!(
                repo.get_note(scope, customer_id, kept.id).await.unwrap(),
                None,
                "{what}: get"
            );
            let mut edited = kept.clone();
            edited.customer_id = customer_id;
            edited.body = "Изменена".into();
            edited.updated_at = T0 + Duration::days(1);
            assert_not_found(repo.update_note(scope, &edited).await, &format!("{what}: update"));
            assert!(
                !repo.delete_note(scope, customer_id, kept.id).await.unwrap(),
                "{what}: delete"
            );
            assert_eq!(count_all(&repo, "customer_notes").await, 1, "{what}");
            assert_eq!(count_rows(&repo, "customer_notes", kept.customer_id).await, 1, "{what}");
        }
    };
    for foreign in [
        Scope::new(scope.organization_id, WorkspaceId::new()),
        Scope::new(OrganizationId::new(), scope.workspace_id),
        new_scope(),
    ] {
        check(foreign, customer.id, format!("{foreign:?}")).await;
    }
    check(scope, CustomerId::new(), "missing customer".into()).await;
    assert_eq!(notes_of(&repo, scope, customer.id).await, Some(vec![kept.clone()]));

    // A deleted customer: its notes are hidden, kept, and come back on restore.
    soft_delete(&repo, &customer, T0 + Duration::days(1)).await;
    check(scope, customer.id, "deleted customer".into()).await;
    repo.restore(&restored(&customer, T0 + Duration::days(2)), &[])
        .await
        .unwrap();
    assert_eq!(notes_of(&repo, scope, customer.id).await, Some(vec![kept.clone()]));
    assert_eq!(
        repo.get_note(scope, customer.id, kept.id).await.unwrap(),
        Some(kept.clone())
    );
    let later = add_note(
        &repo,
        scope,
        customer.id,
        "После восстановления",
        T0 + Duration::days(3),
    )
    .await;
    assert_eq!(notes_of(&repo, scope, customer.id).await, Some(vec![later, kept]));
}

// ---------------------------------------------------------------------------------------------
// 6f. Interleavings and upgrades
// ---------------------------------------------------------------------------------------------

/// Row locks held by a transaction of the test, to stop an adapter call halfway: the call
/// waits on its first statement that touches a locked row. Only on PostgreSQL: SQLite runs
/// one writer at a time (`BEGIN IMMEDIATE`), so these interleavings cannot happen there and
/// the story runs its calls concurrently without locks.
struct RowLocks(Option<DatabaseTransaction>);

async fn lock_rows(repo: &SeaRepository, table: &str, customer: CustomerId) -> RowLocks {
    if repo.connection().get_database_backend() != DbBackend::Postgres {
        return RowLocks(None);
    }
    let txn = repo.connection().begin().await.unwrap();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT 1 AS one FROM {table} WHERE customer_id = $1 FOR UPDATE"),
        [Value::Uuid(Some(customer.into_uuid()))],
    );
    assert!(
        !txn.query_all_raw(statement).await.unwrap().is_empty(),
        "nothing to lock in {table}"
    );
    RowLocks(Some(txn))
}

impl RowLocks {
    async fn release(self) {
        if let Some(txn) = self.0 {
            txn.commit().await.unwrap();
        }
    }
}

/// Waits until `sessions` sessions of the database wait for a lock, or every task in
/// `finished` is done (PostgreSQL only; SQLite needs no waiting).
async fn wait_for_lock_waiters<T>(repo: &SeaRepository, sessions: i64, finished: &[&tokio::task::JoinHandle<T>]) {
    if repo.connection().get_database_backend() != DbBackend::Postgres {
        return;
    }
    let statement = Statement::from_string(
        DbBackend::Postgres,
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
    );
    for _ in 0..1000 {
        if finished.iter().all(|task| task.is_finished()) {
            return;
        }
        let row = repo
            .connection()
            .query_one_raw(statement.clone())
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() >= sessions {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no call came to wait for the test's row locks");
}

/// A note added to a duplicate while the merge runs either ends up under the primary or is
/// refused; it must never be accepted and then lost.
async fn merge_keeps_a_note_added_to_a_duplicate_meanwhile(repo: SeaRepository) {
    let f = merge_fixture(&repo).await;
    let scope = f.scope;
    let merged = merge(
        &f.primary,
        &[f.first.clone(), f.second.clone()],
        UserId::new(),
        T0 + Duration::days(1),
    );
    let duplicates = [(f.first.id, f.first.version), (f.second.id, f.second.version)];

    // The merge stops after moving the first duplicate's notes, before deleting its contacts.
    let locks = lock_rows(&repo, "customer_contacts", f.first.id).await;
    let merging = {
        let (repo, merged) = (repo.clone(), merged.clone());
        tokio::spawn(async move { repo.merge(&merged, 1, &duplicates, &[]).await })
    };
    wait_for_lock_waiters(&repo, 1, &[&merging]).await;
    let late = note_at(f.first.id, "Добавлена во время слияния", T0 + Duration::hours(5));
    let adding = {
        let (repo, late) = (repo.clone(), late.clone());
        tokio::spawn(async move { repo.add_note(scope, &late).await })
    };
    wait_for_lock_waiters(&repo, 2, &[&adding]).await;
    locks.release().await;
    merging.await.unwrap().unwrap();
    let added = adding.await.unwrap();

    assert_eq!(get(&repo, &f.primary).await, Some(merged));
    assert_eq!(customer_rows(&repo, f.first.id).await, 0);
    match added {
        Ok(()) => {
            let moved = CustomerNote {
                customer_id: f.primary.id,
                ..late.clone()
            };
            assert_eq!(
                repo.get_note(scope, f.primary.id, late.id).await.unwrap(),
                Some(moved),
                "add_note succeeded but the note is gone"
            );
            assert_eq!(count_rows(&repo, "customer_notes", f.primary.id).await, 7);
        }
        Err(RepositoryError::NotFound) => {
            assert_eq!(count_where(&repo, "customer_notes", "id", late.id.into_uuid()).await, 0);
            assert_eq!(count_rows(&repo, "customer_notes", f.primary.id).await, 6);
        }
        Err(other) => panic!("add_note during the merge: expected Ok or NotFound, got {other:?}"),
    }
}

/// A restore racing the purge of the same customer: either the restore wins and the customer
/// is back whole, or the purge wins and nothing of it is left.
async fn restore_racing_purge_keeps_the_customer_whole_or_removes_it_whole(repo: SeaRepository) {
    let scope = new_scope();
    let customer = rich(scope, "ТОО Альфа", "info@alpha.kz", "alpha");
    insert(&repo, &customer).await;
    let note = add_note(&repo, scope, customer.id, "Заметка", T0).await;
    let cut = T0 + Duration::days(30);
    soft_delete(&repo, &customer, cut - Duration::days(1)).await;

    // The purge stops after removing contacts and addresses, before the tags.
    let locks = lock_rows(&repo, "customer_tags", customer.id).await;
    let purging = {
        let repo = repo.clone();
        tokio::spawn(async move { repo.purge(cut).await })
    };
    wait_for_lock_waiters(&repo, 1, &[&purging]).await;
    let back = restored(&customer, cut + Duration::hours(1));
    let restoring = {
        let (repo, back) = (repo.clone(), back.clone());
        tokio::spawn(async move { repo.restore(&back, &[]).await })
    };
    wait_for_lock_waiters(&repo, 2, &[&restoring]).await;
    locks.release().await;
    let purged = purging.await.unwrap().unwrap();
    let restore = restoring.await.unwrap();

    match restore {
        Ok(()) => {
            assert_eq!(purged, 0, "restored, yet counted as purged");
            assert_eq!(get(&repo, &customer).await, Some(back), "restored without its children");
            assert_eq!(children(&repo, customer.id).await, children_of_rich(1));
            assert_eq!(notes_of(&repo, scope, customer.id).await, Some(vec![note]));
        }
        Err(RepositoryError::NotFound) => {
            assert_eq!(purged, 1);
            assert_eq!(customer_rows(&repo, customer.id).await, 0);
            assert_eq!(children(&repo, customer.id).await, no_children());
        }
        Err(other) => panic!("restore during the purge: expected Ok or NotFound, got {other:?}"),
    }
}

/// Customers stored before the lifecycle migration (migration 2) are found as duplicates by
/// name like those stored after it: rolls migration 2 back and applies it again over a
/// stored customer.
async fn customers_stored_before_the_lifecycle_migration_are_found_by_name(repo: SeaRepository) {
    use customers_migrations::{Migrator, MigratorTrait};

    let scope = new_scope();
    let customer = rich(scope, "ТОО «Альфа»", "info@alfa.kz", "alfa");
    insert(&repo, &customer).await;
    // Back to before the lifecycle migration (and its match-key backfill).
    Migrator::down(repo.connection(), Some(2)).await.unwrap();
    Migrator::up(repo.connection(), None).await.unwrap();
    assert_eq!(get(&repo, &customer).await, Some(customer.clone()));

    let probe = DuplicateProbe {
        name_tokens: match_tokens("Alfa LLP"),
        ..DuplicateProbe::default()
    };
    assert_eq!(
        repo.duplicate_candidates(scope, &probe, 10).await.unwrap(),
        vec![customer.clone()]
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

    // The same for a batch of values in one call: hits with the value as stored.
    let find_all = |field: UniqueField, values: &[&str]| {
        let repo = repo.clone();
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        async move {
            let mut found = repo.find_all_by_unique(org, field, &values).await.unwrap();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            found
        }
    };
    assert_eq!(
        find_all(
            UniqueField::Email,
            &[" INFO@Alpha.KZ ", "nobody@alpha.kz", "Berik@BETA.kz"]
        )
        .await,
        [
            ("berik@beta.kz".to_owned(), second, beta.id),
            ("info@alpha.kz".to_owned(), first, alpha.id)
        ]
    );
    assert_eq!(
        find_all(UniqueField::Iin, &[&iin(41), &bin(40), &iin(40)]).await,
        [(iin(40), first, alpha.id), (iin(41), second, beta.id)]
    );
    assert_eq!(
        find_all(UniqueField::Bin, &[&bin(40), &bin(41)]).await,
        [(bin(40), first, alpha.id)]
    );
    assert!(find_all(UniqueField::Bin, &[]).await.is_empty());
    assert!(
        repo.find_all_by_unique(OrganizationId::new(), UniqueField::Email, &["info@alpha.kz".to_owned()])
            .await
            .unwrap()
            .is_empty()
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
    assert_eq!((empty.total, empty.pages(), empty.items.len()), (Some(0), Some(0), 0));
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
    let check = |got: CustomerList, page: u32, limit: u32, items: &[Customer], pages: u64| {
        assert_eq!(
            (got.total, got.page, got.limit, got.pages()),
            (Some(7), page, limit, Some(pages)),
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
    assert_eq!((page.total, page.pages()), (Some(3), Some(2)));
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
    assert_eq!(page.total, Some(0));
}

// ---------------------------------------------------------------------------------------------
// 10. Outbox: every write stores its events in `customer_events`, in its own transaction
// ---------------------------------------------------------------------------------------------

/// The events the service writes with a new customer: `customer.created` by its creator at its
/// creation time.
fn created(customer: &Customer) -> Vec<EventEnvelope> {
    let actor = customer.created_by.unwrap_or_default();
    vec![EventEnvelope::new(
        customer,
        actor,
        customer.created_at,
        CustomerEvent::Created {
            customer_type: customer.customer_type,
            status: customer.status,
            created_by: actor,
            source: None,
        },
    )]
}

/// The `customer.deleted` event of a soft delete by `by` at `at`.
fn deleted(customer: &Customer, by: UserId, at: OffsetDateTime) -> EventEnvelope {
    EventEnvelope::new(customer, by, at, CustomerEvent::Deleted { deleted_by: by })
}

/// The `customer.updated` event of writing `after` over `before`, by its updater at its update
/// time.
fn updated(before: &Customer, after: &Customer) -> EventEnvelope {
    let actor = after.updated_by.unwrap_or_default();
    EventEnvelope::new(
        after,
        actor,
        after.updated_at,
        CustomerEvent::Updated {
            changes: diff(before, after),
            updated_by: actor,
            cause: None,
        },
    )
}

/// The `customer.restored` event of a restore as `customer`.
fn restored_event(customer: &Customer) -> EventEnvelope {
    let actor = customer.updated_by.unwrap_or_default();
    EventEnvelope::new(
        customer,
        actor,
        customer.updated_at,
        CustomerEvent::Restored { restored_by: actor },
    )
}

/// The `customers.merged` event of merging `duplicates` into `merged`.
fn merged_event(merged: &Customer, duplicates: &[Customer]) -> EventEnvelope {
    let actor = merged.updated_by.unwrap_or_default();
    EventEnvelope::new(
        merged,
        actor,
        merged.updated_at,
        CustomerEvent::Merged {
            primary_customer_id: merged.id,
            merged_customer_ids: duplicates.iter().map(|d| d.id).collect(),
            merged_customers: duplicates.to_vec(),
            merged_by: actor,
        },
    )
}

/// One row of `customer_events` (without its `seq`), read directly.
#[derive(Debug, Clone, PartialEq)]
struct OutboxRow {
    id: Uuid,
    organization_id: Uuid,
    workspace_id: Uuid,
    customer_id: Uuid,
    event_type: String,
    version: i64,
    payload: serde_json::Value,
    actor: Uuid,
    occurred_at: OffsetDateTime,
    published_at: Option<OffsetDateTime>,
}

impl OutboxRow {
    /// The row `event` must be stored as: its own id, tenant, subject, type, schema version
    /// and actor, the `payload` object of its wire form, and not published yet.
    fn of(event: &EventEnvelope) -> Self {
        let mut wire = serde_json::to_value(event).unwrap();
        assert_eq!(wire["type"], json!(event.event.type_name()));
        let payload = wire["payload"].take();
        assert!(payload.is_object(), "{} has no payload object", event.event.type_name());
        Self {
            id: event.event_id,
            organization_id: event.organization_id.into_uuid(),
            workspace_id: event.workspace_id.into_uuid(),
            customer_id: event.customer_id.into_uuid(),
            event_type: event.event.type_name().to_owned(),
            version: i64::from(event.version),
            payload,
            actor: event.actor.into_uuid(),
            occurred_at: event.occurred_at,
            published_at: None,
        }
    }
}

/// Every row of the outbox with its `seq`, in `seq` order.
async fn outbox(repo: &SeaRepository) -> Vec<(i64, OutboxRow)> {
    let db = repo.connection();
    let backend = db.get_database_backend();
    let statement = Statement::from_string(
        backend,
        "SELECT seq, id, organization_id, workspace_id, customer_id, type, version, payload, actor, occurred_at, \
         published_at FROM customer_events ORDER BY seq",
    );
    let from_micros = |us: i64| OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).unwrap();
    let rows = db.query_all_raw(statement).await.unwrap();
    rows.iter()
        .map(|row| {
            let uuid = |column: &str| row.try_get::<Uuid>("", column).unwrap();
            // PostgreSQL: integer, jsonb, timestamptz; SQLite: INTEGER, JSON text, microseconds.
            let (version, payload, occurred_at, published_at) = if backend == DbBackend::Postgres {
                (
                    i64::from(row.try_get::<i32>("", "version").unwrap()),
                    row.try_get::<serde_json::Value>("", "payload").unwrap(),
                    row.try_get::<OffsetDateTime>("", "occurred_at").unwrap(),
                    row.try_get::<Option<OffsetDateTime>>("", "published_at").unwrap(),
                )
            } else {
                let text = row.try_get::<String>("", "payload").unwrap();
                (
                    row.try_get::<i64>("", "version").unwrap(),
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("payload {text:?} is no JSON: {e}")),
                    from_micros(row.try_get::<i64>("", "occurred_at").unwrap()),
                    row.try_get::<Option<i64>>("", "published_at").unwrap().map(from_micros),
                )
            };
            let stored = OutboxRow {
                id: uuid("id"),
                organization_id: uuid("organization_id"),
                workspace_id: uuid("workspace_id"),
                customer_id: uuid("customer_id"),
                event_type: row.try_get::<String>("", "type").unwrap(),
                version,
                payload,
                actor: uuid("actor"),
                occurred_at,
                published_at,
            };
            (row.try_get::<i64>("", "seq").unwrap(), stored)
        })
        .collect()
}

/// The outbox holds the rows `before` unchanged (same `seq` too), followed by exactly the
/// rows of `appended`, in that order, `seq` strictly increasing throughout; each new row
/// decodes back to the event it was written for.
async fn assert_outbox(repo: &SeaRepository, before: &[(i64, OutboxRow)], appended: &[EventEnvelope], what: &str) {
    let rows = outbox(repo).await;
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "{what}: seq not strictly increasing: {seqs:?}"
    );
    let kept = before.len().min(rows.len());
    assert_eq!(&rows[..kept], before, "{what}: the earlier events changed");
    let new: Vec<&OutboxRow> = rows[kept..].iter().map(|(_, row)| row).collect();
    let expected: Vec<OutboxRow> = appended.iter().map(OutboxRow::of).collect();
    assert_eq!(
        new.iter().map(|r| (r.event_type.as_str(), r.id)).collect::<Vec<_>>(),
        expected
            .iter()
            .map(|r| (r.event_type.as_str(), r.id))
            .collect::<Vec<_>>(),
        "{what}: the new events (type, id) in seq order"
    );
    for ((got, want), event) in new.iter().zip(&expected).zip(appended) {
        assert_eq!(*got, want, "{what}: row of {} {}", want.event_type, want.id);
        let decoded: CustomerEvent =
            serde_json::from_value(json!({ "type": got.event_type, "payload": got.payload })).unwrap();
        assert_eq!(decoded, event.event, "{what}: {} decoded", want.event_type);
    }
}

/// Neither a row of the five customer tables nor an event was written.
async fn assert_nothing_written(repo: &SeaRepository, events: &[(i64, OutboxRow)], rows: &Dump, what: &str) {
    assert_eq!(outbox(repo).await, events, "{what}: the outbox changed");
    assert_eq!(&dump(repo).await, rows, "{what}: the customers changed");
}

/// Gives the events the ids of the list reversed, so that ordering by id is not the order
/// given.
fn reverse_event_ids(events: &mut [EventEnvelope]) {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).rev().collect();
    for (event, id) in events.iter_mut().zip(ids) {
        event.event_id = id;
    }
}

async fn insert_stores_its_events_in_the_outbox_in_the_given_order(repo: SeaRepository) {
    let scope = new_scope();
    let customer = full_customer(scope);
    let actor = customer.created_by.unwrap();
    let manager = UserId::new();
    // Ids and times decrease along the list, so that neither orders the rows as given.
    let at = T0 + Duration::microseconds(3);
    let mut events = vec![
        EventEnvelope::new(
            &customer,
            actor,
            at,
            CustomerEvent::Created {
                customer_type: customer.customer_type,
                status: customer.status,
                created_by: actor,
                source: None,
            },
        ),
        EventEnvelope::new(
            &customer,
            manager,
            at - Duration::microseconds(1),
            CustomerEvent::Assigned {
                assigned_to: customer.assigned_to,
                assigned_by: manager,
            },
        ),
        EventEnvelope::new(
            &customer,
            actor,
            at - Duration::microseconds(2),
            CustomerEvent::StatusChanged {
                previous_status: CustomerStatus::Lead,
                new_status: CustomerStatus::Active,
                changed_by: actor,
                reason: Some("Клиент «вернулся»\nс заказом 50% \\ 100%".into()),
            },
        ),
        EventEnvelope::new(
            &customer,
            actor,
            at - Duration::days(1),
            CustomerEvent::DealCreateRequested {
                title: "Сделка с ТОО «Альфа-Қазақстан»".into(),
                value: money("1234567.89"),
                assigned_to: None,
            },
        ),
    ];
    reverse_event_ids(&mut events);
    assert!(events[0].event_id > events[3].event_id);
    repo.insert(&customer, &events).await.unwrap();

    // Every column spelled out for the first row, and the payloads of the others.
    let rows = outbox(&repo).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0].1,
        OutboxRow {
            id: events[0].event_id,
            organization_id: scope.organization_id.into_uuid(),
            workspace_id: scope.workspace_id.into_uuid(),
            customer_id: customer.id.into_uuid(),
            event_type: "customer.created".into(),
            version: i64::from(EVENT_SCHEMA_VERSION),
            payload: json!({ "customerType": "COMPANY", "status": "ACTIVE", "createdBy": actor }),
            actor: actor.into_uuid(),
            occurred_at: at,
            published_at: None,
        }
    );
    assert_eq!(
        rows[0].1.occurred_at.unix_timestamp_nanos() % 1_000_000_000,
        123_459_000
    );
    assert_eq!(
        rows[1].1.payload,
        json!({ "assignedTo": customer.assigned_to, "assignedBy": manager })
    );
    assert_eq!(
        (rows[1].1.actor, rows[1].1.occurred_at),
        (manager.into_uuid(), at - Duration::microseconds(1))
    );
    assert_eq!(
        rows[2].1.payload,
        json!({
            "previousStatus": "LEAD",
            "newStatus": "ACTIVE",
            "changedBy": actor,
            "reason": "Клиент «вернулся»\nс заказом 50% \\ 100%",
        })
    );
    assert_eq!(
        rows[3].1.payload,
        json!({ "title": "Сделка с ТОО «Альфа-Қазақстан»", "value": "1234567.89", "assignedTo": null })
    );
    assert_outbox(&repo, &[], &events, "insert").await;

    // A write without events adds none; the events of another tenant carry its ids.
    let before = outbox(&repo).await;
    let quiet = build(scope, company("Quiet LLP", "quiet@alpha.kz"));
    repo.insert(&quiet, &[]).await.unwrap();
    assert_outbox(&repo, &before, &[], "insert without events").await;
    let stranger = build(new_scope(), company("ТОО «Альфа-Қазақстан»", "info@alpha.kz"));
    let stranger_events = created(&stranger);
    repo.insert(&stranger, &stranger_events).await.unwrap();
    assert_outbox(&repo, &before, &stranger_events, "insert in another organization").await;

    // A batch stores the events given with it, in the given order (not the order of the items).
    let before = outbox(&repo).await;
    let batch: Vec<Customer> = (0..3).map(|n| batch_item(scope, n, |d| d)).collect();
    let mut batch_events: Vec<EventEnvelope> = batch.iter().rev().flat_map(created).collect();
    batch_events.push(EventEnvelope::new(
        &batch[1],
        manager,
        T0,
        CustomerEvent::Assigned {
            assigned_to: Some(manager),
            assigned_by: manager,
        },
    ));
    reverse_event_ids(&mut batch_events);
    repo.insert_many(&batch, &batch_events).await.unwrap();
    assert_outbox(&repo, &before, &batch_events, "insert_many").await;
    for customer in &batch {
        assert_eq!(get(&repo, customer).await, Some(customer.clone()));
    }
}

/// A write the store refuses stores none of its events: the change and its events commit or
/// roll back together.
async fn a_refused_write_stores_none_of_its_events(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling = Scope::new(org, WorkspaceId::new());
    let v1 = stored_customer(&repo, scope).await;
    let mut v2 = next_version(&v1, 1);
    v2.name = "ТОО Альфа 2".into();
    repo.update(&v2, 1, false, false, &[updated(&v1, &v2)]).await.unwrap();
    let owner = build(
        sibling,
        CustomerDraft {
            iin: Some(iin(130)),
            bin: Some(bin(130)),
            ..company("Owner LLP", "owner@beta.kz")
        },
    );
    insert(&repo, &owner).await;
    let gone = rich(scope, "Gone LLP", "gone@alpha.kz", "gone");
    insert(&repo, &gone).await;
    soft_delete(&repo, &gone, T0 + Duration::days(1)).await;
    let taker = build(sibling, company("Taker LLP", "GONE@alpha.kz"));
    insert(&repo, &taker).await;
    let first = rich(scope, "Alfa LLP", "office@alpha.kz", "first");
    let second = rich(scope, "Альфа Трейд", "trade@alpha.kz", "second");
    insert(&repo, &first).await;
    insert(&repo, &second).await;
    let events = outbox(&repo).await;
    let rows = dump(&repo).await;
    assert_eq!(events.len(), 8);

    // Inserts: a taken e-mail or IIN, and a failure after the customer row was written.
    let with_children = |draft: CustomerDraft| CustomerDraft {
        contacts: vec![full_contact("Асет", "aset@alpha.kz", "+77011111111", true)],
        addresses: vec![full_address(AddressType::Billing, "Алматы", "050000", true)],
        tags: vec!["dup".into()],
        ..draft
    };
    let taken_email = build(scope, with_children(company("Dup LLP", " INFO@Alpha.kz ")));
    assert_duplicate(
        repo.insert(&taken_email, &created(&taken_email)).await,
        UniqueField::Email,
    );
    assert_nothing_written(&repo, &events, &rows, "insert with a taken e-mail").await;
    let taken_iin = build(
        scope,
        with_children(CustomerDraft {
            iin: Some(iin(130)),
            ..individual("Берик", "berik@alpha.kz")
        }),
    );
    assert_duplicate(repo.insert(&taken_iin, &created(&taken_iin)).await, UniqueField::Iin);
    assert_nothing_written(&repo, &events, &rows, "insert with a taken IIN").await;
    let mut broken = build(
        scope,
        CustomerDraft {
            addresses: vec![
                full_address(AddressType::Billing, "Алматы", "050000", true),
                full_address(AddressType::Shipping, "Астана", "010000", true),
            ],
            ..company("Broken LLP", "broken@alpha.kz")
        },
    );
    broken.addresses[1].address_type = AddressType::Billing;
    assert!(repo.insert(&broken, &created(&broken)).await.is_err());
    assert_nothing_written(&repo, &events, &rows, "insert failing after its row").await;

    // Updates: stale, from the future, of a missing customer, to a taken e-mail.
    let mut late = next_version(&v1, 2);
    late.name = "Late".into();
    late.contacts = other_contacts(&v1);
    assert_conflict(
        repo.update(&late, 1, true, false, &[updated(&v1, &late)]).await,
        "stale update",
    );
    assert_nothing_written(&repo, &events, &rows, "stale update").await;
    let mut ahead = next_version(&v2, 1);
    ahead.name = "Ahead".into();
    assert_conflict(
        repo.update(&ahead, 7, false, false, &[updated(&v2, &ahead)]).await,
        "update from the future",
    );
    assert_nothing_written(&repo, &events, &rows, "update from the future").await;
    let ghost = next_version(&build(scope, company("Ghost LLP", "ghost@alpha.kz")), 1);
    assert_not_found(
        repo.update(&ghost, 1, true, true, &[updated(&v1, &ghost)]).await,
        "update of a missing customer",
    );
    assert_nothing_written(&repo, &events, &rows, "update of a missing customer").await;
    let mut taking = next_version(&v2, 1);
    taking.email = owner.email.clone();
    assert_duplicate(
        repo.update(&taking, 2, false, false, &[updated(&v2, &taking)]).await,
        UniqueField::Email,
    );
    assert_nothing_written(&repo, &events, &rows, "update to a taken e-mail").await;
    let mut late_for_gone = next_version(&gone, 1);
    late_for_gone.name = "Late".into();
    assert_not_found(
        repo.update(&late_for_gone, 1, false, false, &[updated(&gone, &late_for_gone)])
            .await,
        "update of a deleted customer",
    );
    assert_nothing_written(&repo, &events, &rows, "update of a deleted customer").await;

    // Batches with a collision, with the events of every item.
    for (what, batch, index) in [
        (
            "batch whose item 2 takes an existing e-mail",
            vec![
                batch_item(scope, 0, |d| d),
                batch_item(scope, 1, |d| d),
                batch_item(scope, 2, |d| CustomerDraft {
                    email: "OWNER@beta.kz".into(),
                    ..d
                }),
            ],
            2,
        ),
        (
            "batch whose items 0 and 1 share a BIN",
            vec![
                batch_item(scope, 3, |d| CustomerDraft {
                    bin: Some(bin(131)),
                    ..d
                }),
                batch_item(sibling, 4, |d| CustomerDraft {
                    bin: Some(bin(131)),
                    ..d
                }),
            ],
            1,
        ),
    ] {
        let batch_events: Vec<EventEnvelope> = batch.iter().flat_map(created).collect();
        match repo.insert_many(&batch, &batch_events).await {
            Err(BatchError { index: got, .. }) => assert_eq!(got, index, "{what}"),
            Ok(()) => panic!("{what}: stored"),
        }
        assert_nothing_written(&repo, &events, &rows, what).await;
    }

    // Merges: stale primary, stale duplicate, missing duplicate, a taken BIN.
    let merged = merge(
        &v2,
        &[first.clone(), second.clone()],
        UserId::new(),
        T0 + Duration::days(2),
    );
    let merge_events = vec![
        merged_event(&merged, &[first.clone(), second.clone()]),
        updated(&v2, &merged),
    ];
    assert_conflict(
        repo.merge(&merged, 1, &[(first.id, 1), (second.id, 1)], &merge_events)
            .await,
        "stale primary",
    );
    assert_nothing_written(&repo, &events, &rows, "merge with a stale primary").await;
    assert_conflict(
        repo.merge(&merged, 2, &[(first.id, 1), (second.id, 2)], &merge_events)
            .await,
        "stale duplicate",
    );
    assert_nothing_written(&repo, &events, &rows, "merge with a stale duplicate").await;
    match repo
        .merge(&merged, 2, &[(first.id, 1), (CustomerId::new(), 1)], &merge_events)
        .await
    {
        Err(RepositoryError::VersionConflict | RepositoryError::NotFound) => {}
        other => panic!("merge with a missing duplicate: expected VersionConflict or NotFound, got {other:?}"),
    }
    assert_nothing_written(&repo, &events, &rows, "merge with a missing duplicate").await;
    let mut taking_bin = merged.clone();
    taking_bin.bin = owner.bin.clone();
    assert_duplicate(
        repo.merge(&taking_bin, 2, &[(first.id, 1), (second.id, 1)], &merge_events)
            .await,
        UniqueField::Bin,
    );
    assert_nothing_written(&repo, &events, &rows, "merge taking a BIN").await;
    let into_gone = merge(
        &gone,
        &[first.clone(), second.clone()],
        UserId::new(),
        T0 + Duration::days(2),
    );
    assert_not_found(
        repo.merge(
            &into_gone,
            1,
            &[(first.id, 1), (second.id, 1)],
            &[merged_event(&into_gone, &[first.clone(), second.clone()])],
        )
        .await,
        "merge into a deleted primary",
    );
    assert_nothing_written(&repo, &events, &rows, "merge into a deleted primary").await;

    // Restores: the e-mail was taken meanwhile; a live or a missing customer.
    let back = restored(&gone, T0 + Duration::days(3));
    assert_duplicate(repo.restore(&back, &[restored_event(&back)]).await, UniqueField::Email);
    assert_nothing_written(&repo, &events, &rows, "restore of a taken e-mail").await;
    let live = restored(&v2, T0 + Duration::days(3));
    assert_not_found(
        repo.restore(&live, &[restored_event(&live)]).await,
        "restore of a live customer",
    );
    assert_nothing_written(&repo, &events, &rows, "restore of a live customer").await;
    let missing = restored(&build(scope, company("Ghost LLP", "ghost@alpha.kz")), T0);
    assert_not_found(
        repo.restore(&missing, &[restored_event(&missing)]).await,
        "restore of a missing customer",
    );
    assert_nothing_written(&repo, &events, &rows, "restore of a missing customer").await;

    // Soft deletes that delete nothing: through another workspace, or already deleted.
    let by = UserId::new();
    let at = T0 + Duration::days(4);
    assert_eq!(
        repo.soft_delete(
            sibling,
            &[v2.id, first.id],
            at,
            by,
            &[deleted(&v2, by, at), deleted(&first, by, at)]
        )
        .await
        .unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_nothing_written(&repo, &events, &rows, "soft delete through another workspace").await;
    assert_eq!(
        repo.soft_delete(scope, &[gone.id], at, by, &[deleted(&gone, by, at)])
            .await
            .unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_nothing_written(&repo, &events, &rows, "soft delete of a deleted customer").await;

    // The right versions go through, with their events.
    let merge_events = vec![
        merged_event(&merged, &[first.clone(), second.clone()]),
        updated(&v2, &merged),
    ];
    repo.merge(&merged, 2, &[(first.id, 1), (second.id, 1)], &merge_events)
        .await
        .unwrap();
    assert_outbox(&repo, &events, &merge_events, "merge with the right versions").await;
}

/// An event that cannot be stored (its id is taken) fails the write, which then changes
/// nothing: a change is never committed without its events.
async fn a_write_whose_events_cannot_be_stored_changes_nothing(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;
    let first = rich(scope, "Alfa LLP", "office@alpha.kz", "first");
    let second = rich(scope, "Альфа Трейд", "trade@alpha.kz", "second");
    insert(&repo, &first).await;
    insert(&repo, &second).await;
    let gone = rich(scope, "Gone LLP", "gone@alpha.kz", "gone");
    insert(&repo, &gone).await;
    soft_delete(&repo, &gone, T0 + Duration::days(1)).await;
    let events = outbox(&repo).await;
    let rows = dump(&repo).await;
    assert_eq!(events.len(), 5);
    // Each write gets a good event first and then one whose id is taken.
    let taken = events[0].1.id;
    let clashing = |good: EventEnvelope| {
        let mut clash = good.clone();
        clash.event_id = taken;
        vec![good, clash]
    };
    let expect_failure = |result: Result<(), RepositoryError>, what: &str| match result {
        Err(RepositoryError::Unexpected(_)) => {}
        other => panic!("{what}: expected Unexpected (an event could not be stored), got {other:?}"),
    };

    let newcomer = rich(scope, "New LLP", "new@alpha.kz", "new");
    expect_failure(
        repo.insert(&newcomer, &clashing(created(&newcomer).remove(0))).await,
        "insert",
    );
    assert_nothing_written(&repo, &events, &rows, "insert").await;

    let mut v2 = next_version(&v1, 1);
    v2.name = "ТОО Альфа 2".into();
    v2.contacts = other_contacts(&v1);
    v2.tags = strings(&["v2"]);
    expect_failure(
        repo.update(&v2, 1, true, true, &clashing(updated(&v1, &v2))).await,
        "update",
    );
    assert_nothing_written(&repo, &events, &rows, "update").await;

    let batch: Vec<Customer> = (0..2).map(|n| batch_item(scope, n, |d| d)).collect();
    match repo.insert_many(&batch, &clashing(created(&batch[1]).remove(0))).await {
        Err(BatchError { error, .. }) => expect_failure(Err(error), "insert_many"),
        Ok(()) => panic!("insert_many: stored"),
    }
    assert_nothing_written(&repo, &events, &rows, "insert_many").await;

    let by = UserId::new();
    let at = T0 + Duration::days(2);
    match repo
        .soft_delete(scope, &[v1.id], at, by, &clashing(deleted(&v1, by, at)))
        .await
    {
        Err(RepositoryError::Unexpected(_)) => {}
        other => panic!("soft_delete: expected Unexpected, got {other:?}"),
    }
    assert_nothing_written(&repo, &events, &rows, "soft_delete").await;

    let back = restored(&gone, T0 + Duration::days(2));
    expect_failure(repo.restore(&back, &clashing(restored_event(&back))).await, "restore");
    assert_nothing_written(&repo, &events, &rows, "restore").await;

    let merged = merge(
        &v1,
        &[first.clone(), second.clone()],
        UserId::new(),
        T0 + Duration::days(2),
    );
    expect_failure(
        repo.merge(
            &merged,
            1,
            &[(first.id, 1), (second.id, 1)],
            &clashing(merged_event(&merged, &[first.clone(), second.clone()])),
        )
        .await,
        "merge",
    );
    assert_nothing_written(&repo, &events, &rows, "merge").await;

    // With storable events the same writes go through.
    let update_events = vec![updated(&v1, &v2)];
    repo.update(&v2, 1, true, true, &update_events).await.unwrap();
    assert_outbox(&repo, &events, &update_events, "update with storable events").await;
    assert_eq!(get(&repo, &v1).await, Some(v2));
}

/// Update, restore and merge append their events after the earlier ones; the history of
/// merged-away customers stays.
async fn update_restore_and_merge_append_their_events(repo: SeaRepository) {
    let f = merge_fixture(&repo).await;
    let before = outbox(&repo).await;
    assert_eq!(
        before.iter().map(|(_, row)| row.customer_id).collect::<Vec<_>>(),
        [f.primary.id, f.first.id, f.second.id].map(CustomerId::into_uuid)
    );
    let mut appended = Vec::new();

    // An update with a field change and a status change, the events in the service's order;
    // the first carries a rich JSON document (nested, unicode, big and fractional numbers).
    let mut v2 = next_version(&f.primary, 1);
    v2.name = "ТОО «Альфа» (2)".into();
    v2.status = CustomerStatus::Active;
    v2.custom_fields = full_customer(f.scope).custom_fields;
    let actor = v2.updated_by.unwrap();
    let events = vec![
        updated(&f.primary, &v2),
        EventEnvelope::new(
            &v2,
            actor,
            v2.updated_at,
            CustomerEvent::StatusChanged {
                previous_status: f.primary.status,
                new_status: CustomerStatus::Active,
                changed_by: actor,
                reason: None,
            },
        ),
    ];
    repo.update(&v2, 1, false, false, &events).await.unwrap();
    appended.extend(events);
    assert_outbox(&repo, &before, &appended, "update").await;
    let rows = outbox(&repo).await;
    assert_eq!(
        rows[3].1.payload,
        json!({
            "changes": {
                "name": { "old": "ТОО «Альфа»", "new": "ТОО «Альфа» (2)" },
                "status": { "old": f.primary.status, "new": "ACTIVE" },
                "customFields": { "old": null, "new": v2.custom_fields },
            },
            "updatedBy": actor,
        })
    );
    assert_eq!(
        rows[4].1.payload,
        json!({ "previousStatus": f.primary.status, "newStatus": "ACTIVE", "changedBy": actor })
    );

    // Soft delete and restore.
    let by = UserId::new();
    let at = T0 + Duration::days(1);
    let events = vec![deleted(&v2, by, at)];
    assert_eq!(
        repo.soft_delete(f.scope, &[v2.id], at, by, &events).await.unwrap(),
        vec![v2.id]
    );
    appended.extend(events);
    let v3 = restored(&v2, T0 + Duration::days(2));
    let events = vec![restored_event(&v3)];
    repo.restore(&v3, &events).await.unwrap();
    appended.extend(events);
    assert_outbox(&repo, &before, &appended, "soft delete and restore").await;
    let rows = outbox(&repo).await;
    assert_eq!(rows[6].1.payload, json!({ "restoredBy": v3.updated_by }));
    assert_eq!(rows[6].1.occurred_at, T0 + Duration::days(2));

    // The merge: the merged event with the snapshots of the duplicates, then the update.
    let duplicates = [f.first.clone(), f.second.clone()];
    let merged = merge(&v3, &duplicates, UserId::new(), T0 + Duration::days(3));
    let events = vec![merged_event(&merged, &duplicates), updated(&v3, &merged)];
    repo.merge(
        &merged,
        v3.version,
        &[(f.first.id, f.first.version), (f.second.id, f.second.version)],
        &events,
    )
    .await
    .unwrap();
    appended.extend(events);
    assert_outbox(&repo, &before, &appended, "merge").await;
    let rows = outbox(&repo).await;
    let payload = &rows[7].1.payload;
    assert_eq!(rows[7].1.event_type, "customers.merged");
    assert_eq!(payload["primaryCustomerId"], json!(f.primary.id));
    assert_eq!(payload["mergedCustomerIds"], json!([f.first.id, f.second.id]));
    assert_eq!(payload["mergedCustomers"], json!(duplicates));
    assert_eq!(payload["mergedCustomers"][0]["bin"], json!(bin(121)));
    assert_eq!(get(&repo, &f.primary).await, Some(merged));
    // The merged-away customers are gone; their history is not.
    assert_eq!(count_all(&repo, "customers").await, 1);
    for duplicate in [&f.first, &f.second] {
        assert_eq!(
            count_where(&repo, "customer_events", "customer_id", duplicate.id.into_uuid()).await,
            1
        );
    }
}

async fn soft_delete_appends_only_the_events_of_the_customers_it_deleted(repo: SeaRepository) {
    let org = OrganizationId::new();
    let scope = Scope::new(org, WorkspaceId::new());
    let sibling_scope = Scope::new(org, WorkspaceId::new());
    let first = rich(scope, "First LLP", "first@alpha.kz", "first");
    let second = rich(scope, "Second LLP", "second@alpha.kz", "second");
    let bystander = rich(scope, "Bystander LLP", "bystander@alpha.kz", "bystander");
    let gone = rich(scope, "Gone LLP", "gone@alpha.kz", "gone");
    let sibling = rich(sibling_scope, "Sibling LLP", "sibling@alpha.kz", "sibling");
    let stranger = rich(new_scope(), "Stranger LLP", "stranger@alpha.kz", "stranger");
    let missing = rich(scope, "Missing LLP", "missing@alpha.kz", "missing");
    for customer in [&first, &second, &bystander, &gone, &sibling, &stranger] {
        insert(&repo, customer).await;
    }
    soft_delete(&repo, &gone, T0 + Duration::days(1)).await;
    let before = outbox(&repo).await;
    assert_eq!(before.len(), 7);

    // Events for every asked id (one of them twice) and for a live customer not asked; only
    // those of `first` and `second` are stored, in the given order.
    let by = UserId::new();
    let at = T0 + Duration::days(2);
    let for_second_too = EventEnvelope::new(
        &second,
        by,
        at,
        CustomerEvent::StatusChanged {
            previous_status: second.status,
            new_status: CustomerStatus::Churned,
            changed_by: by,
            reason: Some("удалён".into()),
        },
    );
    let events = vec![
        deleted(&missing, by, at),
        deleted(&second, by, at),
        deleted(&sibling, by, at),
        deleted(&bystander, by, at),
        deleted(&gone, by, at),
        deleted(&first, by, at),
        deleted(&stranger, by, at),
        for_second_too.clone(),
    ];
    let asked = [missing.id, sibling.id, first.id, stranger.id, gone.id, second.id];
    assert_eq!(
        repo.soft_delete(scope, &asked, at, by, &events).await.unwrap(),
        vec![first.id, second.id]
    );
    assert_outbox(
        &repo,
        &before,
        &[events[1].clone(), events[5].clone(), for_second_too],
        "soft delete",
    )
    .await;
    for customer in [&bystander, &sibling, &stranger] {
        assert_eq!(get(&repo, customer).await, Some(customer.clone()), "{}", customer.name);
    }

    // Deleting again deletes nothing and stores nothing.
    let before = outbox(&repo).await;
    let again = T0 + Duration::days(3);
    assert_eq!(
        repo.soft_delete(scope, &[first.id], again, by, &[deleted(&first, by, again)])
            .await
            .unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_outbox(&repo, &before, &[], "soft delete of a deleted customer").await;
}

/// Events of one customer are stored in the order of its versions, by `seq`: written one
/// after the other, and by writers racing with retries.
async fn events_of_one_customer_are_in_version_order_by_seq(repo: SeaRepository) {
    let scope = new_scope();
    let v1 = stored_customer(&repo, scope).await;
    // A neighbour written meanwhile, whose events interleave.
    let neighbour = build(scope, company("Neighbour LLP", "neighbour@alpha.kz"));
    insert(&repo, &neighbour).await;
    let write = |repo: SeaRepository, current: Customer| async move {
        let mut next = next_version(&current, 1);
        next.name = format!("Версия {}", next.version);
        let events = vec![updated(&current, &next)];
        let result = repo.update(&next, current.version, false, false, &events).await;
        (next, events, result)
    };

    // Ten updates one after the other, a neighbour update in between each.
    let mut current = v1.clone();
    let mut other = neighbour.clone();
    for _ in 0..10 {
        let (next, _, result) = write(repo.clone(), current.clone()).await;
        result.unwrap();
        current = next;
        let (next, _, result) = write(repo.clone(), other.clone()).await;
        result.unwrap();
        other = next;
    }

    // Four writers racing, five successful updates each, retrying on conflicts.
    let barrier = Arc::new(Barrier::new(4));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (repo, barrier, id) = (repo.clone(), barrier.clone(), v1.id);
        writers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut won = 0;
            let mut conflicts = 0;
            while won < 5 {
                let current = repo.get(scope, id).await.unwrap().unwrap();
                let (_, _, result) = write(repo.clone(), current).await;
                match result {
                    Ok(()) => won += 1,
                    Err(RepositoryError::VersionConflict) => conflicts += 1,
                    Err(other) => panic!("racing update: expected Ok or VersionConflict, got {other:?}"),
                }
            }
            conflicts
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let last = get(&repo, &v1).await.unwrap();
    assert_eq!(last.version, 31);

    // The customer's events by seq: created, then one update per version, 2 to 31.
    let rows: Vec<OutboxRow> = outbox(&repo)
        .await
        .into_iter()
        .map(|(_, row)| row)
        .filter(|row| row.customer_id == v1.id.into_uuid())
        .collect();
    let names: Vec<String> = rows
        .iter()
        .skip(1)
        .map(|row| row.payload["changes"]["name"]["new"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (2..=31).map(|v| format!("Версия {v}")).collect();
    assert_eq!(rows[0].event_type, "customer.created");
    assert_eq!(names, expected, "update events of the customer in seq order");
    // Each event's old name is the previous version's: no event of a refused write.
    let olds: Vec<&str> = rows
        .iter()
        .skip(2)
        .map(|row| row.payload["changes"]["name"]["old"].as_str().unwrap())
        .collect();
    assert_eq!(olds, expected[..29].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        count_where(&repo, "customer_events", "customer_id", neighbour.id.into_uuid()).await,
        11
    );

    // Racing deletes, then racing restores, each with its own event: only the winner's is
    // stored, after the last update.
    let before = outbox(&repo).await;
    let at = T0 + Duration::days(1);
    let barrier = Arc::new(Barrier::new(4));
    let mut deleters = Vec::new();
    for _ in 0..4 {
        let (repo, barrier, last) = (repo.clone(), barrier.clone(), last.clone());
        deleters.push(tokio::spawn(async move {
            let by = UserId::new();
            let event = deleted(&last, by, at);
            barrier.wait().await;
            let result = repo
                .soft_delete(scope, &[last.id], at, by, std::slice::from_ref(&event))
                .await;
            (event, result.unwrap())
        }));
    }
    let mut winners = Vec::new();
    for deleter in deleters {
        let (event, deleted_ids) = deleter.await.unwrap();
        match deleted_ids.as_slice() {
            [id] if *id == v1.id => winners.push(event),
            [] => {}
            other => panic!("racing delete deleted {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "racing deletes: {winners:?}");
    let barrier = Arc::new(Barrier::new(4));
    let mut restorers = Vec::new();
    for i in 0..4 {
        let (repo, barrier) = (repo.clone(), barrier.clone());
        let back = restored(&last, T0 + Duration::days(2) + Duration::microseconds(i));
        restorers.push(tokio::spawn(async move {
            let event = restored_event(&back);
            barrier.wait().await;
            let result = repo.restore(&back, std::slice::from_ref(&event)).await;
            (event, result)
        }));
    }
    for restorer in restorers {
        match restorer.await.unwrap() {
            (event, Ok(())) => winners.push(event),
            (_, Err(RepositoryError::NotFound)) => {}
            (_, other) => panic!("racing restore: expected Ok or NotFound, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 2, "racing restores: {winners:?}");
    assert_outbox(&repo, &before, &winners, "racing deletes and restores").await;
}

// ---------------------------------------------------------------------------------------------
// 11. Inbound events: the read model of other modules' events (`InboundStore`)
// ---------------------------------------------------------------------------------------------

conformance!(
    inbound_order_completed_sets_the_metrics_and_writes_its_events,
    inbound_event_ids_and_order_ids_count_once,
    inbound_cancellations_and_refunds_take_orders_out_of_the_metrics,
    inbound_won_deal_converts_a_lead_once_and_leaves_the_totals,
    inbound_invoices_and_payments_move_the_balance_in_any_order,
    inbound_events_of_unknown_customers_record_nothing,
    inbound_concurrent_orders_of_one_customer_lose_no_update,
    inbound_merge_moves_orders_deals_and_invoices_to_the_primary,
    inbound_purge_removes_the_read_model_with_the_customer,
    inbound_dead_letters_are_listed_per_scope_newest_first_verbatim,
    inbound_activity_and_timeline_show_every_kind_newest_first,
    inbound_cancellation_racing_its_completion_never_counts_the_order,
    inbound_events_without_effect_months_later_change_nothing,
    inbound_orders_of_a_customer_and_baskets_bought_together,
);

use customers_domain::events::EventCause;
use customers_domain::integration::timeline::{Activity, TimelineFilter, timeline};
use customers_domain::integration::{
    Channel, CompletedOrder, DeadLetter, InboundEnvelope, InboundEvent, InboundOutcome, OrderItem, OrderStatus,
    Purchase, parse_inbound,
};
use customers_domain::lifecycle::ltv::lifetime_value;
use customers_domain::ports::InboundStore;

/// [`T0`] in UTC, as other modules' events carry their times after parsing and as the stores
/// give them back (the diffs of `customer.updated` serialize the offset).
const U0: OffsetDateTime = datetime!(2026-11-25 05:11:12.123456 UTC);

/// When the reported thing happened.
fn when(event: &InboundEvent) -> OffsetDateTime {
    match event {
        InboundEvent::OrderCompleted(order) => order.completed_at,
        InboundEvent::OrderReversed { at, .. } => *at,
        InboundEvent::DealWon { won_at, .. } => *won_at,
        InboundEvent::InvoiceIssued { issued_at, .. } => *issued_at,
        InboundEvent::InvoicePaid { paid_at, .. } => *paid_at,
    }
}

/// `event` under a new event id, in `scope`, naming `customer` (or no one).
fn inbound_in(scope: Scope, customer: Option<CustomerId>, event: InboundEvent) -> InboundEnvelope {
    InboundEnvelope {
        event_id: Uuid::now_v7(),
        version: 1,
        occurred_at: when(&event),
        organization_id: scope.organization_id,
        workspace_id: scope.workspace_id,
        customer_id: customer,
        actor: None,
        event,
    }
}

/// `event` under a new event id, naming `customer` in its scope.
fn inbound(customer: &Customer, event: InboundEvent) -> InboundEnvelope {
    inbound_in(customer.scope(), Some(customer.id), event)
}

/// The same event under a new event id (a producer re-sending it).
fn resent(event: &InboundEnvelope) -> InboundEnvelope {
    InboundEnvelope {
        event_id: Uuid::now_v7(),
        ..event.clone()
    }
}

/// Two lines summing to `amount` (which must be at least 1.00).
fn order_items(amount: &str) -> Vec<OrderItem> {
    let total = dec(amount);
    vec![
        OrderItem {
            product_id: "TEA-1".into(),
            product_name: "Чай «Пиала» зелёный".into(),
            category: Some("Напитки".into()),
            quantity: dec("2.5"),
            amount: money("1.00"),
            cost: Some(money("0.40")),
        },
        OrderItem {
            product_id: "SVC-9".into(),
            product_name: "Доставка по Алматы".into(),
            category: None,
            quantity: dec("1"),
            amount: Money::parse(total - Decimal::ONE).unwrap(),
            cost: None,
        },
    ]
}

fn order(order_id: &str, amount: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::OrderCompleted(CompletedOrder {
        order_id: order_id.into(),
        total_amount: money(amount),
        completed_at: at,
        items: order_items(amount),
    })
}

fn cancelled(order_id: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::OrderReversed {
        order_id: order_id.into(),
        refunded: false,
        at,
    }
}

fn refunded(order_id: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::OrderReversed {
        order_id: order_id.into(),
        refunded: true,
        at,
    }
}

fn deal_won(deal_id: &str, amount: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::DealWon {
        deal_id: deal_id.into(),
        amount: money(amount),
        won_at: at,
    }
}

fn invoice_issued(invoice_id: &str, amount: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::InvoiceIssued {
        invoice_id: invoice_id.into(),
        amount: money(amount),
        issued_at: at,
    }
}

fn invoice_paid(invoice_id: &str, amount: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::InvoicePaid {
        invoice_id: invoice_id.into(),
        amount: money(amount),
        paid_at: at,
    }
}

async fn apply(repo: &SeaRepository, event: &InboundEnvelope, now: OffsetDateTime) -> InboundOutcome {
    repo.apply_inbound(event, now)
        .await
        .unwrap_or_else(|e| panic!("apply_inbound of {} failed: {e}", event.type_name()))
}

/// The customer of an `Applied(Some(_))` outcome.
fn changed(outcome: InboundOutcome, what: &str) -> Customer {
    match outcome {
        InboundOutcome::Applied(Some(customer)) => *customer,
        other => panic!("{what}: expected Applied(Some(customer)), got {other:?}"),
    }
}

/// The live customer as stored now.
async fn current(repo: &SeaRepository, customer: &Customer) -> Customer {
    get(repo, customer)
        .await
        .unwrap_or_else(|| panic!("{} is not live", customer.name))
}

/// The events of a live customer, in the order written.
async fn events_of(repo: &SeaRepository, customer: &Customer) -> Vec<EventEnvelope> {
    repo.events_of(customer.scope(), customer.id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} has no events: not live", customer.name))
}

fn type_names(events: &[EventEnvelope]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.type_name()).collect()
}

/// Every order of a live customer (newest first), after checking the total.
async fn purchases_of(repo: &SeaRepository, customer: &Customer) -> Vec<Purchase> {
    let page = repo
        .purchases(customer.scope(), customer.id, 1, 1000)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} has no purchases: not live", customer.name));
    assert_eq!(
        page.total,
        page.items.len() as u64,
        "purchases total of {}",
        customer.name
    );
    page.items
}

/// Rows of the read-model tables, each counted in full.
async fn read_model_rows(repo: &SeaRepository) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "inbound_events",
        "customer_orders",
        "customer_deals",
        "customer_invoice_entries",
    ] {
        out.push((table, count_all(repo, table).await));
    }
    out
}

/// Rows of the read-model tables that belong to `customer`.
async fn read_model_of(repo: &SeaRepository, customer: CustomerId) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in ["customer_orders", "customer_deals", "customer_invoice_entries"] {
        out.push((table, count_rows(repo, table, customer).await));
    }
    out
}

/// `current` with its purchase metrics set as an order event applied at `now` sets them: the
/// lifetime value recomputed by the domain rule, next version, stamped `now`.
fn with_purchases(
    current: &Customer,
    total: &str,
    count: i32,
    first: Option<OffsetDateTime>,
    last: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Customer {
    let mut next = current.clone();
    next.total_purchases = money(total);
    next.purchase_count = count;
    next.first_purchase_date = first;
    next.last_purchase_date = last;
    next.lifetime_value = lifetime_value(
        next.total_purchases,
        count,
        first,
        next.created_at,
        next.status,
        next.rating,
        now,
    );
    next.version = current.version + 1;
    next.updated_at = now;
    next
}

/// `current` with its balance moved to `balance` at `now`.
fn with_balance(current: &Customer, balance: &str, now: OffsetDateTime) -> Customer {
    let mut next = current.clone();
    next.current_balance = money(balance);
    next.version = current.version + 1;
    next.updated_at = now;
    next
}

/// The `customer.metrics.updated` event `customer` (as stored after `cause`) must be told with.
fn metrics_event(customer: &Customer, cause: &InboundEnvelope) -> CustomerEvent {
    CustomerEvent::MetricsUpdated {
        total_purchases: customer.total_purchases,
        purchase_count: customer.purchase_count,
        lifetime_value: customer.lifetime_value,
        first_purchase_date: customer.first_purchase_date,
        last_purchase_date: customer.last_purchase_date,
        current_balance: customer.current_balance,
        cause: cause_of(cause),
    }
}

fn cause_of(event: &InboundEnvelope) -> EventCause {
    EventCause {
        event_id: event.event_id,
        event_type: event.type_name().to_owned(),
    }
}

/// Applies an event that must change `before` into exactly `expected`, and checks that the
/// store agrees and that exactly the events `types` were appended (a `customer.updated` with
/// the diff and the cause first, `customer.metrics.updated` with the new metrics last when
/// named).
async fn apply_expecting(
    repo: &SeaRepository,
    event: &InboundEnvelope,
    now: OffsetDateTime,
    before: &Customer,
    expected: &Customer,
    types: &[&str],
) {
    let what = format!("{} {}", event.type_name(), event.event_id);
    let written = events_of(repo, before).await.len();
    let next = changed(apply(repo, event, now).await, &what);
    assert_eq!(&next, expected, "{what}: the customer returned");
    assert_eq!(&current(repo, before).await, expected, "{what}: the customer stored");
    let events = events_of(repo, before).await;
    let new = &events[written.min(events.len())..];
    assert_eq!(type_names(new), types, "{what}: events appended");
    let nil = UserId::from(Uuid::nil());
    let actor = event.actor.unwrap_or(nil);
    for e in new {
        assert_eq!(
            (e.customer_id, e.organization_id, e.workspace_id, e.actor, e.occurred_at),
            (expected.id, expected.organization_id, expected.workspace_id, actor, now),
            "{what}: envelope of {}",
            e.event.type_name()
        );
    }
    assert_eq!(
        new[0].event,
        CustomerEvent::Updated {
            changes: diff(before, expected),
            updated_by: actor,
            cause: Some(cause_of(event)),
        },
        "{what}: customer.updated"
    );
    if types.last() == Some(&"customer.metrics.updated") {
        assert_eq!(
            new[new.len() - 1].event,
            metrics_event(expected, event),
            "{what}: customer.metrics.updated"
        );
    }
}

/// Applies an event that must be recorded without changing the customer or writing an event.
async fn apply_without_effect(repo: &SeaRepository, event: &InboundEnvelope, now: OffsetDateTime, customer: &Customer) {
    let what = format!("{} {}", event.type_name(), event.event_id);
    let before = current(repo, customer).await;
    let events = events_of(repo, customer).await.len();
    let keys = count_all(repo, "inbound_events").await;
    assert_eq!(apply(repo, event, now).await, InboundOutcome::Applied(None), "{what}");
    assert_eq!(current(repo, customer).await, before, "{what}: the customer");
    assert_eq!(events_of(repo, customer).await.len(), events, "{what}: events");
    assert_eq!(count_all(repo, "inbound_events").await, keys + 1, "{what}: its key");
}

async fn inbound_order_completed_sets_the_metrics_and_writes_its_events(repo: SeaRepository) {
    let scope = new_scope();
    let customer = stored_customer(&repo, scope).await;
    let completed_at = U0 + Duration::days(1);
    let now = U0 + Duration::days(2);
    let mut event = inbound(&customer, order("ORD-1", "1500.50", completed_at));
    let actor = UserId::new();
    event.actor = Some(actor);

    let next = changed(apply(&repo, &event, now).await, "order.completed");
    let ltv = lifetime_value(
        money("1500.50"),
        1,
        Some(completed_at),
        customer.created_at,
        customer.status,
        customer.rating,
        now,
    );
    // 1500.50 per order × 1 order a month × 3 months (a LEAD rated 5).
    assert_eq!(ltv.to_string(), "4501.50");
    assert_eq!(next.total_purchases.to_string(), "1500.50");
    assert_eq!(next.purchase_count, 1);
    assert_eq!(next.first_purchase_date, Some(completed_at));
    assert_eq!(next.last_purchase_date, Some(completed_at));
    assert_eq!(next.lifetime_value, ltv);
    assert_eq!(next.version, customer.version + 1);
    assert_eq!(next.updated_at, now);
    // Nothing else moved: contacts, addresses, tags, status, balance are as they were.
    let expected = with_purchases(&customer, "1500.50", 1, Some(completed_at), Some(completed_at), now);
    assert_eq!(next, expected);
    let stored = current(&repo, &customer).await;
    assert_eq!(stored, expected);
    assert_eq!(stored.contacts.len(), 2);
    assert_eq!(stored.total_purchases.to_string(), "1500.50");

    let events = events_of(&repo, &customer).await;
    assert_eq!(
        type_names(&events),
        ["customer.created", "customer.updated", "customer.metrics.updated"]
    );
    for e in &events[1..] {
        assert_eq!((e.actor, e.occurred_at, e.customer_id), (actor, now, customer.id));
    }
    let CustomerEvent::Updated {
        changes,
        updated_by,
        cause,
    } = &events[1].event
    else {
        panic!("not an update: {:?}", events[1].event)
    };
    assert_eq!(
        changes.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "firstPurchaseDate",
            "lastPurchaseDate",
            "lifetimeValue",
            "purchaseCount",
            "totalPurchases"
        ]
    );
    assert_eq!(changes, &diff(&customer, &expected));
    assert_eq!(*updated_by, actor);
    assert_eq!(
        cause.as_ref(),
        Some(&EventCause {
            event_id: event.event_id,
            event_type: "order.completed".into()
        })
    );
    assert_eq!(events[2].event, metrics_event(&expected, &event));
    let CustomerEvent::MetricsUpdated { current_balance, .. } = &events[2].event else {
        unreachable!()
    };
    assert_eq!(current_balance.to_string(), "0.00");

    // The event id is kept, and the order with its lines.
    assert_eq!(
        count_where(&repo, "inbound_events", "event_id", event.event_id).await,
        1
    );
    assert_eq!(
        purchases_of(&repo, &customer).await,
        vec![Purchase {
            order_id: "ORD-1".into(),
            status: OrderStatus::Completed,
            total_amount: money("1500.50"),
            completed_at,
            reversed_at: None,
            items: order_items("1500.50"),
        }]
    );
}

async fn inbound_event_ids_and_order_ids_count_once(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, individual("Айгуль Серикова", "aigul@example.kz"));
    insert(&repo, &customer).await;
    let completed_at = U0 + Duration::days(1);
    let now = U0 + Duration::days(2);
    let event = inbound(&customer, order("ORD-1", "1500.50", completed_at));
    let expected = with_purchases(&customer, "1500.50", 1, Some(completed_at), Some(completed_at), now);
    apply_expecting(
        &repo,
        &event,
        now,
        &customer,
        &expected,
        &["customer.updated", "customer.metrics.updated"],
    )
    .await;
    let events = outbox(&repo).await;
    let rows = dump(&repo).await;
    let read_model = read_model_rows(&repo).await;
    assert_eq!(
        read_model,
        [
            ("inbound_events", 1),
            ("customer_orders", 1),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );

    // The same event id again, later: a duplicate, nothing changes.
    for later in [now, now + Duration::hours(1)] {
        assert_eq!(apply(&repo, &event, later).await, InboundOutcome::Duplicate);
        assert_nothing_written(&repo, &events, &rows, "duplicate delivery").await;
        assert_eq!(read_model_rows(&repo).await, read_model, "duplicate delivery");
        assert_eq!(current(&repo, &customer).await, expected, "duplicate delivery");
    }

    // The same order under a new event id (even with another amount): recorded, not counted.
    let mut again = resent(&event);
    again.event = order("ORD-1", "999.00", completed_at + Duration::hours(5));
    apply_without_effect(&repo, &again, now + Duration::hours(2), &customer).await;
    assert_eq!(outbox(&repo).await, events);
    assert_eq!(current(&repo, &customer).await, expected);
    assert_eq!(count_all(&repo, "customer_orders").await, 1);
    let purchases = purchases_of(&repo, &customer).await;
    assert_eq!(purchases.len(), 1);
    assert_eq!(
        (purchases[0].total_amount, purchases[0].completed_at),
        (money("1500.50"), completed_at),
        "a completed order is never rewritten"
    );
    assert_eq!(apply(&repo, &again, now).await, InboundOutcome::Duplicate);
    assert_eq!(
        read_model_rows(&repo).await,
        [
            ("inbound_events", 2),
            ("customer_orders", 1),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );

    // Event ids are per organization: the same id in another one is another event.
    let stranger = build(new_scope(), individual("Other Org", "aigul@example.kz"));
    insert(&repo, &stranger).await;
    let mut elsewhere = inbound(&stranger, order("ORD-1", "10.00", completed_at));
    elsewhere.event_id = event.event_id;
    let next = changed(apply(&repo, &elsewhere, now).await, "same event id, other organization");
    assert_eq!((next.purchase_count, next.total_purchases), (1, money("10.00")));
    assert_eq!(current(&repo, &customer).await, expected);
}

async fn inbound_cancellations_and_refunds_take_orders_out_of_the_metrics(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, individual("Бекзат Ким", "bekzat@example.kz"));
    insert(&repo, &customer).await;
    let day = |n: i64| U0 + Duration::days(n);
    let both = ["customer.updated", "customer.metrics.updated"];

    // Completed, then cancelled by an event naming only the order.
    let v1 = customer.clone();
    let v2 = with_purchases(&v1, "500.00", 1, Some(day(1)), Some(day(1)), day(1));
    apply_expecting(
        &repo,
        &inbound(&v1, order("ORD-1", "500.00", day(1))),
        day(1),
        &v1,
        &v2,
        &both,
    )
    .await;
    let cancel = inbound_in(scope, None, cancelled("ORD-1", day(2)));
    let v3 = with_purchases(&v2, "0", 0, None, None, day(2));
    apply_expecting(&repo, &cancel, day(2), &v2, &v3, &both).await;
    assert_eq!(v3.lifetime_value, money("0"));
    assert_eq!(current(&repo, &customer).await.total_purchases.to_string(), "0.00");

    // Completed, then refunded by an event naming the customer.
    let v4 = with_purchases(&v3, "700.00", 1, Some(day(3)), Some(day(3)), day(3));
    apply_expecting(
        &repo,
        &inbound(&v3, order("ORD-2", "700.00", day(3))),
        day(3),
        &v3,
        &v4,
        &both,
    )
    .await;
    let v5 = with_purchases(&v4, "0", 0, None, None, day(4));
    apply_expecting(&repo, &inbound(&v4, refunded("ORD-2", day(4))), day(4), &v4, &v5, &both).await;
    assert_eq!(
        purchases_of(&repo, &customer).await,
        vec![
            Purchase {
                order_id: "ORD-2".into(),
                status: OrderStatus::Refunded,
                total_amount: money("700.00"),
                completed_at: day(3),
                reversed_at: Some(day(4)),
                items: order_items("700.00"),
            },
            Purchase {
                order_id: "ORD-1".into(),
                status: OrderStatus::Cancelled,
                total_amount: money("500.00"),
                completed_at: day(1),
                reversed_at: Some(day(2)),
                items: order_items("500.00"),
            },
        ]
    );

    // A reversal of a reversed order, or the order again: no effect, the first reversal stays.
    apply_without_effect(&repo, &resent(&cancel), day(5), &customer).await;
    apply_without_effect(&repo, &inbound(&v5, refunded("ORD-1", day(5))), day(5), &customer).await;
    apply_without_effect(
        &repo,
        &inbound(&v5, order("ORD-1", "500.00", day(1))),
        day(5),
        &customer,
    )
    .await;
    let ord1 = purchases_of(&repo, &customer).await.pop().unwrap();
    assert_eq!((ord1.status, ord1.reversed_at), (OrderStatus::Cancelled, Some(day(2))));

    // A cancellation before its order (read from the wire, naming only the order): recorded
    // against the order, so that the order never counts when it arrives.
    let early = parse_inbound(&json!({
        "eventId": Uuid::now_v7().to_string(),
        "type": "order.cancelled",
        "occurredAt": "2026-12-01T10:00:00.123456+05:00",
        "organizationId": scope.organization_id.into_uuid().to_string(),
        "workspaceId": scope.workspace_id.into_uuid().to_string(),
        "payload": {"orderId": "ORD-3"}
    }))
    .unwrap();
    assert_eq!(early.customer_id, None);
    let cancelled_at = datetime!(2026-12-01 05:00:00.123456 UTC);
    apply_without_effect(&repo, &early, day(6), &customer).await;
    assert_eq!(
        count_where(&repo, "inbound_events", "event_id", early.event_id).await,
        1
    );
    let order3 = parse_inbound(&json!({
        "eventId": Uuid::now_v7().to_string(),
        "type": "order.completed",
        "occurredAt": "2026-11-30T12:00:00Z",
        "organizationId": scope.organization_id.into_uuid().to_string(),
        "workspaceId": scope.workspace_id.into_uuid().to_string(),
        "customerId": customer.id.into_uuid().to_string(),
        "payload": {
            "orderId": "ORD-3",
            "totalAmount": "300.00",
            "completedAt": "2026-11-30T12:00:00Z",
            "items": [
                {"productId": "TEA-1", "productName": "Чай «Пиала» зелёный", "category": "Напитки",
                 "quantity": "2.5", "amount": "1.00", "cost": "0.40"},
                {"productId": "SVC-9", "productName": "Доставка по Алматы", "quantity": 1, "amount": "299.00"}
            ]
        }
    }))
    .unwrap();
    apply_without_effect(&repo, &order3, day(7), &customer).await;
    let stored = current(&repo, &customer).await;
    assert_eq!(stored, v5, "the order cancelled first never counts");
    assert_eq!((stored.purchase_count, stored.total_purchases), (0, money("0")));
    assert_eq!(
        purchases_of(&repo, &customer).await[0],
        Purchase {
            order_id: "ORD-3".into(),
            status: OrderStatus::Cancelled,
            total_amount: money("300.00"),
            completed_at: datetime!(2026-11-30 12:00 UTC),
            reversed_at: Some(cancelled_at),
            items: order_items("300.00"),
        }
    );
    assert_eq!(purchases_of(&repo, &customer).await.len(), 3);
}

async fn inbound_won_deal_converts_a_lead_once_and_leaves_the_totals(repo: SeaRepository) {
    let scope = new_scope();
    let lead = build(scope, company("ТОО «Лид»", "lead@example.kz"));
    assert_eq!(lead.status, CustomerStatus::Lead);
    insert(&repo, &lead).await;
    let day = |n: i64| U0 + Duration::days(n);
    let v2 = with_purchases(&lead, "1000.00", 1, Some(day(1)), Some(day(1)), day(1));
    apply_expecting(
        &repo,
        &inbound(&lead, order("ORD-1", "1000.00", day(1))),
        day(1),
        &lead,
        &v2,
        &["customer.updated", "customer.metrics.updated"],
    )
    .await;

    // Won: ACTIVE, converted when the deal was won; the totals stay what the orders say, the lifetime value
    // follows the new status (1000 a month × 24 months).
    let won_at = day(2);
    let now = day(2) + Duration::minutes(1);
    let mut deal = inbound(&v2, deal_won("D-1", "5000000.00", won_at));
    deal.actor = Some(UserId::new());
    let mut v3 = v2.clone();
    v3.status = CustomerStatus::Active;
    v3.converted_at = Some(won_at);
    v3.lifetime_value = lifetime_value(
        v3.total_purchases,
        v3.purchase_count,
        v3.first_purchase_date,
        v3.created_at,
        CustomerStatus::Active,
        v3.rating,
        now,
    );
    assert_eq!(v3.lifetime_value.to_string(), "24000.00");
    v3.version = v2.version + 1;
    v3.updated_at = now;
    apply_expecting(
        &repo,
        &deal,
        now,
        &v2,
        &v3,
        &[
            "customer.updated",
            "customer.status.changed",
            "customer.lead.converted",
            "customer.metrics.updated",
        ],
    )
    .await;
    let stored = current(&repo, &lead).await;
    assert_eq!(
        (stored.total_purchases, stored.purchase_count, stored.converted_at),
        (money("1000.00"), 1, Some(won_at))
    );
    let events = events_of(&repo, &lead).await;
    let actor = deal.actor.unwrap();
    assert_eq!(
        events[events.len() - 3].event,
        CustomerEvent::StatusChanged {
            previous_status: CustomerStatus::Lead,
            new_status: CustomerStatus::Active,
            changed_by: actor,
            reason: Some("deal.won D-1".into()),
        }
    );
    assert_eq!(
        events[events.len() - 2].event,
        CustomerEvent::LeadConverted {
            previous_status: CustomerStatus::Lead,
            new_status: CustomerStatus::Active,
            converted_by: actor,
        }
    );
    assert_eq!(count_rows(&repo, "customer_deals", lead.id).await, 1);

    // The same deal under a new event id: no change.
    let mut again = resent(&deal);
    again.event = deal_won("D-1", "1.00", day(3));
    apply_without_effect(&repo, &again, day(3), &lead).await;
    assert_eq!(count_rows(&repo, "customer_deals", lead.id).await, 1);

    // A deal won by an ACTIVE customer: kept, nothing else changes.
    let active = build(
        scope,
        CustomerDraft {
            status: Some(CustomerStatus::Active),
            ..company("ТОО «Актив»", "active@example.kz")
        },
    );
    insert(&repo, &active).await;
    apply_without_effect(
        &repo,
        &inbound(&active, deal_won("D-2", "700.00", day(4))),
        day(4),
        &active,
    )
    .await;
    let stored = current(&repo, &active).await;
    assert_eq!(stored, active);
    assert_eq!(
        (
            stored.status,
            stored.converted_at,
            stored.total_purchases,
            stored.purchase_count
        ),
        (CustomerStatus::Active, None, money("0"), 0)
    );
    assert_eq!(count_rows(&repo, "customer_deals", active.id).await, 1);
    assert_eq!(type_names(&events_of(&repo, &active).await), ["customer.created"]);
}

async fn inbound_invoices_and_payments_move_the_balance_in_any_order(repo: SeaRepository) {
    let scope = new_scope();
    let day = |n: i64| U0 + Duration::days(n);
    let both = ["customer.updated", "customer.metrics.updated"];

    // Issued, then paid in two parts.
    let a = build(scope, company("ТОО «Счёт»", "invoice@example.kz"));
    insert(&repo, &a).await;
    assert_eq!(a.current_balance, money("0"));
    let mut before = a.clone();
    let mut balances = Vec::new();
    for (n, (event, balance)) in [
        (invoice_issued("INV-1", "1000.00", day(1)), "1000.00"),
        (invoice_paid("INV-1", "400.00", day(2)), "600.00"),
        (invoice_paid("INV-1", "600.00", day(3)), "0.00"),
    ]
    .into_iter()
    .enumerate()
    {
        let now = day(n as i64 + 1) + Duration::minutes(1);
        let next = with_balance(&before, balance, now);
        apply_expecting(&repo, &inbound(&before, event), now, &before, &next, &both).await;
        let stored = current(&repo, &a).await;
        balances.push(stored.current_balance.to_string());
        before = next;
    }
    assert_eq!(balances, ["1000.00", "600.00", "0.00"]);

    // The same invoice issued again under a new event id (another amount even): ignored.
    apply_without_effect(
        &repo,
        &inbound(&a, invoice_issued("INV-1", "5000.00", day(4))),
        day(4),
        &a,
    )
    .await;
    assert_eq!(current(&repo, &a).await.current_balance.to_string(), "0.00");
    assert_eq!(count_rows(&repo, "customer_invoice_entries", a.id).await, 3);

    // Paid before issued (out of order): the same end balance.
    let b = build(scope, company("ТОО «Наоборот»", "reverse@example.kz"));
    insert(&repo, &b).await;
    let mut before = b.clone();
    let mut balances = Vec::new();
    for (n, (event, balance)) in [
        (invoice_paid("INV-2", "400.00", day(2)), "-400.00"),
        (invoice_paid("INV-2", "600.00", day(3)), "-1000.00"),
        (invoice_issued("INV-2", "1000.00", day(1)), "0.00"),
    ]
    .into_iter()
    .enumerate()
    {
        let now = day(n as i64 + 1) + Duration::minutes(1);
        let next = with_balance(&before, balance, now);
        let event = inbound(&before, event);
        apply_expecting(&repo, &event, now, &before, &next, &both).await;
        balances.push(current(&repo, &b).await.current_balance.to_string());
        // A payment delivered twice counts once.
        assert_eq!(apply(&repo, &event, now).await, InboundOutcome::Duplicate);
        before = next;
    }
    assert_eq!(balances, ["-400.00", "-1000.00", "0.00"]);
    assert_eq!(current(&repo, &b).await, before);
    // Two equal payments of one invoice (two event ids) are two payments.
    let half = with_balance(&before, "-50.00", day(5));
    let payment = inbound(&b, invoice_paid("INV-2", "50.00", day(5)));
    apply_expecting(&repo, &payment, day(5), &before, &half, &both).await;
    let full = with_balance(&half, "-100.00", day(5));
    apply_expecting(&repo, &resent(&payment), day(5), &half, &full, &both).await;
    assert_eq!(current(&repo, &b).await.current_balance.to_string(), "-100.00");
    // The totals never moved.
    let stored = current(&repo, &b).await;
    assert_eq!((stored.total_purchases, stored.purchase_count), (money("0"), 0));
}

async fn inbound_events_of_unknown_customers_record_nothing(repo: SeaRepository) {
    let scope = new_scope();
    let now = U0 + Duration::days(2);
    let day1 = U0 + Duration::days(1);
    let unknown = |repo: SeaRepository, event: InboundEnvelope, what: String| async move {
        let (events, rows, read_model) = (outbox(&repo).await, dump(&repo).await, read_model_rows(&repo).await);
        assert_eq!(
            apply(&repo, &event, now).await,
            InboundOutcome::UnknownCustomer,
            "{what}"
        );
        assert_nothing_written(&repo, &events, &rows, &what).await;
        assert_eq!(read_model_rows(&repo).await, read_model, "{what}: read model");
    };

    // A customer that does not exist (yet): every kind of event.
    let ghost = build(scope, individual("Призрак", "ghost@example.kz"));
    let events = [
        inbound(&ghost, order("ORD-G", "100.00", day1)),
        inbound(&ghost, deal_won("D-G", "100.00", day1)),
        inbound(&ghost, invoice_issued("INV-G", "100.00", day1)),
        inbound(&ghost, invoice_paid("INV-G", "40.00", day1)),
        inbound(&ghost, cancelled("ORD-X", day1)),
    ];
    for event in &events {
        unknown(
            repo.clone(),
            event.clone(),
            format!("unknown customer, {}", event.type_name()),
        )
        .await;
    }
    assert_eq!(
        read_model_rows(&repo).await,
        [
            ("inbound_events", 0),
            ("customer_orders", 0),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );
    // Once it exists (under that id), the same deliveries apply.
    insert(&repo, &ghost).await;
    let next = changed(apply(&repo, &events[0], now).await, "order after the customer came");
    assert_eq!((next.purchase_count, next.total_purchases), (1, money("100.00")));
    let next = changed(apply(&repo, &events[1], now).await, "deal after the customer came");
    assert_eq!(next.status, CustomerStatus::Active);
    let next = changed(apply(&repo, &events[2], now).await, "invoice after the customer came");
    assert_eq!(next.current_balance, money("100.00"));
    let next = changed(apply(&repo, &events[3], now).await, "payment after the customer came");
    assert_eq!(next.current_balance, money("60.00"));
    // The reversal named an order nobody knows: recorded against the order.
    assert_eq!(apply(&repo, &events[4], now).await, InboundOutcome::Applied(None));
    for event in &events {
        assert_eq!(apply(&repo, event, now).await, InboundOutcome::Duplicate);
    }

    // A customer of another workspace or organization is unknown.
    let other = build(
        Scope::new(scope.organization_id, WorkspaceId::new()),
        individual("Соседка", "neighbour@example.kz"),
    );
    insert(&repo, &other).await;
    let wrong_workspace = inbound_in(scope, Some(other.id), order("ORD-W", "100.00", day1));
    unknown(repo.clone(), wrong_workspace.clone(), "other workspace".into()).await;
    let wrong_org = inbound_in(
        Scope::new(OrganizationId::new(), other.workspace_id),
        Some(other.id),
        order("ORD-W", "100.00", day1),
    );
    unknown(repo.clone(), wrong_org, "other organization".into()).await;
    // Order ids are per workspace: a reversal of "ORD-O" from this workspace is about this
    // workspace's ORD-O (not known yet), never the other workspace's order.
    let others_order = inbound(&other, order("ORD-O", "100.00", day1));
    changed(apply(&repo, &others_order, now).await, "order of the other workspace");
    assert_eq!(
        apply(&repo, &inbound_in(scope, None, cancelled("ORD-O", day1)), now).await,
        InboundOutcome::Applied(None)
    );
    assert_eq!(current(&repo, &other).await.purchase_count, 1);

    // A soft-deleted customer is unknown, also through a reversal naming only its order.
    let gone = build(scope, individual("Удалённый", "deleted@example.kz"));
    insert(&repo, &gone).await;
    changed(
        apply(&repo, &inbound(&gone, order("ORD-D1", "100.00", day1)), now).await,
        "order before the deletion",
    );
    let gone = current(&repo, &gone).await;
    soft_delete(&repo, &gone, now).await;
    let while_deleted = [
        inbound(&gone, order("ORD-D2", "200.00", day1)),
        inbound(&gone, deal_won("D-D", "100.00", day1)),
        inbound(&gone, invoice_issued("INV-D", "100.00", day1)),
        inbound(&gone, invoice_paid("INV-D", "100.00", day1)),
        inbound_in(scope, None, cancelled("ORD-D1", day1)),
    ];
    for event in &while_deleted {
        unknown(
            repo.clone(),
            event.clone(),
            format!("deleted customer, {}", event.type_name()),
        )
        .await;
    }
    // Restored, the same deliveries apply.
    let (deleted, _) = get_deleted(&repo, &gone).await.unwrap();
    let back = restored(&deleted, now + Duration::hours(1));
    repo.restore(&back, &[]).await.unwrap();
    let later = now + Duration::hours(2);
    let next = changed(apply(&repo, &while_deleted[0], later).await, "order after the restore");
    assert_eq!((next.purchase_count, next.total_purchases), (2, money("300.00")));
    assert_eq!(next.version, back.version + 1);
    for event in &while_deleted[1..] {
        assert!(
            matches!(apply(&repo, event, later).await, InboundOutcome::Applied(Some(_))),
            "{} after the restore",
            event.type_name()
        );
    }
    let stored = current(&repo, &gone).await;
    assert_eq!(
        (
            stored.purchase_count,
            stored.total_purchases,
            stored.current_balance,
            stored.status
        ),
        (1, money("200.00"), money("0"), CustomerStatus::Active)
    );
}

async fn inbound_concurrent_orders_of_one_customer_lose_no_update(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, company("ТОО «Поток»", "stream@example.kz"));
    insert(&repo, &customer).await;
    let now = U0 + Duration::days(1);
    let events: Vec<InboundEnvelope> = (1..=100_i64)
        .map(|n| {
            inbound(
                &customer,
                order(&format!("ORD-{n:03}"), &format!("{n}.00"), U0 + Duration::minutes(n)),
            )
        })
        .collect();
    // Every event delivered twice, all at once.
    let barrier = Arc::new(Barrier::new(2 * events.len()));
    let mut handles = Vec::new();
    for event in events.iter().chain(events.iter()) {
        let (repo, barrier, event) = (repo.clone(), barrier.clone(), event.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let outcome = repo.apply_inbound(&event, now).await;
            (event.event_id, outcome)
        }));
    }
    let mut applied = HashSet::new();
    let mut duplicates = HashSet::new();
    for handle in handles {
        match handle.await.unwrap() {
            (id, Ok(InboundOutcome::Applied(Some(_)))) => assert!(applied.insert(id), "{id} applied twice"),
            (id, Ok(InboundOutcome::Duplicate)) => assert!(duplicates.insert(id), "{id} refused twice"),
            (id, other) => panic!("{id}: expected Applied(Some) or Duplicate, got {other:?}"),
        }
    }
    let ids: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();
    assert_eq!((applied.len(), duplicates.len()), (100, 100));
    assert_eq!(applied, ids);
    assert_eq!(duplicates, ids);

    let stored = current(&repo, &customer).await;
    let first = U0 + Duration::minutes(1);
    let last = U0 + Duration::minutes(100);
    let mut expected = with_purchases(&customer, "5050.00", 100, Some(first), Some(last), now);
    expected.version = customer.version + 100;
    assert_eq!(stored, expected);
    assert_eq!(stored.total_purchases.to_string(), "5050.00");
    assert_eq!(stored.version, 101);
    assert_eq!(count_all(&repo, "inbound_events").await, 100);
    assert_eq!(count_rows(&repo, "customer_orders", customer.id).await, 100);

    // One metrics event per order, each counting one more than the one before, with totals
    // that grew by each amount once.
    let metrics: Vec<(i32, Decimal)> = events_of(&repo, &customer)
        .await
        .iter()
        .filter_map(|e| match &e.event {
            CustomerEvent::MetricsUpdated {
                purchase_count,
                total_purchases,
                ..
            } => Some((*purchase_count, total_purchases.amount())),
            _ => None,
        })
        .collect();
    assert_eq!(
        metrics.iter().map(|(count, _)| *count).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>(),
        "purchaseCount of the metrics events in outbox order"
    );
    let mut steps: Vec<Decimal> = metrics
        .iter()
        .scan(Decimal::ZERO, |previous, (_, total)| {
            let step = *total - *previous;
            *previous = *total;
            Some(step)
        })
        .collect();
    steps.sort();
    assert_eq!(steps, (1..=100).map(Decimal::from).collect::<Vec<_>>());
    let updates = events_of(&repo, &customer)
        .await
        .iter()
        .filter(|e| e.event.type_name() == "customer.updated")
        .count();
    assert_eq!(updates, 100);
}

async fn inbound_merge_moves_orders_deals_and_invoices_to_the_primary(repo: SeaRepository) {
    let scope = new_scope();
    let day = |n: i64| U0 + Duration::days(n);
    let primary = build(scope, company("ТОО «Альфа»", "info@alfa.kz"));
    let duplicate = build(scope, company("Alfa LLP", "office@alfa.kz"));
    insert(&repo, &primary).await;
    insert(&repo, &duplicate).await;
    for (customer, event) in [
        (&primary, order("ORD-P1", "50.00", day(2))),
        (&duplicate, order("ORD-D1", "100.00", day(1))),
        (&duplicate, order("ORD-D2", "200.00", day(3))),
        (&duplicate, deal_won("D-9", "900.00", day(3))),
        (&duplicate, invoice_issued("INV-D", "500.00", day(3))),
    ] {
        changed(
            apply(&repo, &inbound(customer, event), day(4)).await,
            "before the merge",
        );
    }
    let p = current(&repo, &primary).await;
    let d = current(&repo, &duplicate).await;
    assert_eq!(
        read_model_of(&repo, d.id).await,
        [
            ("customer_orders", 2),
            ("customer_deals", 1),
            ("customer_invoice_entries", 1)
        ]
    );

    let merged = merge(&p, std::slice::from_ref(&d), UserId::new(), day(5));
    repo.merge(
        &merged,
        p.version,
        &[(d.id, d.version)],
        &[merged_event(&merged, std::slice::from_ref(&d))],
    )
    .await
    .unwrap();
    assert_eq!(get(&repo, &d).await, None);
    assert_eq!(
        read_model_of(&repo, d.id).await,
        [
            ("customer_orders", 0),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );
    assert_eq!(
        read_model_of(&repo, p.id).await,
        [
            ("customer_orders", 3),
            ("customer_deals", 1),
            ("customer_invoice_entries", 1)
        ]
    );
    assert_eq!(repo.purchases(scope, d.id, 1, 10).await.unwrap(), None);

    // A later order of the primary counts the duplicate's orders too.
    let merged = current(&repo, &primary).await;
    let now = day(6);
    let expected = with_purchases(&merged, "375.00", 4, Some(day(1)), Some(day(6)), now);
    apply_expecting(
        &repo,
        &inbound(&merged, order("ORD-P2", "25.00", day(6))),
        now,
        &merged,
        &expected,
        &["customer.updated", "customer.metrics.updated"],
    )
    .await;
    let orders: Vec<(String, OrderStatus)> = purchases_of(&repo, &primary)
        .await
        .into_iter()
        .map(|p| (p.order_id, p.status))
        .collect();
    assert_eq!(
        orders,
        [
            ("ORD-P2".to_owned(), OrderStatus::Completed),
            ("ORD-D2".to_owned(), OrderStatus::Completed),
            ("ORD-P1".to_owned(), OrderStatus::Completed),
            ("ORD-D1".to_owned(), OrderStatus::Completed),
        ]
    );

    // A reversal naming only a moved order reaches the primary.
    let after_cancel = with_purchases(&expected, "275.00", 3, Some(day(2)), Some(day(6)), day(7));
    apply_expecting(
        &repo,
        &inbound_in(scope, None, cancelled("ORD-D1", day(7))),
        day(7),
        &expected,
        &after_cancel,
        &["customer.updated", "customer.metrics.updated"],
    )
    .await;
    // The moved deal still counts once; a payment of the moved invoice reaches the primary.
    apply_without_effect(
        &repo,
        &inbound(&after_cancel, deal_won("D-9", "900.00", day(8))),
        day(8),
        &primary,
    )
    .await;
    let paid = with_balance(
        &after_cancel,
        &(after_cancel.current_balance.amount() - dec("500")).to_string(),
        day(8),
    );
    apply_expecting(
        &repo,
        &inbound(&after_cancel, invoice_paid("INV-D", "500.00", day(8))),
        day(8),
        &after_cancel,
        &paid,
        &["customer.updated", "customer.metrics.updated"],
    )
    .await;
    let activity = repo.activity_of(scope, p.id).await.unwrap().unwrap();
    assert!(activity.contains(&Activity::DealWon {
        deal_id: "D-9".into(),
        amount: money("900.00"),
        at: day(3)
    }));
    assert!(activity.contains(&Activity::InvoiceIssued {
        invoice_id: "INV-D".into(),
        amount: money("500.00"),
        at: day(3)
    }));
}

async fn inbound_purge_removes_the_read_model_with_the_customer(repo: SeaRepository) {
    let scope = new_scope();
    let day = |n: i64| U0 + Duration::days(n);
    let doomed = build(scope, company("ТОО «Удаляемое»", "doomed@example.kz"));
    let kept = build(scope, company("ТОО «Остаётся»", "kept@example.kz"));
    insert(&repo, &doomed).await;
    insert(&repo, &kept).await;
    for event in [
        order("ORD-1", "100.00", day(1)),
        order("ORD-2", "200.00", day(1)),
        deal_won("D-1", "300.00", day(1)),
        invoice_issued("INV-1", "400.00", day(1)),
        invoice_paid("INV-1", "100.00", day(1)),
    ] {
        changed(apply(&repo, &inbound(&doomed, event), day(1)).await, "doomed customer");
    }
    apply(&repo, &inbound(&doomed, cancelled("ORD-2", day(1))), day(1)).await;
    changed(
        apply(&repo, &inbound(&kept, order("ORD-K", "100.00", day(1))), day(1)).await,
        "kept customer",
    );
    // An order known only by its cancellation, owned by no one.
    apply(&repo, &inbound_in(scope, None, cancelled("ORD-X", day(1))), day(1)).await;
    assert_eq!(
        read_model_of(&repo, doomed.id).await,
        [
            ("customer_orders", 2),
            ("customer_deals", 1),
            ("customer_invoice_entries", 2)
        ]
    );

    let stored = current(&repo, &doomed).await;
    soft_delete(&repo, &stored, day(2)).await;
    assert_eq!(repo.purge(day(3)).await.unwrap(), 1);
    assert_eq!(customer_rows(&repo, doomed.id).await, 0);
    assert_eq!(
        read_model_of(&repo, doomed.id).await,
        [
            ("customer_orders", 0),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );
    assert_eq!(
        read_model_of(&repo, kept.id).await,
        [
            ("customer_orders", 1),
            ("customer_deals", 0),
            ("customer_invoice_entries", 0)
        ]
    );
    assert_eq!(
        count_all(&repo, "customer_orders").await,
        2,
        "the kept order and the orphan"
    );
    assert_eq!(current(&repo, &kept).await.purchase_count, 1);
    // The kept customer still takes events.
    changed(
        apply(&repo, &inbound(&kept, order("ORD-K2", "1.00", day(4))), day(4)).await,
        "kept customer after the purge",
    );
}

async fn inbound_dead_letters_are_listed_per_scope_newest_first_verbatim(repo: SeaRepository) {
    let scope = new_scope();
    let neighbour = Scope::new(scope.organization_id, WorkspaceId::new());
    let letter = |scope: Option<Scope>, n: i64, body: &str| DeadLetter {
        id: Uuid::now_v7(),
        organization_id: scope.map(|s| s.organization_id),
        workspace_id: scope.map(|s| s.workspace_id),
        event_id: scope.map(|_| Uuid::now_v7()),
        event_type: scope.map(|_| "order.completed".to_owned()),
        channel: if n % 2 == 0 { Channel::Http } else { Channel::Stream },
        reason: format!("payload.totalAmount: \"-{n}\" must not be negative; поле «items» пусто"),
        body: body.to_owned(),
        received_at: U0 + Duration::seconds(n),
    };
    let cyrillic = "{\"type\": \"order.completed\",\n  \"payload\": {\"productName\": \"Чай «Пиала» — Қазақстан 🍵\", \"totalAmount\": -1}}\t ";
    let letters = [
        letter(Some(scope), 2, cyrillic),
        letter(Some(scope), 1, "not json at all: \\u0000 ' \" ; DROP TABLE x; --"),
        letter(Some(scope), 3, ""),
        letter(Some(neighbour), 4, "{}"),
        letter(None, 5, "{\"eventId\": "),
    ];
    for l in &letters {
        repo.add_dead_letter(l).await.unwrap();
    }
    // Only a workspace known with the organization counts toward it.
    let mut half_known = letter(Some(scope), 6, "[]");
    half_known.workspace_id = None;
    repo.add_dead_letter(&half_known).await.unwrap();

    let page = repo.dead_letters(scope, 1, 10).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items, [letters[2].clone(), letters[0].clone(), letters[1].clone()]);
    assert_eq!(page.items[1].body, cyrillic);
    let first = repo.dead_letters(scope, 1, 2).await.unwrap();
    assert_eq!((first.total, first.page, first.limit), (3, 1, 2));
    assert_eq!(first.items, [letters[2].clone(), letters[0].clone()]);
    let second = repo.dead_letters(scope, 2, 2).await.unwrap();
    assert_eq!((second.total, second.page), (3, 2));
    assert_eq!(second.items, [letters[1].clone()]);
    let beyond = repo.dead_letters(scope, 3, 2).await.unwrap();
    assert_eq!((beyond.total, beyond.items.len()), (3, 0));

    let theirs = repo.dead_letters(neighbour, 1, 10).await.unwrap();
    assert_eq!((theirs.total, theirs.items), (1, vec![letters[3].clone()]));
    let elsewhere = repo.dead_letters(new_scope(), 1, 10).await.unwrap();
    assert_eq!((elsewhere.total, elsewhere.items.len()), (0, 0));
    assert_eq!(count_all(&repo, "inbound_dead_letters").await, 6);
}

async fn inbound_activity_and_timeline_show_every_kind_newest_first(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, company("ТОО «Лента»", "feed@example.kz"));
    insert(&repo, &customer).await;
    let note = add_note(
        &repo,
        scope,
        customer.id,
        "Позвонить в понедельник",
        U0 + Duration::hours(1),
    )
    .await;
    let day = |n: i64| U0 + Duration::days(n);
    let minute = Duration::minutes(1);
    for event in [
        order("O-1", "100.00", day(1)),
        order("O-2", "200.00", day(2)),
        cancelled("O-2", day(3)),
        order("O-3", "300.00", day(4)),
        refunded("O-3", day(5)),
        deal_won("D-1", "5000.00", day(6)),
        invoice_issued("INV-1", "1000.00", day(7)),
        invoice_paid("INV-1", "400.00", day(8)),
    ] {
        let at = when(&event);
        changed(
            apply(&repo, &inbound(&customer, event), at + minute).await,
            "timeline fixture",
        );
    }
    // A customer of its own, for the scoping of the reads.
    let other = build(scope, company("ТОО «Другое»", "other@example.kz"));
    insert(&repo, &other).await;
    changed(
        apply(&repo, &inbound(&other, order("O-9", "1.00", day(1))), day(1)).await,
        "other customer",
    );

    let mut activity = repo.activity_of(scope, customer.id).await.unwrap().unwrap();
    // The payment's id is the id of the event that reported it.
    let payment_id = activity
        .iter()
        .find_map(|a| match a {
            Activity::InvoicePaid { payment_id, .. } => Some(*payment_id),
            _ => None,
        })
        .expect("the payment is in the activity");
    let mut expected = vec![
        Activity::Note(note.clone()),
        Activity::OrderCompleted {
            order_id: "O-1".into(),
            total_amount: money("100.00"),
            item_count: 2,
            at: day(1),
        },
        Activity::OrderCompleted {
            order_id: "O-2".into(),
            total_amount: money("200.00"),
            item_count: 2,
            at: day(2),
        },
        Activity::OrderReversed {
            order_id: "O-2".into(),
            refunded: false,
            total_amount: money("200.00"),
            at: day(3),
        },
        Activity::OrderCompleted {
            order_id: "O-3".into(),
            total_amount: money("300.00"),
            item_count: 2,
            at: day(4),
        },
        Activity::OrderReversed {
            order_id: "O-3".into(),
            refunded: true,
            total_amount: money("300.00"),
            at: day(5),
        },
        Activity::DealWon {
            deal_id: "D-1".into(),
            amount: money("5000.00"),
            at: day(6),
        },
        Activity::InvoiceIssued {
            invoice_id: "INV-1".into(),
            amount: money("1000.00"),
            at: day(7),
        },
        Activity::InvoicePaid {
            payment_id,
            invoice_id: "INV-1".into(),
            amount: money("400.00"),
            at: day(8),
        },
    ];
    let key = |a: &Activity| format!("{a:?}");
    activity.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(activity, expected);

    let events = events_of(&repo, &customer).await;
    let lines = timeline(&events, &activity, &TimelineFilter::default());
    let kinds: Vec<(&str, OffsetDateTime)> = lines.iter().map(|l| (l.kind.as_str(), l.occurred_at)).collect();
    assert_eq!(
        kinds,
        [
            ("invoice_paid", day(8)),
            ("invoice_issued", day(7)),
            ("status_changed", day(6) + minute),
            ("deal_won", day(6)),
            ("order_refunded", day(5)),
            ("order_completed", day(4)),
            ("order_cancelled", day(3)),
            ("order_completed", day(2)),
            ("order_completed", day(1)),
            ("note_added", U0 + Duration::hours(1)),
            ("created", U0),
        ]
    );
    let ids: Vec<&str> = lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids[4], "order:O-3:refunded");
    assert_eq!(ids[6], "order:O-2:cancelled");
    assert_eq!(lines[2].data["reason"], "deal.won D-1");
    assert_eq!(lines[2].data["newStatus"], "ACTIVE");
    assert_eq!(lines[9].data["content"], "Позвонить в понедельник");

    // Only live customers of the scope have activity.
    assert_eq!(repo.activity_of(new_scope(), customer.id).await.unwrap(), None);
    assert_eq!(repo.activity_of(scope, CustomerId::new()).await.unwrap(), None);
    soft_delete(&repo, &current(&repo, &customer).await, day(9)).await;
    assert_eq!(repo.activity_of(scope, customer.id).await.unwrap(), None);
    assert_eq!(repo.purchases(scope, customer.id, 1, 10).await.unwrap(), None);
    let others = repo.activity_of(scope, other.id).await.unwrap().unwrap();
    assert_eq!(others.len(), 1);
}

async fn inbound_cancellation_racing_its_completion_never_counts_the_order(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(scope, company("ТОО «Гонка»", "race@example.kz"));
    insert(&repo, &customer).await;
    let now = U0 + Duration::days(1);
    for round in 0..20_i64 {
        let order_id = format!("ORD-{round}");
        let completion = inbound(&customer, order(&order_id, "10.00", U0 + Duration::minutes(round)));
        let cancellation = inbound_in(scope, None, cancelled(&order_id, U0 + Duration::hours(1)));
        let barrier = Arc::new(Barrier::new(2));
        let mut handles = Vec::new();
        for event in [completion, cancellation] {
            let (repo, barrier) = (repo.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                repo.apply_inbound(&event, now).await
            }));
        }
        for handle in handles {
            match handle.await.unwrap() {
                Ok(InboundOutcome::Applied(_)) => {}
                other => panic!("round {round}: expected Applied, got {other:?}"),
            }
        }
        let stored = current(&repo, &customer).await;
        assert_eq!(
            (stored.purchase_count, stored.total_purchases),
            (0, money("0")),
            "round {round}"
        );
        let purchase = purchases_of(&repo, &customer)
            .await
            .into_iter()
            .find(|p| p.order_id == order_id)
            .unwrap_or_else(|| panic!("round {round}: {order_id} not listed"));
        assert_eq!(
            (purchase.status, purchase.reversed_at, purchase.items.len()),
            (OrderStatus::Cancelled, Some(U0 + Duration::hours(1)), 2),
            "round {round}"
        );
    }
    assert_eq!(count_all(&repo, "inbound_events").await, 40);
}

/// An event that changes nothing in the read model (an order, deal or invoice re-sent under a
/// new event id) has no visible effect however late it comes: the time that passed is not a
/// change of the customer's record.
async fn inbound_events_without_effect_months_later_change_nothing(repo: SeaRepository) {
    let scope = new_scope();
    let customer = build(
        scope,
        CustomerDraft {
            status: Some(CustomerStatus::Active),
            ..company("ТОО «Постоянный»", "regular@example.kz")
        },
    );
    insert(&repo, &customer).await;
    let day = |n: i64| U0 + Duration::days(n);
    let events = [
        inbound(&customer, order("ORD-1", "3000.00", day(1))),
        inbound(&customer, deal_won("D-1", "100.00", day(1))),
        inbound(&customer, invoice_issued("INV-1", "100.00", day(1))),
    ];
    for event in &events {
        apply(&repo, event, day(1)).await;
    }
    let stored = current(&repo, &customer).await;
    assert_eq!(stored.lifetime_value.to_string(), "72000.00");
    for event in &events {
        apply_without_effect(&repo, &resent(event), day(91), &customer).await;
    }
}

/// An order of the given products (one line each, 100.00 per line).
fn basket(order_id: &str, products: &[&str], at: OffsetDateTime) -> InboundEvent {
    InboundEvent::OrderCompleted(CompletedOrder {
        order_id: order_id.into(),
        total_amount: Money::parse(Decimal::from(100 * products.len() as i64)).unwrap(),
        completed_at: at,
        items: products
            .iter()
            .map(|p| OrderItem {
                product_id: (*p).into(),
                product_name: format!("Товар {p}"),
                category: None,
                quantity: Decimal::ONE,
                amount: money("100"),
                cost: None,
            })
            .collect(),
    })
}

async fn inbound_orders_of_a_customer_and_baskets_bought_together(repo: SeaRepository) {
    let scope = new_scope();
    let mut people = Vec::new();
    for i in 0..5 {
        let c = build(
            scope,
            individual(&format!("Покупатель {i}"), &format!("buyer{i}@shop.kz")),
        );
        insert(&repo, &c).await;
        people.push(c);
    }
    let [me, a, b, c, gone] = &people[..] else {
        unreachable!()
    };
    let day = |d: i64| U0 + Duration::days(d);
    // Mine: TEA and CUP; the second order is cancelled, the third refunded.
    for (event, at) in [
        (basket("M1", &["TEA", "CUP"], day(1)), day(1)),
        (basket("M2", &["JAM"], day(2)), day(2)),
        (cancelled("M2", day(3)), day(3)),
        (basket("M3", &["SUGAR"], day(4)), day(4)),
        (refunded("M3", day(5)), day(5)),
    ] {
        apply(&repo, &inbound(me, event), at).await;
    }
    // Others: HONEY goes with TEA in three orders of two customers, LEMON and WINE in two
    // (ties by id), CAKE with CUP once; SPOON never with my products; a cancelled basket does
    // not count.
    for (who, event) in [
        (a, basket("A1", &["TEA", "HONEY", "LEMON"], day(1))),
        (a, basket("A2", &["TEA", "HONEY"], day(2))),
        (b, basket("B1", &["TEA", "HONEY", "LEMON", "CUP"], day(1))),
        (b, basket("B2", &["CUP", "CAKE"], day(3))),
        (c, basket("C1", &["SPOON", "KNIFE"], day(1))),
        (c, basket("C2", &["TEA", "BREAD"], day(2))),
        (c, basket("C3", &["TEA", "WINE", "WINE"], day(4))),
        (c, basket("C4", &["CUP", "WINE"], day(5))),
    ] {
        apply(&repo, &inbound(who, event), day(6)).await;
    }
    apply(&repo, &inbound(c, basket("C5", &["TEA", "BREAD"], day(6))), day(6)).await;
    apply(&repo, &inbound(c, cancelled("C5", day(7))), day(7)).await;
    // Another workspace's baskets never count.
    let elsewhere = new_scope();
    let stranger = build(elsewhere, individual("Чужой", "stranger@shop.kz"));
    insert(&repo, &stranger).await;
    for i in 0..5 {
        let event = basket(&format!("X{i}"), &["TEA", "VODKA"], day(1));
        apply(&repo, &inbound(&stranger, event), day(1)).await;
    }

    // orders_of: every completed order, oldest first, with its status and items.
    let orders = repo.orders_of(scope, me.id).await.unwrap().expect("live");
    assert_eq!(
        orders
            .iter()
            .map(|o| (o.order_id.as_str(), o.status, o.items.len()))
            .collect::<Vec<_>>(),
        [
            ("M1", OrderStatus::Completed, 2),
            ("M2", OrderStatus::Cancelled, 1),
            ("M3", OrderStatus::Refunded, 1),
        ]
    );
    assert_eq!(orders[0].items[1].product_id, "CUP");
    assert_eq!(orders[1].reversed_at, Some(day(3)));
    assert_eq!(repo.orders_of(elsewhere, me.id).await.unwrap(), None);
    assert_eq!(repo.orders_of(scope, CustomerId::new()).await.unwrap(), None);
    soft_delete(&repo, gone, day(8)).await;
    assert_eq!(repo.orders_of(scope, gone.id).await.unwrap(), None);

    // co_purchased: orders of others holding one of the products and the candidate.
    let mine = ["CUP".to_owned(), "TEA".to_owned()];
    assert_eq!(
        repo.co_purchased(scope, me.id, &mine, 10).await.unwrap(),
        ["HONEY", "LEMON", "WINE", "BREAD", "CAKE"]
    );
    assert_eq!(
        repo.co_purchased(scope, me.id, &mine, 2).await.unwrap(),
        ["HONEY", "LEMON"]
    );
    assert_eq!(
        repo.co_purchased(scope, me.id, &["CUP".to_owned()], 10).await.unwrap(),
        ["CAKE", "HONEY", "LEMON", "TEA", "WINE"]
    );
    // The customer's own baskets are not evidence: from a's point of view, B1 and C2/C3 count.
    assert_eq!(
        repo.co_purchased(scope, a.id, &["HONEY".to_owned()], 10).await.unwrap(),
        ["CUP", "LEMON", "TEA"]
    );
    assert!(repo.co_purchased(scope, me.id, &[], 10).await.unwrap().is_empty());
    assert!(
        repo.co_purchased(scope, me.id, &["NOTHING".to_owned()], 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// 12. Lifetime value models: counted purchases and the stored fit (`ClvStore`)
// ---------------------------------------------------------------------------------------------

conformance!(
    clv_counted_purchases_leave_out_reversals_other_scopes_deleted_customers_and_later_orders,
    clv_fit_round_trips_the_later_run_is_kept_and_refits_come_due,
);

use customers_domain::analytics::clv::{
    BgNbdFit, BgNbdParams, ClvFit, ClvModel, ClvOutcome, GammaGammaFit, GammaGammaParams, TimeUnit,
};
use customers_domain::ports::{ClvStore, CountedPurchase};

/// The counted purchases sorted by customer and time (the port gives them in no order).
fn sorted_purchases(mut purchases: Vec<CountedPurchase>) -> Vec<(CustomerId, OffsetDateTime, String)> {
    purchases.sort_by_key(|p| (p.customer_id, p.completed_at));
    purchases
        .into_iter()
        .map(|p| (p.customer_id, p.completed_at, p.total_amount.to_string()))
        .collect()
}

async fn clv_counted_purchases_leave_out_reversals_other_scopes_deleted_customers_and_later_orders(
    repo: SeaRepository,
) {
    let scope = new_scope();
    let sibling = Scope::new(scope.organization_id, WorkspaceId::new());
    let day = |n: i64| U0 + Duration::days(n);
    let a = build(scope, individual("Асель Нурланова", "asel@clv.kz"));
    let b = build(scope, individual("Бахыт Оспанов", "bakhyt@clv.kz"));
    let gone = build(scope, individual("Гани Ушедший", "gani@clv.kz"));
    let idle = build(scope, individual("Ирина Без Заказов", "irina@clv.kz"));
    let other = build(sibling, individual("Ольга Соседняя", "olga@clv.kz"));
    for c in [&a, &b, &gone, &idle, &other] {
        insert(&repo, c).await;
    }
    // a: counted; cancelled on day 3; refunded on day 30; one more on day 11.
    apply(&repo, &inbound(&a, order("A-1", "1500.25", day(1))), day(1)).await;
    apply(&repo, &inbound(&a, order("A-2", "200.00", day(2))), day(2)).await;
    apply(&repo, &inbound_in(scope, None, cancelled("A-2", day(3))), day(3)).await;
    apply(&repo, &inbound(&a, order("A-3", "300.00", day(4))), day(4)).await;
    apply(&repo, &inbound(&a, refunded("A-3", day(30))), day(30)).await;
    apply(&repo, &inbound(&a, order("A-4", "999.99", day(11))), day(11)).await;
    // b: a cancellation (day 5) that arrived before its order (completed on day 4); then a
    // counted order.
    apply(&repo, &inbound(&b, cancelled("B-1", day(5))), day(5)).await;
    apply(&repo, &inbound(&b, order("B-1", "700.00", day(4))), day(5)).await;
    apply(&repo, &inbound(&b, order("B-2", "10.00", day(6))), day(6)).await;
    // Deleted customers and other workspaces (even with the same order id) do not count.
    apply(&repo, &inbound(&gone, order("G-1", "50.00", day(2))), day(2)).await;
    soft_delete(&repo, &gone, day(7)).await;
    apply(&repo, &inbound(&other, order("A-1", "75.00", day(1))), day(1)).await;

    let counted = |scope: Scope, at: OffsetDateTime| {
        let repo = repo.clone();
        async move { sorted_purchases(repo.counted_purchases(scope, at).await.unwrap()) }
    };
    let row = |c: &Customer, at: OffsetDateTime, amount: &str| (c.id, at, amount.to_owned());
    let as_of = day(10);
    let expected = vec![
        row(&a, day(1), "1500.25"),
        row(&a, day(4), "300.00"),
        row(&b, day(6), "10.00"),
    ];
    assert_eq!(counted(scope, as_of).await, expected);
    // Completion and reversal are seen at the instant they happened, to the microsecond: an
    // order counts from its completion until its reversal.
    assert_eq!(
        counted(scope, day(2)).await,
        vec![row(&a, day(1), "1500.25"), row(&a, day(2), "200.00")]
    );
    assert_eq!(
        counted(scope, day(3)).await,
        vec![row(&a, day(1), "1500.25")],
        "cancelled at day 3"
    );
    assert_eq!(
        counted(scope, day(4)).await,
        vec![
            row(&a, day(1), "1500.25"),
            row(&a, day(4), "300.00"),
            row(&b, day(4), "700.00")
        ],
        "B-1 is cancelled only on day 5"
    );
    let mut with_a4 = expected.clone();
    with_a4.insert(2, row(&a, day(11), "999.99"));
    assert_eq!(counted(scope, day(11)).await, with_a4);
    assert_eq!(counted(scope, day(11) - Duration::MICROSECOND).await, expected);
    assert_eq!(counted(scope, day(30) - Duration::MICROSECOND).await, with_a4);
    with_a4.remove(1);
    assert_eq!(counted(scope, day(30)).await, with_a4, "refunded at day 30");
    assert!(counted(scope, day(1) - Duration::MICROSECOND).await.is_empty());
    // The sibling workspace sees only its own order; another organization nothing.
    assert_eq!(counted(sibling, as_of).await, vec![row(&other, day(1), "75.00")]);
    let stranger = Scope::new(OrganizationId::new(), scope.workspace_id);
    assert!(counted(stranger, as_of).await.is_empty());

    // One customer.
    let of = |scope: Scope, c: CustomerId, at: OffsetDateTime| {
        let repo = repo.clone();
        async move {
            repo.counted_purchases_of(scope, c, at)
                .await
                .unwrap()
                .map(sorted_purchases)
        }
    };
    assert_eq!(
        of(scope, a.id, as_of).await,
        Some(vec![row(&a, day(1), "1500.25"), row(&a, day(4), "300.00")])
    );
    assert_eq!(
        of(scope, a.id, day(40)).await,
        Some(vec![row(&a, day(1), "1500.25"), row(&a, day(11), "999.99")])
    );
    assert_eq!(of(scope, b.id, as_of).await, Some(vec![row(&b, day(6), "10.00")]));
    assert_eq!(of(scope, idle.id, as_of).await, Some(vec![]));
    assert_eq!(of(scope, gone.id, as_of).await, None, "deleted");
    assert_eq!(of(scope, other.id, as_of).await, None, "another workspace");
    assert_eq!(of(stranger, a.id, as_of).await, None, "another organization");
    assert_eq!(of(scope, CustomerId::new(), as_of).await, None, "unknown");
}

/// A fitted model with values that only an exact store gives back unchanged.
fn awkward_model() -> ClvModel {
    ClvModel {
        bg_nbd: BgNbdFit {
            params: BgNbdParams {
                r: 0.1 + 0.2,
                alpha: 1.0 / 3.0 * 98.7654321,
                a: 1e-300,
                b: 123_456_789.012_345_68e10,
            },
            log_likelihood: -9_582.429_406_785_2,
            customers: 2357,
            time_unit: TimeUnit::Days,
        },
        gamma_gamma: GammaGammaFit {
            params: GammaGammaParams {
                p: 6.248_802_549_868_96,
                q: 3.744_565_475_435_183,
                v: 15.447_605_046_853_97,
            },
            log_likelihood: -4099.9,
            customers: 946,
            frequency_value_correlation: -0.000_000_012_5,
        },
    }
}

fn clv_fit(outcome: ClvOutcome, sample_size: u64, as_of: OffsetDateTime, fitted_at: OffsetDateTime) -> ClvFit {
    ClvFit {
        outcome,
        time_unit: TimeUnit::Days,
        sample_size,
        as_of,
        fitted_at,
    }
}

async fn clv_fit_round_trips_the_later_run_is_kept_and_refits_come_due(repo: SeaRepository) {
    let scope = new_scope();
    let sibling = Scope::new(scope.organization_id, WorkspaceId::new());
    let day = |n: i64| U0 + Duration::days(n);
    assert_eq!(repo.clv_fit(scope).await.unwrap(), None);

    let fitted = clv_fit(ClvOutcome::Fitted(awkward_model()), 2357, T0, day(1));
    assert!(repo.put_clv_fit(scope, &fitted).await.unwrap());
    assert_eq!(repo.clv_fit(scope).await.unwrap(), Some(fitted.clone()));
    assert_eq!(repo.clv_fit(sibling).await.unwrap(), None, "per workspace");
    let stranger = Scope::new(OrganizationId::new(), scope.workspace_id);
    assert_eq!(repo.clv_fit(stranger).await.unwrap(), None, "per organization");

    // A run that started earlier and finishes later does not replace it.
    let stale = clv_fit(
        ClvOutcome::InsufficientData("not enough data: 3 customers with a purchase".into()),
        3,
        T0,
        day(1) - Duration::MICROSECOND,
    );
    assert!(!repo.put_clv_fit(scope, &stale).await.unwrap());
    assert_eq!(repo.clv_fit(scope).await.unwrap(), Some(fitted));
    // A later one does, whatever it found; a run at the same time too.
    let failed = clv_fit(
        ClvOutcome::FitFailed("the purchase model could not be fitted: «не сошлось» \u{1F4C9}".into()),
        0,
        day(2) - Duration::hours(3),
        day(2),
    );
    assert!(repo.put_clv_fit(scope, &failed).await.unwrap());
    assert_eq!(repo.clv_fit(scope).await.unwrap(), Some(failed.clone()));
    let again = clv_fit(ClvOutcome::InsufficientData("why".into()), 12, day(2), day(2));
    assert!(repo.put_clv_fit(scope, &again).await.unwrap());
    assert_eq!(repo.clv_fit(scope).await.unwrap(), Some(again));

    // Refits: workspaces with a counted order whose fit ran before the cut-off, or none.
    let customer = build(scope, individual("Мадина Рефит", "madina@clv.kz"));
    let neighbour = build(sibling, individual("Нурсултан Сосед", "nursultan@clv.kz"));
    insert(&repo, &customer).await;
    insert(&repo, &neighbour).await;
    let due = |before: OffsetDateTime| {
        let repo = repo.clone();
        async move {
            let mut scopes = repo.clv_refit_due(before).await.unwrap();
            scopes.retain(|s| *s == scope || *s == sibling);
            scopes.sort_by_key(|s| s.workspace_id);
            scopes
        }
    };
    assert_eq!(due(day(100)).await, vec![], "no orders yet");
    apply(&repo, &inbound(&customer, order("R-1", "10.00", day(1))), day(1)).await;
    // Only a cancellation of an unknown order: nothing counted in the sibling workspace.
    apply(&repo, &inbound_in(sibling, None, cancelled("S-1", day(1))), day(1)).await;
    assert_eq!(due(day(2)).await, vec![], "fitted at day 2");
    assert_eq!(due(day(2) + Duration::MICROSECOND).await, vec![scope]);
    apply(&repo, &inbound(&neighbour, order("S-2", "10.00", day(1))), day(1)).await;
    let mut both = vec![scope, sibling];
    both.sort_by_key(|s| s.workspace_id);
    assert_eq!(due(day(3)).await, both, "never fitted counts as due");
    let sibling_fit = clv_fit(ClvOutcome::InsufficientData("1 customer".into()), 1, day(3), day(3));
    assert!(repo.put_clv_fit(sibling, &sibling_fit).await.unwrap());
    assert_eq!(due(day(3)).await, vec![scope]);
}
