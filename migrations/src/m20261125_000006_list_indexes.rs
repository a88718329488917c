//! Index-backed lists at a million customers per workspace: one index per sort order (live
//! customers only, ending with the id so that keyset pagination and ties use it), indexes for
//! the equality filters, and on PostgreSQL a trigram index (pg_trgm) on the normalized search
//! text for substring search. The indexes they replace covered deleted customers too.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes both engines share (`{name}` is the name sort's collation).
fn common(name_collation: &str) -> String {
    format!(
        "DROP INDEX ix_customers_scope_created;
DROP INDEX ix_customers_scope_status;
CREATE INDEX ix_customers_live_created ON customers (organization_id, workspace_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_updated ON customers (organization_id, workspace_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_name ON customers (organization_id, workspace_id, name_key{name_collation}, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_total ON customers (organization_id, workspace_id, total_purchases, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_rating ON customers (organization_id, workspace_id, rating, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_status ON customers (organization_id, workspace_id, status, type, industry_key) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_type ON customers (organization_id, workspace_id, type) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_industry ON customers (organization_id, workspace_id, industry_key) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_lead_source ON customers (organization_id, workspace_id, lead_source_key) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_live_active ON customers (organization_id, workspace_id, is_active, created_at) WHERE deleted_at IS NULL"
    )
}

const POSTGRES_TRIGRAMS: &str = "CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX ix_customers_search_trgm ON customers USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL";

const DOWN: &str = "DROP INDEX ix_customers_live_created;
DROP INDEX ix_customers_live_updated;
DROP INDEX ix_customers_live_name;
DROP INDEX ix_customers_live_total;
DROP INDEX ix_customers_live_rating;
DROP INDEX ix_customers_live_status;
DROP INDEX ix_customers_live_type;
DROP INDEX ix_customers_live_industry;
DROP INDEX ix_customers_live_lead_source;
DROP INDEX ix_customers_live_active;
CREATE INDEX ix_customers_scope_created ON customers (organization_id, workspace_id, created_at, id);
CREATE INDEX ix_customers_scope_status ON customers (organization_id, workspace_id, status)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = format!("{};\n{POSTGRES_TRIGRAMS}", common(" COLLATE \"C\""));
        run_for_backend(manager, &postgres, &common("")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = format!("DROP INDEX ix_customers_search_trgm;\n{DOWN}");
        run_for_backend(manager, &postgres, DOWN).await
    }
}
