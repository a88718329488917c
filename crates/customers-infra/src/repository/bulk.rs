//! The rows a new customer is stored as, and the fast path of `insert_many`: multi-row
//! `INSERT … VALUES (…), (…), …` statements for customers, contacts, addresses, tags and the
//! outbox, as many rows per statement as the backend's bind-parameter limit allows.
//!
//! The single-row writes (`insert`, `update`) build their rows with the same functions, so the
//! two paths cannot store a customer differently.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Value};

use customers_domain::events::EventEnvelope;
use customers_domain::model::fold_case;
use customers_domain::ports::RepositoryError;
use customers_domain::{Customer, CustomerAddress, CustomerContact, CustomerId};

use super::{SeaRepository, db_error};
use crate::sql::Sql;

/// One row to insert: column names and their values, in order.
pub(super) type Row = Vec<(&'static str, Value)>;

/// Bind parameters one PostgreSQL statement may carry: the protocol counts them in a `u16`.
const POSTGRES_MAX_PARAMS: usize = 65_535;
/// Bind parameters one SQLite statement may carry: `SQLITE_MAX_VARIABLE_NUMBER`, 32,766 by
/// default since SQLite 3.32.
const SQLITE_MAX_PARAMS: usize = 32_766;
/// Rows per statement at most, whatever the limit allows: longer statements are no faster and
/// the prepared-statement cache would hold one huge plan per table.
const MAX_ROWS_PER_STATEMENT: usize = 1_000;

impl SeaRepository {
    /// The row of a new customer in `customers`.
    pub(super) fn customer_row(&self, customer: &Customer) -> Row {
        let k = &self.codec;
        let mut row = vec![
            ("id", k.uuid(customer.id)),
            ("organization_id", k.uuid(customer.organization_id)),
            ("workspace_id", k.uuid(customer.workspace_id)),
            ("created_at", k.time(customer.created_at)),
            ("created_by", k.opt_uuid(customer.created_by)),
        ];
        row.extend(self.customer_values(customer));
        row
    }

    /// The row of the contact at `position` of a customer in `customer_contacts`.
    pub(super) fn contact_row(&self, customer: CustomerId, position: usize, c: &CustomerContact) -> Row {
        let k = &self.codec;
        vec![
            ("id", k.uuid(c.id)),
            ("customer_id", k.uuid(customer)),
            ("position", k.int(position as i64)),
            ("first_name", k.text(c.first_name.clone())),
            ("last_name", k.text(c.last_name.clone())),
            ("middle_name", k.opt_text(c.middle_name.clone())),
            ("job_title", k.opt_text(c.position.clone())),
            ("department", k.opt_text(c.department.clone())),
            ("email", k.text(c.email.as_str())),
            ("phone", k.text(c.phone.as_str())),
            (
                "mobile_phone",
                k.opt_text(c.mobile_phone.as_ref().map(|p| p.as_str().to_owned())),
            ),
            ("is_primary", k.bool(c.is_primary)),
            ("is_decision_maker", k.bool(c.is_decision_maker)),
            (
                "social_media",
                k.json(c.social_media.as_ref().map(|s| serde_json::json!(s))),
            ),
            ("notes", k.opt_text(c.notes.clone())),
            ("created_at", k.time(c.created_at)),
            ("updated_at", k.time(c.updated_at)),
        ]
    }

    /// The row of the address at `position` of a customer in `customer_addresses`.
    pub(super) fn address_row(&self, customer: CustomerId, position: usize, a: &CustomerAddress) -> Row {
        let k = &self.codec;
        vec![
            ("id", k.uuid(a.id)),
            ("customer_id", k.uuid(customer)),
            ("position", k.int(position as i64)),
            ("type", k.text(a.address_type.as_str())),
            ("street", k.text(a.street.clone())),
            ("building", k.opt_text(a.building.clone())),
            ("apartment", k.opt_text(a.apartment.clone())),
            ("city", k.text(a.city.clone())),
            ("city_key", k.text(fold_case(&a.city))),
            ("region", k.opt_text(a.region.clone())),
            ("postal_code", k.text(a.postal_code.clone())),
            ("country", k.text(a.country.clone())),
            ("is_primary", k.bool(a.is_primary)),
            ("contact_name", k.opt_text(a.contact_name.clone())),
            (
                "contact_phone",
                k.opt_text(a.contact_phone.as_ref().map(|p| p.as_str().to_owned())),
            ),
            ("delivery_instructions", k.opt_text(a.delivery_instructions.clone())),
            ("coordinates", k.json(a.coordinates.map(|c| serde_json::json!(c)))),
            ("created_at", k.time(a.created_at)),
            ("updated_at", k.time(a.updated_at)),
        ]
    }

    /// The row of one tag of a customer in `customer_tags`.
    pub(super) fn tag_row(&self, customer: CustomerId, tag: &str) -> Row {
        let k = &self.codec;
        vec![("customer_id", k.uuid(customer)), ("tag_key", k.text(fold_case(tag)))]
    }

    /// The row of an event in the outbox, `customer_events`.
    pub(super) fn event_row(&self, event: &EventEnvelope) -> Result<Row, RepositoryError> {
        let k = &self.codec;
        let payload = match serde_json::to_value(&event.event) {
            Ok(serde_json::Value::Object(mut map)) => map.remove("payload").unwrap_or(serde_json::Value::Null),
            Ok(_) | Err(_) => {
                return Err(RepositoryError::Unexpected(format!(
                    "event {} cannot be serialized",
                    event.event_id
                )));
            }
        };
        Ok(vec![
            ("id", k.uuid(event.event_id)),
            ("organization_id", k.uuid(event.organization_id)),
            ("workspace_id", k.uuid(event.workspace_id)),
            ("customer_id", k.uuid(event.customer_id)),
            ("type", k.text(event.event.type_name())),
            ("version", k.int(event.version.into())),
            ("payload", k.json(Some(payload))),
            ("actor", k.uuid(event.actor)),
            ("occurred_at", k.time(event.occurred_at)),
        ])
    }

    /// The outbox rows of `events`, in order.
    pub(super) fn event_rows(&self, events: &[EventEnvelope]) -> Result<Vec<Row>, RepositoryError> {
        events.iter().map(|event| self.event_row(event)).collect()
    }

    /// Rows per statement for rows of `columns` columns on this backend.
    fn rows_per_statement(&self, columns: usize) -> usize {
        let limit = match self.codec.backend() {
            DbBackend::Postgres => POSTGRES_MAX_PARAMS,
            _ => SQLITE_MAX_PARAMS,
        };
        (limit / columns.max(1)).clamp(1, MAX_ROWS_PER_STATEMENT)
    }

    /// Appends `INSERT INTO table (…) VALUES (…), …` of `rows`, which all have the columns of
    /// the first, in order.
    fn push_insert(&self, sql: &mut Sql, table: &str, rows: Vec<Row>) -> Result<(), RepositoryError> {
        let names: Vec<&'static str> = rows
            .first()
            .map(|row| row.iter().map(|(name, _)| *name).collect())
            .unwrap_or_default();
        sql.push(&format!("INSERT INTO {table} ({}) VALUES ", names.join(", ")));
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != names.len() || row.iter().zip(&names).any(|((name, _), want)| name != want) {
                return Err(RepositoryError::Unexpected(format!(
                    "rows for {table} do not all have the same columns"
                )));
            }
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(row.into_iter().map(|(_, value)| value));
        }
        Ok(())
    }

    /// Inserts `rows` (all with the same columns, in the same order) into `table` with as few
    /// multi-row statements as the bind-parameter limit allows, in `txn`.
    pub(super) async fn insert_rows(
        &self,
        txn: &DatabaseTransaction,
        table: &str,
        rows: Vec<Row>,
    ) -> Result<(), RepositoryError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let per_statement = self.rows_per_statement(first.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = self.codec.sql("");
            self.push_insert(&mut sql, table, rows.by_ref().take(per_statement).collect())?;
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        Ok(())
    }

    /// The rows of new customers with their contacts, addresses and tags, per table, the
    /// customers first (their unique indexes name a duplicate).
    pub(super) fn customer_tables(&self, customers: &[Customer]) -> Vec<(&'static str, Vec<Row>)> {
        let contacts = customers
            .iter()
            .flat_map(|c| {
                c.contacts
                    .iter()
                    .enumerate()
                    .map(|(position, contact)| self.contact_row(c.id, position, contact))
            })
            .collect();
        let addresses = customers
            .iter()
            .flat_map(|c| {
                c.addresses
                    .iter()
                    .enumerate()
                    .map(|(position, address)| self.address_row(c.id, position, address))
            })
            .collect();
        let tags = customers
            .iter()
            .flat_map(|c| c.tags.iter().map(|tag| self.tag_row(c.id, tag)))
            .collect();
        vec![
            ("customers", customers.iter().map(|c| self.customer_row(c)).collect()),
            ("customer_contacts", contacts),
            ("customer_addresses", addresses),
            ("customer_tags", tags),
        ]
    }

    /// Inserts new customers with their contacts, addresses and tags with multi-row
    /// statements, in `txn`. On an error nothing tells which customer caused it: the caller
    /// rolls back and finds out row by row.
    pub(super) async fn insert_customers_bulk(
        &self,
        txn: &DatabaseTransaction,
        customers: &[Customer],
    ) -> Result<(), RepositoryError> {
        for (table, rows) in self.customer_tables(customers) {
            self.insert_rows(txn, table, rows).await?;
        }
        Ok(())
    }

    /// One PostgreSQL statement inserting every table's rows: each table's `INSERT` but the
    /// last in a data-modifying `WITH`. A statement is its own transaction, so a create is
    /// one round trip; foreign keys are checked at its end, when every row is in. `None` when
    /// the rows need more bind parameters than one statement may carry.
    pub(super) fn insert_statement(
        &self,
        tables: Vec<(&'static str, Vec<Row>)>,
    ) -> Result<Option<Sql>, RepositoryError> {
        let tables: Vec<_> = tables.into_iter().filter(|(_, rows)| !rows.is_empty()).collect();
        let params: usize = tables.iter().flat_map(|(_, rows)| rows).map(Vec::len).sum();
        if params > POSTGRES_MAX_PARAMS || tables.is_empty() {
            return Ok(None);
        }
        let mut sql = self.codec.sql("");
        let last = tables.len() - 1;
        for (i, (table, rows)) in tables.into_iter().enumerate() {
            if i < last {
                sql.push(&format!("{} w{i} AS (", if i == 0 { "WITH" } else { "," }));
            } else if last > 0 {
                sql.push(" ");
            }
            self.push_insert(&mut sql, table, rows)?;
            if i < last {
                sql.push(")");
            }
        }
        Ok(Some(sql))
    }

    /// Appends events to the outbox with multi-row statements, in `txn`, in the order given
    /// (so `seq` follows it).
    pub(super) async fn append_events_bulk(
        &self,
        txn: &DatabaseTransaction,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        self.insert_rows(txn, "customer_events", self.event_rows(events)?).await
    }
}
