//! The use cases of the customers module, generic over the ports.

use time::OffsetDateTime;
use tracing::warn;

use crate::commands::{CustomerChanges, NewCustomer};
use crate::error::{CustomerError, UniqueField, ValidationErrors};
use crate::events::{CustomerEvent, EventEnvelope, diff};
use crate::ids::{CustomerId, Scope, UserId};
use crate::model::{Customer, CustomerType, Rating};
use crate::money::Money;
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, RepositoryError};
use crate::query::{CustomerQuery, Page};

/// How many times an update is retried when another write changed the customer meanwhile.
const UPDATE_ATTEMPTS: usize = 5;

/// The customers use cases.
#[derive(Debug, Clone)]
pub struct CustomerService<R, S, C, E, K> {
    repository: R,
    search: S,
    cache: C,
    events: E,
    clock: K,
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
        }
    }

    /// Creates a customer with its contacts and addresses in one transaction.
    ///
    /// Errors: [`CustomerError::Duplicate`] when the e-mail, IIN or BIN is taken in the
    /// organization.
    pub async fn create(&self, scope: Scope, actor: UserId, input: NewCustomer) -> Result<Customer, CustomerError> {
        let now = self.clock.now();
        let id = CustomerId::new();
        let customer = Customer {
            id,
            organization_id: scope.organization_id,
            workspace_id: scope.workspace_id,
            customer_type: input.customer_type,
            status: input.status,
            name: input.name,
            email: input.email,
            phone: input.phone,
            iin: input.iin,
            bin: input.bin,
            company_name: input.company_name,
            company_size: input.company_size,
            industry: input.industry,
            credit_limit: input.credit_limit,
            current_balance: Money::ZERO,
            custom_fields: input.custom_fields,
            tags: input.tags,
            lead_source: input.lead_source,
            first_purchase_date: None,
            last_purchase_date: None,
            total_purchases: Money::ZERO,
            purchase_count: 0,
            lifetime_value: Money::ZERO,
            rating: Rating::DEFAULT,
            assigned_to: input.assigned_to,
            is_active: true,
            contacts: input.contacts.into_iter().map(|c| c.into_contact(id, now)).collect(),
            addresses: input.addresses.into_iter().map(|a| a.into_address(id, now)).collect(),
            version: 1,
            created_at: now,
            updated_at: now,
            created_by: Some(actor),
            updated_by: Some(actor),
        };
        match self.repository.insert(&customer).await {
            Ok(()) => {}
            Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &customer).await),
            Err(other) => return Err(internal(other)),
        }
        let mut events = vec![EventEnvelope::new(
            &customer,
            actor,
            now,
            CustomerEvent::Created {
                customer_type: customer.customer_type,
                status: customer.status,
                created_by: actor,
            },
        )];
        if customer.assigned_to.is_some() {
            events.push(EventEnvelope::new(
                &customer,
                actor,
                now,
                CustomerEvent::Assigned {
                    assigned_to: customer.assigned_to,
                    assigned_by: actor,
                },
            ));
        }
        self.publish(events).await;
        Ok(customer)
    }

    /// The customer with its contacts and addresses.
    ///
    /// Errors: [`CustomerError::NotFound`], also for a customer of another workspace.
    pub async fn get(&self, scope: Scope, id: CustomerId) -> Result<Customer, CustomerError> {
        if let Ok(Some(cached)) = self.cache.get(scope, id).await {
            if cached.scope() == scope {
                return Ok(cached);
            }
        }
        let customer = self
            .repository
            .get(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        if let Err(err) = self.cache.put(&customer).await {
            warn!("cache put failed: {err}");
        }
        Ok(customer)
    }

    /// One page of the workspace's customers.
    pub async fn list(&self, scope: Scope, query: &CustomerQuery) -> Result<Page<Customer>, CustomerError> {
        self.search.search(scope, query).await.map_err(internal)
    }

    /// Applies `changes`; contacts and addresses, when given, replace the sets. Retries on
    /// concurrent writes, so no change made meanwhile is lost.
    ///
    /// Errors: [`CustomerError::NotFound`], [`CustomerError::Invalid`] when the result breaks a
    /// rule (a BIN on an individual), [`CustomerError::Duplicate`], [`CustomerError::Contention`].
    pub async fn update(
        &self,
        scope: Scope,
        actor: UserId,
        id: CustomerId,
        changes: CustomerChanges,
    ) -> Result<Customer, CustomerError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self
                .repository
                .get(scope, id)
                .await
                .map_err(internal)?
                .ok_or(CustomerError::NotFound)?;
            let now = self.clock.now();
            let updated = apply_changes(&current, &changes, actor, now)?;
            let write = self
                .repository
                .update(&updated, current.version, changes.contacts.is_some(), changes.addresses.is_some())
                .await;
            match write {
                Ok(()) => {}
                Err(RepositoryError::VersionConflict) => continue,
                Err(RepositoryError::NotFound) => return Err(CustomerError::NotFound),
                Err(RepositoryError::Duplicate(field)) => return Err(self.duplicate(scope, field, &updated).await),
                Err(other) => return Err(internal(other)),
            }
            self.forget(scope, id).await;
            self.publish(change_events(&current, &updated, actor, now)).await;
            return Ok(updated);
        }
        Err(CustomerError::Contention)
    }

    /// Deletes the customer with its contacts, addresses and notes.
    ///
    /// Errors: [`CustomerError::NotFound`].
    pub async fn delete(&self, scope: Scope, actor: UserId, id: CustomerId) -> Result<(), CustomerError> {
        let customer = self
            .repository
            .get(scope, id)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        if !self.repository.delete(scope, id).await.map_err(internal)? {
            return Err(CustomerError::NotFound);
        }
        self.forget(scope, id).await;
        let now = self.clock.now();
        self.publish(vec![EventEnvelope::new(
            &customer,
            actor,
            now,
            CustomerEvent::Deleted { deleted_by: actor },
        )])
        .await;
        Ok(())
    }

    /// Whether the storage answers (for the readiness probe).
    pub async fn ready(&self) -> Result<(), CustomerError> {
        self.repository.ping().await.map_err(internal)
    }

    async fn forget(&self, scope: Scope, id: CustomerId) {
        if let Err(err) = self.cache.invalidate(scope, id).await {
            warn!("cache invalidation failed: {err}");
        }
    }

    async fn publish(&self, events: Vec<EventEnvelope>) {
        if let Err(err) = self.events.publish(events).await {
            warn!("event publishing failed: {err}");
        }
    }

    /// Builds the duplicate error; the existing customer's id is named only when it lives in
    /// the caller's workspace (ids of other workspaces are not disclosed).
    async fn duplicate(&self, scope: Scope, field: UniqueField, customer: &Customer) -> CustomerError {
        let value = match field {
            UniqueField::Email => Some(customer.email.as_str().to_owned()),
            UniqueField::Iin => customer.iin.as_ref().map(|v| v.as_str().to_owned()),
            UniqueField::Bin => customer.bin.as_ref().map(|v| v.as_str().to_owned()),
        };
        let existing = match value {
            Some(value) => self
                .repository
                .find_by_unique(scope.organization_id, field, &value)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        CustomerError::Duplicate {
            field,
            existing_id: existing.filter(|(s, id)| *s == scope && *id != customer.id).map(|(_, id)| id),
        }
    }
}

fn internal(err: RepositoryError) -> CustomerError {
    CustomerError::Internal(err.to_string())
}

/// The customer after `changes`, with a new version; pure.
///
/// Errors: [`ValidationErrors`] when the result would break a rule that spans fields.
pub fn apply_changes(
    current: &Customer,
    changes: &CustomerChanges,
    actor: UserId,
    now: OffsetDateTime,
) -> Result<Customer, ValidationErrors> {
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
        return Err(ValidationErrors::single(
            field,
            "an INDIVIDUAL customer cannot have a BIN; clear the BIN or keep the type COMPANY",
        ));
    }
    next.version = current.version + 1;
    next.updated_at = now;
    next.updated_by = Some(actor);
    Ok(next)
}

/// The events of an update: `customer.updated` with the diff, plus `customer.status.changed`
/// and `customer.assigned` when those fields moved. Nothing when nothing changed.
fn change_events(before: &Customer, after: &Customer, actor: UserId, now: OffsetDateTime) -> Vec<EventEnvelope> {
    let changes = diff(before, after);
    if changes.is_empty() {
        return Vec::new();
    }
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
            },
        ));
    }
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
    events.insert(
        0,
        EventEnvelope::new(after, actor, now, CustomerEvent::Updated { changes, updated_by: actor }),
    );
    events
}
