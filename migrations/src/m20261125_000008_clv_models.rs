//! The latest fit of each workspace's lifetime value models (BG/NBD and Gamma-Gamma): the
//! fitted models as a JSON document (`ClvModel`: parameters, log-likelihoods, sample sizes,
//! time unit) when `status` is `FITTED`, otherwise the reason there is none
//! (`INSUFFICIENT_DATA`, `FIT_FAILED`); the time unit, the customers in the sample, the end of
//! the observation (`as_of`) and when the fit ran. One row per workspace, replaced by every
//! fit.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE TABLE clv_models (
    organization_id uuid NOT NULL,
    workspace_id    uuid NOT NULL,
    status          text NOT NULL CHECK (status IN ('FITTED', 'INSUFFICIENT_DATA', 'FIT_FAILED')),
    model           jsonb,
    reason          text,
    time_unit       text NOT NULL,
    sample_size     bigint NOT NULL CHECK (sample_size >= 0),
    as_of           timestamptz NOT NULL,
    fitted_at       timestamptz NOT NULL,
    PRIMARY KEY (organization_id, workspace_id),
    CHECK ((status = 'FITTED' AND model IS NOT NULL AND reason IS NULL)
        OR (status <> 'FITTED' AND model IS NULL AND reason IS NOT NULL))
)
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE clv_models (
    organization_id BLOB NOT NULL,
    workspace_id    BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('FITTED', 'INSUFFICIENT_DATA', 'FIT_FAILED')),
    model           TEXT,
    reason          TEXT,
    time_unit       TEXT NOT NULL,
    sample_size     INTEGER NOT NULL CHECK (sample_size >= 0),
    as_of           INTEGER NOT NULL,
    fitted_at       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, workspace_id),
    CHECK ((status = 'FITTED' AND model IS NOT NULL AND reason IS NULL)
        OR (status <> 'FITTED' AND model IS NULL AND reason IS NOT NULL))
)
"#;

const DOWN: &str = "DROP TABLE clv_models";

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
