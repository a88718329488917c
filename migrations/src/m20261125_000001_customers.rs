//! Customers with contacts, addresses, notes and tags.
//!
//! Uniqueness of e-mail, IIN and BIN per organization is enforced by unique indexes, so that
//! concurrent inserts cannot both succeed. E-mail is stored lower-cased. `search_text`,
//! `name_key`, `industry_key`, `lead_source_key`, `city_key` and `customer_tags.tag_key` hold case-folded
//! copies maintained by the application (SQLite's `lower()` folds ASCII only).

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE TABLE customers (
    id                  uuid PRIMARY KEY,
    organization_id     uuid NOT NULL,
    workspace_id        uuid NOT NULL,
    type                text NOT NULL CHECK (type IN ('INDIVIDUAL', 'COMPANY')),
    status              text NOT NULL CHECK (status IN ('LEAD', 'PROSPECT', 'ACTIVE', 'INACTIVE', 'CHURNED')),
    name                text NOT NULL,
    name_key            text NOT NULL,
    email               text NOT NULL,
    phone               text,
    iin                 text,
    bin                 text,
    company_name        text,
    company_size        text,
    industry            text,
    industry_key        text,
    credit_limit        numeric(18,2) NOT NULL DEFAULT 0,
    current_balance     numeric(18,2) NOT NULL DEFAULT 0,
    custom_fields       jsonb,
    tags                jsonb NOT NULL DEFAULT '[]',
    lead_source         text,
    lead_source_key     text,
    first_purchase_date timestamptz,
    last_purchase_date  timestamptz,
    total_purchases     numeric(18,2) NOT NULL DEFAULT 0,
    purchase_count      integer NOT NULL DEFAULT 0,
    lifetime_value      numeric(18,2) NOT NULL DEFAULT 0,
    rating              smallint NOT NULL DEFAULT 5 CHECK (rating BETWEEN 1 AND 10),
    assigned_to         uuid,
    is_active           boolean NOT NULL DEFAULT true,
    search_text         text NOT NULL,
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    created_by          uuid,
    updated_by          uuid
);
CREATE UNIQUE INDEX ux_customers_org_email ON customers (organization_id, email);
CREATE UNIQUE INDEX ux_customers_org_iin ON customers (organization_id, iin) WHERE iin IS NOT NULL;
CREATE UNIQUE INDEX ux_customers_org_bin ON customers (organization_id, bin) WHERE bin IS NOT NULL;
CREATE INDEX ix_customers_scope_created ON customers (organization_id, workspace_id, created_at, id);
CREATE INDEX ix_customers_scope_status ON customers (organization_id, workspace_id, status);
CREATE INDEX ix_customers_scope_assigned ON customers (organization_id, workspace_id, assigned_to);

CREATE TABLE customer_contacts (
    id                uuid PRIMARY KEY,
    customer_id       uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position          integer NOT NULL,
    first_name        text NOT NULL,
    last_name         text NOT NULL,
    middle_name       text,
    job_title         text,
    department        text,
    email             text NOT NULL,
    phone             text NOT NULL,
    mobile_phone      text,
    is_primary        boolean NOT NULL DEFAULT false,
    is_decision_maker boolean NOT NULL DEFAULT false,
    social_media      jsonb,
    notes             text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX ix_customer_contacts_customer ON customer_contacts (customer_id, position);
CREATE UNIQUE INDEX ux_customer_contacts_primary ON customer_contacts (customer_id) WHERE is_primary;

CREATE TABLE customer_addresses (
    id                    uuid PRIMARY KEY,
    customer_id           uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position              integer NOT NULL,
    type                  text NOT NULL CHECK (type IN ('billing', 'shipping', 'office', 'warehouse')),
    street                text NOT NULL,
    building              text,
    apartment             text,
    city                  text NOT NULL,
    city_key              text NOT NULL,
    region                text,
    postal_code           text NOT NULL,
    country               text NOT NULL,
    is_primary            boolean NOT NULL DEFAULT false,
    contact_name          text,
    contact_phone         text,
    delivery_instructions text,
    coordinates           jsonb,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX ix_customer_addresses_customer ON customer_addresses (customer_id, position);
CREATE INDEX ix_customer_addresses_city ON customer_addresses (city_key, customer_id);
CREATE UNIQUE INDEX ux_customer_addresses_primary ON customer_addresses (customer_id, type) WHERE is_primary;

CREATE TABLE customer_tags (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag_key     text NOT NULL,
    PRIMARY KEY (customer_id, tag_key)
);
CREATE INDEX ix_customer_tags_tag ON customer_tags (tag_key, customer_id);

CREATE TABLE customer_notes (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author_id   uuid NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX ix_customer_notes_customer ON customer_notes (customer_id, created_at)
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE customers (
    id                  BLOB PRIMARY KEY NOT NULL,
    organization_id     BLOB NOT NULL,
    workspace_id        BLOB NOT NULL,
    type                TEXT NOT NULL CHECK (type IN ('INDIVIDUAL', 'COMPANY')),
    status              TEXT NOT NULL CHECK (status IN ('LEAD', 'PROSPECT', 'ACTIVE', 'INACTIVE', 'CHURNED')),
    name                TEXT NOT NULL,
    name_key            TEXT NOT NULL,
    email               TEXT NOT NULL,
    phone               TEXT,
    iin                 TEXT,
    bin                 TEXT,
    company_name        TEXT,
    company_size        TEXT,
    industry            TEXT,
    industry_key        TEXT,
    credit_limit        INTEGER NOT NULL DEFAULT 0,
    current_balance     INTEGER NOT NULL DEFAULT 0,
    custom_fields       TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    lead_source         TEXT,
    lead_source_key     TEXT,
    first_purchase_date INTEGER,
    last_purchase_date  INTEGER,
    total_purchases     INTEGER NOT NULL DEFAULT 0,
    purchase_count      INTEGER NOT NULL DEFAULT 0,
    lifetime_value      INTEGER NOT NULL DEFAULT 0,
    rating              INTEGER NOT NULL DEFAULT 5 CHECK (rating BETWEEN 1 AND 10),
    assigned_to         BLOB,
    is_active           INTEGER NOT NULL DEFAULT 1,
    search_text         TEXT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    created_by          BLOB,
    updated_by          BLOB
);
CREATE UNIQUE INDEX ux_customers_org_email ON customers (organization_id, email);
CREATE UNIQUE INDEX ux_customers_org_iin ON customers (organization_id, iin) WHERE iin IS NOT NULL;
CREATE UNIQUE INDEX ux_customers_org_bin ON customers (organization_id, bin) WHERE bin IS NOT NULL;
CREATE INDEX ix_customers_scope_created ON customers (organization_id, workspace_id, created_at, id);
CREATE INDEX ix_customers_scope_status ON customers (organization_id, workspace_id, status);
CREATE INDEX ix_customers_scope_assigned ON customers (organization_id, workspace_id, assigned_to);

CREATE TABLE customer_contacts (
    id                BLOB PRIMARY KEY NOT NULL,
    customer_id       BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    middle_name       TEXT,
    job_title         TEXT,
    department        TEXT,
    email             TEXT NOT NULL,
    phone             TEXT NOT NULL,
    mobile_phone      TEXT,
    is_primary        INTEGER NOT NULL DEFAULT 0,
    is_decision_maker INTEGER NOT NULL DEFAULT 0,
    social_media      TEXT,
    notes             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX ix_customer_contacts_customer ON customer_contacts (customer_id, position);
CREATE UNIQUE INDEX ux_customer_contacts_primary ON customer_contacts (customer_id) WHERE is_primary;

CREATE TABLE customer_addresses (
    id                    BLOB PRIMARY KEY NOT NULL,
    customer_id           BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position              INTEGER NOT NULL,
    type                  TEXT NOT NULL CHECK (type IN ('billing', 'shipping', 'office', 'warehouse')),
    street                TEXT NOT NULL,
    building              TEXT,
    apartment             TEXT,
    city                  TEXT NOT NULL,
    city_key              TEXT NOT NULL,
    region                TEXT,
    postal_code           TEXT NOT NULL,
    country               TEXT NOT NULL,
    is_primary            INTEGER NOT NULL DEFAULT 0,
    contact_name          TEXT,
    contact_phone         TEXT,
    delivery_instructions TEXT,
    coordinates           TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX ix_customer_addresses_customer ON customer_addresses (customer_id, position);
CREATE INDEX ix_customer_addresses_city ON customer_addresses (city_key, customer_id);
CREATE UNIQUE INDEX ux_customer_addresses_primary ON customer_addresses (customer_id, type) WHERE is_primary;

CREATE TABLE customer_tags (
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag_key     TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag_key)
);
CREATE INDEX ix_customer_tags_tag ON customer_tags (tag_key, customer_id);

CREATE TABLE customer_notes (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author_id   BLOB NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX ix_customer_notes_customer ON customer_notes (customer_id, created_at)
"#;

const DOWN: &str = r#"
DROP TABLE customer_notes;
DROP TABLE customer_tags;
DROP TABLE customer_addresses;
DROP TABLE customer_contacts;
DROP TABLE customers
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
        run_for_backend(manager, DOWN, DOWN).await
    }
}
