//! What an applied inbound event changes in the customer record, and the events that tell the
//! rest of the ERP.

use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use super::InboundEnvelope;
use crate::events::{CustomerEvent, EventCause, EventEnvelope, diff};
use crate::ids::UserId;
use crate::lifecycle::ltv::lifetime_value;
use crate::model::{Customer, CustomerStatus};
use crate::money::Money;

/// What the read model (orders, deals, invoices) says changed for the customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadModelChange {
    /// The purchase metrics recomputed from every counted order of the customer, when the set
    /// of counted orders changed: (sum, count, first, last completion).
    pub purchases: Option<PurchaseTotals>,
    /// How much the balance moves (invoiced: +, paid: −).
    pub balance_delta: Decimal,
    /// A deal of the customer was won (for the first time under its deal id).
    pub deal_won: bool,
}

/// The customer's counted orders, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseTotals {
    /// Sum of the totals.
    pub total: Money,
    /// How many.
    pub count: i32,
    /// Earliest completion.
    pub first: Option<OffsetDateTime>,
    /// Latest completion.
    pub last: Option<OffsetDateTime>,
}

/// The customer after `change` (a new version stamped at `now`) and the events to store with
/// it, or `None` when nothing visible changed.
///
/// - purchases: totalPurchases, purchaseCount, firstPurchaseDate, lastPurchaseDate;
/// - balance: currentBalance moves by the delta (saturating at what an amount can hold);
/// - a won deal makes a LEAD or PROSPECT ACTIVE (recording the conversion);
/// - the lifetime value is recomputed whenever one of these moved (not merely because time
///   passed).
///
/// Events: `customer.updated` with the diff and the cause, `customer.status.changed` (and
/// `customer.lead.converted`) for a status move, `customer.metrics.updated` when a metric or
/// the balance changed. The actor is the envelope's, or the nil id for a system change.
pub fn settle(
    current: &Customer,
    change: &ReadModelChange,
    inbound: &InboundEnvelope,
    now: OffsetDateTime,
) -> Option<(Customer, Vec<EventEnvelope>)> {
    let mut next = current.clone();
    if let Some(p) = &change.purchases {
        next.total_purchases = p.total;
        next.purchase_count = p.count;
        next.first_purchase_date = p.first;
        next.last_purchase_date = p.last;
    }
    if !change.balance_delta.is_zero() {
        let balance = current
            .current_balance
            .amount()
            .checked_add(change.balance_delta)
            .unwrap_or(Decimal::MAX);
        next.current_balance = Money::round(balance);
    }
    if change.deal_won && matches!(current.status, CustomerStatus::Lead | CustomerStatus::Prospect) {
        next.status = CustomerStatus::Active;
        // Converted when the deal was won.
        let won_at = match &inbound.event {
            super::InboundEvent::DealWon { won_at, .. } => *won_at,
            _ => now,
        };
        next.converted_at = next.converted_at.or(Some(won_at));
    }
    if next == *current {
        // Nothing the event reports moved. (The lifetime value also drifts with time; that
        // alone is no change to write.)
        return None;
    }
    next.lifetime_value = lifetime_value(
        next.total_purchases,
        next.purchase_count,
        next.first_purchase_date,
        next.created_at,
        next.status,
        next.rating,
        now,
    );
    next.version = current.version + 1;
    next.updated_at = now;

    let actor = inbound.actor.unwrap_or(UserId::from(Uuid::nil()));
    let cause = EventCause {
        event_id: inbound.event_id,
        event_type: inbound.type_name().to_owned(),
    };
    let mut events = vec![EventEnvelope::new(
        &next,
        actor,
        now,
        CustomerEvent::Updated {
            changes: diff(current, &next),
            updated_by: actor,
            cause: Some(cause.clone()),
        },
    )];
    let reason = format!("{} {}", inbound.type_name(), deal_reference(inbound));
    events.extend(crate::service::status_events(current, &next, actor, now, Some(reason)));
    let metrics_moved = next.total_purchases != current.total_purchases
        || next.purchase_count != current.purchase_count
        || next.first_purchase_date != current.first_purchase_date
        || next.last_purchase_date != current.last_purchase_date
        || next.lifetime_value != current.lifetime_value
        || next.current_balance != current.current_balance;
    if metrics_moved {
        events.push(EventEnvelope::new(
            &next,
            actor,
            now,
            CustomerEvent::MetricsUpdated {
                total_purchases: next.total_purchases,
                purchase_count: next.purchase_count,
                lifetime_value: next.lifetime_value,
                first_purchase_date: next.first_purchase_date,
                last_purchase_date: next.last_purchase_date,
                current_balance: next.current_balance,
                cause,
            },
        ));
    }
    Some((next, events))
}

fn deal_reference(inbound: &InboundEnvelope) -> &str {
    match &inbound.event {
        super::InboundEvent::DealWon { deal_id, .. } => deal_id,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use time::macros::datetime;

    use super::*;
    use crate::integration::{CompletedOrder, InboundEvent};
    use crate::model::Rating;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn customer(status: CustomerStatus) -> Customer {
        let scope = crate::ids::Scope::new(Uuid::from_u128(1).into(), Uuid::from_u128(2).into());
        let mut c = crate::commands::CustomerDraft::new(crate::model::CustomerType::Individual, "Айгуль", "a@b.kz")
            .parse()
            .unwrap()
            .into_customer(scope, Uuid::from_u128(3).into(), datetime!(2026-01-01 00:00 UTC));
        c.status = status;
        c.rating = Rating::parse(5).unwrap();
        c.created_at = datetime!(2026-01-01 00:00 UTC);
        c
    }

    fn inbound(event: InboundEvent) -> InboundEnvelope {
        InboundEnvelope {
            event_id: Uuid::now_v7(),
            version: 1,
            occurred_at: NOW,
            organization_id: Uuid::nil().into(),
            workspace_id: Uuid::nil().into(),
            customer_id: None,
            actor: None,
            event,
        }
    }

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    fn order() -> InboundEnvelope {
        inbound(InboundEvent::OrderCompleted(CompletedOrder {
            order_id: "O1".into(),
            total_amount: money("300"),
            completed_at: datetime!(2026-03-02 00:00 UTC),
            items: vec![],
        }))
    }

    #[test]
    fn purchases_set_the_metrics_and_the_lifetime_value() {
        let current = customer(CustomerStatus::Active);
        let change = ReadModelChange {
            purchases: Some(PurchaseTotals {
                total: money("300"),
                count: 3,
                first: Some(datetime!(2026-03-03 00:00 UTC)),
                last: Some(datetime!(2026-05-01 00:00 UTC)),
            }),
            ..Default::default()
        };
        let (next, events) = settle(&current, &change, &order(), NOW).unwrap();
        assert_eq!(next.total_purchases, money("300"));
        assert_eq!(next.purchase_count, 3);
        assert_eq!(next.version, current.version + 1);
        // 300 / 3 orders × 3 / 3 months × 24 months (ACTIVE, rating 5).
        assert_eq!(next.lifetime_value, money("2400"));
        let types: Vec<_> = events.iter().map(|e| e.event.type_name()).collect();
        assert_eq!(types, ["customer.updated", "customer.metrics.updated"]);
        assert!(events.iter().all(|e| e.actor == UserId::from(Uuid::nil())));
        let CustomerEvent::MetricsUpdated { cause, .. } = &events[1].event else {
            panic!()
        };
        assert_eq!(cause.event_type, "order.completed");
    }

    #[test]
    fn a_won_deal_converts_a_lead_once() {
        let deal = inbound(InboundEvent::DealWon {
            deal_id: "D1".into(),
            amount: money("5"),
            won_at: NOW,
        });
        let change = ReadModelChange {
            deal_won: true,
            ..Default::default()
        };
        let (next, events) = settle(&customer(CustomerStatus::Prospect), &change, &deal, NOW).unwrap();
        assert_eq!(next.status, CustomerStatus::Active);
        assert_eq!(next.converted_at, Some(NOW));
        let types: Vec<_> = events.iter().map(|e| e.event.type_name()).collect();
        assert_eq!(
            types,
            ["customer.updated", "customer.status.changed", "customer.lead.converted"]
        );
        // An active, churned or inactive customer keeps its status; nothing else moved.
        for status in [
            CustomerStatus::Active,
            CustomerStatus::Churned,
            CustomerStatus::Inactive,
        ] {
            assert_eq!(settle(&customer(status), &change, &deal, NOW), None, "{status:?}");
        }
    }

    #[test]
    fn balance_moves_by_the_delta() {
        let mut current = customer(CustomerStatus::Active);
        current.current_balance = money("100");
        let change = ReadModelChange {
            balance_delta: Decimal::from_str("-250.50").unwrap(),
            ..Default::default()
        };
        let (next, events) = settle(&current, &change, &order(), NOW).unwrap();
        assert_eq!(next.current_balance, money("-150.50"));
        assert_eq!(events.last().unwrap().event.type_name(), "customer.metrics.updated");
    }

    #[test]
    fn no_visible_change_writes_nothing() {
        assert_eq!(
            settle(
                &customer(CustomerStatus::Active),
                &ReadModelChange::default(),
                &order(),
                NOW
            ),
            None
        );
    }

    #[test]
    fn time_passing_alone_writes_nothing() {
        let mut current = customer(CustomerStatus::Active);
        current.total_purchases = money("300");
        current.purchase_count = 3;
        current.first_purchase_date = Some(datetime!(2026-03-03 00:00 UTC));
        current.last_purchase_date = Some(datetime!(2026-05-01 00:00 UTC));
        current.lifetime_value = money("2400");
        let same = ReadModelChange {
            purchases: Some(PurchaseTotals {
                total: money("300"),
                count: 3,
                first: current.first_purchase_date,
                last: current.last_purchase_date,
            }),
            ..Default::default()
        };
        let much_later = datetime!(2027-06-01 00:00 UTC);
        assert_eq!(settle(&current, &same, &order(), much_later), None);
    }
}
