//! One feed of what happened with a customer: status changes, notes, contacts added, merges
//! (from its own events and notes) and won deals, orders, invoices and payments (from the
//! read model of other modules' events), newest first.

use std::collections::HashSet;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::events::{CustomerEvent, EventEnvelope};
use crate::ids::UserId;
use crate::model::CustomerNote;
use crate::money::Money;

/// What a timeline entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineKind {
    /// The customer was created.
    Created,
    /// The status moved.
    StatusChanged,
    /// A note was written.
    NoteAdded,
    /// A contact person was added.
    ContactAdded,
    /// Duplicates were merged into the customer.
    Merged,
    /// A deal was won.
    DealWon,
    /// An order was completed.
    OrderCompleted,
    /// An order was cancelled.
    OrderCancelled,
    /// An order was refunded.
    OrderRefunded,
    /// An invoice was issued.
    InvoiceIssued,
    /// A payment arrived.
    InvoicePaid,
}

impl TimelineKind {
    /// Every kind.
    pub const ALL: [TimelineKind; 11] = [
        TimelineKind::Created,
        TimelineKind::StatusChanged,
        TimelineKind::NoteAdded,
        TimelineKind::ContactAdded,
        TimelineKind::Merged,
        TimelineKind::DealWon,
        TimelineKind::OrderCompleted,
        TimelineKind::OrderCancelled,
        TimelineKind::OrderRefunded,
        TimelineKind::InvoiceIssued,
        TimelineKind::InvoicePaid,
    ];

    /// The wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            TimelineKind::Created => "created",
            TimelineKind::StatusChanged => "status_changed",
            TimelineKind::NoteAdded => "note_added",
            TimelineKind::ContactAdded => "contact_added",
            TimelineKind::Merged => "merged",
            TimelineKind::DealWon => "deal_won",
            TimelineKind::OrderCompleted => "order_completed",
            TimelineKind::OrderCancelled => "order_cancelled",
            TimelineKind::OrderRefunded => "order_refunded",
            TimelineKind::InvoiceIssued => "invoice_issued",
            TimelineKind::InvoicePaid => "invoice_paid",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every wire name, for error messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(TimelineKind::as_str).collect()
    }
}

/// Something the read model of other modules' events (or the notes) holds for a customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// A note.
    Note(CustomerNote),
    /// A completed order (also when cancelled later: both moments are on the timeline).
    OrderCompleted {
        /// The order.
        order_id: String,
        /// Its total.
        total_amount: Money,
        /// Number of lines.
        item_count: usize,
        /// When.
        at: OffsetDateTime,
    },
    /// A cancelled or refunded order.
    OrderReversed {
        /// The order.
        order_id: String,
        /// Refund rather than cancellation.
        refunded: bool,
        /// Its total.
        total_amount: Money,
        /// When.
        at: OffsetDateTime,
    },
    /// A won deal.
    DealWon {
        /// The deal.
        deal_id: String,
        /// Its value.
        amount: Money,
        /// When.
        at: OffsetDateTime,
    },
    /// An issued invoice.
    InvoiceIssued {
        /// The invoice.
        invoice_id: String,
        /// Amount.
        amount: Money,
        /// When.
        at: OffsetDateTime,
    },
    /// A payment.
    InvoicePaid {
        /// The id of the event that reported it (an invoice may be paid in parts).
        payment_id: uuid::Uuid,
        /// The invoice.
        invoice_id: String,
        /// Amount.
        amount: Money,
        /// When.
        at: OffsetDateTime,
    },
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Stable id of the line (an event id, a note id, or `order:<id>:completed`, …).
    pub id: String,
    /// What it is about.
    pub kind: TimelineKind,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who, when known.
    pub actor: Option<UserId>,
    /// Kind-specific details (camelCase keys; money as strings).
    pub data: Value,
}

/// What to keep of a timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// Only these kinds (all when empty).
    pub kinds: Vec<TimelineKind>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// At or before.
    pub to: Option<OffsetDateTime>,
}

impl TimelineFilter {
    fn keeps(&self, entry: &TimelineEntry) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&entry.kind))
            && self.from.is_none_or(|from| entry.occurred_at >= from)
            && self.to.is_none_or(|to| entry.occurred_at <= to)
    }
}

/// The timeline of one customer from its events (in the order written) and its activity,
/// newest first (ties: the later written first), filtered.
pub fn timeline(events: &[EventEnvelope], activity: &[Activity], filter: &TimelineFilter) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = Vec::new();
    for e in events {
        let line = |kind: TimelineKind, id: String, data: Value| TimelineEntry {
            id,
            kind,
            occurred_at: e.occurred_at,
            actor: Some(e.actor),
            data,
        };
        match &e.event {
            CustomerEvent::Created { status, .. } => entries.push(line(
                TimelineKind::Created,
                e.event_id.to_string(),
                json!({ "status": status.as_str() }),
            )),
            CustomerEvent::StatusChanged {
                previous_status,
                new_status,
                reason,
                ..
            } => entries.push(line(
                TimelineKind::StatusChanged,
                e.event_id.to_string(),
                json!({
                    "previousStatus": previous_status.as_str(),
                    "newStatus": new_status.as_str(),
                    "reason": reason,
                }),
            )),
            CustomerEvent::Merged {
                merged_customer_ids, ..
            } => entries.push(line(
                TimelineKind::Merged,
                e.event_id.to_string(),
                json!({ "mergedCustomerIds": merged_customer_ids }),
            )),
            CustomerEvent::Updated { changes, .. } => {
                let Some(change) = changes.get("contacts") else {
                    continue;
                };
                let ids = |v: &Value| -> HashSet<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                };
                let before = ids(&change.old);
                for contact in change.new.as_array().into_iter().flatten() {
                    let Some(id) = contact.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    if before.contains(id) {
                        continue;
                    }
                    let name = |key: &str| contact.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                    entries.push(line(
                        TimelineKind::ContactAdded,
                        format!("{}:{id}", e.event_id),
                        json!({
                            "contactId": id,
                            "firstName": name("firstName"),
                            "lastName": name("lastName"),
                            "position": contact.get("position"),
                        }),
                    ));
                }
            }
            _ => {}
        }
    }
    for a in activity {
        let (id, kind, at, actor, data) = match a {
            Activity::Note(note) => (
                note.id.to_string(),
                TimelineKind::NoteAdded,
                note.created_at,
                Some(note.author_id),
                json!({
                    "noteId": note.id,
                    "content": note.body,
                    "channel": note.channel,
                    "direction": note.direction,
                }),
            ),
            Activity::OrderCompleted {
                order_id,
                total_amount,
                item_count,
                at,
            } => (
                format!("order:{order_id}:completed"),
                TimelineKind::OrderCompleted,
                *at,
                None,
                json!({ "orderId": order_id, "totalAmount": total_amount, "itemCount": item_count }),
            ),
            Activity::OrderReversed {
                order_id,
                refunded,
                total_amount,
                at,
            } => (
                format!("order:{order_id}:{}", if *refunded { "refunded" } else { "cancelled" }),
                if *refunded {
                    TimelineKind::OrderRefunded
                } else {
                    TimelineKind::OrderCancelled
                },
                *at,
                None,
                json!({ "orderId": order_id, "totalAmount": total_amount }),
            ),
            Activity::DealWon { deal_id, amount, at } => (
                format!("deal:{deal_id}:won"),
                TimelineKind::DealWon,
                *at,
                None,
                json!({ "dealId": deal_id, "amount": amount }),
            ),
            Activity::InvoiceIssued { invoice_id, amount, at } => (
                format!("invoice:{invoice_id}:issued"),
                TimelineKind::InvoiceIssued,
                *at,
                None,
                json!({ "invoiceId": invoice_id, "amount": amount }),
            ),
            Activity::InvoicePaid {
                payment_id,
                invoice_id,
                amount,
                at,
            } => (
                format!("invoice:{invoice_id}:paid:{payment_id}"),
                TimelineKind::InvoicePaid,
                *at,
                None,
                json!({ "invoiceId": invoice_id, "amount": amount }),
            ),
        };
        entries.push(TimelineEntry {
            id,
            kind,
            occurred_at: at,
            actor,
            data,
        });
    }
    entries.retain(|e| filter.keeps(e));
    // Stable sort: equal times keep the order written, reversed below.
    entries.sort_by_key(|e| e.occurred_at);
    entries.reverse();
    entries
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::events::FieldChange;
    use crate::ids::{CustomerId, NoteId};
    use crate::model::CustomerStatus;

    fn envelope(at: OffsetDateTime, event: CustomerEvent) -> EventEnvelope {
        EventEnvelope {
            event_id: Uuid::now_v7(),
            version: 1,
            occurred_at: at,
            organization_id: Uuid::nil().into(),
            workspace_id: Uuid::nil().into(),
            customer_id: CustomerId::from(Uuid::nil()),
            actor: UserId::from(Uuid::from_u128(7)),
            event,
        }
    }

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    fn sample() -> (Vec<EventEnvelope>, Vec<Activity>) {
        let actor = UserId::from(Uuid::from_u128(7));
        let mut changes = BTreeMap::new();
        changes.insert(
            "contacts".to_owned(),
            FieldChange {
                old: json!([{"id": "c1", "firstName": "A"}]),
                new: json!([{"id": "c1", "firstName": "A"}, {"id": "c2", "firstName": "Бекзат", "lastName": "Ким"}]),
            },
        );
        changes.insert(
            "name".to_owned(),
            FieldChange {
                old: json!("x"),
                new: json!("y"),
            },
        );
        let events = vec![
            envelope(
                datetime!(2026-01-01 00:00 UTC),
                CustomerEvent::Created {
                    customer_type: crate::model::CustomerType::Individual,
                    status: CustomerStatus::Lead,
                    created_by: actor,
                    source: None,
                },
            ),
            envelope(
                datetime!(2026-01-02 00:00 UTC),
                CustomerEvent::Updated {
                    changes,
                    updated_by: actor,
                    cause: None,
                },
            ),
            envelope(
                datetime!(2026-01-05 00:00 UTC),
                CustomerEvent::StatusChanged {
                    previous_status: CustomerStatus::Lead,
                    new_status: CustomerStatus::Active,
                    changed_by: actor,
                    reason: Some("deal.won D1".into()),
                },
            ),
        ];
        let activity = vec![
            Activity::DealWon {
                deal_id: "D1".into(),
                amount: money("10"),
                at: datetime!(2026-01-05 00:00 UTC),
            },
            Activity::OrderCompleted {
                order_id: "O1".into(),
                total_amount: money("99.90"),
                item_count: 2,
                at: datetime!(2026-01-03 00:00 UTC),
            },
            Activity::Note(CustomerNote {
                id: NoteId::from(Uuid::from_u128(5)),
                customer_id: CustomerId::from(Uuid::nil()),
                author_id: actor,
                body: "позвонить".into(),
                channel: None,
                direction: None,
                created_at: datetime!(2026-01-04 00:00 UTC),
                updated_at: datetime!(2026-01-04 00:00 UTC),
            }),
        ];
        (events, activity)
    }

    #[test]
    fn one_feed_newest_first() {
        let (events, activity) = sample();
        let kinds: Vec<_> = timeline(&events, &activity, &TimelineFilter::default())
            .iter()
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "deal_won",
                "status_changed",
                "note_added",
                "order_completed",
                "contact_added",
                "created"
            ]
        );
    }

    #[test]
    fn details_and_filters() {
        let (events, activity) = sample();
        let filter = TimelineFilter {
            kinds: vec![TimelineKind::ContactAdded, TimelineKind::OrderCompleted],
            from: Some(datetime!(2026-01-02 00:00 UTC)),
            to: Some(datetime!(2026-01-03 00:00 UTC)),
        };
        let lines = timeline(&events, &activity, &filter);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].data["totalAmount"], "99.90");
        assert_eq!(lines[0].id, "order:O1:completed");
        assert_eq!(lines[1].data["contactId"], "c2");
        assert_eq!(lines[1].data["lastName"], "Ким");
        let none = TimelineFilter {
            to: Some(datetime!(2025-12-31 00:00 UTC)),
            ..TimelineFilter::default()
        };
        assert!(timeline(&events, &activity, &none).is_empty());
    }
}
