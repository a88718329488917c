//! The transactional outbox, which is also each customer's history: every change writes its
//! events here in the same transaction as the change; a relay publishes them afterwards and
//! stamps `published_at`. `seq` orders the events as they were written.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE TABLE customer_events (
    seq             bigserial PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    organization_id uuid NOT NULL,
    workspace_id    uuid NOT NULL,
    customer_id     uuid NOT NULL,
    type            text NOT NULL,
    version         integer NOT NULL,
    payload         jsonb NOT NULL,
    actor           uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    published_at    timestamptz
);
CREATE INDEX ix_customer_events_customer ON customer_events (organization_id, workspace_id, customer_id, seq);
CREATE INDEX ix_customer_events_unpublished ON customer_events (seq) WHERE published_at IS NULL
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE customer_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              BLOB NOT NULL UNIQUE,
    organization_id BLOB NOT NULL,
    workspace_id    BLOB NOT NULL,
    customer_id     BLOB NOT NULL,
    type            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    actor           BLOB NOT NULL,
    occurred_at     INTEGER NOT NULL,
    published_at    INTEGER
);
CREATE INDEX ix_customer_events_customer ON customer_events (organization_id, workspace_id, customer_id, seq);
CREATE INDEX ix_customer_events_unpublished ON customer_events (seq) WHERE published_at IS NULL
"#;

const DOWN: &str = "DROP TABLE customer_events";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, DOWN, DOWN).await
    }
}
