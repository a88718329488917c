//! The documented wire form of the events the service publishes (outbound,
//! `customers_domain::events`) and of the events it consumes from other ERP modules (inbound:
//! orders, deals, invoices), as named OpenAPI schemas for code generators.
//!
//! Every event type has its own envelope schema (`CustomerCreatedEvent`, `OrderCompletedEvent`,
//! …) whose `type` property allows just its own value, with a payload schema of its own
//! (`CustomerCreatedPayload`, …). [`CustomerEventEnvelope`] and [`InboundEventEnvelope`] are the
//! `oneOf` of them with a discriminator on `type`. (poem-openapi's `Union` derive would wrap every
//! member in an extra `allOf` schema to add the discriminator property; here each envelope
//! carries its `type` itself, so the union refers to the envelopes directly.)
//!
//! poem-openapi leaves the schemas that no operation refers to (the outbound ones) out of the
//! document it renders; [`EventSchemas::publish`] puts them back.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::registry::{MetaApi, MetaDiscriminatorObject, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Object, OpenApi};
use rust_decimal::Decimal;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::dto::{CustomerResponse, CustomerStatus, CustomerType};
use crate::json::Amount;

/// Declares the single-value type of an envelope's `type` property.
macro_rules! event_type {
    ($name:ident = $wire:literal) => {
        #[doc = concat!("The event type `", $wire, "`.")]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// The wire value.
            pub const WIRE: &'static str = $wire;
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                concat!("event_type(", $wire, ")").into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let mut schema = MetaSchema::new("string");
                schema.description = Some(concat!("Event type: always `", $wire, "`."));
                schema.enum_items = vec![Value::from($wire)];
                schema.example = Some(Value::from($wire));
                MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) if text == $wire => Ok($name),
                    _ => Err(ParseError::custom(concat!("must be \"", $wire, "\""))),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::from($wire))
            }
        }
    };
}

/// Declares outbound envelopes: the common envelope fields, a `type` of one value, a payload.
macro_rules! outbound_event {
    ($(#[$doc:meta])* $name:ident { type: $tag:ident = $wire:literal, payload: $payload:ty $(,)? }) => {
        event_type!($tag = $wire);

        $(#[$doc])*
        #[derive(Debug, Clone, Object)]
        #[oai(rename_all = "camelCase")]
        pub struct $name {
            /// Unique id (UUID v7); consumers de-duplicate by it (delivery is at least once).
            pub event_id: Uuid,
            #[oai(rename = "type")]
            pub event_type: $tag,
            /// Payload schema version: 1; an incompatible change gets a new version.
            pub version: u32,
            /// When it happened (RFC 3339, UTC).
            pub occurred_at: OffsetDateTime,
            /// Tenant.
            pub organization_id: Uuid,
            /// Workspace.
            pub workspace_id: Uuid,
            /// The customer the event is about.
            pub customer_id: Uuid,
            /// The user whose request caused the event.
            pub actor: Uuid,
            /// What happened.
            pub payload: $payload,
        }
    };
}

/// Declares inbound envelopes: like outbound ones, with `customerId` and `actor` optional.
macro_rules! inbound_event {
    ($(#[$doc:meta])* $name:ident { type: $tag:ident = $wire:literal, payload: $payload:ty $(,)? }) => {
        event_type!($tag = $wire);

        $(#[$doc])*
        #[derive(Debug, Clone, Object)]
        #[oai(rename_all = "camelCase")]
        pub struct $name {
            /// Unique id given by the producer; each event id is applied once.
            pub event_id: Uuid,
            #[oai(rename = "type")]
            pub event_type: $tag,
            /// Payload schema version: 1.
            #[oai(validator(minimum(value = "1"), maximum(value = "1")))]
            pub version: u32,
            /// When it happened at the producer (RFC 3339).
            pub occurred_at: OffsetDateTime,
            /// Tenant.
            pub organization_id: Uuid,
            /// Workspace of the customer.
            pub workspace_id: Uuid,
            /// The customer. May be left out when the payload names it (the two must agree);
            /// `order.cancelled` and `order.refunded` may name just the order.
            pub customer_id: Option<Uuid>,
            /// Who did it at the producer, when known.
            pub actor: Option<Uuid>,
            /// What happened.
            pub payload: $payload,
        }
    };
}

/// Declares a `oneOf` of envelopes with a discriminator on `type`.
macro_rules! event_union {
    (
        $(#[$doc:meta])* $name:ident = $description:literal {
            $($(#[$vdoc:meta])* $variant:ident($event:ident)),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub enum $name {
            $($(#[$vdoc])* $variant($event)),+
        }

        impl $name {
            /// Every event type, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$(<$event as EventKind>::WIRE),+];

            /// The event type (`type`).
            pub fn type_name(&self) -> &'static str {
                match self {
                    $($name::$variant(_) => <$event as EventKind>::WIRE),+
                }
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Reference(Self::name().into_owned())
            }

            fn register(registry: &mut Registry) {
                registry.create_schema::<Self, _>(Self::name().into_owned(), |registry| {
                    $(<$event as Type>::register(registry);)+
                    let mut schema = MetaSchema::new("object");
                    schema.description = Some($description);
                    schema.one_of = vec![$(<$event as Type>::schema_ref()),+];
                    schema.discriminator = Some(MetaDiscriminatorObject {
                        property_name: "type",
                        mapping: vec![$((
                            <$event as EventKind>::WIRE.to_owned(),
                            format!("#/components/schemas/{}", <$event as Type>::name()),
                        )),+],
                    });
                    schema
                });
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                let value = value.unwrap_or_default();
                let event_type = value.get("type").and_then(Value::as_str).map(str::to_owned);
                match event_type.as_deref() {
                    $(Some(<$event as EventKind>::WIRE) => <$event as ParseFromJSON>::parse_from_json(Some(value))
                        .map($name::$variant)
                        .map_err(ParseError::propagate),)+
                    Some(other) => Err(ParseError::custom(format!(
                        "unknown event type {other:?}; expected one of {}",
                        Self::TYPES.join(", ")
                    ))),
                    None => Err(ParseError::custom("`type` must be a string naming the event type")),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                match self {
                    $($name::$variant(event) => event.to_json()),+
                }
            }
        }
    };
}

/// An envelope schema with a fixed event type.
pub trait EventKind {
    /// Its `type`.
    const WIRE: &'static str;
}

macro_rules! event_kind {
    ($($event:ident: $tag:ident),+ $(,)?) => {
        $(impl EventKind for $event {
            const WIRE: &'static str = $tag::WIRE;
        })+
    };
}

// ---------------------------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------------------------

/// Old and new value of one changed field.
#[derive(Debug, Clone, Object)]
pub struct FieldChange {
    /// Before (null when the field had no value).
    pub old: Value,
    /// After (null when the field was cleared).
    pub new: Value,
}

/// The event of another module that caused a change here.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventCause {
    /// Its `eventId`.
    pub event_id: Uuid,
    /// Its type (`order.completed`, `invoice.paid`, …).
    #[oai(rename = "type")]
    pub event_type: String,
}

/// Payload of `customer.created`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerCreatedPayload {
    /// INDIVIDUAL or COMPANY.
    pub customer_type: CustomerType,
    /// Funnel stage.
    pub status: CustomerStatus,
    /// Who created it.
    pub created_by: Uuid,
    /// `import` for a customer created by a batch import (`POST /customers/bulk`); absent for
    /// one created alone.
    #[oai(skip_serializing_if_is_none)]
    pub source: Option<String>,
}

/// Payload of `customer.updated`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerUpdatedPayload {
    /// Changed field (camelCase wire name of the customer) → old and new value.
    pub changes: BTreeMap<String, FieldChange>,
    /// Who changed it.
    pub updated_by: Uuid,
    /// The inbound event that caused the change, when another module's event did.
    #[oai(skip_serializing_if_is_none)]
    pub cause: Option<EventCause>,
}

/// Payload of `customer.deleted` (the customer can be restored within the retention window).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerDeletedPayload {
    /// Who deleted it.
    pub deleted_by: Uuid,
}

/// Payload of `customer.status.changed`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerStatusChangedPayload {
    /// Before.
    pub previous_status: CustomerStatus,
    /// After.
    pub new_status: CustomerStatus,
    /// Who changed it.
    pub changed_by: Uuid,
    /// Why, when given.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

/// Payload of `customer.lead.converted`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerLeadConvertedPayload {
    /// Before: LEAD or PROSPECT.
    pub previous_status: CustomerStatus,
    /// After: ACTIVE.
    pub new_status: CustomerStatus,
    /// Who converted it.
    pub converted_by: Uuid,
}

/// Payload of `deal.create.requested`: the deals module is asked to open a first deal with a
/// converted lead.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DealCreateRequestedPayload {
    /// Deal title.
    pub title: String,
    /// Expected value.
    pub value: Amount,
    /// Responsible manager (null when none).
    #[oai(nullable)]
    pub assigned_to: Option<Uuid>,
}

/// Payload of `customers.merged`: duplicates were merged into the envelope's customer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomersMergedPayload {
    /// The surviving customer.
    pub primary_customer_id: Uuid,
    /// The customers merged into it (now removed).
    pub merged_customer_ids: Vec<Uuid>,
    /// The removed customers as they were, for audit and manual undo (the form the API returns
    /// customers in).
    pub merged_customers: Vec<CustomerResponse>,
    /// Who merged.
    pub merged_by: Uuid,
}

/// Payload of `customer.restored`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerRestoredPayload {
    /// Who restored it.
    pub restored_by: Uuid,
}

/// Payload of `customer.metrics.updated`: purchase metrics or balance changed after an order, an
/// invoice, a payment or a won deal reported by another module (`cause`).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerMetricsUpdatedPayload {
    /// Sum of the completed (not cancelled or refunded) orders.
    pub total_purchases: Amount,
    /// Number of those orders.
    pub purchase_count: i32,
    /// Estimated lifetime value.
    pub lifetime_value: Amount,
    /// First completed order (null when none).
    #[oai(nullable)]
    pub first_purchase_date: Option<OffsetDateTime>,
    /// Last completed order (null when none).
    #[oai(nullable)]
    pub last_purchase_date: Option<OffsetDateTime>,
    /// Invoiced minus paid.
    pub current_balance: Amount,
    /// The inbound event that caused the change.
    pub cause: EventCause,
}

/// Payload of `customer.assigned`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerAssignedPayload {
    /// New manager (null when unassigned).
    #[oai(nullable)]
    pub assigned_to: Option<Uuid>,
    /// Who assigned.
    pub assigned_by: Uuid,
}

outbound_event!(
    /// `customer.created`: a customer was created.
    CustomerCreatedEvent { type: CustomerCreatedType = "customer.created", payload: CustomerCreatedPayload }
);
outbound_event!(
    /// `customer.updated`: fields of a customer changed (any route: update, status, conversion,
    /// contacts and addresses, merge, metrics).
    CustomerUpdatedEvent { type: CustomerUpdatedType = "customer.updated", payload: CustomerUpdatedPayload }
);
outbound_event!(
    /// `customer.deleted`: a customer was deleted.
    CustomerDeletedEvent { type: CustomerDeletedType = "customer.deleted", payload: CustomerDeletedPayload }
);
outbound_event!(
    /// `customer.status.changed`: the status changed.
    CustomerStatusChangedEvent {
        type: CustomerStatusChangedType = "customer.status.changed",
        payload: CustomerStatusChangedPayload,
    }
);
outbound_event!(
    /// `customer.lead.converted`: a lead or prospect became an active customer.
    CustomerLeadConvertedEvent {
        type: CustomerLeadConvertedType = "customer.lead.converted",
        payload: CustomerLeadConvertedPayload,
    }
);
outbound_event!(
    /// `deal.create.requested`: the deals module is asked to open a first deal with a converted
    /// lead.
    DealCreateRequestedEvent {
        type: DealCreateRequestedType = "deal.create.requested",
        payload: DealCreateRequestedPayload,
    }
);
outbound_event!(
    /// `customers.merged`: duplicates were merged into this customer.
    CustomersMergedEvent { type: CustomersMergedType = "customers.merged", payload: CustomersMergedPayload }
);
outbound_event!(
    /// `customer.restored`: a deleted customer was restored.
    CustomerRestoredEvent { type: CustomerRestoredType = "customer.restored", payload: CustomerRestoredPayload }
);
outbound_event!(
    /// `customer.metrics.updated`: purchase metrics or balance changed after another module's
    /// event.
    CustomerMetricsUpdatedEvent {
        type: CustomerMetricsUpdatedType = "customer.metrics.updated",
        payload: CustomerMetricsUpdatedPayload,
    }
);
outbound_event!(
    /// `customer.assigned`: the responsible manager changed.
    CustomerAssignedEvent { type: CustomerAssignedType = "customer.assigned", payload: CustomerAssignedPayload }
);

event_kind!(
    CustomerCreatedEvent: CustomerCreatedType,
    CustomerUpdatedEvent: CustomerUpdatedType,
    CustomerDeletedEvent: CustomerDeletedType,
    CustomerStatusChangedEvent: CustomerStatusChangedType,
    CustomerLeadConvertedEvent: CustomerLeadConvertedType,
    DealCreateRequestedEvent: DealCreateRequestedType,
    CustomersMergedEvent: CustomersMergedType,
    CustomerRestoredEvent: CustomerRestoredType,
    CustomerMetricsUpdatedEvent: CustomerMetricsUpdatedType,
    CustomerAssignedEvent: CustomerAssignedType,
);

event_union!(
    /// An event the customers service publishes (Redis Stream `customers.events`, field `event`).
    CustomerEventEnvelope = "An event the customers service publishes (Redis Stream `customers.events`, field \
                             `event`): the envelope, with `type` naming the event and its payload."
    {
        /// `customer.created`.
        Created(CustomerCreatedEvent),
        /// `customer.updated`.
        Updated(CustomerUpdatedEvent),
        /// `customer.deleted`.
        Deleted(CustomerDeletedEvent),
        /// `customer.status.changed`.
        StatusChanged(CustomerStatusChangedEvent),
        /// `customer.lead.converted`.
        LeadConverted(CustomerLeadConvertedEvent),
        /// `deal.create.requested`.
        DealCreateRequested(DealCreateRequestedEvent),
        /// `customers.merged`.
        Merged(CustomersMergedEvent),
        /// `customer.restored`.
        Restored(CustomerRestoredEvent),
        /// `customer.metrics.updated`.
        MetricsUpdated(CustomerMetricsUpdatedEvent),
        /// `customer.assigned`.
        Assigned(CustomerAssignedEvent),
    }
);

// ---------------------------------------------------------------------------------------------
// Inbound
// ---------------------------------------------------------------------------------------------

/// A quantity of an order line: a decimal greater than 0, as a string like amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(pub Decimal);

impl Type for Quantity {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("string", "decimal");
        schema.description = Some(
            "Quantity, greater than 0; may be fractional (kilograms, metres). A decimal as a string (\"1.5\"); \
             a JSON number is also accepted.",
        );
        schema.pattern = Some(r"^\d+(\.\d+)?$".into());
        schema.example = Some(Value::from("1.5"));
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Quantity {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let amount: Amount =
            serde_json::from_value(value.unwrap_or_default()).map_err(|e| ParseError::custom(e.to_string()))?;
        if amount.0 > Decimal::ZERO {
            Ok(Quantity(amount.0))
        } else {
            Err(ParseError::custom("must be greater than 0"))
        }
    }
}

impl ToJSON for Quantity {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.normalize().to_string()))
    }
}

/// One line of a completed order.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct OrderCompletedItem {
    /// Product id in the catalogue module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub product_id: String,
    /// Product name at the time of the order.
    #[oai(validator(max_length = 500))]
    pub product_name: String,
    /// Product category.
    #[oai(validator(max_length = 500))]
    pub category: Option<String>,
    /// Quantity, greater than 0; may be fractional (kilograms, metres). A decimal as a string
    /// (`"1.5"`); a JSON number is also accepted.
    pub quantity: Quantity,
    /// Line amount, ≥ 0.
    pub amount: Amount,
    /// Line cost, ≥ 0, when the producer knows it (for margins).
    pub cost: Option<Amount>,
}

/// Payload of `order.completed`: a purchase, counted in the customer's metrics.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct OrderCompletedPayload {
    /// The order's id in the orders module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub order_id: String,
    /// The customer who ordered (equal to the envelope's `customerId` when both are given).
    pub customer_id: Uuid,
    /// What the customer paid, ≥ 0.
    pub total_amount: Amount,
    /// When the order was completed.
    pub completed_at: OffsetDateTime,
    /// What was bought (at most 1000 lines).
    #[oai(validator(max_items = 1000))]
    pub items: Vec<OrderCompletedItem>,
}

/// Payload of `order.cancelled`: reverses a completed order (also when it arrives first: the
/// order is then never counted).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct OrderCancelledPayload {
    /// The order's id in the orders module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub order_id: String,
    /// When it was cancelled; the envelope's `occurredAt` when absent.
    pub cancelled_at: Option<OffsetDateTime>,
}

/// Payload of `order.refunded`: reverses a completed order, like `order.cancelled`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct OrderRefundedPayload {
    /// The order's id in the orders module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub order_id: String,
    /// When it was refunded; the envelope's `occurredAt` when absent.
    pub refunded_at: Option<OffsetDateTime>,
}

/// Payload of `deal.won`: a LEAD or PROSPECT becomes ACTIVE (money is counted from orders only).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DealWonPayload {
    /// The deal's id in the deals module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub deal_id: String,
    /// The customer (equal to the envelope's `customerId` when both are given).
    pub customer_id: Uuid,
    /// The deal's value, ≥ 0.
    pub amount: Amount,
    /// When it was won.
    pub won_at: OffsetDateTime,
}

/// Payload of `invoice.issued`: raises the customer's balance.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct InvoiceIssuedPayload {
    /// The invoice's id in the billing module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub invoice_id: String,
    /// The customer (equal to the envelope's `customerId` when both are given).
    pub customer_id: Uuid,
    /// Invoiced amount, ≥ 0.
    pub amount: Amount,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
}

/// Payload of `invoice.paid`: a payment against an invoice; lowers the balance. Several payments
/// of one invoice (partial payments) are several events.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct InvoicePaidPayload {
    /// The invoice's id in the billing module.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub invoice_id: String,
    /// The customer (equal to the envelope's `customerId` when both are given).
    pub customer_id: Uuid,
    /// Paid amount, ≥ 0.
    pub amount: Amount,
    /// When it was paid.
    pub paid_at: OffsetDateTime,
}

inbound_event!(
    /// `order.completed` from the orders module.
    OrderCompletedEvent { type: OrderCompletedType = "order.completed", payload: OrderCompletedPayload }
);
inbound_event!(
    /// `order.cancelled` from the orders module.
    OrderCancelledEvent { type: OrderCancelledType = "order.cancelled", payload: OrderCancelledPayload }
);
inbound_event!(
    /// `order.refunded` from the orders module.
    OrderRefundedEvent { type: OrderRefundedType = "order.refunded", payload: OrderRefundedPayload }
);
inbound_event!(
    /// `deal.won` from the deals module.
    DealWonEvent { type: DealWonType = "deal.won", payload: DealWonPayload }
);
inbound_event!(
    /// `invoice.issued` from the billing module.
    InvoiceIssuedEvent { type: InvoiceIssuedType = "invoice.issued", payload: InvoiceIssuedPayload }
);
inbound_event!(
    /// `invoice.paid` from the billing module.
    InvoicePaidEvent { type: InvoicePaidType = "invoice.paid", payload: InvoicePaidPayload }
);

event_kind!(
    OrderCompletedEvent: OrderCompletedType,
    OrderCancelledEvent: OrderCancelledType,
    OrderRefundedEvent: OrderRefundedType,
    DealWonEvent: DealWonType,
    InvoiceIssuedEvent: InvoiceIssuedType,
    InvoicePaidEvent: InvoicePaidType,
);

event_union!(
    /// An event of another ERP module that the customers service consumes.
    InboundEventEnvelope = "An event of another ERP module that the customers service consumes (orders, deals, \
                            invoices): the shared envelope, with `type` naming the event and its payload."
    {
        /// `order.completed`.
        OrderCompleted(OrderCompletedEvent),
        /// `order.cancelled`.
        OrderCancelled(OrderCancelledEvent),
        /// `order.refunded`.
        OrderRefunded(OrderRefundedEvent),
        /// `deal.won`.
        DealWon(DealWonEvent),
        /// `invoice.issued`.
        InvoiceIssued(InvoiceIssuedEvent),
        /// `invoice.paid`.
        InvoicePaid(InvoicePaidEvent),
    }
);

// ---------------------------------------------------------------------------------------------
// In the document
// ---------------------------------------------------------------------------------------------

/// The event schemas, as an API without operations: registers [`CustomerEventEnvelope`],
/// [`InboundEventEnvelope`] and everything they refer to.
pub struct EventSchemas;

impl OpenApi for EventSchemas {
    fn meta() -> Vec<MetaApi> {
        Vec::new()
    }

    fn register(registry: &mut Registry) {
        CustomerEventEnvelope::register(registry);
        InboundEventEnvelope::register(registry);
    }

    fn add_routes(self, _route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {}
}

impl EventSchemas {
    /// The names of the event schemas and of the schemas they refer to.
    pub fn schema_names() -> BTreeSet<String> {
        let mut registry = Registry::new();
        <Self as OpenApi>::register(&mut registry);
        registry.schemas.into_keys().collect()
    }

    /// `spec`, a document rendered by an `OpenApiService` of `T`, with the event schemas added
    /// to `components/schemas`.
    ///
    /// poem-openapi leaves out every schema no operation refers to, so registering the event
    /// schemas is not enough. This renders the schemas of the document again, with the same
    /// serializer, from `T`'s registry plus the event schemas; everything else in `spec` is
    /// kept byte for byte. A `spec` of another shape is returned unchanged.
    pub fn publish<T: OpenApi>(spec: &str) -> String {
        const SCHEMAS: &str = "\n  \"components\": {\n    \"schemas\": ";
        const SCHEMAS_END: &str = "\n    }";
        let Ok(document) = serde_json::from_str::<Value>(spec) else {
            return spec.to_owned();
        };
        let Some(start) = spec.find(SCHEMAS).map(|at| at + SCHEMAS.len()) else {
            return spec.to_owned();
        };
        let end = if spec[start..].starts_with("{}") {
            start + 2
        } else {
            match spec[start..].find(SCHEMAS_END) {
                Some(at) => start + at + SCHEMAS_END.len(),
                None => return spec.to_owned(),
            }
        };

        let mut keep: BTreeSet<String> = document["components"]["schemas"]
            .as_object()
            .map(|schemas| schemas.keys().cloned().collect())
            .unwrap_or_default();
        keep.extend(Self::schema_names());
        let mut registry = Registry::new();
        T::register(&mut registry);
        <Self as OpenApi>::register(&mut registry);
        registry.schemas.retain(|name, _| keep.contains(name));
        let Ok(schemas) = serde_json::to_string_pretty(&registry.schemas) else {
            return spec.to_owned();
        };
        format!("{}{}{}", &spec[..start], schemas.replace('\n', "\n    "), &spec[end..])
    }
}
