//! Domain events: what happened to a customer, for the rest of the ERP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{CustomerId, OrganizationId, UserId, WorkspaceId};
use crate::model::{Customer, CustomerStatus, CustomerType};

/// Schema version of every payload below; bumped on an incompatible change.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Old and new value of one changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Before.
    pub old: serde_json::Value,
    /// After.
    pub new: serde_json::Value,
}

/// The event of another module that caused a change here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCause {
    /// Its id.
    pub event_id: Uuid,
    /// Its type (`order.completed`, …).
    #[serde(rename = "type")]
    pub event_type: String,
}

/// What happened, with the spec's payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum CustomerEvent {
    /// A customer was created.
    #[serde(rename = "customer.created", rename_all = "camelCase")]
    Created {
        /// Type.
        customer_type: CustomerType,
        /// Status.
        status: CustomerStatus,
        /// Who created it.
        created_by: UserId,
        /// `import` for a customer created by a batch import (`POST /customers/bulk`); absent
        /// for one created alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    /// Fields changed.
    #[serde(rename = "customer.updated", rename_all = "camelCase")]
    Updated {
        /// Field (camelCase) → old and new value.
        changes: BTreeMap<String, FieldChange>,
        /// Who changed it.
        updated_by: UserId,
        /// The inbound event that caused the change, when another module's event did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<EventCause>,
    },
    /// A customer was deleted.
    #[serde(rename = "customer.deleted", rename_all = "camelCase")]
    Deleted {
        /// Who deleted it.
        deleted_by: UserId,
    },
    /// The status changed.
    #[serde(rename = "customer.status.changed", rename_all = "camelCase")]
    StatusChanged {
        /// Before.
        previous_status: CustomerStatus,
        /// After.
        new_status: CustomerStatus,
        /// Who changed it.
        changed_by: UserId,
        /// Why, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A lead or prospect became an active customer.
    #[serde(rename = "customer.lead.converted", rename_all = "camelCase")]
    LeadConverted {
        /// Before (LEAD or PROSPECT).
        previous_status: CustomerStatus,
        /// After (ACTIVE).
        new_status: CustomerStatus,
        /// Who converted it.
        converted_by: UserId,
    },
    /// The deals module is asked to open a first deal with a converted lead.
    #[serde(rename = "deal.create.requested", rename_all = "camelCase")]
    DealCreateRequested {
        /// Deal title.
        title: String,
        /// Expected value.
        value: crate::money::Money,
        /// Responsible manager.
        assigned_to: Option<UserId>,
    },
    /// Duplicates were merged into this customer (the envelope's subject); full snapshots of
    /// the merged-away records allow an audit and a manual undo.
    #[serde(rename = "customers.merged", rename_all = "camelCase")]
    Merged {
        /// The surviving customer.
        primary_customer_id: crate::ids::CustomerId,
        /// The customers merged into it (now removed).
        merged_customer_ids: Vec<crate::ids::CustomerId>,
        /// The removed customers as they were.
        merged_customers: Vec<Customer>,
        /// Who merged.
        merged_by: UserId,
    },
    /// A deleted customer was restored.
    #[serde(rename = "customer.restored", rename_all = "camelCase")]
    Restored {
        /// Who restored it.
        restored_by: UserId,
    },
    /// Purchase metrics or balance changed, after an order, an invoice, a payment or a won deal
    /// reported by another module (`cause`).
    #[serde(rename = "customer.metrics.updated", rename_all = "camelCase")]
    MetricsUpdated {
        /// Sum of the completed (not cancelled) orders.
        total_purchases: crate::money::Money,
        /// Number of those orders.
        purchase_count: i32,
        /// Estimated lifetime value (see `lifecycle::ltv`).
        lifetime_value: crate::money::Money,
        /// First completed order.
        #[serde(with = "time::serde::rfc3339::option")]
        first_purchase_date: Option<OffsetDateTime>,
        /// Last completed order.
        #[serde(with = "time::serde::rfc3339::option")]
        last_purchase_date: Option<OffsetDateTime>,
        /// Invoiced minus paid.
        current_balance: crate::money::Money,
        /// The inbound event that caused the change.
        cause: EventCause,
    },
    /// The responsible manager changed.
    #[serde(rename = "customer.assigned", rename_all = "camelCase")]
    Assigned {
        /// New manager (none when unassigned).
        assigned_to: Option<UserId>,
        /// Who assigned.
        assigned_by: UserId,
    },
}

impl CustomerEvent {
    /// The event type name (`customer.created`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            CustomerEvent::Created { .. } => "customer.created",
            CustomerEvent::Updated { .. } => "customer.updated",
            CustomerEvent::Deleted { .. } => "customer.deleted",
            CustomerEvent::StatusChanged { .. } => "customer.status.changed",
            CustomerEvent::LeadConverted { .. } => "customer.lead.converted",
            CustomerEvent::DealCreateRequested { .. } => "deal.create.requested",
            CustomerEvent::Merged { .. } => "customers.merged",
            CustomerEvent::Restored { .. } => "customer.restored",
            CustomerEvent::Assigned { .. } => "customer.assigned",
            CustomerEvent::MetricsUpdated { .. } => "customer.metrics.updated",
        }
    }
}

/// An event with its envelope: id, time, tenant, subject and actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    /// Unique id (UUID v7), for idempotent consumers.
    pub event_id: Uuid,
    /// Payload schema version.
    pub version: u32,
    /// When it happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Tenant.
    pub organization_id: OrganizationId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Subject.
    pub customer_id: CustomerId,
    /// Who did it.
    pub actor: UserId,
    /// What happened.
    #[serde(flatten)]
    pub event: CustomerEvent,
}

impl EventEnvelope {
    /// Wraps an event about `customer`.
    pub fn new(customer: &Customer, actor: UserId, occurred_at: OffsetDateTime, event: CustomerEvent) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            version: EVENT_SCHEMA_VERSION,
            occurred_at,
            organization_id: customer.organization_id,
            workspace_id: customer.workspace_id,
            customer_id: customer.id,
            actor,
            event,
        }
    }
}

/// The fields that differ between two versions of a customer, by wire name; bookkeeping
/// fields (`updatedAt`, `updatedBy`, `version`) are left out.
pub fn diff(before: &Customer, after: &Customer) -> BTreeMap<String, FieldChange> {
    let to_map = |c: &Customer| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (to_map(before), to_map(after));
    new.into_iter()
        .filter(|(key, _)| !matches!(key.as_str(), "updatedAt" | "updatedBy" | "version"))
        .filter_map(|(key, new_value)| {
            let old_value = old.get(&key).cloned().unwrap_or(serde_json::Value::Null);
            (old_value != new_value).then_some((
                key,
                FieldChange {
                    old: old_value,
                    new: new_value,
                },
            ))
        })
        .collect()
}
