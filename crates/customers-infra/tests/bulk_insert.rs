//! `insert_many` with batches larger than one multi-row statement holds (the bind-parameter
//! limits: 65,535 on PostgreSQL, 32,766 on SQLite), on both backends: everything is stored as
//! the single-row path stores it, events in batch order, and a taken value deep in the batch
//! is still reported at its index with nothing stored.

use sea_orm::{ConnectionTrait, Statement};

use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft};
use customers_domain::events::{CustomerEvent, EventEnvelope};
use customers_domain::ports::{BatchError, CustomerRepository, RepositoryError};
use customers_domain::values::tax_id::control_digit;
use customers_domain::{AddressType, Customer, CustomerType, OrganizationId, Scope, UniqueField, UserId, WorkspaceId};
use customers_infra::SeaRepository;
use customers_infra::testing::{Backend, TestDatabase};

/// More customers than one statement holds on either backend (at most 1,000 rows each), with
/// two contacts, two addresses and three tags each.
const BATCH: usize = 2_100;

fn iin(n: usize) -> String {
    let first_eleven = format!("9005153{:04}", n % 10_000);
    let digits: [u8; 11] = first_eleven
        .bytes()
        .map(|b| b - b'0')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    match control_digit(&digits) {
        Some(control) => format!("{first_eleven}{control}"),
        None => iin(n + 5_000),
    }
}

fn item(scope: Scope, n: usize) -> Customer {
    let contact = |k: usize, primary: bool| ContactDraft {
        first_name: "Асет".into(),
        last_name: "Жумабеков".into(),
        email: format!("c{k}.{n}@bulk.kz"),
        phone: "+77011111111".into(),
        is_primary: Some(primary),
        ..ContactDraft::default()
    };
    let address = |t: AddressType, city: &str| AddressDraft {
        is_primary: Some(true),
        ..AddressDraft::new(t, "пр. Абая, 150", city, "050000")
    };
    let draft = CustomerDraft {
        iin: n.is_multiple_of(2).then(|| iin(n)),
        contacts: vec![contact(1, true), contact(2, false)],
        addresses: vec![
            address(AddressType::Billing, "Алматы"),
            address(AddressType::Shipping, "Астана"),
        ],
        tags: vec![format!("t{}", n % 7), "VIP".into(), "опт".into()],
        ..CustomerDraft::new(
            CustomerType::Company,
            &format!("ТОО Bulk {n}"),
            &format!("item{n}@bulk.kz"),
        )
    };
    draft.parse().unwrap().into_customer(
        scope,
        UserId::new(),
        time::macros::datetime!(2026-11-25 10:11:12.123456 +05:00),
    )
}

fn created(customer: &Customer) -> EventEnvelope {
    let actor = customer.created_by.unwrap_or_default();
    EventEnvelope::new(
        customer,
        actor,
        customer.created_at,
        CustomerEvent::Created {
            customer_type: customer.customer_type,
            status: customer.status,
            created_by: actor,
            source: Some("import".into()),
        },
    )
}

async fn count(repo: &SeaRepository, table: &str) -> i64 {
    let db = repo.connection();
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn large_batches(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let repo = SeaRepository::new(db.connection.clone());
    let scope = Scope::new(OrganizationId::new(), WorkspaceId::new());

    // A taken e-mail deep in the batch (item 1,999 repeats item 3): reported at its index,
    // nothing stored.
    let mut bad: Vec<Customer> = (0..BATCH).map(|n| item(scope, n)).collect();
    bad[1_999].email = bad[3].email.clone();
    let events: Vec<EventEnvelope> = bad.iter().map(created).collect();
    match repo.insert_many(&bad, &events).await {
        Err(BatchError {
            index,
            error: RepositoryError::Duplicate(field),
        }) => assert_eq!((index, field), (1_999, UniqueField::Email)),
        other => panic!("expected a duplicate e-mail at 1999, got {other:?}"),
    }
    for table in [
        "customers",
        "customer_contacts",
        "customer_addresses",
        "customer_tags",
        "customer_events",
    ] {
        assert_eq!(count(&repo, table).await, 0, "{table}");
    }

    // A good batch is stored whole, exactly as the single-row path stores it.
    let good: Vec<Customer> = (0..BATCH).map(|n| item(scope, n)).collect();
    let events: Vec<EventEnvelope> = good.iter().map(created).collect();
    repo.insert_many(&good, &events).await.unwrap();
    assert_eq!(count(&repo, "customers").await, BATCH as i64);
    assert_eq!(count(&repo, "customer_contacts").await, 2 * BATCH as i64);
    assert_eq!(count(&repo, "customer_addresses").await, 2 * BATCH as i64);
    assert_eq!(count(&repo, "customer_tags").await, 3 * BATCH as i64);
    for n in [0, 1, 884, 885, 999, 1_000, 1_771, BATCH - 1] {
        let customer = &good[n];
        let stored = repo.get(scope, customer.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(customer), "item {n}");
    }
    let single = item(scope, BATCH);
    repo.insert(&single, &[created(&single)]).await.unwrap();
    assert_eq!(repo.get(scope, single.id).await.unwrap(), Some(single));

    // The outbox holds the events in batch order.
    let db_conn = repo.connection();
    let rows = db_conn
        .query_all_raw(Statement::from_string(
            db_conn.get_database_backend(),
            "SELECT id FROM customer_events ORDER BY seq",
        ))
        .await
        .unwrap();
    let stored: Vec<uuid::Uuid> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
    let written: Vec<uuid::Uuid> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(&stored[..BATCH], &written[..]);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_sqlite() {
    large_batches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_postgres() {
    large_batches(Backend::Postgres).await;
}
