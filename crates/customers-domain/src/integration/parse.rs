//! Reading an inbound envelope from JSON, every problem reported with its field path.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{
    CompletedOrder, INBOUND_TYPES, InboundEnvelope, InboundEvent, MAX_ORDER_ITEMS, MAX_REFERENCE_LEN, OrderItem,
};
use crate::error::ValidationErrors;
use crate::events::EVENT_SCHEMA_VERSION;
use crate::ids::CustomerId;
use crate::money::Money;

/// Why an inbound event was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundParseError {
    /// A type this service does not handle (other modules' traffic on a shared stream).
    UnsupportedType(String),
    /// Missing or malformed fields.
    Invalid(ValidationErrors),
}

impl std::fmt::Display for InboundParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InboundParseError::UnsupportedType(t) => {
                write!(
                    f,
                    "unsupported event type {t:?}; expected one of {}",
                    INBOUND_TYPES.join(", ")
                )
            }
            InboundParseError::Invalid(errors) => {
                let parts: Vec<String> = errors
                    .errors()
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// Field reader over one JSON object, collecting every error under `prefix`.
struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn new(value: Option<&'a Value>, prefix: &str, errors: &mut ValidationErrors) -> Self {
        let map = match value {
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                errors.push(prefix.trim_end_matches('.'), "must be a JSON object");
                None
            }
            None => {
                errors.push(prefix.trim_end_matches('.'), "is required");
                None
            }
        };
        Self {
            map,
            prefix: prefix.to_owned(),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    /// A present value read by `read`; `None` (without an error) when absent or null.
    fn optional<T>(
        &self,
        errors: &mut ValidationErrors,
        name: &str,
        read: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(name)?;
        match read(value) {
            Ok(v) => Some(v),
            Err(message) => {
                errors.push(self.path(name), message);
                None
            }
        }
    }

    /// Like [`Fields::optional`], and absence is an error.
    fn required<T>(
        &self,
        errors: &mut ValidationErrors,
        name: &str,
        read: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.map.is_some() && self.raw(name).is_none() {
            errors.push(self.path(name), "is required");
            return None;
        }
        self.optional(errors, name, read)
    }
}

fn uuid(value: &Value) -> Result<Uuid, String> {
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| "must be a UUID".to_owned())
}

fn time(value: &Value) -> Result<OffsetDateTime, String> {
    let text = value.as_str().ok_or("must be an RFC 3339 date-time string")?;
    let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| "must be an RFC 3339 date-time, e.g. 2026-05-01T10:00:00Z".to_owned())?;
    let utc = parsed
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or("is out of range (years 1 to 9999 in UTC)")?;
    // Stored to the microsecond.
    Ok(utc.replace_nanosecond(utc.nanosecond() / 1_000 * 1_000).unwrap_or(utc))
}

fn reference(value: &Value) -> Result<String, String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err("must be a string".to_owned()),
    };
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.chars().count() > MAX_REFERENCE_LEN || text.contains('\0') {
        return Err(format!("must be at most {MAX_REFERENCE_LEN} characters, without NUL"));
    }
    Ok(text)
}

fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) if s.contains('\0') => Err("must not contain NUL characters".to_owned()),
        Value::String(s) if s.chars().count() > 500 => Err("must be at most 500 characters".to_owned()),
        Value::String(s) => Ok(s.trim().to_owned()),
        _ => Err("must be a string".to_owned()),
    }
}

fn decimal(value: &Value) -> Result<Decimal, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err("must be a decimal number".to_owned()),
    };
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    plain
        .then(|| {
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .ok()
        })
        .flatten()
        .ok_or_else(|| format!("{text:?} is not a decimal number"))
}

fn amount(value: &Value) -> Result<Money, String> {
    Money::parse_non_negative(decimal(value)?).map_err(|e| e.to_string())
}

fn version(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1 && *v <= EVENT_SCHEMA_VERSION)
        .ok_or_else(|| format!("must be an integer from 1 to {EVENT_SCHEMA_VERSION}"))
}

/// Reads an inbound envelope. Unknown types are told apart from malformed events: a shared
/// stream carries other modules' traffic too.
pub fn parse_inbound(value: &Value) -> Result<InboundEnvelope, InboundParseError> {
    let mut errors = ValidationErrors::new();
    if !value.is_object() {
        errors.push(".", "the event must be a JSON object");
        return Err(InboundParseError::Invalid(errors));
    }
    let envelope = Fields::new(Some(value), "", &mut errors);
    let event_type = envelope.required(&mut errors, "type", |v| {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| "must be a string".to_owned())
    });
    if let Some(t) = &event_type
        && !INBOUND_TYPES.contains(&t.as_str())
    {
        return Err(InboundParseError::UnsupportedType(t.clone()));
    }
    let event_id = envelope.required(&mut errors, "eventId", uuid);
    let version = envelope.optional(&mut errors, "version", version).unwrap_or(1);
    let occurred_at = envelope.required(&mut errors, "occurredAt", time);
    let organization_id = envelope.required(&mut errors, "organizationId", uuid);
    let workspace_id = envelope.required(&mut errors, "workspaceId", uuid);
    let envelope_customer = envelope.optional(&mut errors, "customerId", uuid).map(CustomerId::from);
    let actor = envelope.optional(&mut errors, "actor", uuid);
    let payload = Fields::new(envelope.raw("payload"), "payload.", &mut errors);

    // The payload names the customer for everything but reversals; both must agree.
    let payload_customer = payload.optional(&mut errors, "customerId", uuid).map(CustomerId::from);
    let conflicting = matches!((envelope_customer, payload_customer), (Some(a), Some(b)) if a != b);
    if conflicting {
        errors.push("payload.customerId", "must equal the envelope's customerId");
    }
    let customer_id = envelope_customer.or(payload_customer);
    let at = |errors: &mut ValidationErrors, name: &str| payload.required(errors, name, time);

    let event = match event_type.as_deref() {
        Some("order.completed") => {
            let order_id = payload.required(&mut errors, "orderId", reference);
            let total_amount = payload.required(&mut errors, "totalAmount", amount);
            let completed_at = at(&mut errors, "completedAt");
            let items = payload
                .optional(&mut errors, "items", |v| {
                    v.as_array().cloned().ok_or_else(|| "must be an array".to_owned())
                })
                .unwrap_or_default();
            if items.len() > MAX_ORDER_ITEMS {
                errors.push("payload.items", format!("must have at most {MAX_ORDER_ITEMS} items"));
            }
            let items: Vec<Option<OrderItem>> = items
                .iter()
                .take(MAX_ORDER_ITEMS)
                .enumerate()
                .map(|(i, item)| order_item(&mut errors, i, item))
                .collect();
            match (order_id, total_amount, completed_at) {
                (Some(order_id), Some(total_amount), Some(completed_at)) => {
                    Some(InboundEvent::OrderCompleted(CompletedOrder {
                        order_id,
                        total_amount,
                        completed_at,
                        items: items.into_iter().flatten().collect(),
                    }))
                }
                _ => None,
            }
        }
        Some(t @ ("order.cancelled" | "order.refunded")) => {
            let refunded = t == "order.refunded";
            let order_id = payload.required(&mut errors, "orderId", reference);
            let time_field = if refunded { "refundedAt" } else { "cancelledAt" };
            let at = payload.optional(&mut errors, time_field, time).or(occurred_at);
            order_id
                .zip(at)
                .map(|(order_id, at)| InboundEvent::OrderReversed { order_id, refunded, at })
        }
        Some("deal.won") => {
            let deal_id = payload.required(&mut errors, "dealId", reference);
            let amount = payload.required(&mut errors, "amount", amount);
            let won_at = at(&mut errors, "wonAt");
            match (deal_id, amount, won_at) {
                (Some(deal_id), Some(amount), Some(won_at)) => Some(InboundEvent::DealWon {
                    deal_id,
                    amount,
                    won_at,
                }),
                _ => None,
            }
        }
        Some(t @ ("invoice.issued" | "invoice.paid")) => {
            let invoice_id = payload.required(&mut errors, "invoiceId", reference);
            let amount = payload.required(&mut errors, "amount", amount);
            let issued = t == "invoice.issued";
            let when = at(&mut errors, if issued { "issuedAt" } else { "paidAt" });
            match (invoice_id, amount, when) {
                (Some(invoice_id), Some(amount), Some(when)) if issued => Some(InboundEvent::InvoiceIssued {
                    invoice_id,
                    amount,
                    issued_at: when,
                }),
                (Some(invoice_id), Some(amount), Some(when)) => Some(InboundEvent::InvoicePaid {
                    invoice_id,
                    amount,
                    paid_at: when,
                }),
                _ => None,
            }
        }
        _ => None,
    };
    let names_order_only = matches!(event, Some(InboundEvent::OrderReversed { .. }));
    if customer_id.is_none() && !names_order_only && event.is_some() && !conflicting {
        errors.push("payload.customerId", "is required");
    }
    if !errors.is_empty() {
        return Err(InboundParseError::Invalid(errors));
    }
    match (event_id, occurred_at, organization_id, workspace_id, event) {
        (Some(event_id), Some(occurred_at), Some(organization_id), Some(workspace_id), Some(event)) => {
            Ok(InboundEnvelope {
                event_id,
                version,
                occurred_at,
                organization_id: organization_id.into(),
                workspace_id: workspace_id.into(),
                customer_id,
                actor: actor.map(Into::into),
                event,
            })
        }
        _ => Err(InboundParseError::Invalid(ValidationErrors::single(
            "",
            "is not a valid event",
        ))),
    }
}

fn order_item(errors: &mut ValidationErrors, index: usize, value: &Value) -> Option<OrderItem> {
    let item = Fields::new(Some(value), &format!("payload.items[{index}]."), errors);
    item.map?;
    let product_id = item.required(errors, "productId", reference);
    let product_name = item.required(errors, "productName", text);
    let category = item.optional(errors, "category", text).filter(|c| !c.is_empty());
    let quantity = item.required(errors, "quantity", |v| {
        let q = decimal(v)?;
        if q <= Decimal::ZERO {
            return Err("must be greater than 0".to_owned());
        }
        Ok(q.normalize())
    });
    let line_amount = item.required(errors, "amount", amount);
    let cost = item.optional(errors, "cost", amount);
    Some(OrderItem {
        product_id: product_id?,
        product_name: product_name?,
        category,
        quantity: quantity?,
        amount: line_amount?,
        cost,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> Value {
        json!({
            "eventId": "01930000-0000-7000-8000-0000000000e1",
            "type": "order.completed",
            "version": 1,
            "occurredAt": "2026-05-01T10:00:00+05:00",
            "organizationId": "01930000-0000-7000-8000-000000000001",
            "workspaceId": "01930000-0000-7000-8000-000000000002",
            "payload": {
                "orderId": "ORD-1",
                "customerId": "01930000-0000-7000-8000-0000000000c1",
                "totalAmount": 1500.5,
                "completedAt": "2026-05-01T10:00:00+05:00",
                "items": [{"productId": "P1", "productName": "Чай", "quantity": "2.5", "amount": "1500.50"}]
            }
        })
    }

    fn fields(err: InboundParseError) -> Vec<String> {
        match err {
            InboundParseError::Invalid(errors) => errors.errors().iter().map(|e| e.field.clone()).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_completed_order_in_utc() {
        let envelope = parse_inbound(&order()).unwrap();
        assert_eq!(envelope.type_name(), "order.completed");
        assert_eq!(
            envelope.customer_id.map(Uuid::from).unwrap().to_string(),
            "01930000-0000-7000-8000-0000000000c1"
        );
        let InboundEvent::OrderCompleted(order) = envelope.event else {
            panic!("not an order")
        };
        assert_eq!(order.total_amount.to_string(), "1500.50");
        assert_eq!(order.completed_at, time::macros::datetime!(2026-05-01 05:00 UTC));
        assert_eq!(order.completed_at.offset(), time::UtcOffset::UTC);
        assert_eq!(order.items[0].quantity, Decimal::new(25, 1));
        assert_eq!(order.items[0].category, None);
    }

    #[test]
    fn names_every_bad_field() {
        let mut event = order();
        event["eventId"] = json!("nope");
        event["payload"]["totalAmount"] = json!(-1);
        event["payload"]["items"][0]["quantity"] = json!(0);
        event["payload"]["items"][0]["amount"] = json!("1.001");
        event["payload"].as_object_mut().unwrap().remove("completedAt");
        assert_eq!(
            fields(parse_inbound(&event).unwrap_err()),
            [
                "eventId",
                "payload.totalAmount",
                "payload.completedAt",
                "payload.items[0].quantity",
                "payload.items[0].amount"
            ]
        );
    }

    #[test]
    fn unknown_types_are_not_malformed() {
        let mut event = order();
        event["type"] = json!("product.updated");
        assert_eq!(
            parse_inbound(&event).unwrap_err(),
            InboundParseError::UnsupportedType("product.updated".into())
        );
    }

    #[test]
    fn the_customer_must_be_named_once_consistently() {
        let mut event = order();
        event["customerId"] = json!("01930000-0000-7000-8000-0000000000c2");
        assert_eq!(fields(parse_inbound(&event).unwrap_err()), ["payload.customerId"]);
        event.as_object_mut().unwrap().remove("customerId");
        event["payload"].as_object_mut().unwrap().remove("customerId");
        assert_eq!(fields(parse_inbound(&event).unwrap_err()), ["payload.customerId"]);
    }

    #[test]
    fn a_cancellation_may_name_only_the_order() {
        let event = json!({
            "eventId": "01930000-0000-7000-8000-0000000000e2",
            "type": "order.refunded",
            "occurredAt": "2026-05-02T00:00:00Z",
            "organizationId": "01930000-0000-7000-8000-000000000001",
            "workspaceId": "01930000-0000-7000-8000-000000000002",
            "payload": {"orderId": 42}
        });
        let envelope = parse_inbound(&event).unwrap();
        assert_eq!(envelope.customer_id, None);
        assert_eq!(
            envelope.event,
            InboundEvent::OrderReversed {
                order_id: "42".into(),
                refunded: true,
                at: time::macros::datetime!(2026-05-02 00:00 UTC)
            }
        );
    }

    #[test]
    fn a_time_beyond_year_9999_in_utc_is_refused_not_a_panic() {
        let mut event = order();
        event["payload"]["completedAt"] = json!("9999-12-31T23:59:59-01:00");
        assert_eq!(fields(parse_inbound(&event).unwrap_err()), ["payload.completedAt"]);
    }

    #[test]
    fn not_an_object_and_missing_payload() {
        assert_eq!(fields(parse_inbound(&json!([1])).unwrap_err()), ["."]);
        let mut event = order();
        event.as_object_mut().unwrap().remove("payload");
        event["version"] = json!(7);
        assert_eq!(fields(parse_inbound(&event).unwrap_err()), ["version", "payload"]);
    }

    #[test]
    fn invoices_and_deals() {
        let mut event = order();
        event["type"] = json!("invoice.paid");
        event["payload"] = json!({"invoiceId": "INV-1", "customerId": "01930000-0000-7000-8000-0000000000c1",
            "amount": "10", "paidAt": "2026-05-03T00:00:00Z"});
        assert!(matches!(
            parse_inbound(&event).unwrap().event,
            InboundEvent::InvoicePaid { ref invoice_id, .. } if invoice_id == "INV-1"
        ));
        event["type"] = json!("deal.won");
        assert_eq!(
            fields(parse_inbound(&event).unwrap_err()),
            ["payload.dealId", "payload.wonAt"]
        );
    }
}
