//! Ports: what the domain needs from the outside world. Adapters live in `customers-infra`.
//!
//! Every port is object-safe and `Send + Sync`; with the `mocks` feature (and in this crate's
//! tests) mockall generates `Mock*` implementations.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::UniqueField;
use crate::events::EventEnvelope;
use crate::ids::{CustomerId, OrganizationId, Scope};
use crate::model::Customer;
use crate::query::{CustomerQuery, Page};

/// A failure of a storage port that the domain can act on.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A unique index refused the write: the field's value belongs to another live customer
    /// of the same organization.
    #[error("duplicate {0}")]
    Duplicate(UniqueField),
    /// No such customer in the scope.
    #[error("not found")]
    NotFound,
    /// The stored version is not the expected one: someone else wrote first.
    #[error("version conflict")]
    VersionConflict,
    /// Anything else (connection lost, bug). Logged, never shown to clients.
    #[error("storage failure: {0}")]
    Unexpected(String),
}

/// Customers storage: one customer aggregate (with contacts and addresses) per call, each call
/// one transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync + 'static {
    /// Stores a new customer with its contacts and addresses, all or nothing.
    ///
    /// MUST return [`RepositoryError::Duplicate`] naming the field when the e-mail
    /// (case-insensitive), IIN or BIN already belongs to a customer of the same organization,
    /// enforced by the store itself (unique indexes), so that concurrent inserts cannot both win.
    async fn insert(&self, customer: &Customer) -> Result<(), RepositoryError>;

    /// The customer with its contacts and addresses; `Ok(None)` when it does not exist in
    /// `scope` (a customer of another workspace or organization is not found).
    async fn get(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>, RepositoryError>;

    /// Replaces the stored customer with `customer` (matched by id within its scope) when its
    /// stored version is `expected_version`; `customer.version` is the new version. Contacts
    /// and addresses are replaced when the matching flag is set, in the same transaction.
    ///
    /// MUST return [`RepositoryError::VersionConflict`] when the stored version differs,
    /// [`RepositoryError::NotFound`] when the customer is gone, and
    /// [`RepositoryError::Duplicate`] as [`CustomerRepository::insert`] does.
    async fn update(
        &self,
        customer: &Customer,
        expected_version: i64,
        replace_contacts: bool,
        replace_addresses: bool,
    ) -> Result<(), RepositoryError>;

    /// Deletes the customer with its contacts, addresses and notes. `Ok(false)` when there
    /// was nothing to delete in `scope`.
    async fn delete(&self, scope: Scope, id: CustomerId) -> Result<bool, RepositoryError>;

    /// The customer of `organization` holding `value` in `field` (e-mail compared lower-case),
    /// with the scope it lives in.
    async fn find_by_unique(
        &self,
        organization: OrganizationId,
        field: UniqueField,
        value: &str,
    ) -> Result<Option<(Scope, CustomerId)>, RepositoryError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), RepositoryError>;
}

/// Finds customers for the list endpoint.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerSearch: Send + Sync + 'static {
    /// One page of the customers of `scope` matching `query`, in its order (ties by id), each
    /// with contacts and addresses, and the total number of matches.
    async fn search(&self, scope: Scope, query: &CustomerQuery) -> Result<Page<Customer>, RepositoryError>;
}

/// A failure of the cache. The service treats it as a miss and carries on.
#[derive(Debug, thiserror::Error)]
#[error("cache failure: {0}")]
pub struct CacheError(pub String);

/// A cache of customers by id. Entries may vanish at any time, but a stale copy must never be
/// served once [`CustomerCache::invalidate`] has returned: a reader that loaded the old version
/// before a write committed may try to `put` it afterwards, and that `put` MUST be ignored.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerCache: Send + Sync + 'static {
    /// The cached customer, if any.
    async fn get(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>, CacheError>;
    /// Caches the customer (keyed by its own scope and id). MUST NOT replace a newer cached
    /// version, and MUST ignore versions covered by an earlier [`CustomerCache::invalidate`].
    async fn put(&self, customer: &Customer) -> Result<(), CacheError>;
    /// Forgets the customer and refuses later `put`s of versions up to `stale_up_to`
    /// (`i64::MAX` after a delete).
    async fn invalidate(&self, scope: Scope, id: CustomerId, stale_up_to: i64) -> Result<(), CacheError>;
}

/// A failure to hand events over.
#[derive(Debug, thiserror::Error)]
#[error("event publishing failed: {0}")]
pub struct PublishError(pub String);

/// Hands domain events to the rest of the ERP, in the given order.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    /// Publishes the events of one committed change.
    async fn publish(&self, events: Vec<EventEnvelope>) -> Result<(), PublishError>;
}

/// The current time, injectable for tests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, truncated to microseconds (what every database stores).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
    }
}
