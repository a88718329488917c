//! Inbound events, purchase history, timeline and dead letters on the wire.

use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{Enum, Object};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::Ingested;
use customers_domain::integration::timeline::TimelineEntry;
use customers_domain::integration::{DeadLetter, OrderItem, Purchase};
use customers_domain::query::Page;

use crate::json::Amount;

/// One page of a list, newest first.
#[derive(Debug, Clone, Object)]
pub struct Paged<T: ParseFromJSON + ToJSON> {
    /// The entries of this page.
    pub items: Vec<T>,
    /// How many entries match.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// Number of pages.
    pub pages: u64,
}

impl<D, T: ParseFromJSON + ToJSON + From<D>> From<Page<D>> for Paged<T> {
    fn from(page: Page<D>) -> Self {
        let pages = page.pages();
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            page: page.page,
            limit: page.limit,
            pages,
        }
    }
}

/// What became of an inbound event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum IngestStatus {
    /// Applied now.
    Applied,
    /// Applied before under the same `eventId`; nothing was done.
    Duplicate,
}

/// The answer to an inbound event.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct IngestResponse {
    /// The event.
    pub event_id: Uuid,
    /// Its type.
    #[oai(rename = "type")]
    pub event_type: String,
    /// Applied now, or a repeat of an applied event.
    pub status: IngestStatus,
}

impl IngestResponse {
    /// The answer for an outcome of the HTTP channel (which never ignores nor dead-letters
    /// without an error).
    pub fn from_outcome(outcome: Ingested) -> Option<Self> {
        match outcome {
            Ingested::Applied { event_id, event_type } => Some(Self {
                event_id,
                event_type: event_type.to_owned(),
                status: IngestStatus::Applied,
            }),
            Ingested::Duplicate { event_id, event_type } => Some(Self {
                event_id,
                event_type: event_type.to_owned(),
                status: IngestStatus::Duplicate,
            }),
            Ingested::Ignored { .. } | Ingested::DeadLettered { .. } => None,
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PurchaseItemResponse {
    /// Product id.
    pub product_id: String,
    /// Product name at the time of the order.
    pub product_name: String,
    /// Product category.
    #[oai(nullable)]
    pub category: Option<String>,
    /// Quantity, a decimal string (`"2.5"`).
    pub quantity: String,
    /// Line amount.
    pub amount: Amount,
    /// Line cost, when known.
    #[oai(nullable)]
    pub cost: Option<Amount>,
}

impl From<OrderItem> for PurchaseItemResponse {
    fn from(item: OrderItem) -> Self {
        Self {
            product_id: item.product_id,
            product_name: item.product_name,
            category: item.category,
            quantity: item.quantity.normalize().to_string(),
            amount: item.amount.into(),
            cost: item.cost.map(Into::into),
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurchaseStatus {
    /// Counted in the customer's metrics.
    Completed,
    /// Cancelled: not counted.
    Cancelled,
    /// Refunded: not counted.
    Refunded,
}

/// An order of the customer, as reported by the orders module.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PurchaseResponse {
    /// The order's id in the orders module.
    pub order_id: String,
    /// Completed (counted), cancelled or refunded.
    pub status: PurchaseStatus,
    /// What the customer paid.
    pub total_amount: Amount,
    /// When it was completed.
    pub completed_at: OffsetDateTime,
    /// When it was cancelled or refunded.
    #[oai(nullable)]
    pub cancelled_at: Option<OffsetDateTime>,
    /// What was bought.
    pub items: Vec<PurchaseItemResponse>,
}

impl From<Purchase> for PurchaseResponse {
    fn from(p: Purchase) -> Self {
        use customers_domain::integration::OrderStatus;
        Self {
            order_id: p.order_id,
            status: match p.status {
                OrderStatus::Completed => PurchaseStatus::Completed,
                OrderStatus::Cancelled => PurchaseStatus::Cancelled,
                OrderStatus::Refunded => PurchaseStatus::Refunded,
            },
            total_amount: p.total_amount.into(),
            completed_at: p.completed_at,
            cancelled_at: p.reversed_at,
            items: p.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// One line of the customer's timeline.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct TimelineEntryResponse {
    /// Stable id of the line.
    pub id: String,
    /// `created`, `status_changed`, `note_added`, `contact_added`, `merged`, `deal_won`,
    /// `order_completed`, `order_cancelled`, `order_refunded`, `invoice_issued` or
    /// `invoice_paid`.
    pub kind: String,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who, when known (the author of a note, the user of a change).
    #[oai(nullable)]
    pub actor: Option<Uuid>,
    /// Details by kind: `status_changed` {previousStatus, newStatus, reason}; `note_added`
    /// {noteId, content}; `contact_added` {contactId, firstName, lastName, position};
    /// `merged` {mergedCustomerIds}; `deal_won` {dealId, amount}; `order_*` {orderId,
    /// totalAmount, itemCount}; `invoice_*` {invoiceId, amount}; `created` {status}.
    pub data: serde_json::Value,
}

impl From<TimelineEntry> for TimelineEntryResponse {
    fn from(e: TimelineEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind.as_str().to_owned(),
            occurred_at: e.occurred_at,
            actor: e.actor.map(Into::into),
            data: e.data,
        }
    }
}

/// An inbound event that could not be applied.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DeadLetterResponse {
    /// Id of the record.
    pub id: Uuid,
    /// The event id, when readable.
    #[oai(nullable)]
    pub event_id: Option<Uuid>,
    /// The event type, when readable.
    #[oai(nullable)]
    #[oai(rename = "type")]
    pub event_type: Option<String>,
    /// `http` or `stream`.
    pub channel: String,
    /// Why it was refused.
    pub reason: String,
    /// What was received, verbatim.
    pub body: String,
    /// When.
    pub received_at: OffsetDateTime,
}

impl From<DeadLetter> for DeadLetterResponse {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            channel: d.channel.as_str().to_owned(),
            reason: d.reason,
            body: d.body,
            received_at: d.received_at,
        }
    }
}
