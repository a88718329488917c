//! The audit trail of a customer, read from its events: who changed what, when, from which
//! value to which, and through which route.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{CustomerEvent, EventEnvelope};
use crate::ids::UserId;

/// Through which route a change came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// A request to this API.
    Api,
    /// A merge of duplicates.
    Merge,
    /// An event of another module (an order, a won deal, an invoice or payment).
    Event,
    /// A batch import (`POST /customers/bulk`).
    Import,
}

impl ChangeSource {
    /// The wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ChangeSource::Api => "api",
            ChangeSource::Merge => "merge",
            ChangeSource::Event => "event",
            ChangeSource::Import => "import",
        }
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The event it comes from.
    pub event_id: Uuid,
    /// The event type (`customer.updated`, …).
    pub event_type: &'static str,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who.
    pub actor: UserId,
    /// The field that changed (camelCase); `None` for whole-customer events (created, deleted,
    /// restored, merged).
    pub field: Option<String>,
    /// Its value before.
    pub old_value: Value,
    /// Its value after.
    pub new_value: Value,
    /// The route.
    pub source: ChangeSource,
}

/// What to keep of a trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only this field.
    pub field: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// At or before.
    pub to: Option<OffsetDateTime>,
}

/// The audit trail of `events` (one customer's, in the order written), newest first, filtered.
///
/// A `customer.updated` event gives one entry per changed field. A status change or an
/// assignment made without a `customer.updated` of the same change (`PATCH /status`, lead
/// conversion) gives its own `status`/`assignedTo` entry. Changes made together with a
/// `customers.merged` event are attributed to the merge, those caused by another module's
/// event (an update carrying its `cause`) to `event`, the creation (and assignment) of a
/// customer by a batch import to `import`. `customer.metrics.updated` repeats what
/// the `customer.updated` of the same change lists, and gives no entry of its own.
pub fn history(events: &[EventEnvelope], filter: &HistoryFilter) -> Vec<HistoryEntry> {
    // Which changes (time and actor) a merge made, and which fields an update already covers.
    let merges: HashSet<(OffsetDateTime, UserId)> = events
        .iter()
        .filter(|e| matches!(e.event, CustomerEvent::Merged { .. }))
        .map(|e| (e.occurred_at, e.actor))
        .collect();
    let caused: HashSet<(OffsetDateTime, UserId)> = events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                CustomerEvent::Updated { cause: Some(_), .. } | CustomerEvent::MetricsUpdated { .. }
            )
        })
        .map(|e| (e.occurred_at, e.actor))
        .collect();
    let imports: HashSet<(OffsetDateTime, UserId)> = events
        .iter()
        .filter(|e| matches!(&e.event, CustomerEvent::Created { source: Some(s), .. } if s == "import"))
        .map(|e| (e.occurred_at, e.actor))
        .collect();
    let mut updated_fields: BTreeMap<(OffsetDateTime, UserId), HashSet<String>> = BTreeMap::new();
    for e in events {
        if let CustomerEvent::Updated { changes, .. } = &e.event {
            updated_fields
                .entry((e.occurred_at, e.actor))
                .or_default()
                .extend(changes.keys().cloned());
        }
    }
    let covered = |e: &EventEnvelope, field: &str| {
        updated_fields
            .get(&(e.occurred_at, e.actor))
            .is_some_and(|fields| fields.contains(field))
    };
    let mut entries = Vec::new();
    // Newest event first; the fields of one event in name order.
    for e in events.iter().rev() {
        let source = if merges.contains(&(e.occurred_at, e.actor)) {
            ChangeSource::Merge
        } else if caused.contains(&(e.occurred_at, e.actor)) {
            ChangeSource::Event
        } else if imports.contains(&(e.occurred_at, e.actor)) {
            ChangeSource::Import
        } else {
            ChangeSource::Api
        };
        let entry = |field: Option<&str>, old_value: Value, new_value: Value| HistoryEntry {
            event_id: e.event_id,
            event_type: e.event.type_name(),
            occurred_at: e.occurred_at,
            actor: e.actor,
            field: field.map(str::to_owned),
            old_value,
            new_value,
            source,
        };
        match &e.event {
            CustomerEvent::Updated { changes, .. } => {
                for (field, change) in changes {
                    entries.push(entry(Some(field), change.old.clone(), change.new.clone()));
                }
            }
            CustomerEvent::StatusChanged {
                previous_status,
                new_status,
                ..
            } if !covered(e, "status") => entries.push(entry(
                Some("status"),
                Value::from(previous_status.as_str()),
                Value::from(new_status.as_str()),
            )),
            CustomerEvent::Assigned { assigned_to, .. } if !covered(e, "assignedTo") => entries.push(entry(
                Some("assignedTo"),
                Value::Null,
                assigned_to.map_or(Value::Null, |id| Value::from(id.to_string())),
            )),
            CustomerEvent::Created { status, .. } => {
                entries.push(entry(None, Value::Null, Value::from(status.as_str())));
            }
            CustomerEvent::Deleted { .. } | CustomerEvent::Restored { .. } => {
                entries.push(entry(None, Value::Null, Value::Null));
            }
            CustomerEvent::Merged {
                merged_customer_ids, ..
            } => entries.push(entry(
                None,
                Value::Null,
                Value::from(merged_customer_ids.iter().map(|id| id.to_string()).collect::<Vec<_>>()),
            )),
            _ => {}
        }
    }
    entries.retain(|entry| {
        filter.field.as_ref().is_none_or(|f| entry.field.as_ref() == Some(f))
            && filter.from.is_none_or(|from| entry.occurred_at >= from)
            && filter.to.is_none_or(|to| entry.occurred_at <= to)
    });
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::CustomerDraft;
    use crate::events::FieldChange;
    use crate::ids::{CustomerId, OrganizationId, Scope, WorkspaceId};
    use crate::model::{CustomerStatus, CustomerType};
    use time::macros::datetime;

    fn envelope(at: OffsetDateTime, actor: UserId, event: CustomerEvent) -> EventEnvelope {
        let customer = CustomerDraft::new(CustomerType::Company, "ТОО Альфа", "info@alpha.kz")
            .parse()
            .unwrap()
            .into_customer(Scope::new(OrganizationId::new(), WorkspaceId::new()), actor, at);
        EventEnvelope::new(&customer, actor, at, event)
    }

    #[test]
    fn updates_give_one_line_per_field_and_duplicated_facts_appear_once() {
        let (t1, t2, t3) = (
            datetime!(2026-01-01 10:00 UTC),
            datetime!(2026-01-02 10:00 UTC),
            datetime!(2026-01-03 10:00 UTC),
        );
        let actor = UserId::new();
        let mut changes = BTreeMap::new();
        changes.insert(
            "name".to_owned(),
            FieldChange {
                old: "A".into(),
                new: "B".into(),
            },
        );
        changes.insert(
            "status".to_owned(),
            FieldChange {
                old: "LEAD".into(),
                new: "ACTIVE".into(),
            },
        );
        let events = vec![
            envelope(
                t1,
                actor,
                CustomerEvent::Created {
                    customer_type: CustomerType::Company,
                    status: CustomerStatus::Lead,
                    created_by: actor,
                    source: None,
                },
            ),
            // A PUT: the update and its status event describe the same change.
            envelope(
                t2,
                actor,
                CustomerEvent::Updated {
                    changes,
                    updated_by: actor,
                    cause: None,
                },
            ),
            envelope(
                t2,
                actor,
                CustomerEvent::StatusChanged {
                    previous_status: CustomerStatus::Lead,
                    new_status: CustomerStatus::Active,
                    changed_by: actor,
                    reason: None,
                },
            ),
            // A PATCH /status: only the status event.
            envelope(
                t3,
                actor,
                CustomerEvent::StatusChanged {
                    previous_status: CustomerStatus::Active,
                    new_status: CustomerStatus::Inactive,
                    changed_by: actor,
                    reason: Some("paused".into()),
                },
            ),
        ];
        let trail = history(&events, &HistoryFilter::default());
        let lines: Vec<(Option<&str>, Value, Value)> = trail
            .iter()
            .map(|e| (e.field.as_deref(), e.old_value.clone(), e.new_value.clone()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Some("status"), Value::from("ACTIVE"), Value::from("INACTIVE")),
                (Some("name"), Value::from("A"), Value::from("B")),
                (Some("status"), Value::from("LEAD"), Value::from("ACTIVE")),
                (None, Value::Null, Value::from("LEAD")),
            ]
        );
        let only_status = history(
            &events,
            &HistoryFilter {
                field: Some("status".into()),
                ..Default::default()
            },
        );
        assert_eq!(only_status.len(), 2);
        let since = history(
            &events,
            &HistoryFilter {
                from: Some(t3),
                ..Default::default()
            },
        );
        assert_eq!(since.len(), 1);
        let until = history(
            &events,
            &HistoryFilter {
                to: Some(t1),
                ..Default::default()
            },
        );
        assert_eq!(until[0].event_type, "customer.created");
    }

    #[test]
    fn changes_made_by_a_merge_are_attributed_to_it() {
        let at = datetime!(2026-02-01 10:00 UTC);
        let actor = UserId::new();
        let mut changes = BTreeMap::new();
        changes.insert(
            "phone".to_owned(),
            FieldChange {
                old: Value::Null,
                new: "+77012345678".into(),
            },
        );
        let events = vec![
            envelope(
                at,
                actor,
                CustomerEvent::Merged {
                    primary_customer_id: CustomerId::new(),
                    merged_customer_ids: vec![CustomerId::new()],
                    merged_customers: vec![],
                    merged_by: actor,
                },
            ),
            envelope(
                at,
                actor,
                CustomerEvent::Updated {
                    changes,
                    updated_by: actor,
                    cause: None,
                },
            ),
        ];
        let trail = history(&events, &HistoryFilter::default());
        assert_eq!(trail.len(), 2);
        assert!(trail.iter().all(|e| e.source == ChangeSource::Merge));
    }

    #[test]
    fn changes_caused_by_another_module_come_from_event() {
        let (at, system) = (datetime!(2026-03-01 10:00 UTC), UserId::from(uuid::Uuid::nil()));
        let mut changes = BTreeMap::new();
        changes.insert(
            "status".to_owned(),
            FieldChange {
                old: "LEAD".into(),
                new: "ACTIVE".into(),
            },
        );
        let cause = crate::events::EventCause {
            event_id: uuid::Uuid::now_v7(),
            event_type: "deal.won".into(),
        };
        let events = vec![
            envelope(
                at,
                system,
                CustomerEvent::Updated {
                    changes,
                    updated_by: system,
                    cause: Some(cause),
                },
            ),
            envelope(
                at,
                system,
                CustomerEvent::StatusChanged {
                    previous_status: CustomerStatus::Lead,
                    new_status: CustomerStatus::Active,
                    changed_by: system,
                    reason: Some("deal.won D1".into()),
                },
            ),
        ];
        let trail = history(&events, &HistoryFilter::default());
        assert_eq!(trail.len(), 1, "the status change is listed once");
        assert_eq!(trail[0].source, ChangeSource::Event);
        assert_eq!(trail[0].field.as_deref(), Some("status"));
    }

    #[test]
    fn a_batch_import_is_the_source_of_its_creations() {
        let (at, actor) = (datetime!(2026-03-02 10:00 UTC), UserId::new());
        let created = |source: Option<&str>| {
            envelope(
                at,
                actor,
                CustomerEvent::Created {
                    customer_type: CustomerType::Company,
                    status: CustomerStatus::Lead,
                    created_by: actor,
                    source: source.map(str::to_owned),
                },
            )
        };
        let assigned = envelope(
            at,
            actor,
            CustomerEvent::Assigned {
                assigned_to: Some(UserId::new()),
                assigned_by: actor,
            },
        );
        let trail = history(&[created(Some("import")), assigned.clone()], &HistoryFilter::default());
        assert_eq!(trail.len(), 2);
        assert!(trail.iter().all(|e| e.source == ChangeSource::Import), "{trail:?}");
        let trail = history(&[created(None), assigned], &HistoryFilter::default());
        assert!(trail.iter().all(|e| e.source == ChangeSource::Api));
    }
}
