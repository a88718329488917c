//! The schema of the customers service, as sea-orm migrations.
//!
//! Each migration carries its DDL for PostgreSQL and for SQLite side by side: the two engines
//! differ in types (uuid, timestamptz, numeric, jsonb), and the adapters in `customers-infra`
//! encode values accordingly (see `customers_infra::sql::Codec`).
//!
//! | value     | PostgreSQL       | SQLite                           |
//! |-----------|------------------|----------------------------------|
//! | ids       | `uuid`           | `BLOB` (16 bytes)                |
//! | time      | `timestamptz`    | `INTEGER` microseconds since 1970 UTC |
//! | money     | `numeric(18,2)`  | `INTEGER` cents (exact, sortable) |
//! | JSON      | `jsonb`          | `TEXT`                           |

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_customers;
mod m20261125_000002_lifecycle;
mod m20261125_000003_match_keys;
mod m20261125_000004_outbox;
mod m20261125_000005_inbound;
mod m20261125_000006_list_indexes;
mod m20261125_000007_workspace_settings;
mod m20261125_000008_clv_models;
mod m20261125_000009_filter_sort_indexes;
mod m20261125_000010_interactions;
mod m20261125_000011_metrics_indexes;

/// Runs the migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_customers::Migration),
            Box::new(m20261125_000002_lifecycle::Migration),
            Box::new(m20261125_000003_match_keys::Migration),
            Box::new(m20261125_000004_outbox::Migration),
            Box::new(m20261125_000005_inbound::Migration),
            Box::new(m20261125_000006_list_indexes::Migration),
            Box::new(m20261125_000007_workspace_settings::Migration),
            Box::new(m20261125_000008_clv_models::Migration),
            Box::new(m20261125_000009_filter_sort_indexes::Migration),
            Box::new(m20261125_000010_interactions::Migration),
            Box::new(m20261125_000011_metrics_indexes::Migration),
        ]
    }
}

/// Runs every statement of a `;`-separated script, in order.
async fn run_script(manager: &SchemaManager<'_>, script: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Picks the script for the connected backend.
async fn run_for_backend(manager: &SchemaManager<'_>, postgres: &str, sqlite: &str) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => run_script(manager, postgres).await,
        sea_orm_migration::sea_orm::DbBackend::Sqlite => run_script(manager, sqlite).await,
        other => Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
    }
}
