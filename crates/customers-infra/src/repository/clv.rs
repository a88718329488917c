//! The CLV store: counted purchases read from the purchases read model (`customer_orders`),
//! and the latest fit of each workspace (`clv_models`).

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, QueryResult};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::analytics::clv::{ClvFit, ClvModel, ClvStatus, TimeUnit};
use customers_domain::integration::OrderStatus;
use customers_domain::ports::{ClvStore, CountedPurchase, RepositoryError};
use customers_domain::{CustomerId, Scope};

use super::{SeaRepository, db_error, read_int};
use crate::sql::{Sql, corrupt};

const FIT_COLUMNS: &str = "status, model, reason, time_unit, sample_size, as_of, fitted_at";

impl SeaRepository {
    /// `SELECT` of the purchases of the live customers of `scope` counted at `as_of`.
    fn counted_purchases_sql(&self, scope: Scope, as_of: OffsetDateTime) -> Sql {
        let k = &self.codec;
        let mut sql = k.sql(
            "SELECT o.customer_id, o.completed_at, o.total_amount FROM customer_orders o \
             JOIN customers c ON c.id = o.customer_id WHERE o.organization_id = ",
        );
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND o.workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND o.completed_at IS NOT NULL AND o.completed_at <= ")
            .bind(k.time(as_of))
            // Not reversed by then: still completed, or cancelled or refunded later.
            .push(" AND (o.status = ")
            .bind(k.text(OrderStatus::Completed.as_str()))
            .push(" OR o.reversed_at > ")
            .bind(k.time(as_of))
            .push(") AND ");
        self.scope_condition(&mut sql, scope);
        sql
    }

    fn read_counted_purchase(&self, row: &QueryResult) -> Result<CountedPurchase, RepositoryError> {
        let k = &self.codec;
        Ok(CountedPurchase {
            customer_id: CustomerId::from(k.get::<Uuid>(row, "customer_id")?),
            completed_at: k.get_time(row, "completed_at")?,
            total_amount: k.get_money(row, "total_amount")?,
        })
    }

    fn read_clv_fit(&self, row: &QueryResult) -> Result<ClvFit, RepositoryError> {
        let k = &self.codec;
        let status: String = k.get(row, "status")?;
        let status = ClvStatus::parse(&status).ok_or_else(|| corrupt("status", status))?;
        let model = k
            .get_json(row, "model")?
            .filter(|v| !v.is_null())
            .map(|v| serde_json::from_value::<ClvModel>(v).map_err(|e| corrupt("model", e)))
            .transpose()?;
        let reason: Option<String> = k.get(row, "reason")?;
        let outcome = status
            .outcome(model, reason)
            .ok_or_else(|| corrupt("model", format!("a {} fit needs its model or reason", status.as_str())))?;
        let unit: String = k.get(row, "time_unit")?;
        let time_unit = match unit.as_str() {
            "days" => TimeUnit::Days,
            "weeks" => TimeUnit::Weeks,
            other => return Err(corrupt("time_unit", other)),
        };
        Ok(ClvFit {
            outcome,
            time_unit,
            sample_size: u64::try_from(read_int(k, row, "sample_size")?).map_err(|e| corrupt("sample_size", e))?,
            as_of: k.get_time(row, "as_of")?,
            fitted_at: k.get_time(row, "fitted_at")?,
        })
    }
}

fn time_unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "days",
        TimeUnit::Weeks => "weeks",
    }
}

#[async_trait]
impl ClvStore for SeaRepository {
    async fn counted_purchases(
        &self,
        scope: Scope,
        as_of: OffsetDateTime,
    ) -> Result<Vec<CountedPurchase>, RepositoryError> {
        let sql = self.counted_purchases_sql(scope, as_of);
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        rows.iter().map(|row| self.read_counted_purchase(row)).collect()
    }

    async fn counted_purchases_of(
        &self,
        scope: Scope,
        customer: CustomerId,
        as_of: OffsetDateTime,
    ) -> Result<Option<Vec<CountedPurchase>>, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut sql = self.counted_purchases_sql(scope, as_of);
        sql.push(" AND o.customer_id = ").bind(k.uuid(customer));
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        rows.iter()
            .map(|row| self.read_counted_purchase(row))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    async fn clv_fit(&self, scope: Scope) -> Result<Option<ClvFit>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql(&format!(
            "SELECT {FIT_COLUMNS} FROM clv_models WHERE organization_id = "
        ));
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id));
        match self.db.query_one_raw(sql.build()).await.map_err(db_error)? {
            Some(row) => self.read_clv_fit(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn put_clv_fit(&self, scope: Scope, fit: &ClvFit) -> Result<bool, RepositoryError> {
        let k = &self.codec;
        let model = fit
            .model()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| RepositoryError::Unexpected(format!("cannot store the model: {e}")))?;
        let sample_size = i64::try_from(fit.sample_size).unwrap_or(i64::MAX);
        let mut sql = self.insert_sql(
            "clv_models",
            vec![
                ("organization_id", k.uuid(scope.organization_id)),
                ("workspace_id", k.uuid(scope.workspace_id)),
                ("status", k.text(fit.status().as_str())),
                ("model", k.json(model)),
                ("reason", k.opt_text(fit.reason().map(|r| r.replace('\0', "\u{FFFD}")))),
                ("time_unit", k.text(time_unit_name(fit.time_unit))),
                ("sample_size", k.int(sample_size)),
                ("as_of", k.time(fit.as_of)),
                ("fitted_at", k.time(fit.fitted_at)),
            ],
        );
        sql.push(
            " ON CONFLICT (organization_id, workspace_id) DO UPDATE SET status = excluded.status, \
             model = excluded.model, reason = excluded.reason, time_unit = excluded.time_unit, \
             sample_size = excluded.sample_size, as_of = excluded.as_of, fitted_at = excluded.fitted_at \
             WHERE clv_models.fitted_at <= excluded.fitted_at",
        );
        let result = self.db.execute_raw(sql.build()).await.map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn clv_refit_due(&self, fitted_before: OffsetDateTime) -> Result<Vec<Scope>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql(
            "SELECT w.organization_id, w.workspace_id FROM (SELECT DISTINCT organization_id, workspace_id \
             FROM customer_orders WHERE status = ",
        );
        sql.bind(k.text(OrderStatus::Completed.as_str()))
            .push(
                " AND customer_id IS NOT NULL) w LEFT JOIN clv_models m ON m.organization_id = w.organization_id \
                 AND m.workspace_id = w.workspace_id WHERE m.fitted_at IS NULL OR m.fitted_at < ",
            )
            .bind(k.time(fitted_before));
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(Scope::new(
                    k.get::<Uuid>(row, "organization_id")?.into(),
                    k.get::<Uuid>(row, "workspace_id")?.into(),
                ))
            })
            .collect()
    }
}
