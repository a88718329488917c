//! `seed`: generates customers on one thread and stores them through the repository
//! (`CustomerRepository::insert_many`, one transaction per batch) from several tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::mpsc;

use customers_domain::events::EventEnvelope;
use customers_domain::ports::CustomerRepository;
use customers_domain::{Customer, Scope, UserId};
use customers_infra::SeaRepository;

use crate::data::{Generated, Generator};
use crate::rng::Rng;

/// What `seed` is asked to do.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// `postgres://…` or `sqlite://…`.
    pub database_url: String,
    /// Where the customers go.
    pub scope: Scope,
    /// How many.
    pub customers: u64,
    /// Index of the first one (another range for a second run into the same organization).
    pub first: u64,
    /// Customers per `insert_many` call (one transaction).
    pub batch: usize,
    /// `insert_many` calls in flight at once.
    pub writers: usize,
    /// PRNG seed.
    pub seed: u64,
}

/// A batch ready to store.
struct Batch {
    customers: Vec<Customer>,
    events: Vec<EventEnvelope>,
    rows: u64,
}

/// Rows a customer is stored as: its row, contacts, addresses, tags and events.
fn rows_of(g: &Generated) -> u64 {
    let c = &g.customer;
    (1 + c.contacts.len() + c.addresses.len() + c.tags.len() + g.events.len()) as u64
}

/// Seeds and prints the rate.
pub async fn seed(plan: SeedPlan) -> Result<(), String> {
    let db = customers_infra::connect(&plan.database_url)
        .await
        .map_err(|e| format!("cannot open {}: {e}", plan.database_url))?;
    customers_infra::migrate(&db)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    let repo = Arc::new(SeaRepository::new(db));
    let actor = UserId::new();
    let generator = Generator::new(plan.scope, actor, OffsetDateTime::now_utc(), plan.seed);
    // SQLite has one writer at a time: more in flight only queue on its lock and keep the
    // write-ahead log from being checkpointed, so it grows without bound (tens of GB at 1M).
    let writers = if plan.database_url.starts_with("sqlite:") {
        1
    } else {
        plan.writers.max(1)
    };
    let (tx, rx) = mpsc::channel::<Batch>(writers * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));

    let (first, total, batch_size, seed) = (plan.first, plan.customers, plan.batch.max(1), plan.seed);
    let producer = std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut n = first;
        let end = first + total;
        while n < end {
            let size = batch_size.min((end - n) as usize);
            let mut batch = Batch {
                customers: Vec::with_capacity(size),
                events: Vec::with_capacity(size * 2),
                rows: 0,
            };
            for _ in 0..size {
                let generated = generator.customer(&mut rng, n, end);
                batch.rows += rows_of(&generated);
                batch.customers.push(generated.customer);
                batch.events.extend(generated.events);
                n += 1;
            }
            if tx.blocking_send(batch).is_err() {
                break;
            }
        }
    });

    let stored = Arc::new(AtomicU64::new(0));
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (repo, rx, stored, rows) = (repo.clone(), rx.clone(), stored.clone(), rows.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(batch) = next else { return Ok(()) };
                repo.insert_many(&batch.customers, &batch.events)
                    .await
                    .map_err(|e| format!("insert_many failed at item {}: {}", e.index, e.error))?;
                stored.fetch_add(batch.customers.len() as u64, Ordering::Relaxed);
                rows.fetch_add(batch.rows, Ordering::Relaxed);
            }
        }));
    }
    let progress = {
        let (stored, rows) = (stored.clone(), rows.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                let secs = started.elapsed().as_secs_f64();
                let (c, r) = (stored.load(Ordering::Relaxed), rows.load(Ordering::Relaxed));
                eprintln!(
                    "seed: {c} customers ({r} rows) in {secs:.0} s: {:.0} customers/s, {:.0} rows/s",
                    c as f64 / secs,
                    r as f64 / secs
                );
            }
        })
    };
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(format!("writer task failed: {e}"))),
        }
        if failure.is_some() {
            // Dropping the receiver stops the producer.
            rx.lock().await.close();
        }
    }
    progress.abort();
    let _ = producer.join();
    if let Some(e) = failure {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64();
    let (c, r) = (stored.load(Ordering::Relaxed), rows.load(Ordering::Relaxed));
    println!(
        "seeded {c} customers ({r} rows: customers, contacts, addresses, tags, events) into organization {} \
         workspace {} in {secs:.1} s: {:.0} customers/s, {:.0} rows/s",
        plan.scope.organization_id,
        plan.scope.workspace_id,
        c as f64 / secs,
        r as f64 / secs
    );
    Ok(())
}
