//! What other modules tell us: the idempotency keys of applied inbound events, the purchases
//! read model (orders with their items), won deals, invoice entries (issues and payments), and
//! dead letters of events that could not be applied.
//!
//! Orders, deals and invoice entries belong to a customer and go with it when it is purged;
//! a merge moves them to the surviving customer. An order may be known before its customer
//! (a cancellation that arrives first): `customer_id` is then empty until the order arrives.
//! Orders, deals and invoices are identified within their workspace: another workspace of
//! the organization may use the same ids.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE TABLE inbound_events (
    organization_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    type            text NOT NULL,
    workspace_id    uuid NOT NULL,
    customer_id     uuid,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);
CREATE TABLE customer_orders (
    organization_id uuid NOT NULL,
    order_id        text NOT NULL,
    workspace_id    uuid NOT NULL,
    customer_id     uuid REFERENCES customers (id) ON DELETE CASCADE,
    status          text NOT NULL,
    total_amount    numeric(18,2),
    completed_at    timestamptz,
    reversed_at     timestamptz,
    items           jsonb,
    PRIMARY KEY (organization_id, workspace_id, order_id)
);
CREATE INDEX ix_customer_orders_customer ON customer_orders (customer_id, completed_at);
CREATE TABLE customer_deals (
    organization_id uuid NOT NULL,
    deal_id         text NOT NULL,
    workspace_id    uuid NOT NULL,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount          numeric(18,2) NOT NULL,
    won_at          timestamptz NOT NULL,
    PRIMARY KEY (organization_id, workspace_id, deal_id)
);
CREATE INDEX ix_customer_deals_customer ON customer_deals (customer_id);
CREATE TABLE customer_invoice_entries (
    organization_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    workspace_id    uuid NOT NULL,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    invoice_id      text NOT NULL,
    kind            text NOT NULL,
    amount          numeric(18,2) NOT NULL,
    occurred_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);
CREATE UNIQUE INDEX ux_customer_invoice_issued ON customer_invoice_entries (organization_id, workspace_id, invoice_id) WHERE kind = 'ISSUED';
CREATE INDEX ix_customer_invoice_entries_customer ON customer_invoice_entries (customer_id);
CREATE TABLE inbound_dead_letters (
    id              uuid PRIMARY KEY,
    organization_id uuid,
    workspace_id    uuid,
    event_id        uuid,
    type            text,
    channel         text NOT NULL,
    reason          text NOT NULL,
    body            text NOT NULL,
    received_at     timestamptz NOT NULL
);
CREATE INDEX ix_inbound_dead_letters_scope ON inbound_dead_letters (organization_id, workspace_id, received_at)
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE inbound_events (
    organization_id BLOB NOT NULL,
    event_id        BLOB NOT NULL,
    type            TEXT NOT NULL,
    workspace_id    BLOB NOT NULL,
    customer_id     BLOB,
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);
CREATE TABLE customer_orders (
    organization_id BLOB NOT NULL,
    order_id        TEXT NOT NULL,
    workspace_id    BLOB NOT NULL,
    customer_id     BLOB REFERENCES customers (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    total_amount    INTEGER,
    completed_at    INTEGER,
    reversed_at     INTEGER,
    items           TEXT,
    PRIMARY KEY (organization_id, workspace_id, order_id)
);
CREATE INDEX ix_customer_orders_customer ON customer_orders (customer_id, completed_at);
CREATE TABLE customer_deals (
    organization_id BLOB NOT NULL,
    deal_id         TEXT NOT NULL,
    workspace_id    BLOB NOT NULL,
    customer_id     BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount          INTEGER NOT NULL,
    won_at          INTEGER NOT NULL,
    PRIMARY KEY (organization_id, workspace_id, deal_id)
);
CREATE INDEX ix_customer_deals_customer ON customer_deals (customer_id);
CREATE TABLE customer_invoice_entries (
    organization_id BLOB NOT NULL,
    event_id        BLOB NOT NULL,
    workspace_id    BLOB NOT NULL,
    customer_id     BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    invoice_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    occurred_at     INTEGER NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);
CREATE UNIQUE INDEX ux_customer_invoice_issued ON customer_invoice_entries (organization_id, workspace_id, invoice_id) WHERE kind = 'ISSUED';
CREATE INDEX ix_customer_invoice_entries_customer ON customer_invoice_entries (customer_id);
CREATE TABLE inbound_dead_letters (
    id              BLOB PRIMARY KEY,
    organization_id BLOB,
    workspace_id    BLOB,
    event_id        BLOB,
    type            TEXT,
    channel         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    body            TEXT NOT NULL,
    received_at     INTEGER NOT NULL
);
CREATE INDEX ix_inbound_dead_letters_scope ON inbound_dead_letters (organization_id, workspace_id, received_at)
"#;

const DOWN: &str = "DROP TABLE inbound_dead_letters; DROP TABLE customer_invoice_entries; DROP TABLE customer_deals; \
    DROP TABLE customer_orders; DROP TABLE inbound_events";

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
