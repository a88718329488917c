//! Notes record interactions: a `channel` (call, email, meeting, message, other) and a
//! `direction` (inbound, outbound), both optional. On PostgreSQL, the items of counted orders
//! get a GIN index so that "customers who bought X also bought" finds the baskets holding X
//! without reading the workspace's orders.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
ALTER TABLE customer_notes
    ADD COLUMN channel text CHECK (channel IN ('call', 'email', 'meeting', 'message', 'other')),
    ADD COLUMN direction text CHECK (direction IN ('inbound', 'outbound'));
CREATE INDEX ix_customer_orders_items ON customer_orders USING gin (items jsonb_path_ops)
    WHERE status = 'COMPLETED'
"#;

const SQLITE_UP: &str = r#"
ALTER TABLE customer_notes
    ADD COLUMN channel TEXT CHECK (channel IN ('call', 'email', 'meeting', 'message', 'other'));
ALTER TABLE customer_notes
    ADD COLUMN direction TEXT CHECK (direction IN ('inbound', 'outbound'))
"#;

const POSTGRES_DOWN: &str = r#"
DROP INDEX ix_customer_orders_items;
ALTER TABLE customer_notes DROP COLUMN channel, DROP COLUMN direction
"#;

const SQLITE_DOWN: &str = r#"
ALTER TABLE customer_notes DROP COLUMN channel;
ALTER TABLE customer_notes DROP COLUMN direction
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
