//! The module metrics read the outbox by event type and time within a workspace (creations,
//! status changes, deletions, restorations, conversions and merges before the end of a
//! period); this index serves those reads without visiting the workspace's other events
//! (updates, purchase metrics, assignments).

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str =
    "CREATE INDEX ix_customer_events_type_time ON customer_events (organization_id, workspace_id, type, occurred_at)";

const DOWN: &str = "DROP INDEX ix_customer_events_type_time";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, UP, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, DOWN, DOWN).await
    }
}
