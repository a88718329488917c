//! Per-workspace settings: the segment thresholds (a JSON document of `SegmentRules`; the
//! defaults apply while a workspace has none).

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE TABLE workspace_settings (
    organization_id uuid NOT NULL,
    workspace_id    uuid NOT NULL,
    segment_rules   jsonb,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, workspace_id)
)
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE workspace_settings (
    organization_id BLOB NOT NULL,
    workspace_id    BLOB NOT NULL,
    segment_rules   TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, workspace_id)
)
"#;

const DOWN: &str = "DROP TABLE workspace_settings";

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
