//! What other ERP modules tell us: inbound events (orders, deals, invoices), parsed from the
//! shared JSON envelope, and what they change in a customer.
//!
//! The envelope is the one outbound events use (`{eventId, type, version, occurredAt,
//! organizationId, workspaceId, customerId, actor, payload}`); `customerId` may be left out of
//! the envelope when the payload names the customer. Every event is applied exactly once per
//! `eventId` (see [`crate::ports::InboundStore`]); the effect of an order, a deal or an invoice
//! is also keyed by its own id, so that a producer that re-sends one under a new event id does
//! not count it twice.

mod parse;
mod settle;
pub mod timeline;

pub use parse::{InboundParseError, parse_inbound};
pub use settle::{PurchaseTotals, ReadModelChange, settle};

use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{CustomerId, OrganizationId, UserId, WorkspaceId};
use crate::money::Money;

/// The inbound types this service understands.
pub const INBOUND_TYPES: &[&str] = &[
    "order.completed",
    "order.cancelled",
    "order.refunded",
    "deal.won",
    "invoice.issued",
    "invoice.paid",
];

/// The longest id (order, deal, invoice, product) accepted from another module.
pub const MAX_REFERENCE_LEN: usize = 100;

/// At most this many items per order.
pub const MAX_ORDER_ITEMS: usize = 1_000;

/// One inbound event, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEnvelope {
    /// Unique id given by the producer; the idempotency key.
    pub event_id: Uuid,
    /// Payload schema version (1).
    pub version: u32,
    /// When it happened at the producer.
    pub occurred_at: OffsetDateTime,
    /// Tenant.
    pub organization_id: OrganizationId,
    /// Workspace of the customer.
    pub workspace_id: WorkspaceId,
    /// The customer named by the envelope or the payload (they must agree); `None` only for
    /// `order.cancelled`/`order.refunded`, which may name just the order.
    pub customer_id: Option<CustomerId>,
    /// Who did it at the producer, when known.
    pub actor: Option<UserId>,
    /// What happened.
    pub event: InboundEvent,
}

impl InboundEnvelope {
    /// The wire type name.
    pub fn type_name(&self) -> &'static str {
        self.event.type_name()
    }
}

/// What another module reports.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    /// `order.completed`: a purchase, counted in the customer's metrics.
    OrderCompleted(CompletedOrder),
    /// `order.cancelled` / `order.refunded`: reverses a completed order (also when it arrives
    /// first: the order is then never counted).
    OrderReversed {
        /// The order.
        order_id: String,
        /// `true` for `order.refunded`.
        refunded: bool,
        /// When (the envelope's `occurredAt` when the payload has no time).
        at: OffsetDateTime,
    },
    /// `deal.won`: a LEAD or PROSPECT becomes ACTIVE; money is counted from orders only.
    DealWon {
        /// The deal.
        deal_id: String,
        /// Its value.
        amount: Money,
        /// When.
        won_at: OffsetDateTime,
    },
    /// `invoice.issued`: raises the customer's balance.
    InvoiceIssued {
        /// The invoice.
        invoice_id: String,
        /// Invoiced amount.
        amount: Money,
        /// When.
        issued_at: OffsetDateTime,
    },
    /// `invoice.paid`: a payment against an invoice; lowers the balance. Several payments of
    /// one invoice (partial payments) are several events.
    InvoicePaid {
        /// The invoice.
        invoice_id: String,
        /// Paid amount.
        amount: Money,
        /// When.
        paid_at: OffsetDateTime,
    },
}

impl InboundEvent {
    /// The wire type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            InboundEvent::OrderCompleted(_) => "order.completed",
            InboundEvent::OrderReversed { refunded: false, .. } => "order.cancelled",
            InboundEvent::OrderReversed { refunded: true, .. } => "order.refunded",
            InboundEvent::DealWon { .. } => "deal.won",
            InboundEvent::InvoiceIssued { .. } => "invoice.issued",
            InboundEvent::InvoicePaid { .. } => "invoice.paid",
        }
    }
}

/// A completed order, as the purchases read model keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedOrder {
    /// The order's id in the orders module.
    pub order_id: String,
    /// What the customer paid.
    pub total_amount: Money,
    /// When it was completed.
    pub completed_at: OffsetDateTime,
    /// What was bought.
    pub items: Vec<OrderItem>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// Product id.
    pub product_id: String,
    /// Product name at the time of the order.
    pub product_name: String,
    /// Product category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Quantity (> 0; may be fractional: kilograms, metres).
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Line amount.
    pub amount: Money,
    /// Line cost, when the producer knows it (for margins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Money>,
}

/// Where an order stands in the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Counted in the metrics.
    Completed,
    /// Cancelled: not counted.
    Cancelled,
    /// Refunded: not counted.
    Refunded,
}

impl OrderStatus {
    /// The stored and wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Refunded => "REFUNDED",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [OrderStatus::Completed, OrderStatus::Cancelled, OrderStatus::Refunded]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// An order of a customer, for the purchase history.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// The order's id in the orders module.
    pub order_id: String,
    /// Completed, cancelled or refunded.
    pub status: OrderStatus,
    /// What the customer paid.
    pub total_amount: Money,
    /// When it was completed.
    pub completed_at: OffsetDateTime,
    /// When it was cancelled or refunded.
    pub reversed_at: Option<OffsetDateTime>,
    /// What was bought.
    pub items: Vec<OrderItem>,
}

/// What became of an inbound event.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundOutcome {
    /// Applied now, with the customer as stored when its record changed (`None` when there
    /// was no visible effect, e.g. an order already counted under another event id).
    Applied(Option<Box<crate::model::Customer>>),
    /// This event id was applied before; nothing was done.
    Duplicate,
    /// The customer does not exist (or is deleted) in the envelope's workspace; nothing was
    /// recorded, so a later delivery of the same event can still be applied.
    UnknownCustomer,
    /// The event contradicts what is known (an order or invoice of another customer); nothing
    /// was recorded.
    Refused(&'static str),
}

/// An inbound event that could not be applied, kept with the reason for an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Id of the record.
    pub id: Uuid,
    /// Tenant, when known (from the token or a readable envelope).
    pub organization_id: Option<OrganizationId>,
    /// Workspace, when known.
    pub workspace_id: Option<WorkspaceId>,
    /// The event id, when readable.
    pub event_id: Option<Uuid>,
    /// The event type, when readable.
    pub event_type: Option<String>,
    /// Where it came from: `http` or `stream`.
    pub channel: Channel,
    /// Why it was refused.
    pub reason: String,
    /// What was received, verbatim.
    pub body: String,
    /// When.
    pub received_at: OffsetDateTime,
}

/// How an inbound event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `POST …/customers/events`.
    Http,
    /// The `erp.events` Redis stream.
    Stream,
}

impl Channel {
    /// The stored and wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Channel::Http => "http",
            Channel::Stream => "stream",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "http" => Some(Channel::Http),
            "stream" => Some(Channel::Stream),
            _ => None,
        }
    }
}
