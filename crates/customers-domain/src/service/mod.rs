//! The use cases of the customers module, generic over the ports.
//!
//! - this file: the service, create/get/list/update/delete, and the write loop every change
//!   goes through (optimistic concurrency with retries, or `If-Match`);
//! - [`parts`]: contacts, addresses and notes;
//! - [`lifecycle`]: status, conversion, duplicates, merge, bulk operations, restore, purge;
//! - [`cache`]: reads through the cache, and its invalidation after every committed write;
//! - [`clv`]: the workspace's lifetime value models (fit, stored fit, daily refit) and one
//!   customer's predictions.

mod analytics;
mod cache;
mod clv;
mod insights;
mod integration;
mod lifecycle;
mod metrics;
mod parts;

pub use analytics::SegmentCounts;
pub use clv::AsOf;
pub use insights::CustomerInsights;
pub use integration::Ingested;
pub use lifecycle::{BulkDeleteOutcome, ConvertLead, DuplicateCheck, DuplicateMatch, DuplicateReport, SuggestedAction};

use time::{Duration, OffsetDateTime};
use tracing::warn;

use crate::commands::{CustomerChanges, NewCustomer};
use crate::error::{CustomerError, UniqueField, ValidationErrors};
use crate::events::{CustomerEvent, EventEnvelope, diff};
use crate::ids::{CustomerId, Scope, UserId};
use crate::lifecycle::status::check_transition;
use crate::model::{Customer, CustomerType};
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, RepositoryError};
use crate::query::{CustomerList, CustomerQuery};

/// How many times a write is retried when another write changed the customer meanwhile.
const UPDATE_ATTEMPTS: usize = 5;

/// How long a deleted customer can be restored by default.
pub const DEFAULT_RETENTION: Duration = Duration::days(30);

/// Which child sets a write replaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Children {
    pub(crate) contacts: bool,
    pub(crate) addresses: bool,
}

/// The customers use cases.
#[derive(Debug, Clone)]
pub struct CustomerService<R, S, C, E, K> {
    repository: R,
    search: S,
    cache: C,
    events: E,
    clock: K,
    retention: Duration,
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// Wires the service to its adapters.
    pub fn new(repository: R, search: S, cache: C, events: E, clock: K) -> Self {
        Self {
            repository,
            search,
            cache,
            events,
            clock,
            retention: DEFAULT_RETENTION,
        }
    }

    /// How long deleted customers can be restored before they are purged.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The restore window.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Creates a customer with its contacts and addresses in one transaction.
    ///
    /// Errors: [`CustomerError::Duplicate`] when the e-mail, IIN or BIN is taken in the
    /// organization.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id))]
    pub async fn create(&self, scope: Scope, actor: UserId, input: NewCustomer) -> Result<Customer, CustomerError> {
        let now = self.clock.now();
        let customer = input.into_customer(scope, actor, now);
        let events = creation_events(&customer, actor, now, None);
        match self.repository.insert(&customer, &events).await {
            Ok(()) => self.bump(scope).await,
            Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &customer).await),
            Err(other) => {
                // The outcome is unknown (the commit may have happened).
                self.bump(scope).await;
                return Err(internal(other));
            }
        }
        self.publish(events).await;
        Ok(customer)
    }

    /// The customer with its contacts and addresses.
    ///
    /// Errors: [`CustomerError::NotFound`], also for a customer of another workspace.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn get(&self, scope: Scope, id: CustomerId) -> Result<Customer, CustomerError> {
        self.cached_customer(scope, id).await
    }

    /// One page of the workspace's customers.
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id))]
    pub async fn list(&self, scope: Scope, query: &CustomerQuery) -> Result<CustomerList, CustomerError> {
        if let Some(segment) = query.filter.segment {
            // Membership depends on the time of the query: resolved now, never cached.
            let rules = self.segment_rules(scope).await?;
            let mut resolved = query.clone();
            resolved.segment_condition = Some(crate::analytics::segment::segment_condition(
                segment,
                &rules,
                self.clock.now(),
            ));
            return self.search.search(scope, &resolved).await.map_err(internal);
        }
        self.cached_list(scope, query, "", || self.search.search(scope, query))
            .await
    }

    /// A list page as `render` renders it (the HTTP response body, say), cached as rendered
    /// under the workspace's generation like [`list`](Self::list): a hit skips storage, the
    /// page's rebuilding and its rendering. `format` names the rendering and is part of the
    /// cache key, so that two renderings never share an entry; an entry also records its
    /// scope and is never served to another.
    pub async fn list_rendered(
        &self,
        scope: Scope,
        query: &CustomerQuery,
        format: &str,
        render: impl FnOnce(CustomerList) -> String,
    ) -> Result<String, CustomerError> {
        if query.filter.segment.is_some() {
            return Ok(render(self.list(scope, query).await?));
        }
        let page: cache::RenderedPage = self
            .cached_list(scope, query, &format!("rendered:{format}:"), || async {
                let list = self.search.search(scope, query).await?;
                Ok(cache::RenderedPage {
                    scope,
                    body: render(list),
                })
            })
            .await?;
        Ok(page.body)
    }

    /// Applies `changes`; contacts and addresses, when given, replace the sets. A status
    /// change must follow the transition table. With `expected_version` (`If-Match`) the write
    /// happens only on that version; without, it is retried on concurrent writes, so no change
    /// made meanwhile is lost.
    ///
    /// Errors: [`CustomerError::NotFound`], [`CustomerError::Invalid`] when the result breaks a
    /// rule (a BIN on an individual), [`CustomerError::Transition`], [`CustomerError::Duplicate`],
    /// [`CustomerError::PreconditionFailed`], [`CustomerError::Contention`].
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn update(
        &self,
        scope: Scope,
        actor: UserId,
        id: CustomerId,
        changes: CustomerChanges,
        expected_version: Option<i64>,
    ) -> Result<Customer, CustomerError> {
        let children = Children {
            contacts: changes.contacts.is_some(),
            addresses: changes.addresses.is_some(),
        };
        let (_, after) = self
            .write(
                scope,
                actor,
                id,
                expected_version,
                children,
                |current, now| apply_changes(current, &changes, now),
                change_events,
            )
            .await?;
        Ok(after)
    }

    /// Deletes the customer (softly: it can be restored within the retention window).
    ///
    /// Errors: [`CustomerError::NotFound`].
    #[tracing::instrument(skip_all, fields(workspace_id = %scope.workspace_id, customer_id = %id))]
    pub async fn delete(&self, scope: Scope, actor: UserId, id: CustomerId) -> Result<(), CustomerError> {
        let outcome = self.bulk_delete(scope, actor, &[id]).await?;
        if outcome.deleted.is_empty() {
            return Err(CustomerError::NotFound);
        }
        Ok(())
    }

    /// Whether the storage answers (for the readiness probe).
    pub async fn ready(&self) -> Result<(), CustomerError> {
        self.repository.ping().await.map_err(internal)
    }

    /// The live customer, from storage.
    async fn load(&self, scope: Scope, id: CustomerId) -> Result<Customer, CustomerError> {
        self.repository
            .get(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)
    }

    /// The write loop of every change to one customer: read, `change` (pure), write with the
    /// events `describe` gives for the change, if the version is still the one read; then hand
    /// the events on. Returns the customer before and after.
    #[allow(clippy::too_many_arguments)] // the write's target, guard, change and events
    pub(crate) async fn write<F, D>(
        &self,
        scope: Scope,
        actor: UserId,
        id: CustomerId,
        expected_version: Option<i64>,
        children: Children,
        change: F,
        describe: D,
    ) -> Result<(Customer, Customer), CustomerError>
    where
        F: Fn(&Customer, OffsetDateTime) -> Result<Customer, CustomerError>,
        D: Fn(&Customer, &Customer, UserId, OffsetDateTime) -> Vec<EventEnvelope>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.load(scope, id).await?;
            if let Some(expected) = expected_version
                && expected != current.version
            {
                return Err(CustomerError::PreconditionFailed {
                    current_version: current.version,
                });
            }
            let now = self.clock.now();
            let mut next = change(&current, now)?;
            record_conversion(&current, &mut next, now);
            if next.status != current.status || next.rating != current.rating {
                // Both feed the lifetime value estimate.
                next.lifetime_value = crate::lifecycle::ltv::lifetime_value(
                    next.total_purchases,
                    next.purchase_count,
                    next.first_purchase_date,
                    next.created_at,
                    next.status,
                    next.rating,
                    now,
                );
            }
            if next == current {
                // Nothing changes: no write, no new version (an ETag stays valid).
                return Ok((current.clone(), current));
            }
            next.version = current.version + 1;
            next.updated_at = now;
            next.updated_by = Some(actor);
            let events = describe(&current, &next, actor, now);
            match self
                .repository
                .update(&next, current.version, children.contacts, children.addresses, &events)
                .await
            {
                Ok(()) => {
                    self.bump(scope).await;
                    self.publish(events).await;
                    return Ok((current, next));
                }
                Err(RepositoryError::VersionConflict) if expected_version.is_none() => continue,
                Err(RepositoryError::VersionConflict) => {
                    let current_version = self.load(scope, id).await?.version;
                    return Err(CustomerError::PreconditionFailed { current_version });
                }
                Err(RepositoryError::NotFound) => return Err(CustomerError::NotFound),
                Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &next).await),
                Err(other) => {
                    // The outcome is unknown (the commit may have happened).
                    self.bump(scope).await;
                    return Err(internal(other));
                }
            }
        }
        Err(CustomerError::Contention)
    }

    pub(crate) async fn publish(&self, events: Vec<EventEnvelope>) {
        if events.is_empty() {
            return;
        }
        if let Err(err) = self.events.publish(events).await {
            warn!("event publishing failed: {err}");
        }
    }

    /// Which of e-mail, IIN and BIN of `customer` another live customer of the organization
    /// holds, first one first, with that customer's id when it lives in `scope` (ids of other
    /// workspaces are not disclosed).
    pub(crate) async fn taken_field(
        &self,
        scope: Scope,
        customer: &Customer,
    ) -> Result<Option<(UniqueField, Option<CustomerId>)>, CustomerError> {
        let candidates = [
            (UniqueField::Email, Some(customer.email.as_str())),
            (UniqueField::Iin, customer.iin.as_ref().map(|v| v.as_str())),
            (UniqueField::Bin, customer.bin.as_ref().map(|v| v.as_str())),
        ];
        for (field, value) in candidates {
            let Some(value) = value else { continue };
            let holder = self
                .repository
                .find_by_unique(scope.organization_id, field, value)
                .await
                .map_err(internal)?;
            if let Some((holder_scope, holder)) = holder
                && holder != customer.id
            {
                return Ok(Some((field, (holder_scope == scope).then_some(holder))));
            }
        }
        Ok(None)
    }

    /// For each customer of a new batch whose e-mail, IIN or BIN another live customer of the
    /// organization holds: its index and the first such field (in that order), with the
    /// holder's id when it lives in `scope`. One query per field for the whole batch.
    pub(crate) async fn taken_in_batch(
        &self,
        scope: Scope,
        customers: &[Customer],
    ) -> Result<Vec<(usize, UniqueField, Option<CustomerId>)>, CustomerError> {
        /// Reads a unique field of a customer, as stored.
        type ValueOf = fn(&Customer) -> Option<String>;
        let fields: [(UniqueField, ValueOf); 3] = [
            (UniqueField::Email, |c| Some(c.email.as_str().to_lowercase())),
            (UniqueField::Iin, |c| c.iin.as_ref().map(|v| v.as_str().to_owned())),
            (UniqueField::Bin, |c| c.bin.as_ref().map(|v| v.as_str().to_owned())),
        ];
        let mut holders = Vec::with_capacity(fields.len());
        for (field, value_of) in &fields {
            let values: Vec<String> = customers.iter().filter_map(value_of).collect();
            let found = if values.is_empty() {
                Vec::new()
            } else {
                self.repository
                    .find_all_by_unique(scope.organization_id, *field, &values)
                    .await
                    .map_err(internal)?
            };
            holders.push(found);
        }
        let mut taken = Vec::new();
        for (index, customer) in customers.iter().enumerate() {
            let first = fields.iter().zip(&holders).find_map(|((field, value_of), found)| {
                let value = value_of(customer)?;
                found
                    .iter()
                    .find(|(held, _, holder)| *held == value && *holder != customer.id)
                    .map(|(_, holder_scope, holder)| (*field, (*holder_scope == scope).then_some(*holder)))
            });
            if let Some((field, existing)) = first {
                taken.push((index, field, existing));
            }
        }
        Ok(taken)
    }

    /// Builds the duplicate error for a write refused by a unique index. The field reported is
    /// the first taken of e-mail, IIN and BIN (whichever index the store happened to check
    /// first).
    pub(crate) async fn duplicate(&self, scope: Scope, refused: UniqueField, customer: &Customer) -> CustomerError {
        match self.taken_field(scope, customer).await {
            Ok(Some((field, existing_id))) => CustomerError::Duplicate { field, existing_id },
            _ => CustomerError::Duplicate {
                field: refused,
                existing_id: None,
            },
        }
    }
}

pub(crate) fn internal(err: RepositoryError) -> CustomerError {
    CustomerError::Internal(err.to_string())
}

/// The events of a new customer: `customer.created`, and `customer.assigned` when it has a
/// manager.
pub(crate) fn creation_events(
    customer: &Customer,
    actor: UserId,
    now: OffsetDateTime,
    source: Option<&str>,
) -> Vec<EventEnvelope> {
    let mut events = vec![EventEnvelope::new(
        customer,
        actor,
        now,
        CustomerEvent::Created {
            customer_type: customer.customer_type,
            status: customer.status,
            created_by: actor,
            source: source.map(str::to_owned),
        },
    )];
    if customer.assigned_to.is_some() {
        events.push(EventEnvelope::new(
            customer,
            actor,
            now,
            CustomerEvent::Assigned {
                assigned_to: customer.assigned_to,
                assigned_by: actor,
            },
        ));
    }
    events
}

/// The customer after `changes` (the caller stamps the new version); pure.
///
/// Errors: [`CustomerError::Invalid`] when the result would break a rule that spans fields,
/// [`CustomerError::Transition`] for a status move the transition table forbids.
pub fn apply_changes(
    current: &Customer,
    changes: &CustomerChanges,
    now: OffsetDateTime,
) -> Result<Customer, CustomerError> {
    let mut next = current.clone();
    let c = changes.clone();
    if let Some(v) = c.customer_type {
        next.customer_type = v;
    }
    if let Some(v) = c.name {
        next.name = v;
    }
    if let Some(v) = c.email {
        next.email = v;
    }
    if let Some(v) = c.phone {
        next.phone = v;
    }
    if let Some(v) = c.iin {
        next.iin = v;
    }
    if let Some(v) = c.bin {
        next.bin = v;
    }
    if let Some(v) = c.company_name {
        next.company_name = v;
    }
    if let Some(v) = c.company_size {
        next.company_size = v;
    }
    if let Some(v) = c.industry {
        next.industry = v;
    }
    if let Some(v) = c.credit_limit {
        next.credit_limit = v;
    }
    if let Some(v) = c.status {
        check_transition(current.status, v).map_err(CustomerError::Transition)?;
        next.status = v;
    }
    if let Some(v) = c.lead_source {
        next.lead_source = v;
    }
    if let Some(v) = c.custom_fields {
        next.custom_fields = v;
    }
    if let Some(v) = c.tags {
        next.tags = v;
    }
    if let Some(v) = c.assigned_to {
        next.assigned_to = v;
    }
    if let Some(v) = c.rating {
        next.rating = v;
    }
    if let Some(v) = c.is_active {
        next.is_active = v;
    }
    if let Some(v) = c.current_balance {
        next.current_balance = v;
    }
    if let Some(contacts) = c.contacts {
        next.contacts = contacts.into_iter().map(|x| x.into_contact(current.id, now)).collect();
    }
    if let Some(addresses) = c.addresses {
        next.addresses = addresses.into_iter().map(|x| x.into_address(current.id, now)).collect();
    }
    if next.customer_type == CustomerType::Individual && next.bin.is_some() {
        let field = if changes.customer_type.is_some() { "type" } else { "bin" };
        return Err(CustomerError::Invalid(ValidationErrors::single(
            field,
            "an INDIVIDUAL customer cannot have a BIN; clear the BIN or keep the type COMPANY",
        )));
    }
    Ok(next)
}

/// `customer.status.changed` (with `reason`) when the status moved, then
/// `customer.lead.converted` when the move converted a lead.
pub(crate) fn status_events(
    before: &Customer,
    after: &Customer,
    actor: UserId,
    now: OffsetDateTime,
    reason: Option<String>,
) -> Vec<EventEnvelope> {
    let mut events = Vec::new();
    if before.status != after.status {
        events.push(EventEnvelope::new(
            after,
            actor,
            now,
            CustomerEvent::StatusChanged {
                previous_status: before.status,
                new_status: after.status,
                changed_by: actor,
                reason,
            },
        ));
    }
    if is_conversion(before, after) {
        events.push(EventEnvelope::new(
            after,
            actor,
            now,
            CustomerEvent::LeadConverted {
                previous_status: before.status,
                new_status: after.status,
                converted_by: actor,
            },
        ));
    }
    events
}

/// A LEAD or PROSPECT that becomes ACTIVE, by whatever route, was converted now.
fn record_conversion(before: &Customer, after: &mut Customer, now: OffsetDateTime) {
    if is_conversion(before, after) && after.converted_at.is_none() {
        after.converted_at = Some(now);
    }
}

/// Whether a change takes a lead (LEAD or PROSPECT) to ACTIVE.
pub(crate) fn is_conversion(before: &Customer, after: &Customer) -> bool {
    crate::lifecycle::status::can_convert(before.status) && after.status == crate::model::CustomerStatus::Active
}

/// The events of an update: `customer.updated` with the diff, plus `customer.status.changed`
/// and `customer.assigned` when those fields moved. Nothing when nothing changed.
pub(crate) fn change_events(
    before: &Customer,
    after: &Customer,
    actor: UserId,
    now: OffsetDateTime,
) -> Vec<EventEnvelope> {
    let changes = diff(before, after);
    if changes.is_empty() {
        return Vec::new();
    }
    let mut events = vec![EventEnvelope::new(
        after,
        actor,
        now,
        CustomerEvent::Updated {
            changes,
            updated_by: actor,
            cause: None,
        },
    )];
    events.extend(status_events(before, after, actor, now, None));
    if before.assigned_to != after.assigned_to {
        events.push(EventEnvelope::new(
            after,
            actor,
            now,
            CustomerEvent::Assigned {
                assigned_to: after.assigned_to,
                assigned_by: actor,
            },
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use mockall::predicate::always;
    use time::macros::datetime;

    use super::*;
    use crate::commands::{CustomerChangesDraft, CustomerDraft};
    use crate::ids::{OrganizationId, WorkspaceId};
    use crate::model::{CustomerStatus, CustomerType};
    use crate::ports::{
        CacheError, MockClock, MockCustomerCache, MockCustomerRepository, MockCustomerSearch, MockEventPublisher,
        PublishError,
    };

    type Svc =
        CustomerService<MockCustomerRepository, MockCustomerSearch, MockCustomerCache, MockEventPublisher, MockClock>;

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);

    fn scope() -> Scope {
        Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(2)),
        )
    }

    fn actor() -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(3))
    }

    fn clock() -> MockClock {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        clock
    }

    fn quiet_cache() -> MockCustomerCache {
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(1));
        cache.expect_get_customer().returning(|_, _, _| Ok(None));
        cache.expect_put_customer().returning(|_, _, _| Ok(()));
        cache.expect_get_page().returning(|_, _, _| Ok(None));
        cache.expect_put_page().returning(|_, _, _, _| Ok(()));
        cache.expect_bump().returning(|_| Ok(()));
        cache
    }

    fn recording_events() -> (MockEventPublisher, Arc<Mutex<Vec<EventEnvelope>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let mut events = MockEventPublisher::new();
        events.expect_publish().returning(move |batch| {
            sink.lock().unwrap().extend(batch);
            Ok(())
        });
        (events, seen)
    }

    fn new_customer() -> NewCustomer {
        CustomerDraft {
            bin: Some("971240001315".into()),
            assigned_to: Some(uuid::Uuid::from_u128(9)),
            ..CustomerDraft::new(CustomerType::Company, "ТОО Альфа", "info@alpha.kz")
        }
        .parse()
        .unwrap()
    }

    async fn existing(service_scope: Scope) -> Customer {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().returning(|_, _| Ok(()));
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        service.create(service_scope, actor(), new_customer()).await.unwrap()
    }

    #[tokio::test]
    async fn create_builds_the_aggregate_and_announces_it() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .withf(|c, _| {
                c.scope() == scope() && c.version == 1 && c.created_at == NOW && c.status == CustomerStatus::Lead
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let (events, seen) = recording_events();
        let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), quiet_cache(), events, clock());
        let customer = service.create(scope(), actor(), new_customer()).await.unwrap();
        assert_eq!(customer.created_by, Some(actor()));
        let types: Vec<_> = seen.lock().unwrap().iter().map(|e| e.event.type_name()).collect();
        assert_eq!(types, vec!["customer.created", "customer.assigned"]);
    }

    #[tokio::test]
    async fn duplicates_name_the_existing_customer_only_inside_the_workspace() {
        let other_workspace = Scope::new(
            scope().organization_id,
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(77)),
        );
        for (holder_scope, expect_visible) in [(scope(), true), (other_workspace, false)] {
            let holder = CustomerId::from_uuid(uuid::Uuid::from_u128(42));
            let mut repo = MockCustomerRepository::new();
            repo.expect_insert()
                .returning(|_, _| Err(RepositoryError::Duplicate(UniqueField::Bin)));
            repo.expect_find_by_unique()
                .with(
                    always(),
                    mockall::predicate::eq(UniqueField::Bin),
                    mockall::predicate::eq("971240001315"),
                )
                .returning(move |_, _, _| Ok(Some((holder_scope, holder))));
            repo.expect_find_by_unique()
                .with(always(), mockall::predicate::eq(UniqueField::Email), always())
                .returning(|_, _, _| Ok(None));
            let mut events = MockEventPublisher::new();
            events.expect_publish().never();
            let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), quiet_cache(), events, clock());
            match service.create(scope(), actor(), new_customer()).await {
                Err(CustomerError::Duplicate { field, existing_id }) => {
                    assert_eq!(field, UniqueField::Bin);
                    assert_eq!(existing_id, expect_visible.then_some(holder));
                }
                other => panic!("expected a duplicate, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_email_is_reported_first_whatever_index_refused_the_write() {
        let holder = CustomerId::from_uuid(uuid::Uuid::from_u128(43));
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .returning(|_, _| Err(RepositoryError::Duplicate(UniqueField::Bin)));
        repo.expect_find_by_unique()
            .with(always(), mockall::predicate::eq(UniqueField::Email), always())
            .returning(move |_, _, _| Ok(Some((scope(), holder))));
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        match service.create(scope(), actor(), new_customer()).await {
            Err(CustomerError::Duplicate { field, existing_id }) => {
                assert_eq!((field, existing_id), (UniqueField::Email, Some(holder)));
            }
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn get_serves_from_cache_and_falls_back_to_storage() {
        let customer = existing(scope()).await;
        let cached = customer.clone();
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(7));
        cache
            .expect_get_customer()
            .with(always(), mockall::predicate::eq(7), always())
            .times(1)
            .returning(move |_, _, _| Ok(Some(cached.clone())));
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().never();
        let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), cache, recording_events().0, clock());
        assert_eq!(service.get(scope(), customer.id).await.unwrap(), customer);

        // A broken cache is a miss, not a failure.
        let stored = customer.clone();
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(7));
        cache
            .expect_get_customer()
            .returning(|_, _, _| Err(CacheError("down".into())));
        cache
            .expect_put_customer()
            .times(1)
            .returning(|_, _, _| Err(CacheError("down".into())));
        let mut repo = MockCustomerRepository::new();
        repo.expect_get()
            .times(1)
            .returning(move |_, _| Ok(Some(stored.clone())));
        let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), cache, recording_events().0, clock());
        assert_eq!(service.get(scope(), customer.id).await.unwrap(), customer);
    }

    #[tokio::test]
    async fn get_of_a_missing_customer_is_not_found() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(|_, _| Ok(None));
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        assert!(matches!(
            service.get(scope(), CustomerId::new()).await,
            Err(CustomerError::NotFound)
        ));
    }

    #[tokio::test]
    async fn update_retries_after_a_concurrent_write_and_reports_the_diff() {
        let customer = existing(scope()).await;
        let stored = customer.clone();
        let attempts = Arc::new(Mutex::new(0));
        let counter = attempts.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(stored.clone())));
        repo.expect_update()
            .times(2)
            .returning(move |updated, expected, contacts, addresses, _| {
                assert_eq!((expected, updated.version, contacts, addresses), (1, 2, false, false));
                let mut n = counter.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Err(RepositoryError::VersionConflict)
                } else {
                    Ok(())
                }
            });
        let (events, seen) = recording_events();
        let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), quiet_cache(), events, clock());
        let changes = CustomerChangesDraft {
            name: Some("ТОО Бета".into()),
            status: Some(CustomerStatus::Active),
            ..Default::default()
        }
        .parse()
        .unwrap();
        let updated = service
            .update(scope(), actor(), customer.id, changes, None)
            .await
            .unwrap();
        assert_eq!(updated.name, "ТОО Бета");
        assert_eq!(*attempts.lock().unwrap(), 2);
        let seen = seen.lock().unwrap();
        let types: Vec<_> = seen.iter().map(|e| e.event.type_name()).collect();
        assert_eq!(
            types,
            vec!["customer.updated", "customer.status.changed", "customer.lead.converted"]
        );
        match &seen[0].event {
            CustomerEvent::Updated { changes, .. } => {
                let keys: Vec<_> = changes.keys().map(String::as_str).collect();
                assert_eq!(keys, vec!["convertedAt", "name", "status"]);
                assert_eq!(changes["name"].old, serde_json::json!("ТОО Альфа"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn update_gives_up_after_repeated_conflicts() {
        let customer = existing(scope()).await;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_update()
            .times(UPDATE_ATTEMPTS)
            .returning(|_, _, _, _, _| Err(RepositoryError::VersionConflict));
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        let result = service
            .update(
                scope(),
                actor(),
                CustomerId::new(),
                CustomerChanges {
                    name: Some("ТОО Гамма".into()),
                    ..Default::default()
                },
                None,
            )
            .await;
        assert!(matches!(result, Err(CustomerError::Contention)));
    }

    #[tokio::test]
    async fn update_refuses_a_bin_on_an_individual() {
        let customer = existing(scope()).await;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_update().never();
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        let changes = CustomerChanges {
            customer_type: Some(CustomerType::Individual),
            ..Default::default()
        };
        match service.update(scope(), actor(), CustomerId::new(), changes, None).await {
            Err(CustomerError::Invalid(errors)) => assert_eq!(errors.errors()[0].field, "type"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn delete_bumps_the_cache_generation_and_survives_a_publisher_failure() {
        let customer = existing(scope()).await;
        let id = customer.id;
        let mut sequence = mockall::Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_soft_delete()
            .withf(move |_, ids, at, by, events| ids == [id] && *at == NOW && *by == actor() && events.len() == 1)
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, ids, _, _, _| Ok(ids.to_vec()));
        let mut cache = MockCustomerCache::new();
        cache
            .expect_bump()
            .with(mockall::predicate::eq(scope()))
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(()));
        let mut events = MockEventPublisher::new();
        events
            .expect_publish()
            .times(1)
            .returning(|_| Err(PublishError("broker down".into())));
        let service: Svc = CustomerService::new(repo, MockCustomerSearch::new(), cache, events, clock());
        service.delete(scope(), actor(), id).await.unwrap();

        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(|_, _| Ok(None));
        repo.expect_soft_delete().returning(|_, _, _, _, _| Ok(Vec::new()));
        let service: Svc = CustomerService::new(
            repo,
            MockCustomerSearch::new(),
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        assert!(matches!(
            service.delete(scope(), actor(), id).await,
            Err(CustomerError::NotFound)
        ));
    }

    #[tokio::test]
    async fn storage_failures_become_internal_errors() {
        let mut search = MockCustomerSearch::new();
        search
            .expect_search()
            .returning(|_, _| Err(RepositoryError::Unexpected("connection reset".into())));
        let service: Svc = CustomerService::new(
            MockCustomerRepository::new(),
            search,
            quiet_cache(),
            recording_events().0,
            clock(),
        );
        let result = service.list(scope(), &crate::query::CustomerQuery::default()).await;
        assert!(matches!(result, Err(CustomerError::Internal(m)) if m.contains("connection reset")));
    }

    // --- lifecycle ---------------------------------------------------------------------------

    fn storing_repo(customer: Customer) -> MockCustomerRepository {
        let stored = Arc::new(Mutex::new(customer));
        let reader = stored.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(reader.lock().unwrap().clone())));
        repo.expect_update().returning(move |updated, expected, _, _, _| {
            let mut current = stored.lock().unwrap();
            if current.version != expected {
                return Err(RepositoryError::VersionConflict);
            }
            *current = updated.clone();
            Ok(())
        });
        repo
    }

    fn service_with(repo: MockCustomerRepository) -> (Svc, Arc<Mutex<Vec<EventEnvelope>>>) {
        let (events, seen) = recording_events();
        let service = CustomerService::new(repo, MockCustomerSearch::new(), quiet_cache(), events, clock());
        (service, seen)
    }

    fn types(seen: &Arc<Mutex<Vec<EventEnvelope>>>) -> Vec<&'static str> {
        seen.lock().unwrap().iter().map(|e| e.event.type_name()).collect()
    }

    #[tokio::test]
    async fn a_forbidden_status_change_lists_the_allowed_targets_and_writes_nothing() {
        let mut customer = existing(scope()).await;
        customer.status = CustomerStatus::Active;
        let id = customer.id;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_update().never();
        let (service, seen) = service_with(repo);
        match service
            .change_status(scope(), actor(), id, CustomerStatus::Lead, None, None)
            .await
        {
            Err(CustomerError::Transition(err)) => {
                assert_eq!(err.allowed, &[CustomerStatus::Inactive, CustomerStatus::Churned]);
            }
            other => panic!("expected a refused transition, got {other:?}"),
        }
        assert!(types(&seen).is_empty());
    }

    #[tokio::test]
    async fn a_status_change_records_the_reason() {
        let customer = existing(scope()).await;
        let id = customer.id;
        let (service, seen) = service_with(storing_repo(customer));
        let changed = service
            .change_status(
                scope(),
                actor(),
                id,
                CustomerStatus::Prospect,
                Some("qualified".into()),
                None,
            )
            .await
            .unwrap();
        assert_eq!((changed.status, changed.version), (CustomerStatus::Prospect, 2));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].event.type_name(), "customer.updated");
        match &seen[1].event {
            CustomerEvent::StatusChanged { reason, new_status, .. } => {
                assert_eq!(
                    (reason.as_deref(), *new_status),
                    (Some("qualified"), CustomerStatus::Prospect)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_stale_if_match_is_a_failed_precondition() {
        let customer = existing(scope()).await;
        let id = customer.id;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_update().never();
        let (service, _) = service_with(repo);
        let result = service
            .change_status(scope(), actor(), id, CustomerStatus::Prospect, None, Some(7))
            .await;
        assert!(matches!(
            result,
            Err(CustomerError::PreconditionFailed { current_version: 1 })
        ));
    }

    #[tokio::test]
    async fn conversion_takes_a_prospect_to_active_and_asks_for_a_deal() {
        let mut customer = existing(scope()).await;
        customer.status = CustomerStatus::Prospect;
        let id = customer.id;
        let manager = UserId::new();
        let (service, seen) = service_with(storing_repo(customer));
        let input = ConvertLead {
            assigned_to: Some(manager),
            create_deal: true,
            deal_title: None,
            deal_value: Some(crate::money::Money::parse(rust_decimal::Decimal::from(1_000_000)).unwrap()),
        };
        let converted = service.convert(scope(), actor(), id, input, None).await.unwrap();
        assert_eq!(converted.status, CustomerStatus::Active);
        assert_eq!(converted.converted_at, Some(NOW));
        assert_eq!(converted.assigned_to, Some(manager));
        assert_eq!(
            types(&seen),
            vec![
                "customer.updated",
                "customer.status.changed",
                "customer.lead.converted",
                "customer.assigned",
                "deal.create.requested"
            ]
        );
        let seen = seen.lock().unwrap();
        match &seen[4].event {
            CustomerEvent::DealCreateRequested { title, .. } => assert_eq!(title, "Deal with ТОО Альфа"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn only_leads_and_prospects_convert() {
        let mut customer = existing(scope()).await;
        customer.status = CustomerStatus::Churned;
        let id = customer.id;
        let (service, seen) = service_with(storing_repo(customer));
        let result = service
            .convert(scope(), actor(), id, ConvertLead::default(), None)
            .await;
        assert!(matches!(
            result,
            Err(CustomerError::NotConvertible(CustomerStatus::Churned))
        ));
        assert!(types(&seen).is_empty());
    }

    #[tokio::test]
    async fn a_batch_repeating_itself_is_refused_before_any_write() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find_all_by_unique().returning(|_, _, _| Ok(Vec::new()));
        repo.expect_insert_many().never();
        let (service, _) = service_with(repo);
        let batch = vec![new_customer(), new_customer(), new_customer()];
        match service.bulk_create(scope(), actor(), batch).await {
            Err(CustomerError::Conflicts(errors)) => {
                let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["[1].email", "[1].bin", "[2].email", "[2].bin"]);
                assert_eq!(errors.errors()[0].message, "repeats item [0]");
            }
            other => panic!("expected conflicts, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn merge_arguments_are_checked_before_reading() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().never();
        let (service, _) = service_with(repo);
        let primary = CustomerId::new();
        for duplicates in [
            vec![],
            vec![primary],
            (0..11).map(|_| CustomerId::new()).collect::<Vec<_>>(),
        ] {
            let result = service.merge(scope(), actor(), primary, &duplicates, false).await;
            assert!(matches!(result, Err(CustomerError::Invalid(_))), "{duplicates:?}");
        }
    }

    #[tokio::test]
    async fn merge_dry_run_writes_nothing() {
        let primary = existing(scope()).await;
        let mut duplicate = existing(scope()).await;
        duplicate.tags = vec!["vip".into()];
        let (primary_id, duplicate_id) = (primary.id, duplicate.id);
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, id| {
            Ok(Some(if id == primary_id {
                primary.clone()
            } else {
                duplicate.clone()
            }))
        });
        repo.expect_merge().never();
        let (service, seen) = service_with(repo);
        let merged = service
            .merge(scope(), actor(), primary_id, &[duplicate_id], true)
            .await
            .unwrap();
        assert_eq!(merged.id, primary_id);
        assert!(merged.tags.contains(&"vip".to_owned()));
        assert!(types(&seen).is_empty());
    }

    #[tokio::test]
    async fn restore_is_refused_after_the_retention_window() {
        let customer = existing(scope()).await;
        let id = customer.id;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get_deleted()
            .returning(move |_, _| Ok(Some((customer.clone(), NOW - Duration::days(31)))));
        repo.expect_restore().never();
        let (service, _) = service_with(repo);
        assert!(matches!(
            service.restore(scope(), actor(), id).await,
            Err(CustomerError::NotFound)
        ));
    }

    #[tokio::test]
    async fn purge_cuts_at_the_retention_window() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_purge()
            .withf(|before| *before == NOW - Duration::days(10))
            .times(1)
            .returning(|_| Ok(3));
        let (service, _) = service_with(repo);
        let service = service.with_retention(Duration::days(10));
        assert_eq!(service.purge_expired().await.unwrap(), 3);
    }
}
