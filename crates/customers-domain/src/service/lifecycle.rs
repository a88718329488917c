//! Status changes, lead conversion, duplicate detection and merge, bulk operations, restore
//! and purge.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::commands::NewCustomer;
use crate::error::{CustomerError, UniqueField, ValidationErrors};
use crate::events::{CustomerEvent, EventEnvelope};
use crate::ids::{CustomerId, Scope, UserId};
use crate::lifecycle::names::{NEAR_MATCH_THRESHOLD, match_tokens, name_similarity};
use crate::lifecycle::status::{can_convert, check_transition};
use crate::model::{Customer, CustomerStatus};
use crate::money::Money;
use crate::ports::{
    Clock, CustomerCache, CustomerRepository, CustomerSearch, DuplicateProbe, EventPublisher, RepositoryError,
};
use crate::values::{Bin, Email, Iin, Phone};

use super::{Children, CustomerService, change_events, creation_events, internal};

/// The `source` of customers created by a batch import.
const IMPORT: &str = "import";

/// The most customers one bulk call or one merge handles.
pub const MAX_BULK: usize = 100;
/// The most duplicates merged into one customer at once.
pub const MAX_MERGE: usize = 10;
/// The most candidates a duplicate check scores.
const CANDIDATES: u32 = 50;

/// What a lead conversion may set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConvertLead {
    /// New manager (kept when absent).
    pub assigned_to: Option<UserId>,
    /// Ask the deals module for a first deal.
    pub create_deal: bool,
    /// Its title ("Deal with {name}" when absent).
    pub deal_title: Option<String>,
    /// Its expected value (0 when absent).
    pub deal_value: Option<Money>,
}

/// What a duplicate check looks for (validated and normalized by the caller).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DuplicateCheck {
    /// E-mail.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// IIN.
    pub iin: Option<Iin>,
    /// BIN.
    pub bin: Option<Bin>,
    /// Name (near matches).
    pub name: Option<String>,
}

/// One possible duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateMatch {
    /// `email`, `phone`, `iin`, `bin` (exact) or `name` (near).
    pub field: &'static str,
    /// The customer, when it is in the caller's workspace (an e-mail, IIN or BIN taken in
    /// another workspace of the organization is reported without it).
    pub customer: Option<Customer>,
    /// 1.0 for exact matches; the name similarity otherwise.
    pub score: f64,
}

/// What to do with the checked data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestedAction {
    /// An exact match exists: merge into it rather than create.
    Merge,
    /// Only similar names: a person should look.
    Review,
    /// Nothing similar: create.
    Create,
}

/// The result of a duplicate check, best matches first.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateReport {
    /// The matches.
    pub duplicates: Vec<DuplicateMatch>,
    /// The suggestion.
    pub suggested_action: SuggestedAction,
}

/// The result of a bulk delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkDeleteOutcome {
    /// Deleted now.
    pub deleted: Vec<CustomerId>,
    /// Not live in the workspace (missing, other workspace, already deleted).
    pub not_found: Vec<CustomerId>,
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// Moves the customer to `status` along the transition table.
    ///
    /// Errors: [`CustomerError::Transition`] (with the allowed targets),
    /// [`CustomerError::NotFound`], [`CustomerError::PreconditionFailed`].
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn change_status(
        &self,
        scope: Scope,
        actor: UserId,
        id: CustomerId,
        status: CustomerStatus,
        reason: Option<String>,
        expected_version: Option<i64>,
    ) -> Result<Customer, CustomerError> {
        let describe = |before: &Customer, after: &Customer, actor: UserId, now: OffsetDateTime| {
            with_reason(change_events(before, after, actor, now), reason.as_deref())
        };
        let (_, after) = self
            .write(
                scope,
                actor,
                id,
                expected_version,
                Children::default(),
                |current, _| {
                    check_transition(current.status, status).map_err(CustomerError::Transition)?;
                    let mut next = current.clone();
                    next.status = status;
                    Ok(next)
                },
                describe,
            )
            .await?;
        Ok(after)
    }

    /// Converts a LEAD or PROSPECT into an ACTIVE customer, recording when.
    ///
    /// Errors: [`CustomerError::NotConvertible`] from any other status, [`CustomerError::NotFound`],
    /// [`CustomerError::PreconditionFailed`].
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn convert(
        &self,
        scope: Scope,
        actor: UserId,
        id: CustomerId,
        input: ConvertLead,
        expected_version: Option<i64>,
    ) -> Result<Customer, CustomerError> {
        let describe = |before: &Customer, after: &Customer, actor: UserId, now: OffsetDateTime| {
            let mut events = with_reason(change_events(before, after, actor, now), Some("lead converted"));
            if input.create_deal {
                events.push(EventEnvelope::new(
                    after,
                    actor,
                    now,
                    CustomerEvent::DealCreateRequested {
                        title: input
                            .deal_title
                            .clone()
                            .unwrap_or_else(|| format!("Deal with {}", after.name)),
                        value: input.deal_value.unwrap_or(Money::ZERO),
                        assigned_to: after.assigned_to,
                    },
                ));
            }
            events
        };
        let (_, after) = self
            .write(
                scope,
                actor,
                id,
                expected_version,
                Children::default(),
                |current, now| {
                    if !can_convert(current.status) {
                        return Err(CustomerError::NotConvertible(current.status));
                    }
                    let mut next = current.clone();
                    next.status = CustomerStatus::Active;
                    next.converted_at = Some(now);
                    if input.assigned_to.is_some() {
                        next.assigned_to = input.assigned_to;
                    }
                    Ok(next)
                },
                describe,
            )
            .await?;
        Ok(after)
    }

    /// Finds customers of the workspace that may duplicate `check`: exact e-mail, phone, IIN or
    /// BIN matches, and names similar after removing legal forms, punctuation and script
    /// differences.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id))]
    pub async fn check_duplicates(
        &self,
        scope: Scope,
        check: &DuplicateCheck,
    ) -> Result<DuplicateReport, CustomerError> {
        let probe = DuplicateProbe {
            email: check.email.as_ref().map(|v| v.as_str().to_owned()),
            phone: check.phone.as_ref().map(|v| v.as_str().to_owned()),
            iin: check.iin.as_ref().map(|v| v.as_str().to_owned()),
            bin: check.bin.as_ref().map(|v| v.as_str().to_owned()),
            name_tokens: check.name.as_deref().map(match_tokens).unwrap_or_default(),
        };
        let candidates = self
            .repository
            .duplicate_candidates(scope, &probe, CANDIDATES)
            .await
            .map_err(internal)?;
        let mut matches = Vec::new();
        let mut seen_exact: HashSet<&'static str> = HashSet::new();
        for candidate in &candidates {
            let exact = [
                ("email", probe.email.as_deref() == Some(candidate.email.as_str())),
                (
                    "phone",
                    probe.phone.is_some() && probe.phone.as_deref() == candidate.phone.as_ref().map(|p| p.as_str()),
                ),
                (
                    "iin",
                    probe.iin.is_some() && probe.iin.as_deref() == candidate.iin.as_ref().map(|p| p.as_str()),
                ),
                (
                    "bin",
                    probe.bin.is_some() && probe.bin.as_deref() == candidate.bin.as_ref().map(|p| p.as_str()),
                ),
            ];
            for (field, hit) in exact {
                if hit {
                    seen_exact.insert(field);
                    matches.push(DuplicateMatch {
                        field,
                        customer: Some(candidate.clone()),
                        score: 1.0,
                    });
                }
            }
            if let Some(name) = &check.name {
                let score = name_similarity(name, &candidate.name);
                if score >= NEAR_MATCH_THRESHOLD {
                    matches.push(DuplicateMatch {
                        field: "name",
                        customer: Some(candidate.clone()),
                        score,
                    });
                }
            }
        }
        // Unique values taken in another workspace of the organization block creation too.
        for (field, unique, value) in [
            ("email", UniqueField::Email, probe.email.as_deref()),
            ("iin", UniqueField::Iin, probe.iin.as_deref()),
            ("bin", UniqueField::Bin, probe.bin.as_deref()),
        ] {
            let Some(value) = value else { continue };
            if seen_exact.contains(field) {
                continue;
            }
            let holder = self
                .repository
                .find_by_unique(scope.organization_id, unique, value)
                .await
                .map_err(internal)?;
            if holder.is_some() {
                matches.push(DuplicateMatch {
                    field,
                    customer: None,
                    score: 1.0,
                });
            }
        }
        matches.sort_by(|a, b| b.score.total_cmp(&a.score));
        let suggested_action = if matches.iter().any(|m| m.field != "name") {
            SuggestedAction::Merge
        } else if matches.is_empty() {
            SuggestedAction::Create
        } else {
            SuggestedAction::Review
        };
        Ok(DuplicateReport {
            duplicates: matches,
            suggested_action,
        })
    }

    /// Merges `duplicates` into `primary` in one transaction (see
    /// [`crate::lifecycle::merge::merge`] for the rules); with `dry_run`, returns the result
    /// without writing. Emits `customers.merged` with snapshots of the removed customers.
    ///
    /// Errors: [`CustomerError::Invalid`] (no duplicates, more than 10, the primary among them),
    /// [`CustomerError::NotFound`] when any is not a live customer of the workspace.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %primary))]
    pub async fn merge(
        &self,
        scope: Scope,
        actor: UserId,
        primary: CustomerId,
        duplicates: &[CustomerId],
        dry_run: bool,
    ) -> Result<Customer, CustomerError> {
        let mut errors = ValidationErrors::new();
        if duplicates.is_empty() || duplicates.len() > MAX_MERGE {
            errors.push("duplicateIds", format!("must hold 1 to {MAX_MERGE} ids"));
        }
        if duplicates.contains(&primary) {
            errors.push("duplicateIds", "must not contain the primary customer");
        }
        if duplicates.iter().collect::<HashSet<_>>().len() != duplicates.len() {
            errors.push("duplicateIds", "must not repeat an id");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        for _ in 0..super::UPDATE_ATTEMPTS {
            let current = self.load(scope, primary).await?;
            let mut others = Vec::with_capacity(duplicates.len());
            for id in duplicates {
                others.push(self.load(scope, *id).await?);
            }
            let now = self.clock.now();
            let merged = crate::lifecycle::merge::merge(&current, &others, actor, now);
            if dry_run {
                return Ok(merged);
            }
            let expected: Vec<(CustomerId, i64)> = others.iter().map(|c| (c.id, c.version)).collect();
            let mut events = vec![EventEnvelope::new(
                &merged,
                actor,
                now,
                CustomerEvent::Merged {
                    primary_customer_id: primary,
                    merged_customer_ids: duplicates.to_vec(),
                    merged_customers: others.clone(),
                    merged_by: actor,
                },
            )];
            events.extend(change_events(&current, &merged, actor, now));
            match self
                .repository
                .merge(&merged, current.version, &expected, &events)
                .await
            {
                Ok(()) => {
                    self.bump(scope).await;
                    self.publish(events).await;
                    return Ok(merged);
                }
                Err(RepositoryError::VersionConflict) => continue,
                Err(RepositoryError::NotFound) => return Err(CustomerError::NotFound),
                Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &merged).await),
                Err(other) => {
                    // The outcome is unknown (the commit may have happened).
                    self.bump(scope).await;
                    return Err(internal(other));
                }
            }
        }
        Err(CustomerError::Contention)
    }

    /// Creates 1..=100 customers, all or nothing.
    ///
    /// Errors: [`CustomerError::Invalid`] for a batch size out of range;
    /// [`CustomerError::Conflicts`] listing every item (`[3].email`) whose e-mail, IIN or BIN
    /// is taken in the organization or repeats an earlier item of the batch.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, count = inputs.len()))]
    pub async fn bulk_create(
        &self,
        scope: Scope,
        actor: UserId,
        inputs: Vec<NewCustomer>,
    ) -> Result<Vec<Customer>, CustomerError> {
        if inputs.is_empty() || inputs.len() > MAX_BULK {
            return Err(ValidationErrors::single("", format!("send 1 to {MAX_BULK} customers")).into());
        }
        let now = self.clock.now();
        let customers: Vec<Customer> = inputs
            .into_iter()
            .map(|input| input.into_customer(scope, actor, now))
            .collect();
        let mut conflicts = batch_repeats(&customers);
        for (index, field, existing) in self.taken_in_batch(scope, &customers).await? {
            let holder = existing.map_or_else(String::new, |id| format!(" ({id})"));
            conflicts.push(
                format!("[{index}].{field}"),
                format!("is already used by another customer{holder}"),
            );
        }
        if !conflicts.is_empty() {
            return Err(CustomerError::Conflicts(conflicts));
        }
        let events: Vec<EventEnvelope> = customers
            .iter()
            .flat_map(|customer| creation_events(customer, actor, now, Some(IMPORT)))
            .collect();
        match self.repository.insert_many(&customers, &events).await {
            Ok(()) => self.bump(scope).await,
            Err(batch) => {
                // A concurrent writer took a value after the checks above.
                let field = match batch.error {
                    RepositoryError::Duplicate(field) => field,
                    other => {
                        // The outcome is unknown (the commit may have happened).
                        self.bump(scope).await;
                        return Err(internal(other));
                    }
                };
                return Err(CustomerError::Conflicts(ValidationErrors::single(
                    format!("[{}].{field}", batch.index),
                    "is already used by another customer",
                )));
            }
        }
        self.publish(events).await;
        Ok(customers)
    }

    /// Deletes (softly) the live customers of the workspace among `ids` (1..=100).
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, count = ids.len()))]
    pub async fn bulk_delete(
        &self,
        scope: Scope,
        actor: UserId,
        ids: &[CustomerId],
    ) -> Result<BulkDeleteOutcome, CustomerError> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(ValidationErrors::single("ids", format!("must hold 1 to {MAX_BULK} ids")).into());
        }
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        let now = self.clock.now();
        // One event per id asked; the repository keeps those of the customers it deletes (even
        // one restored a moment ago), in the same transaction.
        let events: Vec<EventEnvelope> = unique
            .iter()
            .map(|id| EventEnvelope {
                event_id: uuid::Uuid::now_v7(),
                version: crate::events::EVENT_SCHEMA_VERSION,
                occurred_at: now,
                organization_id: scope.organization_id,
                workspace_id: scope.workspace_id,
                customer_id: *id,
                actor,
                event: CustomerEvent::Deleted { deleted_by: actor },
            })
            .collect();
        let deleted = match self.repository.soft_delete(scope, &unique, now, actor, &events).await {
            Ok(deleted) => deleted,
            Err(err) => {
                // The outcome is unknown (the commit may have happened).
                self.bump(scope).await;
                return Err(internal(err));
            }
        };
        if !deleted.is_empty() {
            self.bump(scope).await;
        }
        self.publish(
            events
                .into_iter()
                .filter(|e| deleted.contains(&e.customer_id))
                .collect(),
        )
        .await;
        let not_found = unique.into_iter().filter(|id| !deleted.contains(id)).collect();
        Ok(BulkDeleteOutcome { deleted, not_found })
    }

    /// Brings a deleted customer back, with its contacts, addresses and notes, within the
    /// retention window.
    ///
    /// Errors: [`CustomerError::NotFound`] when it is not deleted in the workspace or the window
    /// has passed; [`CustomerError::Duplicate`] when a live customer took its e-mail, IIN or BIN.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn restore(&self, scope: Scope, actor: UserId, id: CustomerId) -> Result<Customer, CustomerError> {
        let (deleted, deleted_at) = self
            .repository
            .get_deleted(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let now = self.clock.now();
        if deleted_at + self.retention < now {
            return Err(CustomerError::NotFound);
        }
        let mut restored = deleted.clone();
        restored.version = deleted.version + 1;
        restored.updated_at = now;
        restored.updated_by = Some(actor);
        let events = vec![EventEnvelope::new(
            &restored,
            actor,
            now,
            CustomerEvent::Restored { restored_by: actor },
        )];
        match self.repository.restore(&restored, &events).await {
            Ok(()) => self.bump(scope).await,
            Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &restored).await),
            Err(RepositoryError::NotFound) => return Err(CustomerError::NotFound),
            Err(other) => {
                // The outcome is unknown (the commit may have happened).
                self.bump(scope).await;
                return Err(internal(other));
            }
        }
        self.publish(events).await;
        Ok(restored)
    }

    /// Removes for good the customers deleted longer ago than the retention window. Returns
    /// how many.
    ///
    /// No cache generation is bumped: a purged customer was deleted first (a write that bumped
    /// its workspace), and no cached read (customer by id, list page) shows deleted customers.
    pub async fn purge_expired(&self) -> Result<u64, CustomerError> {
        let before = self.clock.now() - self.retention;
        self.repository.purge(before).await.map_err(internal)
    }
}

/// Puts `reason` on the status change among `events`.
fn with_reason(mut events: Vec<EventEnvelope>, reason: Option<&str>) -> Vec<EventEnvelope> {
    for event in &mut events {
        if let CustomerEvent::StatusChanged { reason: slot, .. } = &mut event.event {
            *slot = reason.map(str::to_owned);
        }
    }
    events
}

/// Items of a batch whose e-mail, IIN or BIN repeats an earlier item.
fn batch_repeats(customers: &[Customer]) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    let mut seen: HashMap<(UniqueField, String), usize> = HashMap::new();
    for (index, customer) in customers.iter().enumerate() {
        let values = [
            (UniqueField::Email, Some(customer.email.as_str())),
            (UniqueField::Iin, customer.iin.as_ref().map(|v| v.as_str())),
            (UniqueField::Bin, customer.bin.as_ref().map(|v| v.as_str())),
        ];
        for (field, value) in values {
            let Some(value) = value else { continue };
            if let Some(first) = seen.get(&(field, value.to_owned())) {
                errors.push(format!("[{index}].{field}"), format!("repeats item [{first}]"));
            } else {
                seen.insert((field, value.to_owned()), index);
            }
        }
    }
    errors
}
