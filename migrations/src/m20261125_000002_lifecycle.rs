//! Customer lifecycle: soft delete with restore, lead conversion time, duplicate matching key.
//!
//! - `deleted_at`/`deleted_by`: a deleted customer disappears from every read and frees its
//!   e-mail, IIN and BIN; the unique indexes are recreated as partial indexes on live rows.
//!   A periodic job of the server purges rows deleted longer ago than the retention window.
//! - `converted_at`: when a lead was converted (average conversion time is a module metric).
//! - `match_key`: the normalized, transliterated name without legal forms used to find
//!   possible duplicates ("ТОО «Альфа»" and "Alfa LLP" both give "alfa").

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
ALTER TABLE customers ADD COLUMN deleted_at timestamptz;
ALTER TABLE customers ADD COLUMN deleted_by uuid;
ALTER TABLE customers ADD COLUMN converted_at timestamptz;
ALTER TABLE customers ADD COLUMN match_key text NOT NULL DEFAULT '';
DROP INDEX ux_customers_org_email;
DROP INDEX ux_customers_org_iin;
DROP INDEX ux_customers_org_bin;
CREATE UNIQUE INDEX ux_customers_org_email ON customers (organization_id, email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX ux_customers_org_iin ON customers (organization_id, iin) WHERE iin IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX ux_customers_org_bin ON customers (organization_id, bin) WHERE bin IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX ix_customers_deleted ON customers (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX ix_customers_scope_phone ON customers (organization_id, workspace_id, phone);
CREATE INDEX ix_customers_scope_match ON customers (organization_id, workspace_id, match_key)
"#;

const SQLITE_UP: &str = r#"
ALTER TABLE customers ADD COLUMN deleted_at INTEGER;
ALTER TABLE customers ADD COLUMN deleted_by BLOB;
ALTER TABLE customers ADD COLUMN converted_at INTEGER;
ALTER TABLE customers ADD COLUMN match_key TEXT NOT NULL DEFAULT '';
DROP INDEX ux_customers_org_email;
DROP INDEX ux_customers_org_iin;
DROP INDEX ux_customers_org_bin;
CREATE UNIQUE INDEX ux_customers_org_email ON customers (organization_id, email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX ux_customers_org_iin ON customers (organization_id, iin) WHERE iin IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX ux_customers_org_bin ON customers (organization_id, bin) WHERE bin IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX ix_customers_deleted ON customers (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX ix_customers_scope_phone ON customers (organization_id, workspace_id, phone);
CREATE INDEX ix_customers_scope_match ON customers (organization_id, workspace_id, match_key)
"#;

const POSTGRES_DOWN: &str = r#"
DROP INDEX ix_customers_scope_match;
DROP INDEX ix_customers_scope_phone;
DROP INDEX ix_customers_deleted;
DELETE FROM customers WHERE deleted_at IS NOT NULL;
DROP INDEX ux_customers_org_email;
DROP INDEX ux_customers_org_iin;
DROP INDEX ux_customers_org_bin;
CREATE UNIQUE INDEX ux_customers_org_email ON customers (organization_id, email);
CREATE UNIQUE INDEX ux_customers_org_iin ON customers (organization_id, iin) WHERE iin IS NOT NULL;
CREATE UNIQUE INDEX ux_customers_org_bin ON customers (organization_id, bin) WHERE bin IS NOT NULL;
ALTER TABLE customers DROP COLUMN match_key;
ALTER TABLE customers DROP COLUMN converted_at;
ALTER TABLE customers DROP COLUMN deleted_by;
ALTER TABLE customers DROP COLUMN deleted_at
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every backend (SQLite has transactional DDL too), so that a
    /// migration is applied whole or not at all, over one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite (3.35+) drops columns too; the same script serves both.
        run_for_backend(manager, POSTGRES_DOWN, POSTGRES_DOWN).await
    }
}
