//! The customer repository and search on SeaORM: one code path for PostgreSQL and SQLite.
//!
//! Each write is one transaction. Each read of whole customers is one statement (see `load`):
//! the page of customers, the contacts and addresses of just those customers (no join
//! fan-out, no N+1) and the count, in one round trip and one snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    QueryResult, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait, Value,
};
use uuid::Uuid;

use customers_domain::analytics::segment::{Condition, Segment, SegmentRules};
use customers_domain::events::EventEnvelope;
use customers_domain::lifecycle::names::match_key;
use customers_domain::model::fold_case;
use customers_domain::ports::{BatchError, CustomerRepository, CustomerSearch, DuplicateProbe, RepositoryError};
use customers_domain::query::{
    CountMode, CustomerFilter, CustomerList, CustomerQuery, ESTIMATE_TRUSTED_ABOVE, EXACT_COUNT_UP_TO, Keyset, Page,
    SortField, SortOrder, SortValue,
};
use customers_domain::values::{Bin, Email, Iin, Phone};
use customers_domain::{
    AddressId, ContactId, Customer, CustomerAddress, CustomerContact, CustomerId, CustomerNote, CustomerStatus,
    CustomerType, NoteId, OrganizationId, Scope, UniqueField, UserId, WorkspaceId,
};
use time::OffsetDateTime;

use crate::sql::{Codec, Sql, corrupt, like_escape};

mod bulk;
mod clv;
mod inbound;
mod load;
mod metrics;
mod segments;

const CUSTOMER_COLUMNS: &str = "c.id, c.organization_id, c.workspace_id, c.type, c.status, c.name, c.email, \
    c.phone, c.iin, c.bin, c.company_name, c.company_size, c.industry, c.credit_limit, c.current_balance, \
    c.custom_fields, c.tags, c.lead_source, c.first_purchase_date, c.last_purchase_date, c.total_purchases, \
    c.purchase_count, c.lifetime_value, c.rating, c.assigned_to, c.is_active, c.converted_at, c.version, \
    c.created_at, c.updated_at, c.created_by, c.updated_by";

/// The columns of `customer_notes`, in the order `add_note` inserts them.
pub(crate) const NOTE_COLUMNS: &str = "id, customer_id, author_id, body, channel, direction, created_at, updated_at";

/// Customers in a relational database through SeaORM.
#[derive(Debug, Clone)]
pub struct SeaRepository {
    db: DatabaseConnection,
    codec: Codec,
    estimates: Arc<Mutex<HashMap<String, (u64, Instant)>>>,
    estimate_ttl: Duration,
}

/// How long the planner's estimate of a list query's matches is reused by default. The
/// planner's statistics change only with `ANALYZE` and its estimates with the table's size, so
/// asking it again within seconds seldom tells anything new.
pub const ESTIMATE_REUSED_FOR: Duration = Duration::from_secs(10);
/// Estimates remembered at most (per process); the memo starts over when full.
const ESTIMATES_REMEMBERED: usize = 10_000;

impl SeaRepository {
    /// Uses an open (and migrated) connection pool.
    pub fn new(db: DatabaseConnection) -> Self {
        let codec = Codec::new(db.get_database_backend());
        Self {
            db,
            codec,
            estimates: Arc::default(),
            estimate_ttl: ESTIMATE_REUSED_FOR,
        }
    }

    /// Reuses the planner's estimates of list matches for `ttl` (`Duration::ZERO`: asks the
    /// planner for every list with `count=estimated`).
    pub fn reusing_estimates_for(mut self, ttl: Duration) -> Self {
        self.estimate_ttl = ttl;
        self
    }

    /// Whether the database is embedded in this process (SQLite): a single server owns it, so
    /// per-process caching is safe.
    pub fn is_embedded(&self) -> bool {
        self.codec.backend() == DbBackend::Sqlite
    }

    /// The connection pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first cannot wait for the lock later
    /// and fails with "database is locked" under concurrent writes.
    async fn begin_write(&self) -> Result<DatabaseTransaction, RepositoryError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        self.db.begin_with_options(options).await.map_err(db_error)
    }

    /// Starts a read-only transaction with one snapshot for all its statements, so that a
    /// customer and its contacts and addresses are read from the same version. (SQLite in WAL
    /// mode keeps one snapshot per transaction by itself.)
    async fn begin_read(&self) -> Result<DatabaseTransaction, RepositoryError> {
        let options = match self.codec.backend() {
            DbBackend::Postgres => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                ..Default::default()
            },
            _ => TransactionOptions::default(),
        };
        self.db.begin_with_options(options).await.map_err(db_error)
    }

    fn customer_values(&self, c: &Customer) -> Vec<(&'static str, Value)> {
        let k = &self.codec;
        vec![
            ("type", k.text(c.customer_type.as_str())),
            ("status", k.text(c.status.as_str())),
            ("name", k.text(c.name.clone())),
            ("name_key", k.text(fold_case(&c.name))),
            ("email", k.text(c.email.as_str())),
            ("phone", k.opt_text(c.phone.as_ref().map(|p| p.as_str().to_owned()))),
            ("iin", k.opt_text(c.iin.as_ref().map(|v| v.as_str().to_owned()))),
            ("bin", k.opt_text(c.bin.as_ref().map(|v| v.as_str().to_owned()))),
            ("company_name", k.opt_text(c.company_name.clone())),
            ("company_size", k.opt_text(c.company_size.map(|s| s.as_str()))),
            ("industry", k.opt_text(c.industry.clone())),
            ("industry_key", k.opt_text(c.industry.as_deref().map(fold_case))),
            ("credit_limit", k.money(c.credit_limit)),
            ("current_balance", k.money(c.current_balance)),
            (
                "custom_fields",
                k.json(c.custom_fields.clone().map(serde_json::Value::Object)),
            ),
            ("tags", k.json(Some(serde_json::json!(c.tags)))),
            ("lead_source", k.opt_text(c.lead_source.clone())),
            ("lead_source_key", k.opt_text(c.lead_source.as_deref().map(fold_case))),
            ("first_purchase_date", k.opt_time(c.first_purchase_date)),
            ("last_purchase_date", k.opt_time(c.last_purchase_date)),
            ("total_purchases", k.money(c.total_purchases)),
            ("purchase_count", k.int(c.purchase_count.into())),
            ("lifetime_value", k.money(c.lifetime_value)),
            ("rating", k.int(c.rating.value().into())),
            ("assigned_to", k.opt_uuid(c.assigned_to)),
            ("is_active", k.bool(c.is_active)),
            ("search_text", k.text(c.search_text())),
            ("match_key", k.text(match_key(&c.name))),
            ("converted_at", k.opt_time(c.converted_at)),
            ("version", k.int(c.version)),
            ("updated_at", k.time(c.updated_at)),
            ("updated_by", k.opt_uuid(c.updated_by)),
        ]
    }

    fn insert_sql(&self, table: &str, columns: Vec<(&'static str, Value)>) -> Sql {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut sql = self
            .codec
            .sql(&format!("INSERT INTO {table} ({}) VALUES ", names.join(", ")));
        sql.bind_list(columns.into_iter().map(|(_, value)| value));
        sql
    }

    async fn insert_children(&self, txn: &DatabaseTransaction, customer: &Customer) -> Result<(), RepositoryError> {
        for (position, c) in customer.contacts.iter().enumerate() {
            let sql = self.insert_sql("customer_contacts", self.contact_row(customer.id, position, c));
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        for (position, a) in customer.addresses.iter().enumerate() {
            let sql = self.insert_sql("customer_addresses", self.address_row(customer.id, position, a));
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        Ok(())
    }

    async fn replace_tags(&self, txn: &DatabaseTransaction, customer: &Customer) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let mut delete = k.sql("DELETE FROM customer_tags WHERE customer_id = ");
        delete.bind(k.uuid(customer.id));
        txn.execute_raw(delete.build()).await.map_err(db_error)?;
        for tag in &customer.tags {
            let sql = self.insert_sql("customer_tags", self.tag_row(customer.id, tag));
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        Ok(())
    }

    async fn delete_children(
        &self,
        txn: &DatabaseTransaction,
        id: CustomerId,
        tables: &[&str],
    ) -> Result<(), RepositoryError> {
        for table in tables {
            let mut sql = self.codec.sql(&format!("DELETE FROM {table} WHERE customer_id = "));
            sql.bind(self.codec.uuid(id));
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        Ok(())
    }

    /// `c` is a live customer of `scope`.
    fn scope_condition(&self, sql: &mut Sql, scope: Scope) {
        self.scope_any(sql, scope);
        sql.push(" AND c.deleted_at IS NULL");
    }

    /// `c` is a customer of `scope`, live or deleted.
    fn scope_any(&self, sql: &mut Sql, scope: Scope) {
        sql.push("c.organization_id = ")
            .bind(self.codec.uuid(scope.organization_id))
            .push(" AND c.workspace_id = ")
            .bind(self.codec.uuid(scope.workspace_id));
    }

    fn read_customer(&self, row: &QueryResult) -> Result<Customer, RepositoryError> {
        let k = &self.codec;
        let text = |col: &str| k.get::<String>(row, col);
        let opt_text = |col: &str| k.get::<Option<String>>(row, col);
        let tags = match k.get_json(row, "tags")? {
            Some(value) => serde_json::from_value::<Vec<String>>(value).map_err(|e| corrupt("tags", e))?,
            None => Vec::new(),
        };
        let custom_fields = match k.get_json(row, "custom_fields")? {
            Some(serde_json::Value::Object(map)) => Some(map),
            Some(serde_json::Value::Null) | None => None,
            Some(_) => return Err(corrupt("custom_fields", "not an object")),
        };
        Ok(Customer {
            id: CustomerId::from(k.get::<Uuid>(row, "id")?),
            organization_id: OrganizationId::from(k.get::<Uuid>(row, "organization_id")?),
            workspace_id: WorkspaceId::from(k.get::<Uuid>(row, "workspace_id")?),
            customer_type: text("type")?.parse().map_err(|e| corrupt("type", e))?,
            status: text("status")?.parse().map_err(|e| corrupt("status", e))?,
            name: text("name")?,
            email: Email::from_stored(&text("email")?).map_err(|e| corrupt("email", e))?,
            phone: opt_text("phone")?
                .map(|v| Phone::from_stored(&v).map_err(|e| corrupt("phone", e)))
                .transpose()?,
            iin: opt_text("iin")?
                .map(|v| Iin::parse(&v).map_err(|e| corrupt("iin", e)))
                .transpose()?,
            bin: opt_text("bin")?
                .map(|v| Bin::parse(&v).map_err(|e| corrupt("bin", e)))
                .transpose()?,
            company_name: opt_text("company_name")?,
            company_size: opt_text("company_size")?
                .map(|v| v.parse().map_err(|e| corrupt("company_size", e)))
                .transpose()?,
            industry: opt_text("industry")?,
            credit_limit: k.get_money(row, "credit_limit")?,
            current_balance: k.get_money(row, "current_balance")?,
            custom_fields,
            tags,
            lead_source: opt_text("lead_source")?,
            first_purchase_date: k.get_opt_time(row, "first_purchase_date")?,
            last_purchase_date: k.get_opt_time(row, "last_purchase_date")?,
            total_purchases: k.get_money(row, "total_purchases")?,
            purchase_count: i32::try_from(read_int(k, row, "purchase_count")?)
                .map_err(|e| corrupt("purchase_count", e))?,
            lifetime_value: k.get_money(row, "lifetime_value")?,
            rating: customers_domain::Rating::parse(read_int(k, row, "rating")?).map_err(|e| corrupt("rating", e))?,
            assigned_to: k.get::<Option<Uuid>>(row, "assigned_to")?.map(UserId::from),
            is_active: k.get::<bool>(row, "is_active")?,
            contacts: Vec::new(),
            addresses: Vec::new(),
            converted_at: k.get_opt_time(row, "converted_at")?,
            version: read_int(k, row, "version")?,
            created_at: k.get_time(row, "created_at")?,
            updated_at: k.get_time(row, "updated_at")?,
            created_by: k.get::<Option<Uuid>>(row, "created_by")?.map(UserId::from),
            updated_by: k.get::<Option<Uuid>>(row, "updated_by")?.map(UserId::from),
        })
    }

    /// Reads a contact from the `ct_…` columns of a loaded row (see `load`).
    fn read_contact(&self, row: &QueryResult) -> Result<CustomerContact, RepositoryError> {
        let k = &self.codec;
        let opt_text = |col: &str| k.get::<Option<String>>(row, col);
        Ok(CustomerContact {
            id: ContactId::from(k.get::<Uuid>(row, "ct_id")?),
            customer_id: CustomerId::from(k.get::<Uuid>(row, "ct_customer_id")?),
            first_name: k.get(row, "ct_first_name")?,
            last_name: k.get(row, "ct_last_name")?,
            middle_name: opt_text("ct_middle_name")?,
            position: opt_text("ct_job_title")?,
            department: opt_text("ct_department")?,
            email: Email::from_stored(&k.get::<String>(row, "ct_email")?).map_err(|e| corrupt("email", e))?,
            phone: Phone::from_stored(&k.get::<String>(row, "ct_phone")?).map_err(|e| corrupt("phone", e))?,
            mobile_phone: opt_text("ct_mobile_phone")?
                .map(|v| Phone::from_stored(&v).map_err(|e| corrupt("mobile_phone", e)))
                .transpose()?,
            is_primary: k.get(row, "ct_is_primary")?,
            is_decision_maker: k.get(row, "ct_is_decision_maker")?,
            social_media: k
                .get_json(row, "ct_social_media")?
                .filter(|v| !v.is_null())
                .map(|v| serde_json::from_value(v).map_err(|e| corrupt("social_media", e)))
                .transpose()?,
            notes: opt_text("ct_notes")?,
            created_at: k.get_time(row, "ct_created_at")?,
            updated_at: k.get_time(row, "ct_updated_at")?,
        })
    }

    /// Reads an address from the `ad_…` columns of a loaded row (see `load`).
    fn read_address(&self, row: &QueryResult) -> Result<CustomerAddress, RepositoryError> {
        let k = &self.codec;
        let opt_text = |col: &str| k.get::<Option<String>>(row, col);
        Ok(CustomerAddress {
            id: AddressId::from(k.get::<Uuid>(row, "ad_id")?),
            customer_id: CustomerId::from(k.get::<Uuid>(row, "ad_customer_id")?),
            address_type: k
                .get::<String>(row, "ad_type")?
                .parse()
                .map_err(|e| corrupt("type", e))?,
            street: k.get(row, "ad_street")?,
            building: opt_text("ad_building")?,
            apartment: opt_text("ad_apartment")?,
            city: k.get(row, "ad_city")?,
            region: opt_text("ad_region")?,
            postal_code: k.get(row, "ad_postal_code")?,
            country: k.get(row, "ad_country")?,
            is_primary: k.get(row, "ad_is_primary")?,
            contact_name: opt_text("ad_contact_name")?,
            contact_phone: opt_text("ad_contact_phone")?
                .map(|v| Phone::from_stored(&v).map_err(|e| corrupt("contact_phone", e)))
                .transpose()?,
            delivery_instructions: opt_text("ad_delivery_instructions")?,
            coordinates: k
                .get_json(row, "ad_coordinates")?
                .filter(|v| !v.is_null())
                .map(|v| serde_json::from_value(v).map_err(|e| corrupt("coordinates", e)))
                .transpose()?,
            created_at: k.get_time(row, "ad_created_at")?,
            updated_at: k.get_time(row, "ad_updated_at")?,
        })
    }

    /// Writes `customer` over its stored live version `expected_version`, inside `txn`.
    async fn update_in(
        &self,
        txn: &DatabaseTransaction,
        customer: &Customer,
        expected_version: i64,
        replace_contacts: bool,
        replace_addresses: bool,
    ) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("UPDATE customers SET ");
        for (i, (column, value)) in self.customer_values(customer).into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(column).push(" = ").bind(value);
        }
        sql.push(" WHERE id = ")
            .bind(k.uuid(customer.id))
            .push(" AND organization_id = ")
            .bind(k.uuid(customer.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(customer.workspace_id))
            .push(" AND deleted_at IS NULL AND version = ")
            .bind(k.int(expected_version));
        let result = txn.execute_raw(sql.build()).await.map_err(db_error)?;
        if result.rows_affected() == 0 {
            let mut exists = k.sql("SELECT c.id FROM customers c WHERE ");
            self.scope_condition(&mut exists, customer.scope());
            exists.push(" AND c.id = ").bind(k.uuid(customer.id));
            return match txn.query_one_raw(exists.build()).await.map_err(db_error)? {
                Some(_) => Err(RepositoryError::VersionConflict),
                None => Err(RepositoryError::NotFound),
            };
        }
        let mut tables = Vec::new();
        if replace_contacts {
            tables.push("customer_contacts");
        }
        if replace_addresses {
            tables.push("customer_addresses");
        }
        self.delete_children(txn, customer.id, &tables).await?;
        let mut children = customer.clone();
        if !replace_contacts {
            children.contacts.clear();
        }
        if !replace_addresses {
            children.addresses.clear();
        }
        self.insert_children(txn, &children).await?;
        self.replace_tags(txn, customer).await
    }

    async fn insert_in(&self, txn: &DatabaseTransaction, customer: &Customer) -> Result<(), RepositoryError> {
        txn.execute_raw(self.insert_sql("customers", self.customer_row(customer)).build())
            .await
            .map_err(db_error)?;
        self.insert_children(txn, customer).await?;
        self.replace_tags(txn, customer).await
    }

    /// Appends events to the outbox, inside the transaction of the change they describe.
    ///
    /// Callers must have locked the customer's row first (every write here updates or inserts
    /// it before appending): per customer, `seq` order is then commit order, which the relay's
    /// ordering relies on.
    async fn append_events(&self, txn: &DatabaseTransaction, events: &[EventEnvelope]) -> Result<(), RepositoryError> {
        self.append_events_bulk(txn, events).await
    }

    /// Reads a row of [`NOTE_COLUMNS`].
    fn read_note(&self, row: &QueryResult) -> Result<CustomerNote, RepositoryError> {
        let k = &self.codec;
        Ok(CustomerNote {
            id: NoteId::from(k.get::<Uuid>(row, "id")?),
            customer_id: CustomerId::from(k.get::<Uuid>(row, "customer_id")?),
            author_id: UserId::from(k.get::<Uuid>(row, "author_id")?),
            body: k.get(row, "body")?,
            channel: k
                .get::<Option<String>>(row, "channel")?
                .map(|c| c.parse().map_err(|e| corrupt("channel", e)))
                .transpose()?,
            direction: k
                .get::<Option<String>>(row, "direction")?
                .map(|d| d.parse().map_err(|e| corrupt("direction", e)))
                .transpose()?,
            created_at: k.get_time(row, "created_at")?,
            updated_at: k.get_time(row, "updated_at")?,
        })
    }

    /// `EXISTS` (a live customer `customer` of `scope`).
    fn live_customer(&self, sql: &mut Sql, scope: Scope, customer: CustomerId) {
        sql.push("EXISTS (SELECT 1 FROM customers c WHERE ");
        self.scope_condition(sql, scope);
        sql.push(" AND c.id = ").bind(self.codec.uuid(customer)).push(")");
    }

    /// `{select} FROM customers c …` for one page of `query`, with one row more than the page
    /// (which tells whether another page follows).
    ///
    /// A filter on status, type or industry is read as one branch per value of status and of
    /// type it leaves open (see [`page_branches`]), each branch the first rows of its own
    /// index in sort order, merged: `FROM (SELECT * FROM (SELECT * FROM customers c WHERE …
    /// AND c.status = … AND c.type = … ORDER BY … LIMIT offset + limit + 1) b0 UNION ALL …) c
    /// ORDER BY … LIMIT … OFFSET …`.
    fn push_page(&self, sql: &mut Sql, select: &str, scope: Scope, query: &CustomerQuery) {
        let k = &self.codec;
        let order = order_by(k, query.sort_by, query.sort_order);
        let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);
        let rows = i64::from(query.limit) + 1;
        let branches = page_branches(&query.filter);
        if let [(None, None)] = branches.as_slice() {
            sql.push(&format!("{select} FROM customers c WHERE "));
            self.page_conditions(sql, scope, query);
        } else {
            sql.push(&format!("{select} FROM ("));
            for (i, (status, customer_type)) in branches.iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push("SELECT * FROM (SELECT * FROM customers c WHERE ");
                self.page_conditions(sql, scope, query);
                if let Some(status) = status {
                    sql.push(" AND c.status = ").bind(k.text(status.as_str()));
                }
                if let Some(customer_type) = customer_type {
                    sql.push(" AND c.type = ").bind(k.text(customer_type.as_str()));
                }
                sql.push(&order)
                    .push(" LIMIT ")
                    .bind(k.int(offset.saturating_add(rows)))
                    .push(&format!(") b{i}"));
            }
            sql.push(") c");
        }
        // PostgreSQL plans a prepared statement with a bound LIMIT anew on every execution (it
        // cannot cost a generic plan for an unknown LIMIT). Where one plan suits every value
        // (see `one_plan_fits`) LIMIT and OFFSET are written out, numbers computed here, so that
        // the statement switches to its cached generic plan (about 0.6 ms of planning saved per
        // page); elsewhere they stay bound, and the page runs with `force_custom_plan` (see
        // `search`), a plan for its values each time.
        sql.push(&order);
        if one_plan_fits(query) && offset <= WRITTEN_OUT_OFFSETS_UP_TO {
            sql.push(&format!(" LIMIT {rows}"));
            if offset > 0 {
                sql.push(&format!(" OFFSET {offset}"));
            }
        } else {
            sql.push(" LIMIT ").bind(k.int(rows));
            if offset > 0 {
                sql.push(" OFFSET ").bind(k.int(offset));
            }
        }
    }

    /// The conditions of a page query after `WHERE`: scope, filters, keyset position.
    fn page_conditions(&self, sql: &mut Sql, scope: Scope, query: &CustomerQuery) {
        self.scope_condition(sql, scope);
        self.filter_conditions(sql, scope, query);
        if let Some(after) = &query.after {
            self.keyset_condition(sql, query, after);
        }
    }

    /// The plan of the page query of `query` (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on
    /// SQLite), one line per row: for tests and operators checking index use.
    pub async fn explain_search(&self, scope: Scope, query: &CustomerQuery) -> Result<String, RepositoryError> {
        let k = &self.codec;
        let (prefix, column) = match k.backend() {
            DbBackend::Postgres => ("EXPLAIN SELECT c.id", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN SELECT c.id", "detail"),
        };
        let mut sql = k.sql("");
        self.push_page(&mut sql, prefix, scope, query);
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        let lines = rows
            .iter()
            .map(|row| k.get::<String>(row, column))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// `AND` the row comes strictly after `after` in the query's order (ties by id).
    fn keyset_condition(&self, sql: &mut Sql, query: &CustomerQuery, after: &Keyset) {
        let k = &self.codec;
        let op = match query.sort_order {
            SortOrder::Asc => ">",
            SortOrder::Desc => "<",
        };
        let value = match &after.value {
            SortValue::Time(at) => k.time(*at),
            SortValue::Text(text) => k.text(text.clone()),
            SortValue::Amount(amount) => k.decimal(*amount, false),
            SortValue::Int(i) => k.int(*i),
        };
        let column = sort_column(k, query.sort_by);
        sql.push(&format!(" AND ({column}, c.id) {op} ("))
            .bind(value)
            .push(", ")
            .bind(k.uuid(after.id))
            .push(")");
    }

    /// Appends the query of how many customers of `scope` match `query` (counting at most
    /// `cap`), as the column `total`.
    ///
    /// With tags on PostgreSQL the count starts from the tags' rows and looks each tagged
    /// customer up by its primary key (`LATERAL … LIMIT 1`, which the planner cannot turn
    /// into a hash join), the other conditions applied to the row found: otherwise it hashes
    /// the tagged ids and scans every customer of the workspace to probe them, a cost that
    /// grows with the workspace instead of with the matches.
    fn push_count(&self, sql: &mut Sql, scope: Scope, query: &CustomerQuery, cap: Option<u64>) {
        let k = &self.codec;
        let tags = &query.filter.tags;
        if k.backend() == DbBackend::Postgres && !tags.is_empty() {
            let rest = CustomerQuery {
                filter: CustomerFilter {
                    tags: Vec::new(),
                    ..query.filter.clone()
                },
                ..query.clone()
            };
            sql.push("SELECT COUNT(*) AS total FROM (SELECT 1 FROM (SELECT DISTINCT t.customer_id FROM customer_tags t WHERE t.tag_key IN ")
                .bind_list(tags.iter().map(|t| k.text(t.clone())))
                .push(") k CROSS JOIN LATERAL (SELECT * FROM customers c WHERE c.id = k.customer_id LIMIT 1) c WHERE ");
            self.scope_condition(sql, scope);
            self.filter_conditions(sql, scope, &rest);
        } else {
            sql.push("SELECT COUNT(*) AS total FROM (SELECT 1 FROM customers c WHERE ");
            self.scope_condition(sql, scope);
            self.filter_conditions(sql, scope, query);
        }
        if let Some(cap) = cap {
            sql.push(&format!(" LIMIT {cap}"));
        }
        sql.push(") matches");
    }

    /// The query planner's estimate of the matches (PostgreSQL), reused for a while (see
    /// [`ESTIMATE_REUSED_FOR`]); `None` where there is no planner estimate to read (SQLite).
    async fn estimate_matches(
        &self,
        conn: &impl ConnectionTrait,
        scope: Scope,
        query: &CustomerQuery,
    ) -> Result<Option<u64>, RepositoryError> {
        let k = &self.codec;
        if k.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let mut explain = k.sql("EXPLAIN (FORMAT JSON) SELECT 1 FROM customers c WHERE ");
        self.scope_condition(&mut explain, scope);
        self.filter_conditions(&mut explain, scope, query);
        let statement = explain.build();
        let key = format!("{}{:?}", statement.sql, statement.values);
        let now = Instant::now();
        let remembered = self.estimates.lock().ok().and_then(|memo| memo.get(&key).copied());
        if let Some((estimate, at)) = remembered
            && now.duration_since(at) < self.estimate_ttl
        {
            return Ok(Some(estimate));
        }
        let Some(row) = conn.query_one_raw(statement).await.map_err(db_error)? else {
            return Ok(None);
        };
        let plan: serde_json::Value = k.get(&row, "QUERY PLAN")?;
        let estimate = plan
            .get(0)
            .and_then(|p| p.get("Plan"))
            .and_then(|p| p.get("Plan Rows"))
            .and_then(serde_json::Value::as_f64)
            .map(|rows| rows.max(0.0).round() as u64);
        if let (Some(estimate), Ok(mut memo)) = (estimate, self.estimates.lock()) {
            if memo.len() >= ESTIMATES_REMEMBERED {
                memo.clear();
            }
            memo.insert(key, (estimate, now));
        }
        Ok(estimate)
    }

    /// Appends the WHERE conditions of a list query (after the scope condition).
    fn filter_conditions(&self, sql: &mut Sql, scope: Scope, query: &CustomerQuery) {
        let k = &self.codec;
        let f = &query.filter;
        if let Some(t) = f.customer_type {
            sql.push(" AND c.type = ").bind(k.text(t.as_str()));
        }
        if let Some(s) = f.status {
            sql.push(" AND c.status = ").bind(k.text(s.as_str()));
        }
        if let Some(term) = &f.search {
            sql.push(" AND (c.search_text LIKE ")
                .bind(k.text(format!("%{}%", like_escape(&term.text))))
                .push(" ESCAPE '\\'");
            if let Some(digits) = &term.digits {
                sql.push(" OR c.search_text LIKE ")
                    .bind(k.text(format!("%{}%", like_escape(digits))))
                    .push(" ESCAPE '\\'");
            }
            // Each arm can use an index of its own: the trigrams of the search text, and the
            // unique IIN and BIN indexes, which lead with the organization.
            for column in ["iin", "bin"] {
                sql.push(" OR (c.organization_id = ")
                    .bind(k.uuid(scope.organization_id))
                    .push(&format!(" AND c.{column} = "))
                    .bind(k.text(term.exact.clone()))
                    .push(")");
            }
            sql.push(")");
        }
        if let Some(industry) = &f.industry {
            sql.push(" AND c.industry_key = ").bind(k.text(industry.clone()));
        }
        if let Some(city) = &f.city {
            // `IN (subquery)` rather than a correlated EXISTS: SQLite may flatten the EXISTS into a
            // join, and OFFSET then counts a customer once per matching row.
            sql.push(" AND c.id IN (SELECT a.customer_id FROM customer_addresses a WHERE a.city_key = ")
                .bind(k.text(city.clone()))
                .push(")");
        }
        if let Some(assigned) = f.assigned_to {
            sql.push(" AND c.assigned_to = ").bind(k.uuid(assigned));
        }
        if let Some(active) = f.is_active {
            sql.push(" AND c.is_active = ").bind(k.bool(active));
        }
        if let Some(source) = &f.lead_source {
            sql.push(" AND c.lead_source_key = ").bind(k.text(source.clone()));
        }
        if !f.tags.is_empty() {
            sql.push(" AND c.id IN (SELECT t.customer_id FROM customer_tags t WHERE t.tag_key IN ")
                .bind_list(f.tags.iter().map(|t| k.text(t.clone())))
                .push(")");
        }
        if let Some(min) = f.min_purchases {
            sql.push(" AND c.total_purchases >= ").bind(k.decimal(min, true));
        }
        if let Some(max) = f.max_purchases {
            sql.push(" AND c.total_purchases <= ").bind(k.decimal(max, false));
        }
        if let Some(from) = f.created_from {
            sql.push(" AND c.created_at >= ").bind(k.time(from));
        }
        if let Some(to) = f.created_to {
            sql.push(" AND c.created_at <= ").bind(k.time(to));
        }
        if let Some(condition) = &query.segment_condition {
            sql.push(" AND ");
            self.condition_sql(sql, condition);
        }
    }
}

/// Rows before page `page` (from 1) of `limit` rows, as an SQL `OFFSET`.
fn page_offset(page: u32, limit: u32) -> i64 {
    i64::try_from(u64::from(page.saturating_sub(1)) * u64::from(limit)).unwrap_or(i64::MAX)
}

fn read_int(codec: &Codec, row: &QueryResult, column: &str) -> Result<i64, RepositoryError> {
    codec
        .get::<i64>(row, column)
        .or_else(|_| codec.get::<i32>(row, column).map(i64::from))
        .or_else(|_| codec.get::<i16>(row, column).map(i64::from))
}

/// Classifies a database error: unique violations of the e-mail, IIN and BIN indexes become
/// [`RepositoryError::Duplicate`]; everything else is unexpected.
fn db_error(err: DbErr) -> RepositoryError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        // PostgreSQL names the index (ux_customers_org_email); SQLite names the columns
        // (customers.organization_id, customers.email).
        for (field, index, column) in [
            (UniqueField::Email, "ux_customers_org_email", "customers.email"),
            (UniqueField::Iin, "ux_customers_org_iin", "customers.iin"),
            (UniqueField::Bin, "ux_customers_org_bin", "customers.bin"),
        ] {
            if message.contains(index) || message.contains(column) {
                return RepositoryError::Duplicate(field);
            }
        }
    }
    RepositoryError::Unexpected(err.to_string())
}

/// The column (expression) a sort key is read from.
fn sort_column(codec: &Codec, sort_by: SortField) -> &'static str {
    match sort_by {
        SortField::CreatedAt => "c.created_at",
        SortField::UpdatedAt => "c.updated_at",
        // Text sorts by code point on both backends (PostgreSQL's default collation depends on
        // the server's locale); the index on it has the same collation.
        SortField::Name if codec.backend() == sea_orm::DbBackend::Postgres => "c.name_key COLLATE \"C\"",
        SortField::Name => "c.name_key",
        SortField::TotalPurchases => "c.total_purchases",
        SortField::Rating => "c.rating",
    }
}

/// The status and type each branch of a page query adds to the filter (`None`: nothing).
///
/// A B-tree delivers rows in the order of a column only below equalities on every column
/// before it. The indexes `(status, type, sort key, id)` and `(industry, status, type, sort
/// key, id)` (migration `m20261125_000009_filter_sort_indexes`) serve a filter on status, type
/// or industry once every status and type is fixed: one branch per value the filter leaves
/// open (at most 5 × 2), whose first rows in sort order are merged. Filters with a search, tags
/// or a city stay in one query: their own indexes do the narrowing, and each branch would
/// repeat that work.
fn page_branches(filter: &CustomerFilter) -> Vec<(Option<CustomerStatus>, Option<CustomerType>)> {
    let by_column = filter.status.is_some() || filter.customer_type.is_some() || filter.industry.is_some();
    let narrowed = filter.search.is_some() || !filter.tags.is_empty() || filter.city.is_some();
    if !by_column || narrowed {
        return vec![(None, None)];
    }
    let statuses: Vec<Option<CustomerStatus>> = match filter.status {
        Some(_) => vec![None],
        None => CustomerStatus::ALL.iter().copied().map(Some).collect(),
    };
    let types: Vec<Option<CustomerType>> = match filter.customer_type {
        Some(_) => vec![None],
        None => CustomerType::ALL.iter().copied().map(Some).collect(),
    };
    statuses
        .iter()
        .flat_map(|status| types.iter().map(move |customer_type| (*status, *customer_type)))
        .collect()
}

/// Whether `filter` filters by status, type or industry and by nothing else.
fn by_columns_only(filter: &CustomerFilter) -> bool {
    let rest = CustomerFilter {
        status: None,
        customer_type: None,
        industry: None,
        ..filter.clone()
    };
    rest == CustomerFilter::default() && *filter != rest
}

/// The deepest OFFSET written out in a page query (see `push_page`). Each written-out offset
/// is a statement of its own in every connection's prepared-statement cache; deeper pages
/// are rare, and walking that many rows costs far more than planning.
const WRITTEN_OUT_OFFSETS_UP_TO: i64 = 1_000;

/// Whether one plan of the page query of `query` suits all its values: without a filter (the
/// page is the first rows of the sort's index after the keyset position), or filtered by
/// status, type and industry alone (each branch the first rows of its own index). A search,
/// tags, a city or a range need a plan for their values: how many match decides between
/// walking the sort's index and collecting the matches first.
fn one_plan_fits(query: &CustomerQuery) -> bool {
    query.segment_condition.is_none() && (query.filter == CustomerFilter::default() || by_columns_only(&query.filter))
}

fn order_by(codec: &Codec, sort_by: SortField, order: SortOrder) -> String {
    let column = sort_column(codec, sort_by);
    let dir = match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    format!(" ORDER BY {column} {dir}, c.id {dir}")
}

#[async_trait]
impl CustomerRepository for SeaRepository {
    async fn insert(&self, customer: &Customer, events: &[EventEnvelope]) -> Result<(), RepositoryError> {
        // On PostgreSQL one statement for every table (a create is one round trip); on SQLite
        // one statement per table in a transaction. The customer first either way: its
        // unique indexes name a duplicate.
        if self.codec.backend() == DbBackend::Postgres {
            let mut tables = self.customer_tables(std::slice::from_ref(customer));
            tables.push(("customer_events", self.event_rows(events)?));
            if let Some(sql) = self.insert_statement(tables)? {
                self.db.execute_raw(sql.build()).await.map_err(db_error)?;
                return Ok(());
            }
        }
        let txn = self.begin_write().await?;
        self.insert_customers_bulk(&txn, std::slice::from_ref(customer)).await?;
        self.append_events(&txn, events).await?;
        txn.commit().await.map_err(db_error)
    }

    async fn get(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>, RepositoryError> {
        let sql = self.load_sql(
            |sql| {
                sql.push("SELECT c.* FROM customers c WHERE ");
                self.scope_condition(sql, scope);
                sql.push(" AND c.id = ").bind(self.codec.uuid(id));
            },
            " ORDER BY c.id",
            None,
        );
        Ok(self.load(&self.db, sql).await?.customers.into_iter().next())
    }

    async fn update(
        &self,
        customer: &Customer,
        expected_version: i64,
        replace_contacts: bool,
        replace_addresses: bool,
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let txn = self.begin_write().await?;
        let written = async {
            self.update_in(&txn, customer, expected_version, replace_contacts, replace_addresses)
                .await?;
            self.append_events(&txn, events).await
        };
        match written.await {
            Ok(()) => txn.commit().await.map_err(db_error),
            Err(err) => {
                txn.rollback().await.map_err(db_error)?;
                Err(err)
            }
        }
    }

    async fn insert_many(&self, customers: &[Customer], events: &[EventEnvelope]) -> Result<(), BatchError> {
        let unexpected = |error| BatchError { index: 0, error };
        // Fast path: multi-row statements. When they fail (a taken e-mail, IIN or BIN, a broken
        // row) nothing says which item caused it, so the batch is tried again row by row.
        let txn = self.begin_write().await.map_err(unexpected)?;
        match self.insert_customers_bulk(&txn, customers).await {
            Ok(()) => {
                self.append_events_bulk(&txn, events).await.map_err(unexpected)?;
                return txn.commit().await.map_err(|e| unexpected(db_error(e)));
            }
            Err(_) => txn.rollback().await.map_err(|e| unexpected(db_error(e)))?,
        }
        let txn = self.begin_write().await.map_err(unexpected)?;
        for (index, customer) in customers.iter().enumerate() {
            if let Err(error) = self.insert_in(&txn, customer).await {
                txn.rollback().await.map_err(|e| unexpected(db_error(e)))?;
                return Err(BatchError { index, error });
            }
        }
        self.append_events(&txn, events).await.map_err(unexpected)?;
        txn.commit().await.map_err(|e| unexpected(db_error(e)))
    }

    async fn soft_delete(
        &self,
        scope: Scope,
        ids: &[CustomerId],
        at: OffsetDateTime,
        by: UserId,
        events: &[EventEnvelope],
    ) -> Result<Vec<CustomerId>, RepositoryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let k = &self.codec;
        let mut sql = k.sql("UPDATE customers SET deleted_at = ");
        sql.bind(k.time(at))
            .push(", deleted_by = ")
            .bind(k.uuid(by))
            .push(" WHERE organization_id = ")
            .bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND deleted_at IS NULL AND id IN ")
            .bind_list(ids.iter().map(|id| k.uuid(*id)))
            .push(" RETURNING id");
        let txn = self.begin_write().await?;
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        let deleted: Vec<CustomerId> = rows
            .iter()
            .map(|row| k.get::<Uuid>(row, "id").map(CustomerId::from))
            .collect::<Result<_, _>>()?;
        let deleted_events: Vec<EventEnvelope> = events
            .iter()
            .filter(|e| deleted.contains(&e.customer_id))
            .cloned()
            .collect();
        self.append_events(&txn, &deleted_events).await?;
        txn.commit().await.map_err(db_error)?;
        // In the order asked.
        Ok(ids.iter().copied().filter(|id| deleted.contains(id)).collect())
    }

    async fn get_deleted(
        &self,
        scope: Scope,
        id: CustomerId,
    ) -> Result<Option<(Customer, OffsetDateTime)>, RepositoryError> {
        let k = &self.codec;
        let sql = self.load_sql(
            |sql| {
                sql.push("SELECT c.* FROM customers c WHERE ");
                self.scope_any(sql, scope);
                sql.push(" AND c.deleted_at IS NOT NULL AND c.id = ").bind(k.uuid(id));
            },
            " ORDER BY c.id",
            None,
        );
        let loaded = self.load(&self.db, sql).await?;
        let (Some(customer), Some(row)) = (loaded.customers.into_iter().next(), loaded.rows.first()) else {
            return Ok(None);
        };
        Ok(Some((customer, k.get_time(row, "deleted_at")?)))
    }

    async fn restore(&self, customer: &Customer, events: &[EventEnvelope]) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("UPDATE customers SET deleted_at = NULL, deleted_by = NULL, version = ");
        sql.bind(k.int(customer.version))
            .push(", updated_at = ")
            .bind(k.time(customer.updated_at))
            .push(", updated_by = ")
            .bind(k.opt_uuid(customer.updated_by))
            .push(" WHERE id = ")
            .bind(k.uuid(customer.id))
            .push(" AND organization_id = ")
            .bind(k.uuid(customer.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(customer.workspace_id))
            .push(" AND deleted_at IS NOT NULL");
        let txn = self.begin_write().await?;
        let result = txn.execute_raw(sql.build()).await.map_err(db_error)?;
        if result.rows_affected() == 0 {
            txn.rollback().await.map_err(db_error)?;
            return Err(RepositoryError::NotFound);
        }
        self.append_events(&txn, events).await?;
        txn.commit().await.map_err(db_error)
    }

    async fn purge(&self, deleted_before: OffsetDateTime) -> Result<u64, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_write().await?;
        if k.backend() == DbBackend::Postgres {
            // Lock the victims first: a restore racing the purge then either wins before it
            // (and the row no longer qualifies) or waits and finds the customer gone, never a
            // customer restored without its children. (SQLite runs one writer at a time.)
            let mut lock = k.sql("SELECT id FROM customers WHERE deleted_at < ");
            lock.bind(k.time(deleted_before)).push(" FOR UPDATE");
            txn.query_all_raw(lock.build()).await.map_err(db_error)?;
        }
        // Everything of theirs goes, their history (the outbox rows, which hold personal data
        // in old and new values) included.
        for table in [
            "customer_contacts",
            "customer_addresses",
            "customer_tags",
            "customer_notes",
            "customer_orders",
            "customer_deals",
            "customer_invoice_entries",
            "customer_events",
        ] {
            let mut sql = k.sql(&format!(
                "DELETE FROM {table} WHERE customer_id IN (SELECT id FROM customers WHERE deleted_at < "
            ));
            sql.bind(k.time(deleted_before)).push(")");
            txn.execute_raw(sql.build()).await.map_err(db_error)?;
        }
        let mut sql = k.sql("DELETE FROM customers WHERE deleted_at < ");
        sql.bind(k.time(deleted_before));
        let purged = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected();
        txn.commit().await.map_err(db_error)?;
        Ok(purged)
    }

    async fn merge(
        &self,
        merged: &Customer,
        expected_version: i64,
        duplicates: &[(CustomerId, i64)],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_write().await?;
        let result: Result<(), RepositoryError> = async {
            if k.backend() == DbBackend::Postgres {
                // Lock the rows first, so that a note added meanwhile waits for the merge (and
                // then finds its customer gone) instead of being lost with the duplicate.
                let mut lock = k.sql("SELECT id FROM customers WHERE id IN ");
                lock.bind_list(
                    std::iter::once(merged.id)
                        .chain(duplicates.iter().map(|(id, _)| *id))
                        .map(|id| k.uuid(id)),
                )
                .push(" FOR UPDATE");
                txn.query_all_raw(lock.build()).await.map_err(db_error)?;
            }
            for (duplicate, version) in duplicates {
                // Notes, orders, deals and invoices follow the customer they now belong to.
                for table in [
                    "customer_notes",
                    "customer_orders",
                    "customer_deals",
                    "customer_invoice_entries",
                ] {
                    let mut moved = k.sql(&format!("UPDATE {table} SET customer_id = "));
                    moved
                        .bind(k.uuid(merged.id))
                        .push(" WHERE customer_id = ")
                        .bind(k.uuid(*duplicate));
                    txn.execute_raw(moved.build()).await.map_err(db_error)?;
                }
                self.delete_children(
                    &txn,
                    *duplicate,
                    &["customer_contacts", "customer_addresses", "customer_tags"],
                )
                .await?;
                let mut sql = k.sql("DELETE FROM customers WHERE id = ");
                sql.bind(k.uuid(*duplicate))
                    .push(" AND organization_id = ")
                    .bind(k.uuid(merged.organization_id))
                    .push(" AND workspace_id = ")
                    .bind(k.uuid(merged.workspace_id))
                    .push(" AND deleted_at IS NULL AND version = ")
                    .bind(k.int(*version));
                if txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() == 0 {
                    return Err(RepositoryError::VersionConflict);
                }
            }
            self.update_in(&txn, merged, expected_version, true, true).await?;
            self.append_events(&txn, events).await
        }
        .await;
        match result {
            Ok(()) => txn.commit().await.map_err(db_error),
            Err(err) => {
                txn.rollback().await.map_err(db_error)?;
                Err(err)
            }
        }
    }

    async fn duplicate_candidates(
        &self,
        scope: Scope,
        probe: &DuplicateProbe,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError> {
        let k = &self.codec;
        let mut exact: Vec<(&str, Value)> = Vec::new();
        for (column, value) in [
            ("c.email = ", &probe.email),
            ("c.phone = ", &probe.phone),
            ("c.iin = ", &probe.iin),
            ("c.bin = ", &probe.bin),
        ] {
            if let Some(value) = value {
                exact.push((column, k.text(value.clone())));
            }
        }
        let similar: Vec<(&str, Value)> = probe
            .name_tokens
            .iter()
            .map(|token| ("c.match_key LIKE ", k.text(format!("%{}%", like_escape(token)))))
            .collect();
        if exact.is_empty() && similar.is_empty() {
            return Ok(Vec::new());
        }
        // Exact keys first, in their own (indexed) subquery, so that many similar names can
        // never crowd them out of the limit.
        let sql = self.load_sql(
            |sql| {
                let groups = [exact, similar].into_iter().enumerate().filter(|(_, c)| !c.is_empty());
                for (n, (group, conditions)) in groups.enumerate() {
                    if n > 0 {
                        sql.push(" UNION ALL ");
                    }
                    sql.push(&format!(
                        "SELECT * FROM (SELECT c.*, {group} AS probe_group FROM customers c WHERE "
                    ));
                    self.scope_condition(sql, scope);
                    sql.push(" AND (");
                    for (i, (condition, value)) in conditions.into_iter().enumerate() {
                        if i > 0 {
                            sql.push(" OR ");
                        }
                        sql.push(condition).bind(value);
                        if condition.contains("LIKE") {
                            sql.push(" ESCAPE '\\'");
                        }
                    }
                    sql.push(") ORDER BY c.created_at, c.id LIMIT ")
                        .bind(k.int(limit.into()))
                        .push(&format!(") g{group}"));
                }
            },
            " ORDER BY c.probe_group, c.created_at, c.id",
            None,
        );
        let mut customers = self.load(&self.db, sql).await?.customers;
        let mut seen = std::collections::HashSet::new();
        customers.retain(|c| seen.insert(c.id));
        Ok(customers)
    }

    async fn events_of(
        &self,
        scope: Scope,
        customer: CustomerId,
    ) -> Result<Option<Vec<EventEnvelope>>, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut sql = k.sql(
            "SELECT id, organization_id, workspace_id, customer_id, type, version, payload, actor, occurred_at \
             FROM customer_events WHERE organization_id = ",
        );
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND customer_id = ")
            .bind(k.uuid(customer))
            .push(" ORDER BY seq");
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_type: String = k.get(row, "type")?;
            let payload = k.get_json(row, "payload")?.unwrap_or(serde_json::Value::Null);
            let event = serde_json::from_value(serde_json::json!({ "type": event_type, "payload": payload }))
                .map_err(|e| corrupt("payload", e))?;
            events.push(EventEnvelope {
                event_id: k.get::<Uuid>(row, "id")?,
                version: u32::try_from(read_int(k, row, "version")?).map_err(|e| corrupt("version", e))?,
                occurred_at: k.get_time(row, "occurred_at")?,
                organization_id: OrganizationId::from(k.get::<Uuid>(row, "organization_id")?),
                workspace_id: WorkspaceId::from(k.get::<Uuid>(row, "workspace_id")?),
                customer_id: CustomerId::from(k.get::<Uuid>(row, "customer_id")?),
                actor: UserId::from(k.get::<Uuid>(row, "actor")?),
                event,
            });
        }
        Ok(Some(events))
    }

    async fn add_note(&self, scope: Scope, note: &CustomerNote) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql(&format!("INSERT INTO customer_notes ({NOTE_COLUMNS}) SELECT "));
        sql.bind(k.uuid(note.id))
            .push(", ")
            .bind(k.uuid(note.customer_id))
            .push(", ")
            .bind(k.uuid(note.author_id))
            .push(", ")
            .bind(k.text(note.body.clone()))
            .push(", ")
            .bind(k.opt_text(note.channel.map(|c| c.as_str())))
            .push(", ")
            .bind(k.opt_text(note.direction.map(|d| d.as_str())))
            .push(", ")
            .bind(k.time(note.created_at))
            .push(", ")
            .bind(k.time(note.updated_at))
            .push(" WHERE ");
        self.live_customer(&mut sql, scope, note.customer_id);
        let txn = self.begin_write().await?;
        let inserted = match txn.execute_raw(sql.build()).await {
            Ok(result) => result.rows_affected(),
            // The customer went away (merged) between the check and the insert.
            Err(err) if matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => 0,
            Err(err) => return Err(db_error(err)),
        };
        match txn.commit().await {
            Ok(()) => {}
            Err(err) if matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                return Err(RepositoryError::NotFound);
            }
            Err(err) => return Err(db_error(err)),
        }
        if inserted == 0 {
            Err(RepositoryError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn list_notes(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Option<Page<CustomerNote>>, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut count = k.sql("SELECT COUNT(*) AS total FROM customer_notes WHERE customer_id = ");
        count.bind(k.uuid(customer));
        let total = match txn.query_one_raw(count.build()).await.map_err(db_error)? {
            Some(row) => u64::try_from(read_int(k, &row, "total")?).unwrap_or(0),
            None => 0,
        };
        let mut sql = k.sql(&format!(
            "SELECT {NOTE_COLUMNS} FROM customer_notes WHERE customer_id = "
        ));
        sql.bind(k.uuid(customer))
            .push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(k.int(limit.into()))
            .push(" OFFSET ")
            .bind(k.int(page_offset(page, limit)));
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        let items = rows.iter().map(|row| self.read_note(row)).collect::<Result<_, _>>()?;
        Ok(Some(Page {
            items,
            total,
            page,
            limit,
        }))
    }

    async fn get_note(
        &self,
        scope: Scope,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<Option<CustomerNote>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql(&format!("SELECT {NOTE_COLUMNS} FROM customer_notes WHERE id = "));
        sql.bind(k.uuid(note))
            .push(" AND customer_id = ")
            .bind(k.uuid(customer))
            .push(" AND ");
        self.live_customer(&mut sql, scope, customer);
        match self.db.query_one_raw(sql.build()).await.map_err(db_error)? {
            Some(row) => Ok(Some(self.read_note(&row)?)),
            None => Ok(None),
        }
    }

    async fn update_note(&self, scope: Scope, note: &CustomerNote) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("UPDATE customer_notes SET body = ");
        sql.bind(k.text(note.body.clone()))
            .push(", channel = ")
            .bind(k.opt_text(note.channel.map(|c| c.as_str())))
            .push(", direction = ")
            .bind(k.opt_text(note.direction.map(|d| d.as_str())))
            .push(", updated_at = ")
            .bind(k.time(note.updated_at))
            .push(" WHERE id = ")
            .bind(k.uuid(note.id))
            .push(" AND customer_id = ")
            .bind(k.uuid(note.customer_id))
            .push(" AND ");
        self.live_customer(&mut sql, scope, note.customer_id);
        let txn = self.begin_write().await?;
        let updated = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected();
        txn.commit().await.map_err(db_error)?;
        if updated == 0 {
            Err(RepositoryError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn delete_note(&self, scope: Scope, customer: CustomerId, note: NoteId) -> Result<bool, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("DELETE FROM customer_notes WHERE id = ");
        sql.bind(k.uuid(note))
            .push(" AND customer_id = ")
            .bind(k.uuid(customer))
            .push(" AND ");
        self.live_customer(&mut sql, scope, customer);
        let txn = self.begin_write().await?;
        let deleted = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected();
        txn.commit().await.map_err(db_error)?;
        Ok(deleted > 0)
    }

    async fn find_by_unique(
        &self,
        organization: OrganizationId,
        field: UniqueField,
        value: &str,
    ) -> Result<Option<(Scope, CustomerId)>, RepositoryError> {
        let k = &self.codec;
        let column = match field {
            UniqueField::Email => "email",
            UniqueField::Iin => "iin",
            UniqueField::Bin => "bin",
        };
        let value = match field {
            UniqueField::Email => value.trim().to_lowercase(),
            _ => value.trim().to_owned(),
        };
        let mut sql =
            k.sql("SELECT c.id, c.organization_id, c.workspace_id FROM customers c WHERE c.organization_id = ");
        sql.bind(k.uuid(organization))
            .push(&format!(" AND c.deleted_at IS NULL AND c.{column} = "))
            .bind(k.text(value));
        let Some(row) = self.db.query_one_raw(sql.build()).await.map_err(db_error)? else {
            return Ok(None);
        };
        let scope = Scope::new(
            OrganizationId::from(k.get::<Uuid>(&row, "organization_id")?),
            WorkspaceId::from(k.get::<Uuid>(&row, "workspace_id")?),
        );
        Ok(Some((scope, CustomerId::from(k.get::<Uuid>(&row, "id")?))))
    }

    async fn find_all_by_unique(
        &self,
        organization: OrganizationId,
        field: UniqueField,
        values: &[String],
    ) -> Result<Vec<(String, Scope, CustomerId)>, RepositoryError> {
        let k = &self.codec;
        let column = match field {
            UniqueField::Email => "email",
            UniqueField::Iin => "iin",
            UniqueField::Bin => "bin",
        };
        let mut found = Vec::new();
        for chunk in values.chunks(1_000) {
            let values = chunk.iter().map(|value| match field {
                UniqueField::Email => k.text(value.trim().to_lowercase()),
                _ => k.text(value.trim()),
            });
            let mut sql = k.sql(&format!(
                "SELECT c.{column} AS value, c.id, c.organization_id, c.workspace_id FROM customers c \
                 WHERE c.organization_id = "
            ));
            sql.bind(k.uuid(organization))
                .push(&format!(" AND c.deleted_at IS NULL AND c.{column} IN "))
                .bind_list(values);
            for row in self.db.query_all_raw(sql.build()).await.map_err(db_error)? {
                let scope = Scope::new(
                    OrganizationId::from(k.get::<Uuid>(&row, "organization_id")?),
                    WorkspaceId::from(k.get::<Uuid>(&row, "workspace_id")?),
                );
                found.push((
                    k.get(&row, "value")?,
                    scope,
                    CustomerId::from(k.get::<Uuid>(&row, "id")?),
                ));
            }
        }
        Ok(found)
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        self.db.ping().await.map_err(db_error)
    }

    async fn segment_rules(&self, scope: Scope) -> Result<Option<SegmentRules>, RepositoryError> {
        self.read_segment_rules(scope).await
    }

    async fn put_segment_rules(&self, scope: Scope, rules: &SegmentRules) -> Result<(), RepositoryError> {
        self.write_segment_rules(scope, rules, OffsetDateTime::now_utc()).await
    }
}

#[async_trait]
impl CustomerSearch for SeaRepository {
    async fn search(&self, scope: Scope, query: &CustomerQuery) -> Result<CustomerList, RepositoryError> {
        // `count=estimated` asks the planner first (one EXPLAIN): counting even 10,001 matches
        // of a substring or a popular tag costs more than the page. Beyond
        // ESTIMATE_TRUSTED_ABOVE the estimate stands; below it the count, capped, rides along
        // with the page. Without a planner estimate (SQLite) the count is exact.
        let estimate = match query.count {
            CountMode::Estimated => self.estimate_matches(&self.db, scope, query).await?,
            _ => None,
        };
        let count = match (query.count, estimate) {
            (CountMode::None, _) => None,
            (CountMode::Estimated, Some(estimate)) if estimate > ESTIMATE_TRUSTED_ABOVE => None,
            (CountMode::Estimated, Some(_)) => Some(Some(EXACT_COUNT_UP_TO + 1)),
            _ => Some(None),
        };
        let push_count = |sql: &mut Sql| self.push_count(sql, scope, query, count.flatten());
        let sql = self.load_sql(
            |sql| self.push_page(sql, "SELECT c.*", scope, query),
            &order_by(&self.codec, query.sort_by, query.sort_order),
            count.map(|_| &push_count as &dyn Fn(&mut Sql)),
        );
        // Filtered by status, type and industry alone, the page has one good plan whatever the
        // values (each branch reads its own index in order): PostgreSQL keeps the prepared
        // statement's plan instead of planning up to ten branches again for every request.
        // A search, tags, a city, a range or a segment need a plan for their values (how many
        // match decides between walking the sort's index and collecting the matches first),
        // which PostgreSQL's plan cache does not guarantee by itself: it switches to a generic
        // plan whenever that one looks no costlier than the custom ones so far. The unfiltered
        // list is left to it (its generic plan is the right one).
        let plan_mode = match self.codec.backend() {
            DbBackend::Postgres if by_columns_only(&query.filter) && one_plan_fits(query) => Some("force_generic_plan"),
            DbBackend::Postgres if !one_plan_fits(query) => Some("force_custom_plan"),
            _ => None,
        };
        let loaded = match plan_mode {
            Some(mode) => {
                let txn = self.db.begin().await.map_err(db_error)?;
                txn.execute_unprepared(&format!("SET LOCAL plan_cache_mode = {mode}"))
                    .await
                    .map_err(db_error)?;
                let loaded = self.load(&txn, sql).await?;
                txn.commit().await.map_err(db_error)?;
                loaded
            }
            None => self.load(&self.db, sql).await?,
        };
        let mut items = loaded.customers;
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let next = if more {
            items.last().map(|last| Keyset::of(last, query.sort_by))
        } else {
            None
        };
        let counted = || loaded.total.ok_or_else(|| corrupt("total", "the count is missing"));
        // Matches known from the page: the rows before it, on it, and one after.
        let seen = query.offset() + items.len() as u64 + u64::from(more);
        let (total, total_is_estimate) = match (query.count, estimate) {
            (CountMode::None, _) => (None, false),
            // A first page that holds every match is its own count.
            _ if query.after.is_none() && query.offset() == 0 && !more => (Some(items.len() as u64), false),
            (CountMode::Estimated, Some(estimate)) if count.is_none() => (Some(estimate.max(seen)), true),
            (CountMode::Estimated, Some(estimate)) => match counted()? {
                capped if capped <= EXACT_COUNT_UP_TO => (Some(capped), false),
                capped => (Some(estimate.max(capped).max(seen)), true),
            },
            _ => (Some(counted()?), false),
        };
        Ok(CustomerList {
            items,
            total,
            total_is_estimate,
            page: query.page,
            limit: query.limit,
            next,
        })
    }

    async fn segment_counts(
        &self,
        scope: Scope,
        rules: &[(Segment, Condition)],
        otherwise: Segment,
    ) -> Result<Vec<(Segment, u64)>, RepositoryError> {
        self.count_segments(scope, rules, otherwise).await
    }

    async fn rfm_grid(&self, scope: Scope) -> Result<Vec<customers_domain::analytics::rfm::RfmCell>, RepositoryError> {
        self.rfm_cells(scope).await
    }

    async fn rfm_of(
        &self,
        scope: Scope,
        customer: CustomerId,
    ) -> Result<Option<customers_domain::analytics::rfm::RfmScore>, RepositoryError> {
        self.rfm_score(scope, customer).await
    }

    async fn metric_counts(
        &self,
        scope: Scope,
        period: &customers_domain::analytics::metrics::Period,
    ) -> Result<customers_domain::analytics::metrics::MetricCounts, RepositoryError> {
        self.count_metrics(scope, period).await
    }
}
