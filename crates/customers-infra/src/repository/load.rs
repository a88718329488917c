//! Customers with their contacts and addresses, and optionally a count, in one statement.
//!
//! Every read of whole customers (a get, a list page, a row locked for an update, duplicate
//! candidates) is one round trip and one snapshot, so it needs no read transaction:
//!
//! ```sql
//! WITH page AS MATERIALIZED (<the customers: SELECT c.* …>),
//!      ranked AS MATERIALIZED (SELECT c.*, ROW_NUMBER() OVER (<their order>) AS ord FROM page c)
//! SELECT 0 AS kind, c.ord, 0 AS pos, <customer columns>, NULL AS ct_id, …, NULL AS ad_id, …,
//!        CAST(NULL AS BIGINT) AS total FROM ranked c
//! UNION ALL
//! SELECT 1, r.ord, COALESCE(ct.position, ad.position), NULL, …, ct.id, …, ad.id, …, NULL
//!   FROM (<contacts of page>) ct FULL JOIN (<addresses of page>) ad
//!        ON ad.customer_id = ct.customer_id AND ad.position = ct.position
//!   JOIN ranked r ON r.id = COALESCE(ct.customer_id, ad.customer_id)
//! UNION ALL SELECT 2, 0, 0, NULL, …, m.total FROM (<count>) m      -- when counting
//! ORDER BY ord, kind, pos
//! ```
//!
//! A customer's row comes before its children; each child row holds its customer's contact
//! and address of one position side by side (the full join), so that every column of the
//! union takes its type from a branch that has real values (PostgreSQL resolves the types of
//! `NULL`s pairwise, branch after branch). No join fan-out: a customer is one row, its
//! children `max(contacts, addresses)` rows.

use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use customers_domain::Customer;
use customers_domain::ports::RepositoryError;

use super::{CUSTOMER_COLUMNS, SeaRepository, db_error, read_int};
use crate::sql::{Sql, corrupt};

/// The columns of `customer_contacts` a contact is read from (as `ct_<column>`).
const CONTACT_FIELDS: [&str; 16] = [
    "id",
    "customer_id",
    "first_name",
    "last_name",
    "middle_name",
    "job_title",
    "department",
    "email",
    "phone",
    "mobile_phone",
    "is_primary",
    "is_decision_maker",
    "social_media",
    "notes",
    "created_at",
    "updated_at",
];

/// The columns of `customer_addresses` an address is read from (as `ad_<column>`).
const ADDRESS_FIELDS: [&str; 17] = [
    "id",
    "customer_id",
    "type",
    "street",
    "building",
    "apartment",
    "city",
    "region",
    "postal_code",
    "country",
    "is_primary",
    "contact_name",
    "contact_phone",
    "delivery_instructions",
    "coordinates",
    "created_at",
    "updated_at",
];

/// The column prefix of contacts in a loaded row (`read_contact` reads these names).
const CONTACT: &str = "ct_";
/// The column prefix of addresses in a loaded row (`read_address` reads these names).
const ADDRESS: &str = "ad_";

/// Customers read by [`SeaRepository::load`], in order, with the count when one was asked.
pub(super) struct Loaded {
    pub customers: Vec<Customer>,
    pub total: Option<u64>,
    /// The customers' rows (one per customer, in order), for columns beyond the customer's.
    pub rows: Vec<QueryResult>,
}

/// `n` times `NULL`, comma-separated.
fn nulls(n: usize) -> String {
    vec!["NULL"; n].join(", ")
}

/// `NULL AS <prefix><field>` for each field, comma-separated: the first branch names the
/// union's columns.
fn named_nulls(fields: &[&str], prefix: &str) -> String {
    fields
        .iter()
        .map(|field| format!("NULL AS {prefix}{field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `alias.field` for each field, comma-separated.
fn columns(alias: &str, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| format!("{alias}.{field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SeaRepository {
    /// The statement reading the customers that `customers` selects, with their contacts and
    /// addresses and, when `count` is given, the row count it selects (as `total`).
    ///
    /// `customers` appends a query of whole customer rows (`SELECT c.* …`, or `*` over a
    /// subquery `c` of them) with every column `order` names; `order` (`ORDER BY …` over `c`)
    /// orders them. `count` appends a query of one row whose column `total` is the count.
    pub(super) fn load_sql(
        &self,
        customers: impl FnOnce(&mut Sql),
        order: &str,
        count: Option<&dyn Fn(&mut Sql)>,
    ) -> Sql {
        let customer_columns = format!("{CUSTOMER_COLUMNS}, c.deleted_at");
        let customer_nulls = nulls(customer_columns.split(',').count());
        let mut sql = self.codec.sql("WITH page AS MATERIALIZED (");
        customers(&mut sql);
        sql.push(&format!(
            "), ranked AS MATERIALIZED (SELECT c.*, ROW_NUMBER() OVER ({order}) AS ord FROM page c) \
             SELECT 0 AS kind, c.ord AS ord, 0 AS pos, {customer_columns}, {contact_nulls}, {address_nulls}, \
             CAST(NULL AS BIGINT) AS total FROM ranked c \
             UNION ALL SELECT 1, r.ord, COALESCE(ct.position, ad.position), {customer_nulls}, {contacts}, \
             {addresses}, NULL \
             FROM (SELECT * FROM customer_contacts WHERE customer_id IN (SELECT id FROM page)) ct \
             FULL JOIN (SELECT * FROM customer_addresses WHERE customer_id IN (SELECT id FROM page)) ad \
             ON ad.customer_id = ct.customer_id AND ad.position = ct.position \
             JOIN ranked r ON r.id = COALESCE(ct.customer_id, ad.customer_id)",
            order = order.trim(),
            contact_nulls = named_nulls(&CONTACT_FIELDS, CONTACT),
            address_nulls = named_nulls(&ADDRESS_FIELDS, ADDRESS),
            contacts = columns("ct", &CONTACT_FIELDS),
            addresses = columns("ad", &ADDRESS_FIELDS),
        ));
        if let Some(count) = count {
            sql.push(&format!(
                " UNION ALL SELECT 2, 0, 0, {customer_nulls}, {}, {}, m.total FROM (",
                nulls(CONTACT_FIELDS.len()),
                nulls(ADDRESS_FIELDS.len()),
            ));
            count(&mut sql);
            sql.push(") m");
        }
        sql.push(" ORDER BY ord, kind, pos");
        sql
    }

    /// Runs a statement of [`load_sql`](Self::load_sql) and reads its rows.
    pub(super) async fn load<C: ConnectionTrait>(&self, conn: &C, sql: Sql) -> Result<Loaded, RepositoryError> {
        let rows = conn.query_all_raw(sql.build()).await.map_err(db_error)?;
        self.read_loaded(rows)
    }

    fn read_loaded(&self, rows: Vec<QueryResult>) -> Result<Loaded, RepositoryError> {
        let k = &self.codec;
        let mut loaded = Loaded {
            customers: Vec::new(),
            total: None,
            rows: Vec::new(),
        };
        for row in rows {
            match read_int(k, &row, "kind")? {
                0 => {
                    loaded.customers.push(self.read_customer(&row)?);
                    loaded.rows.push(row);
                }
                1 => {
                    let customer = loaded
                        .customers
                        .last_mut()
                        .ok_or_else(|| corrupt("kind", "a contact or address before its customer"))?;
                    if k.get::<Option<Uuid>>(&row, "ct_id")?.is_some() {
                        customer.contacts.push(self.read_contact(&row)?);
                    }
                    if k.get::<Option<Uuid>>(&row, "ad_id")?.is_some() {
                        customer.addresses.push(self.read_address(&row)?);
                    }
                }
                _ => loaded.total = Some(u64::try_from(read_int(k, &row, "total")?).unwrap_or(0)),
            }
        }
        Ok(loaded)
    }
}
