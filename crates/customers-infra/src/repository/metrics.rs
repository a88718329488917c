//! Module metrics in SQL: the status and liveness of the customers of a workspace at the start
//! and at the end of a period, worked out from the outbox (`customer_events`), and the current
//! lifetime values of the live customers. One statement, without loading customers.
//!
//! Only the customers whose history moved at or after `from` (any of the status and life
//! events below, or merged into another customer) can have been anything at `from` or `to`
//! other than what they are now. Those *touched* customers are found through the index on
//! (workspace, event type, time), and each one's events through the index on (workspace,
//! customer, seq); per customer, in the order written (`seq`):
//!
//! - the last status event (`customer.created` with its initial status,
//!   `customer.status.changed` with the new one) before `from`, before `to` and at all, found
//!   as the largest `seq * 2 + (status = ACTIVE)`: its parity says whether that status is
//!   ACTIVE;
//! - the last of `customer.created` / `customer.deleted` / `customer.restored` before `from`,
//!   before `to` and at all, found as the largest `seq * 2 + (not a deletion)`: its parity says
//!   whether the customer was live;
//! - its creation as a LEAD or PROSPECT in the period, its first `customer.lead.converted`
//!   in the period, and whether it moved to CHURNED in the period;
//!
//! and, from `customers.merged` events, when it was merged into another customer (a merged
//! duplicate is removed without a deletion event). Every other customer's last events came
//! before `from`, so its state at `from` and at `to` is its current record (the outbox is
//! written in the same transaction as the record): those active at both ends are the
//! customers active now (one count on the status index) but the touched ones active now. The
//! cost therefore follows the customers touched since `from`, not the size of the workspace.
//! The definitions are those of `customers_domain::analytics::metrics`.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use time::Duration;

use customers_domain::Scope;
use customers_domain::analytics::metrics::{MetricCounts, Period};
use customers_domain::ports::RepositoryError;

use super::{SeaRepository, db_error, read_int};
use crate::sql::{Sql, corrupt};

/// The events that say something about status or liveness.
const HISTORY_TYPES: &str = "('customer.created', 'customer.status.changed', 'customer.deleted', 'customer.restored', \
                             'customer.lead.converted')";

impl SeaRepository {
    /// The counts of [`MetricCounts`] for `scope` and `period`, in one read transaction.
    pub(super) async fn count_metrics(&self, scope: Scope, period: &Period) -> Result<MetricCounts, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if k.backend() == DbBackend::Postgres {
            // The plan's estimated cost is far above the JIT threshold, and compiling it takes
            // longer (up to a second) than running it.
            txn.execute_unprepared("SET LOCAL jit = off").await.map_err(db_error)?;
        }
        let history = txn
            .query_one_raw(self.history_counts_sql(scope, period).build())
            .await
            .map_err(db_error)?
            .ok_or_else(|| corrupt("metrics", "no row"))?;

        let mut live =
            k.sql("SELECT COUNT(*) AS live, COALESCE(SUM(c.lifetime_value), 0) AS ltv FROM customers c WHERE ");
        self.scope_condition(&mut live, scope);
        let live = txn
            .query_one_raw(live.build())
            .await
            .map_err(db_error)?
            .ok_or_else(|| corrupt("metrics", "no row"))?;
        txn.commit().await.map_err(db_error)?;

        let count = |row: &QueryResult, column: &str| -> Result<u64, RepositoryError> {
            u64::try_from(read_int(k, row, column)?).map_err(|e| corrupt(column, e))
        };
        let millis = self.read_decimal(&history, "conversion_ms", 0)?;
        let millis = millis
            .to_i64()
            .ok_or_else(|| corrupt("conversion_ms", "out of range"))?;
        Ok(MetricCounts {
            active_at_start: count(&history, "active_at_start")?,
            active_at_end: count(&history, "active_at_end")?,
            churned: count(&history, "churned")?,
            leads_created: count(&history, "leads_created")?,
            leads_converted: count(&history, "leads_converted")?,
            conversion_time: Duration::milliseconds(millis),
            live_customers: count(&live, "live")?,
            lifetime_value_total: self.read_decimal(&live, "ltv", 2)?,
        })
    }

    /// A numeric sum: `numeric` on PostgreSQL, an integer with `scale` implied decimals on
    /// SQLite (cents for money).
    fn read_decimal(&self, row: &QueryResult, column: &str, scale: u32) -> Result<Decimal, RepositoryError> {
        let k = &self.codec;
        match k.backend() {
            DbBackend::Postgres => k.get::<Decimal>(row, column),
            _ => Ok(Decimal::new(read_int(k, row, column)?, scale)),
        }
    }

    /// The one-row query of the history counts (see the module docs).
    fn history_counts_sql(&self, scope: Scope, period: &Period) -> Sql {
        let k = &self.codec;
        let postgres = k.backend() == DbBackend::Postgres;
        let (status, new_status) = if postgres {
            ("e.payload->>'status'", "e.payload->>'newStatus'")
        } else {
            (
                "json_extract(e.payload, '$.status')",
                "json_extract(e.payload, '$.newStatus')",
            )
        };
        let (merged_ids, merged_id) = if postgres {
            (
                "CROSS JOIN LATERAL jsonb_array_elements_text(e.payload->'mergedCustomerIds') AS j(value)",
                "CAST(j.value AS uuid)",
            )
        } else {
            (
                "CROSS JOIN json_each(e.payload, '$.mergedCustomerIds') AS j",
                "unhex(replace(j.value, '-', ''))",
            )
        };
        let (from, to) = (k.time(period.from()), k.time(period.to()));
        let in_scope = |sql: &mut Sql, alias: &str| {
            sql.push(&format!("{alias}.organization_id = "))
                .bind(k.uuid(scope.organization_id))
                .push(&format!(" AND {alias}.workspace_id = "))
                .bind(k.uuid(scope.workspace_id));
        };

        // The customers whose history moved at or after `from` (also after `to`): for the
        // others, the current record is the state at `from` and at `to`.
        let mut sql = k.sql("WITH touched AS (SELECT e.customer_id FROM customer_events e WHERE ");
        in_scope(&mut sql, "e");
        sql.push(&format!(" AND e.type IN {HISTORY_TYPES} AND e.occurred_at >= "))
            .bind(from.clone())
            .push(&format!(
                " UNION SELECT {merged_id} FROM customer_events e {merged_ids} WHERE "
            ));
        in_scope(&mut sql, "e");
        sql.push(" AND e.type = 'customers.merged' AND e.occurred_at >= ")
            .bind(from.clone())
            .push("), ");

        // Their whole history (also after `to`: it gives their current state), one index
        // lookup per customer. On PostgreSQL, `OFFSET 0` keeps the planner from flattening the
        // lookups into a hash join over every event of the workspace; SQLite is told the index,
        // as it may otherwise search each customer's events through the type index.
        let columns = format!(
            "e.seq, e.type, e.occurred_at, CASE e.type WHEN 'customer.created' THEN {status} \
             WHEN 'customer.status.changed' THEN {new_status} END AS status"
        );
        if postgres {
            sql.push(&format!(
                "ev AS (SELECT t.customer_id, h.* FROM touched t CROSS JOIN LATERAL (SELECT {columns} \
                 FROM customer_events e WHERE "
            ));
            in_scope(&mut sql, "e");
            sql.push(&format!(
                " AND e.customer_id = t.customer_id AND e.type IN {HISTORY_TYPES} OFFSET 0) h), "
            ));
        } else {
            sql.push(&format!(
                "ev AS (SELECT t.customer_id, {columns} FROM touched t JOIN customer_events e \
                 INDEXED BY ix_customer_events_customer ON e.customer_id = t.customer_id WHERE "
            ));
            in_scope(&mut sql, "e");
            sql.push(&format!(" AND e.type IN {HISTORY_TYPES}), "));
        }

        // Per customer: the last status and the last life event before `from`, before `to`
        // and at all; its creation as a lead and first conversion in the period; a churn in it.
        let is_active = "(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END)";
        let is_life = "type IN ('customer.created', 'customer.deleted', 'customer.restored')";
        let not_deleted = "(CASE WHEN type = 'customer.deleted' THEN 0 ELSE 1 END)";
        let in_period = |sql: &mut Sql| {
            sql.push(" AND occurred_at >= ")
                .bind(from.clone())
                .push(" AND occurred_at < ")
                .bind(to.clone());
        };
        sql.push("per AS (SELECT customer_id, MAX(CASE WHEN status IS NOT NULL AND occurred_at < ")
            .bind(from.clone())
            .push(&format!(
                " THEN seq * 2 + {is_active} END) AS status_start, \
                 MAX(CASE WHEN status IS NOT NULL AND occurred_at < "
            ))
            .bind(to.clone())
            .push(&format!(
                " THEN seq * 2 + {is_active} END) AS status_end, \
                 MAX(CASE WHEN status IS NOT NULL THEN seq * 2 + {is_active} END) AS status_now, \
                 MAX(CASE WHEN {is_life} AND occurred_at < "
            ))
            .bind(from.clone())
            .push(&format!(
                " THEN seq * 2 + {not_deleted} END) AS life_start, \
                 MAX(CASE WHEN {is_life} AND occurred_at < "
            ))
            .bind(to.clone())
            .push(&format!(
                " THEN seq * 2 + {not_deleted} END) AS life_end, \
                 MAX(CASE WHEN {is_life} THEN seq * 2 + {not_deleted} END) AS life_now, \
                 MIN(CASE WHEN type = 'customer.created' AND status IN ('LEAD', 'PROSPECT')"
            ));
        in_period(&mut sql);
        sql.push(" THEN occurred_at END) AS lead_created_at, MIN(CASE WHEN type = 'customer.lead.converted'");
        in_period(&mut sql);
        sql.push(
            " THEN occurred_at END) AS converted_at, \
             MAX(CASE WHEN type = 'customer.status.changed' AND status = 'CHURNED'",
        );
        in_period(&mut sql);
        sql.push(" THEN 1 ELSE 0 END) AS churned FROM ev GROUP BY customer_id), ");

        // Merged into another customer, and when.
        sql.push(&format!(
            "merged AS (SELECT {merged_id} AS customer_id, MIN(e.occurred_at) AS merged_at \
             FROM customer_events e {merged_ids} WHERE "
        ));
        in_scope(&mut sql, "e");
        sql.push(&format!(" AND e.type = 'customers.merged' GROUP BY {merged_id}), "));

        // What each of them counts for.
        sql.push(
            "flags AS (SELECT CASE WHEN p.status_start % 2 = 1 AND p.life_start % 2 = 1 \
             AND (m.merged_at IS NULL OR m.merged_at >= ",
        )
        .bind(from)
        .push(
            ") THEN 1 ELSE 0 END AS active_start, \
             CASE WHEN p.status_end % 2 = 1 AND p.life_end % 2 = 1 AND (m.merged_at IS NULL OR m.merged_at >= ",
        )
        .bind(to.clone())
        .push(
            ") THEN 1 ELSE 0 END AS active_end, \
             CASE WHEN p.status_now % 2 = 1 AND p.life_now % 2 = 1 AND m.merged_at IS NULL THEN 1 ELSE 0 END \
             AS active_now, \
             CASE WHEN p.lead_created_at IS NOT NULL AND p.life_end % 2 = 1 AND (m.merged_at IS NULL OR m.merged_at >= ",
        )
        .bind(to.clone())
        .push(
            ") THEN 1 ELSE 0 END AS lead, \
             p.churned, p.lead_created_at, p.converted_at \
             FROM per p LEFT JOIN merged m ON m.customer_id = p.customer_id) ",
        );

        let elapsed_ms = if postgres {
            "FLOOR(EXTRACT(EPOCH FROM (converted_at - lead_created_at)) * 1000)"
        } else {
            "(converted_at - lead_created_at) / 1000"
        };
        // The customers not touched count by their current record: those active now, but
        // the touched ones.
        sql.push(&format!(
            "SELECT h.active_start + u.active - h.active_now AS active_at_start, \
             h.active_end + u.active - h.active_now AS active_at_end, \
             h.churned, h.leads_created, h.leads_converted, h.conversion_ms FROM (SELECT \
             COALESCE(SUM(active_start), 0) AS active_start, \
             COALESCE(SUM(active_end), 0) AS active_end, \
             COALESCE(SUM(active_now), 0) AS active_now, \
             COALESCE(SUM(active_start * churned), 0) AS churned, \
             COALESCE(SUM(lead), 0) AS leads_created, \
             COALESCE(SUM(CASE WHEN lead = 1 AND converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS leads_converted, \
             COALESCE(SUM(CASE WHEN lead = 1 AND converted_at IS NOT NULL THEN {elapsed_ms} END), 0) AS conversion_ms \
             FROM flags) h, (SELECT COUNT(*) AS active FROM customers c WHERE "
        ));
        self.scope_condition(&mut sql, scope);
        sql.push(" AND c.status = 'ACTIVE') u");
        sql
    }
}
