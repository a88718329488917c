//! The inbound store: idempotency keys, the purchases/deals/invoices read model and dead
//! letters, on the same tables and transactions as the customers.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::integration::timeline::Activity;
use customers_domain::integration::{
    Channel, DeadLetter, InboundEnvelope, InboundEvent, InboundOutcome, OrderItem, OrderStatus, Purchase,
    PurchaseTotals, ReadModelChange, settle,
};
use customers_domain::ports::{InboundStore, RepositoryError};
use customers_domain::query::Page;
use customers_domain::{Customer, CustomerId, Money, OrganizationId, Scope, WorkspaceId};

use super::{NOTE_COLUMNS, SeaRepository, db_error, page_offset, read_int};
use crate::sql::corrupt;

impl SeaRepository {
    /// The live customer `id` of `scope`, its row locked until the end of `txn` (PostgreSQL;
    /// SQLite write transactions hold the database lock already).
    async fn lock_customer(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope,
        id: CustomerId,
    ) -> Result<Option<Customer>, RepositoryError> {
        let k = &self.codec;
        let sql = self.load_sql(
            |sql| {
                sql.push("SELECT c.* FROM customers c WHERE ");
                self.scope_condition(sql, scope);
                sql.push(" AND c.id = ").bind(k.uuid(id));
                if k.backend() == DbBackend::Postgres {
                    sql.push(" FOR UPDATE");
                }
            },
            " ORDER BY c.id",
            None,
        );
        Ok(self.load(txn, sql).await?.customers.into_iter().next())
    }

    /// Sum, count and first/last completion of the counted orders of `customer`, summed in
    /// `Decimal` (saturating at what an amount holds, the same on both engines).
    async fn purchase_totals(
        &self,
        txn: &DatabaseTransaction,
        organization: OrganizationId,
        customer: CustomerId,
    ) -> Result<PurchaseTotals, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("SELECT total_amount, completed_at FROM customer_orders WHERE organization_id = ");
        sql.bind(k.uuid(organization))
            .push(" AND customer_id = ")
            .bind(k.uuid(customer))
            .push(" AND status = ")
            .bind(k.text(OrderStatus::Completed.as_str()))
            .push(" AND completed_at IS NOT NULL");
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        let mut total = rust_decimal::Decimal::ZERO;
        let (mut first, mut last): (Option<OffsetDateTime>, Option<OffsetDateTime>) = (None, None);
        for row in &rows {
            total = total.saturating_add(k.get_money(row, "total_amount")?.amount());
            let at = k.get_time(row, "completed_at")?;
            first = Some(first.map_or(at, |f| f.min(at)));
            last = Some(last.map_or(at, |l| l.max(at)));
        }
        Ok(PurchaseTotals {
            total: Money::round(total),
            count: i32::try_from(rows.len()).unwrap_or(i32::MAX),
            first,
            last,
        })
    }

    /// Who an order belongs to, when it is known.
    async fn order_owner(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope,
        order_id: &str,
    ) -> Result<Option<Option<CustomerId>>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("SELECT customer_id FROM customer_orders WHERE organization_id = ");
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND order_id = ")
            .bind(k.text(order_id));
        match txn.query_one_raw(sql.build()).await.map_err(db_error)? {
            Some(row) => Ok(Some(k.get::<Option<Uuid>>(&row, "customer_id")?.map(CustomerId::from))),
            None => Ok(None),
        }
    }

    /// The customer an invoice was issued to, when it is known.
    async fn invoice_owner(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope,
        invoice_id: &str,
    ) -> Result<Option<CustomerId>, RepositoryError> {
        let k = &self.codec;
        let mut sql = k.sql("SELECT customer_id FROM customer_invoice_entries WHERE organization_id = ");
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND invoice_id = ")
            .bind(k.text(invoice_id))
            .push(" AND kind = 'ISSUED'");
        match txn.query_one_raw(sql.build()).await.map_err(db_error)? {
            Some(row) => Ok(Some(CustomerId::from(k.get::<Uuid>(&row, "customer_id")?))),
            None => Ok(None),
        }
    }

    /// Steps 1–4 of [`InboundStore::apply_inbound`] inside `txn`; anything but `Applied` is
    /// rolled back by the caller.
    async fn apply_in(
        &self,
        txn: &DatabaseTransaction,
        event: &InboundEnvelope,
        now: OffsetDateTime,
    ) -> Result<InboundOutcome, RepositoryError> {
        let k = &self.codec;
        let org = event.organization_id;
        let scope = Scope::new(org, event.workspace_id);

        // 1. The idempotency key: a concurrent delivery of the same id waits on the key and
        // then finds it taken.
        let mut key = self.insert_sql(
            "inbound_events",
            vec![
                ("organization_id", k.uuid(org)),
                ("event_id", k.uuid(event.event_id)),
                ("type", k.text(event.type_name())),
                ("workspace_id", k.uuid(event.workspace_id)),
                ("customer_id", k.opt_uuid(event.customer_id)),
                ("received_at", k.time(now)),
            ],
        );
        key.push(" ON CONFLICT DO NOTHING");
        if txn.execute_raw(key.build()).await.map_err(db_error)?.rows_affected() == 0 {
            return Ok(InboundOutcome::Duplicate);
        }

        // 2. The customer: named by the event, or owning the reversed order.
        let reversed_order = match &event.event {
            InboundEvent::OrderReversed { order_id, .. } => Some(order_id.as_str()),
            _ => None,
        };
        let owner = match reversed_order {
            Some(order_id) => self.order_owner(txn, scope, order_id).await?,
            None => None,
        };
        let known_owner = owner.flatten();
        if let (Some(owner), Some(named)) = (known_owner, event.customer_id)
            && owner != named
        {
            return Ok(InboundOutcome::Refused("the order belongs to another customer"));
        }
        let customer_id = known_owner.or(event.customer_id);
        let customer = match customer_id {
            Some(id) => match self.lock_customer(txn, scope, id).await? {
                Some(customer) => Some(customer),
                None => return Ok(InboundOutcome::UnknownCustomer),
            },
            None => None,
        };
        if let Some(order_id) = reversed_order
            && self.order_owner(txn, scope, order_id).await? != owner
        {
            // A merge moved the order (or it arrived) while this customer was being locked:
            // start over with its owner now.
            return Err(RepositoryError::VersionConflict);
        }
        if let (InboundEvent::InvoicePaid { invoice_id, .. }, Some(id)) = (&event.event, customer_id)
            && self
                .invoice_owner(txn, scope, invoice_id)
                .await?
                .is_some_and(|owner| owner != id)
        {
            return Ok(InboundOutcome::Refused("the invoice was issued to another customer"));
        }

        // 3. The read model.
        let mut change = ReadModelChange::default();
        let mut orders_changed = false;
        match &event.event {
            InboundEvent::OrderCompleted(order) => {
                let items =
                    serde_json::to_value(&order.items).map_err(|e| RepositoryError::Unexpected(e.to_string()))?;
                let mut sql = self.insert_sql(
                    "customer_orders",
                    vec![
                        ("organization_id", k.uuid(org)),
                        ("order_id", k.text(order.order_id.clone())),
                        ("workspace_id", k.uuid(event.workspace_id)),
                        ("customer_id", k.opt_uuid(customer_id)),
                        ("status", k.text(OrderStatus::Completed.as_str())),
                        ("total_amount", k.money(order.total_amount)),
                        ("completed_at", k.time(order.completed_at)),
                        ("items", k.json(Some(items))),
                    ],
                );
                // A cancellation that arrived first left the order without its content: fill
                // it in, keeping the cancellation. A completed order is never rewritten.
                sql.push(
                    " ON CONFLICT (organization_id, workspace_id, order_id) DO UPDATE SET \
                     customer_id = excluded.customer_id, total_amount = excluded.total_amount, \
                     completed_at = excluded.completed_at, items = excluded.items \
                     WHERE customer_orders.completed_at IS NULL",
                );
                orders_changed = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() > 0;
            }
            InboundEvent::OrderReversed { order_id, refunded, at } => {
                let status = if *refunded {
                    OrderStatus::Refunded
                } else {
                    OrderStatus::Cancelled
                };
                if owner.is_some() {
                    let mut sql = k.sql("UPDATE customer_orders SET status = ");
                    sql.bind(k.text(status.as_str()))
                        .push(", reversed_at = ")
                        .bind(k.time(*at))
                        .push(" WHERE organization_id = ")
                        .bind(k.uuid(org))
                        .push(" AND workspace_id = ")
                        .bind(k.uuid(event.workspace_id))
                        .push(" AND order_id = ")
                        .bind(k.text(order_id.clone()))
                        .push(" AND status = ")
                        .bind(k.text(OrderStatus::Completed.as_str()));
                    orders_changed = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() > 0;
                } else {
                    // Not known yet: remembered, so that the order never counts when it comes.
                    let mut sql = self.insert_sql(
                        "customer_orders",
                        vec![
                            ("organization_id", k.uuid(org)),
                            ("order_id", k.text(order_id.clone())),
                            ("workspace_id", k.uuid(event.workspace_id)),
                            ("customer_id", k.opt_uuid(customer_id)),
                            ("status", k.text(status.as_str())),
                            ("reversed_at", k.time(*at)),
                        ],
                    );
                    sql.push(" ON CONFLICT DO NOTHING");
                    if txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() == 0 {
                        // The order arrived meanwhile (a concurrent transaction): start over,
                        // now that it is visible.
                        return Err(RepositoryError::VersionConflict);
                    }
                }
            }
            InboundEvent::DealWon {
                deal_id,
                amount,
                won_at,
            } => {
                let mut sql = self.insert_sql(
                    "customer_deals",
                    vec![
                        ("organization_id", k.uuid(org)),
                        ("deal_id", k.text(deal_id.clone())),
                        ("workspace_id", k.uuid(event.workspace_id)),
                        ("customer_id", k.opt_uuid(customer_id)),
                        ("amount", k.money(*amount)),
                        ("won_at", k.time(*won_at)),
                    ],
                );
                sql.push(" ON CONFLICT DO NOTHING");
                change.deal_won = txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() > 0;
            }
            InboundEvent::InvoiceIssued {
                invoice_id,
                amount,
                issued_at: at,
            }
            | InboundEvent::InvoicePaid {
                invoice_id,
                amount,
                paid_at: at,
            } => {
                let issued = matches!(event.event, InboundEvent::InvoiceIssued { .. });
                let mut sql = self.insert_sql(
                    "customer_invoice_entries",
                    vec![
                        ("organization_id", k.uuid(org)),
                        ("event_id", k.uuid(event.event_id)),
                        ("workspace_id", k.uuid(event.workspace_id)),
                        ("customer_id", k.opt_uuid(customer_id)),
                        ("invoice_id", k.text(invoice_id.clone())),
                        ("kind", k.text(if issued { "ISSUED" } else { "PAID" })),
                        ("amount", k.money(*amount)),
                        ("occurred_at", k.time(*at)),
                    ],
                );
                sql.push(" ON CONFLICT DO NOTHING");
                if txn.execute_raw(sql.build()).await.map_err(db_error)?.rows_affected() > 0 {
                    change.balance_delta = if issued { amount.amount() } else { -amount.amount() };
                }
            }
        }

        // 4. The customer record and its events.
        if let Some(customer) = customer {
            if orders_changed {
                change.purchases = Some(self.purchase_totals(txn, org, customer.id).await?);
            }
            if let Some((next, events)) = settle(&customer, &change, event, now) {
                self.update_in(txn, &next, customer.version, false, false).await?;
                self.append_events(txn, &events).await?;
                return Ok(InboundOutcome::Applied(Some(Box::new(next))));
            }
        }
        Ok(InboundOutcome::Applied(None))
    }

    fn read_dead_letter(&self, row: &QueryResult) -> Result<DeadLetter, RepositoryError> {
        let k = &self.codec;
        let channel: String = k.get(row, "channel")?;
        Ok(DeadLetter {
            id: k.get(row, "id")?,
            organization_id: k.get::<Option<Uuid>>(row, "organization_id")?.map(OrganizationId::from),
            workspace_id: k.get::<Option<Uuid>>(row, "workspace_id")?.map(WorkspaceId::from),
            event_id: k.get(row, "event_id")?,
            event_type: k.get(row, "type")?,
            channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", channel))?,
            reason: k.get(row, "reason")?,
            body: k.get(row, "body")?,
            received_at: k.get_time(row, "received_at")?,
        })
    }

    fn read_purchase(&self, row: &QueryResult) -> Result<Purchase, RepositoryError> {
        let k = &self.codec;
        let status: String = k.get(row, "status")?;
        let items = match k.get_json(row, "items")? {
            Some(value) => serde_json::from_value::<Vec<OrderItem>>(value).map_err(|e| corrupt("items", e))?,
            None => Vec::new(),
        };
        Ok(Purchase {
            order_id: k.get(row, "order_id")?,
            status: OrderStatus::parse(&status).ok_or_else(|| corrupt("status", status))?,
            total_amount: k.get_money(row, "total_amount")?,
            completed_at: k.get_time(row, "completed_at")?,
            reversed_at: k.get_opt_time(row, "reversed_at")?,
            items,
        })
    }

    /// Whether `customer` is a live customer of `scope`, inside `txn`.
    pub(super) async fn is_live(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope,
        customer: CustomerId,
    ) -> Result<bool, RepositoryError> {
        let mut exists = self.codec.sql("SELECT 1 AS found WHERE ");
        self.live_customer(&mut exists, scope, customer);
        Ok(txn.query_one_raw(exists.build()).await.map_err(db_error)?.is_some())
    }

    /// `SELECT <columns> FROM <table> WHERE organization_id = … AND customer_id = …`.
    fn of_customer(&self, columns: &str, table: &str, scope: Scope, customer: CustomerId) -> crate::sql::Sql {
        let k = &self.codec;
        let mut sql = k.sql(&format!("SELECT {columns} FROM {table} WHERE organization_id = "));
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND customer_id = ")
            .bind(k.uuid(customer));
        sql
    }
}

#[async_trait]
impl InboundStore for SeaRepository {
    async fn apply_inbound(
        &self,
        event: &InboundEnvelope,
        now: OffsetDateTime,
    ) -> Result<InboundOutcome, RepositoryError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let txn = self.begin_write().await?;
            match self.apply_in(&txn, event, now).await {
                Ok(applied @ InboundOutcome::Applied(_)) => {
                    txn.commit().await.map_err(db_error)?;
                    return Ok(applied);
                }
                Ok(outcome) => {
                    txn.rollback().await.map_err(db_error)?;
                    return Ok(outcome);
                }
                Err(RepositoryError::VersionConflict) if attempts < 3 => {
                    txn.rollback().await.map_err(db_error)?;
                }
                Err(err) => {
                    txn.rollback().await.map_err(db_error)?;
                    return Err(err);
                }
            }
        }
    }

    async fn add_dead_letter(&self, letter: &DeadLetter) -> Result<(), RepositoryError> {
        let k = &self.codec;
        let sql = self.insert_sql(
            "inbound_dead_letters",
            vec![
                ("id", k.uuid(letter.id)),
                ("organization_id", k.opt_uuid(letter.organization_id)),
                ("workspace_id", k.opt_uuid(letter.workspace_id)),
                ("event_id", k.opt_uuid(letter.event_id)),
                // PostgreSQL text cannot hold NUL; a dead letter must be storable whatever came.
                (
                    "type",
                    k.opt_text(letter.event_type.as_deref().map(|t| t.replace('\0', "\u{FFFD}"))),
                ),
                ("channel", k.text(letter.channel.as_str())),
                ("reason", k.text(letter.reason.replace('\0', "\u{FFFD}"))),
                ("body", k.text(letter.body.replace('\0', "\u{FFFD}"))),
                ("received_at", k.time(letter.received_at)),
            ],
        );
        self.db.execute_raw(sql.build()).await.map_err(db_error)?;
        Ok(())
    }

    async fn dead_letters(&self, scope: Scope, page: u32, limit: u32) -> Result<Page<DeadLetter>, RepositoryError> {
        let k = &self.codec;
        let condition = |sql: &mut crate::sql::Sql| {
            sql.push(" WHERE organization_id = ")
                .bind(k.uuid(scope.organization_id))
                .push(" AND workspace_id = ")
                .bind(k.uuid(scope.workspace_id));
        };
        let txn = self.begin_read().await?;
        let mut count = k.sql("SELECT COUNT(*) AS total FROM inbound_dead_letters");
        condition(&mut count);
        let total = match txn.query_one_raw(count.build()).await.map_err(db_error)? {
            Some(row) => u64::try_from(read_int(k, &row, "total")?).unwrap_or(0),
            None => 0,
        };
        let mut sql = k.sql(
            "SELECT id, organization_id, workspace_id, event_id, type, channel, reason, body, received_at \
             FROM inbound_dead_letters",
        );
        condition(&mut sql);
        sql.push(" ORDER BY received_at DESC, id DESC LIMIT ")
            .bind(k.int(limit.into()))
            .push(" OFFSET ")
            .bind(k.int(page_offset(page, limit)));
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(Page {
            items: rows
                .iter()
                .map(|row| self.read_dead_letter(row))
                .collect::<Result<_, _>>()?,
            total,
            page,
            limit,
        })
    }

    async fn purchases(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Option<Page<Purchase>>, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut count = self.of_customer("COUNT(*) AS total", "customer_orders", scope, customer);
        count.push(" AND completed_at IS NOT NULL");
        let total = match txn.query_one_raw(count.build()).await.map_err(db_error)? {
            Some(row) => u64::try_from(read_int(k, &row, "total")?).unwrap_or(0),
            None => 0,
        };
        let mut sql = self.of_customer(
            "order_id, status, total_amount, completed_at, reversed_at, items",
            "customer_orders",
            scope,
            customer,
        );
        sql.push(" AND completed_at IS NOT NULL ORDER BY completed_at DESC, order_id DESC LIMIT ")
            .bind(k.int(limit.into()))
            .push(" OFFSET ")
            .bind(k.int(page_offset(page, limit)));
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(Some(Page {
            items: rows
                .iter()
                .map(|row| self.read_purchase(row))
                .collect::<Result<_, _>>()?,
            total,
            page,
            limit,
        }))
    }

    async fn activity_of(&self, scope: Scope, customer: CustomerId) -> Result<Option<Vec<Activity>>, RepositoryError> {
        let k = &self.codec;
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut activity = Vec::new();
        let mut notes = k.sql(&format!(
            "SELECT {NOTE_COLUMNS} FROM customer_notes WHERE customer_id = "
        ));
        notes.bind(k.uuid(customer)).push(" ORDER BY created_at, id");
        for row in txn.query_all_raw(notes.build()).await.map_err(db_error)? {
            activity.push(Activity::Note(self.read_note(&row)?));
        }
        let mut orders = self.of_customer(
            "order_id, status, total_amount, completed_at, reversed_at, items",
            "customer_orders",
            scope,
            customer,
        );
        orders.push(" AND completed_at IS NOT NULL ORDER BY completed_at, order_id");
        for row in txn.query_all_raw(orders.build()).await.map_err(db_error)? {
            let order = self.read_purchase(&row)?;
            activity.push(Activity::OrderCompleted {
                order_id: order.order_id.clone(),
                total_amount: order.total_amount,
                item_count: order.items.len(),
                at: order.completed_at,
            });
            if let Some(at) = order.reversed_at {
                activity.push(Activity::OrderReversed {
                    order_id: order.order_id,
                    refunded: order.status == OrderStatus::Refunded,
                    total_amount: order.total_amount,
                    at,
                });
            }
        }
        let mut deals = self.of_customer("deal_id, amount, won_at", "customer_deals", scope, customer);
        deals.push(" ORDER BY won_at, deal_id");
        for row in txn.query_all_raw(deals.build()).await.map_err(db_error)? {
            activity.push(Activity::DealWon {
                deal_id: k.get(&row, "deal_id")?,
                amount: k.get_money(&row, "amount")?,
                at: k.get_time(&row, "won_at")?,
            });
        }
        let mut invoices = self.of_customer(
            "event_id, invoice_id, kind, amount, occurred_at",
            "customer_invoice_entries",
            scope,
            customer,
        );
        invoices.push(" ORDER BY occurred_at, event_id");
        for row in txn.query_all_raw(invoices.build()).await.map_err(db_error)? {
            let invoice_id: String = k.get(&row, "invoice_id")?;
            let amount = k.get_money(&row, "amount")?;
            let at = k.get_time(&row, "occurred_at")?;
            let kind: String = k.get(&row, "kind")?;
            activity.push(if kind == "ISSUED" {
                Activity::InvoiceIssued { invoice_id, amount, at }
            } else {
                Activity::InvoicePaid {
                    payment_id: k.get(&row, "event_id")?,
                    invoice_id,
                    amount,
                    at,
                }
            });
        }
        txn.commit().await.map_err(db_error)?;
        Ok(Some(activity))
    }

    async fn orders_of(&self, scope: Scope, customer: CustomerId) -> Result<Option<Vec<Purchase>>, RepositoryError> {
        let txn = self.begin_read().await?;
        if !self.is_live(&txn, scope, customer).await? {
            txn.commit().await.map_err(db_error)?;
            return Ok(None);
        }
        let mut sql = self.of_customer(
            "order_id, status, total_amount, completed_at, reversed_at, items",
            "customer_orders",
            scope,
            customer,
        );
        sql.push(" AND completed_at IS NOT NULL ORDER BY completed_at, order_id");
        let rows = txn.query_all_raw(sql.build()).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        rows.iter()
            .map(|row| self.read_purchase(row))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    async fn co_purchased(
        &self,
        scope: Scope,
        customer: CustomerId,
        products: &[String],
        limit: usize,
    ) -> Result<Vec<String>, RepositoryError> {
        if products.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let k = &self.codec;
        let postgres = k.backend() == DbBackend::Postgres;
        let (lines, product) = if postgres {
            (
                "CROSS JOIN LATERAL jsonb_array_elements(o.items) e",
                "(e.value ->> 'productId')",
            )
        } else {
            (
                "CROSS JOIN json_each(o.items) e",
                "json_extract(e.value, '$.productId')",
            )
        };
        let mut sql = k.sql(&format!(
            "SELECT {product} AS product_id, COUNT(DISTINCT o.order_id) AS together FROM customer_orders o {lines} \
             WHERE o.organization_id = "
        ));
        sql.bind(k.uuid(scope.organization_id))
            .push(" AND o.workspace_id = ")
            .bind(k.uuid(scope.workspace_id))
            .push(" AND o.status = ")
            .bind(k.text(OrderStatus::Completed.as_str()))
            .push(" AND o.completed_at IS NOT NULL AND o.customer_id <> ")
            .bind(k.uuid(customer))
            .push(" AND (");
        // Baskets holding one of `products`: on PostgreSQL by containment, which the GIN
        // index on the items answers.
        if postgres {
            for (i, id) in products.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("o.items @> ")
                    .bind(k.json(Some(serde_json::json!([{ "productId": id }]))));
            }
        } else {
            sql.push("EXISTS (SELECT 1 FROM json_each(o.items) m WHERE json_extract(m.value, '$.productId') IN ")
                .bind_list(products.iter().map(|id| k.text(id.clone())))
                .push(")");
        }
        sql.push(&format!(") AND {product} IS NOT NULL AND {product} NOT IN "))
            .bind_list(products.iter().map(|id| k.text(id.clone())))
            .push(&format!(
                " GROUP BY {product} ORDER BY together DESC, product_id LIMIT "
            ))
            .bind(k.int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let rows = self.db.query_all_raw(sql.build()).await.map_err(db_error)?;
        rows.iter().map(|row| k.get::<String>(row, "product_id")).collect()
    }
}
