//! Segments in SQL: the domain's column conditions translated for either engine, the
//! per-workspace thresholds, and counts per segment in one query.

use sea_orm::ConnectionTrait;
use time::OffsetDateTime;

use customers_domain::analytics::rfm::{RfmCell, RfmScore, quintile};
use customers_domain::analytics::segment::{Condition, Segment, SegmentRules};
use customers_domain::ports::RepositoryError;
use customers_domain::{CustomerId, Scope};

use super::{SeaRepository, db_error, read_int};
use crate::sql::{Sql, corrupt};

impl SeaRepository {
    /// Appends `condition` over the customer row `c`; never NULL (a missing last purchase date
    /// makes its comparisons false, as [`Condition::holds`] does).
    pub(super) fn condition_sql(&self, sql: &mut Sql, condition: &Condition) {
        let k = &self.codec;
        match condition {
            Condition::StatusIs(status) => {
                sql.push("c.status = ").bind(k.text(status.as_str()));
            }
            Condition::PurchasesAtLeast(n) => {
                sql.push("c.purchase_count >= ").bind(k.int(*n));
            }
            Condition::PurchasesEqual(n) => {
                sql.push("c.purchase_count = ").bind(k.int(*n));
            }
            Condition::LastPurchaseAtOrBefore(at) => {
                sql.push("(c.last_purchase_date IS NOT NULL AND c.last_purchase_date <= ")
                    .bind(k.time(*at))
                    .push(")");
            }
            Condition::LastPurchaseAfter(at) => {
                sql.push("(c.last_purchase_date IS NOT NULL AND c.last_purchase_date > ")
                    .bind(k.time(*at))
                    .push(")");
            }
            Condition::CreatedAtOrBefore(at) => {
                sql.push("c.created_at <= ").bind(k.time(*at));
            }
            Condition::CreatedAfter(at) => {
                sql.push("c.created_at > ").bind(k.time(*at));
            }
            Condition::LifetimeValueAbove(value) => {
                sql.push("c.lifetime_value > ").bind(k.money(*value));
            }
            Condition::All(all) | Condition::Any(all) if all.is_empty() => {
                sql.push(if matches!(condition, Condition::All(_)) {
                    "1 = 1"
                } else {
                    "1 = 0"
                });
            }
            Condition::All(parts) | Condition::Any(parts) => {
                let joiner = if matches!(condition, Condition::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                sql.push("(");
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    self.condition_sql(sql, part);
                }
                sql.push(")");
            }
            Condition::Not(inner) => {
                sql.push("NOT (");
                self.condition_sql(sql, inner);
                sql.push(")");
            }
        }
    }

    /// The stored thresholds of a workspace.
    pub(super) async fn read_segment_rules(&self, scope: Scope) -> Result<Option<SegmentRules>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("SELECT segment_rules FROM workspace_settings WHERE organization_id = ");
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id));
        let Some(row) = self.db.query_one_raw(sql.build()).await.map_err(db_error)? else {
            return Ok(None);
        };
        k.get_json(&row, "segment_rules")?
            .filter(|v| !v.is_null())
            .map(|v| serde_json::from_value(v).map_err(|e| corrupt("segment_rules", e)))
            .transpose()
    }

    /// Stores the thresholds of a workspace.
    pub(super) async fn write_segment_rules(
        &self,
        scope: Scope,
        rules: &SegmentRules,
        at: OffsetDateTime,
    ) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let value = serde_json::to_value(rules).map_err(|e| RepositoryError::Unexpected(e.to_string()))?;
        let mut sql = self.insert_sql(
            "workspace_settings",
            vec![
                ("organization_id", k.uuid(scope.organization_id)),
                ("workspace_id", k.uuid(scope.workspace_id)),
                ("segment_rules", k.json(Some(value))),
                ("updated_at", k.time(at)),
            ],
        );
        sql.push(
            " ON CONFLICT (organization_id, workspace_id) DO UPDATE SET segment_rules = excluded.segment_rules, \
             updated_at = excluded.updated_at",
        );
        self.db.execute_raw(sql.build()).await.map_err(db_error)?;
        Ok(())
    }

    /// Live customers of `scope` per segment, first matching rule first.
    pub(super) async fn count_segments(
        &self,
        scope: Scope,
        rules: &[(Segment, Condition)],
        otherwise: Segment,
    ) -> Result<Vec<(Segment, u64)>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("SELECT segment, COUNT(*) AS members FROM (SELECT CASE");
        for (segment, condition) in rules {
            sql.push(" WHEN ");
            self.condition_sql(&mut sql, condition);
            sql.push(" THEN ").bind(k.text(segment.as_str()));
        }
        sql.push(" ELSE ")
            .bind(k.text(otherwise.as_str()))
            .push(" END AS segment FROM customers c WHERE ");
        self.scope_condition(&mut sql, scope);
        sql.push(") segmented GROUP BY segment");
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let name: String = k.get(row, "segment")?;
                let segment = name.parse::<Segment>().map_err(|e| corrupt("segment", e))?;
                Ok((segment, u64::try_from(read_int(k, row, "members")?).unwrap_or(0)))
            })
            .collect()
    }

    /// The recency × frequency grid: each score is ⌈5·k/n⌉ in integer arithmetic, with k the
    /// customers whose value is ≤ this one (window `RANGE … CURRENT ROW` counts the ties) and
    /// n those scored, as `analytics::rfm::scores` computes it.
    pub(super) async fn rfm_cells(&self, scope: Scope) -> Result<Vec<RfmCell>, RepositoryError> {
        let k = &self.codec;
        let score = |column: &str| {
            format!(
                "(5 * COUNT(*) OVER (ORDER BY {column} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) \
                 + COUNT(*) OVER () - 1) / COUNT(*) OVER ()"
            )
        };
        let mut sql = k.sql(&format!(
            "SELECT recency, frequency, COUNT(*) AS members, SUM(total) AS revenue FROM (SELECT {} AS recency, \
             {} AS frequency, c.total_purchases AS total FROM customers c WHERE ",
            score("c.last_purchase_date"),
            score("c.purchase_count")
        ));
        self.scope_condition(&mut sql, scope);
        sql.push(" AND c.purchase_count > 0 AND c.last_purchase_date IS NOT NULL) scored GROUP BY recency, frequency");
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let score = |column: &str| -> Result<u8, RepositoryError> {
                    let value = read_int(k, row, column)?;
                    u8::try_from(value).map_err(|e| corrupt(column, e))
                };
                Ok(RfmCell {
                    recency: score("recency")?,
                    frequency: score("frequency")?,
                    customers: u64::try_from(read_int(k, row, "members")?).unwrap_or(0),
                    revenue: k.get_money(row, "revenue")?,
                })
            })
            .collect()
    }

    /// The RFM scores of one customer: the same ⌈5·k/n⌉ as [`Self::rfm_cells`], with k and n
    /// counted in one pass over the workspace's scored customers.
    pub(super) async fn rfm_score(
        &self,
        scope: Scope,
        customer: CustomerId,
    ) -> Result<Option<RfmScore>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql(
            "SELECT COUNT(*) AS scored, \
             SUM(CASE WHEN c.last_purchase_date <= me.last_purchase_date THEN 1 ELSE 0 END) AS recency, \
             SUM(CASE WHEN c.purchase_count <= me.purchase_count THEN 1 ELSE 0 END) AS frequency, \
             SUM(CASE WHEN c.total_purchases <= me.total_purchases THEN 1 ELSE 0 END) AS monetary \
             FROM (SELECT c.last_purchase_date, c.purchase_count, c.total_purchases FROM customers c WHERE ",
        );
        self.scope_condition(&mut sql, scope);
        sql.push(" AND c.id = ")
            .bind(k.uuid(customer))
            .push(" AND c.purchase_count > 0 AND c.last_purchase_date IS NOT NULL) me CROSS JOIN customers c WHERE ");
        self.scope_condition(&mut sql, scope);
        sql.push(" AND c.purchase_count > 0 AND c.last_purchase_date IS NOT NULL");
        let Some(row) = self.db.query_one_raw(sql.build()).await.map_err(db_error)? else {
            return Ok(None);
        };
        let scored = read_int(k, &row, "scored")?;
        if scored == 0 {
            return Ok(None);
        }
        let n = u64::try_from(scored).map_err(|e| corrupt("scored", e))?;
        let score = |column: &str| -> Result<u8, RepositoryError> {
            let below = u64::try_from(read_int(k, &row, column)?).map_err(|e| corrupt(column, e))?;
            Ok(quintile(below, n))
        };
        Ok(Some(RfmScore {
            recency: score("recency")?,
            frequency: score("frequency")?,
            monetary: score("monetary")?,
        }))
    }
}
