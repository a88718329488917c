//! Ports: what the domain needs from the outside world. Adapters live in `customers-infra`.
//!
//! Every port is object-safe and `Send + Sync`; with the `mocks` feature (and in this crate's
//! tests) mockall generates `Mock*` implementations.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::analytics::clv::ClvFit;
use crate::analytics::metrics::{MetricCounts, Period};
use crate::analytics::rfm::{RfmCell, RfmScore};
use crate::analytics::segment::{Condition, Segment, SegmentRules};
use crate::error::UniqueField;
use crate::events::EventEnvelope;
use crate::ids::{CustomerId, NoteId, OrganizationId, Scope, UserId};
use crate::integration::timeline::Activity;
use crate::integration::{DeadLetter, InboundEnvelope, InboundOutcome, Purchase};
use crate::model::{Customer, CustomerNote};
use crate::money::Money;
use crate::query::{CustomerList, CustomerQuery, Page};

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

/// A batch write refused because of item `index`.
#[derive(Debug, thiserror::Error)]
#[error("item {index}: {error}")]
pub struct BatchError {
    /// Position of the refused item in the batch.
    pub index: usize,
    /// Why.
    pub error: RepositoryError,
}

/// What a possible duplicate is looked up by (each field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuplicateProbe {
    /// E-mail, lower-case.
    pub email: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// IIN.
    pub iin: Option<String>,
    /// BIN.
    pub bin: Option<String>,
    /// Sound-folded name tokens, looked up in the stored match keys (see
    /// `lifecycle::names::{match_key, match_tokens}`).
    pub name_tokens: Vec<String>,
}

/// Customers storage: one customer aggregate (with contacts and addresses) per call, each call
/// one transaction.
///
/// Every write takes the domain events it causes and MUST store them in the outbox in the same
/// transaction as the change (only those of customers actually written, for
/// [`CustomerRepository::soft_delete`]): a change is never committed without its events, and an
/// event never without its change.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync + 'static {
    /// Stores a new customer with its contacts and addresses, all or nothing.
    ///
    /// MUST return [`RepositoryError::Duplicate`] naming the field when the e-mail
    /// (case-insensitive), IIN or BIN already belongs to a customer of the same organization,
    /// enforced by the store itself (unique indexes), so that concurrent inserts cannot both win.
    async fn insert(&self, customer: &Customer, events: &[EventEnvelope]) -> Result<(), RepositoryError>;

    /// The live customer with its contacts and addresses; `Ok(None)` when it does not exist in
    /// `scope` (a customer of another workspace or organization, or a deleted one, is not
    /// found).
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
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;

    /// Stores new customers with their contacts and addresses, all or nothing.
    ///
    /// MUST return [`BatchError`] with the index of the first customer whose e-mail, IIN or BIN
    /// is taken (by a live customer of the organization, or by an earlier item of the batch);
    /// nothing is stored then.
    async fn insert_many(&self, customers: &[Customer], events: &[EventEnvelope]) -> Result<(), BatchError>;

    /// Soft-deletes the live customers among `ids` in `scope` at `at`: they disappear from
    /// every read, and their e-mail, IIN and BIN become free. Contacts, addresses and notes
    /// are kept for [`CustomerRepository::restore`]. Returns the ids actually deleted.
    async fn soft_delete(
        &self,
        scope: Scope,
        ids: &[CustomerId],
        at: OffsetDateTime,
        by: UserId,
        events: &[EventEnvelope],
    ) -> Result<Vec<CustomerId>, RepositoryError>;

    /// A soft-deleted customer of `scope` with the time it was deleted.
    async fn get_deleted(
        &self,
        scope: Scope,
        id: CustomerId,
    ) -> Result<Option<(Customer, OffsetDateTime)>, RepositoryError>;

    /// Brings a soft-deleted customer back as `customer` (its new version and update stamp).
    ///
    /// MUST return [`RepositoryError::Duplicate`] when a live customer has taken its e-mail,
    /// IIN or BIN meanwhile, and [`RepositoryError::NotFound`] when it is not deleted (any
    /// more) in its scope.
    async fn restore(&self, customer: &Customer, events: &[EventEnvelope]) -> Result<(), RepositoryError>;

    /// Removes for good, with contacts, addresses, notes, tags, orders, deals, invoices and
    /// their events (the history, which holds personal data), the customers deleted before
    /// `deleted_before` (all tenants). Returns how many.
    async fn purge(&self, deleted_before: OffsetDateTime) -> Result<u64, RepositoryError>;

    /// Merges in one transaction: removes `duplicates` (id and expected version; their notes
    /// move to the merged customer) and stores `merged` (the primary, expected at
    /// `expected_version`) with its full set of contacts and addresses, which includes those of
    /// the duplicates under their existing ids.
    ///
    /// MUST return [`RepositoryError::VersionConflict`] and change nothing when any of them
    /// changed meanwhile, and [`RepositoryError::NotFound`] when any is gone.
    async fn merge(
        &self,
        merged: &Customer,
        expected_version: i64,
        duplicates: &[(CustomerId, i64)],
        events: &[EventEnvelope],
    ) -> Result<(), RepositoryError>;

    /// Live customers of `scope` that may duplicate `probe`: every one with an equal e-mail,
    /// phone, IIN or BIN (at most `limit`), and up to `limit` more whose match key contains one
    /// of `probe.name_tokens`.
    async fn duplicate_candidates(
        &self,
        scope: Scope,
        probe: &DuplicateProbe,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError>;

    /// The events of a live customer of `scope`, in the order written; `Ok(None)` when there is
    /// no such customer.
    async fn events_of(
        &self,
        scope: Scope,
        customer: CustomerId,
    ) -> Result<Option<Vec<EventEnvelope>>, RepositoryError>;

    /// Adds a note to a live customer of `scope`. MUST return [`RepositoryError::NotFound`]
    /// when there is no such customer.
    async fn add_note(&self, scope: Scope, note: &CustomerNote) -> Result<(), RepositoryError>;

    /// The notes of a live customer, newest first; `Ok(None)` when there is no such customer.
    async fn list_notes(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Option<Page<CustomerNote>>, RepositoryError>;

    /// One note of a live customer of `scope`.
    async fn get_note(
        &self,
        scope: Scope,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<Option<CustomerNote>, RepositoryError>;

    /// Stores the note's new body and `updated_at`. MUST return [`RepositoryError::NotFound`]
    /// when it is gone.
    async fn update_note(&self, scope: Scope, note: &CustomerNote) -> Result<(), RepositoryError>;

    /// Deletes a note; `Ok(false)` when there was none.
    async fn delete_note(&self, scope: Scope, customer: CustomerId, note: NoteId) -> Result<bool, RepositoryError>;

    /// The live customer of `organization` holding `value` in `field` (e-mail compared
    /// lower-case), with the scope it lives in.
    async fn find_by_unique(
        &self,
        organization: OrganizationId,
        field: UniqueField,
        value: &str,
    ) -> Result<Option<(Scope, CustomerId)>, RepositoryError>;

    /// The live customers of `organization` holding one of `values` in `field` (e-mails
    /// compared lower-case), each with the value as stored (lower-case for e-mails) and the
    /// scope it lives in, in no particular order: one query for a whole batch.
    async fn find_all_by_unique(
        &self,
        organization: OrganizationId,
        field: UniqueField,
        values: &[String],
    ) -> Result<Vec<(String, Scope, CustomerId)>, RepositoryError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), RepositoryError>;

    /// The segment thresholds of a workspace; `Ok(None)` when it keeps the defaults.
    async fn segment_rules(&self, scope: Scope) -> Result<Option<SegmentRules>, RepositoryError>;

    /// Stores the segment thresholds of a workspace (replacing earlier ones).
    async fn put_segment_rules(&self, scope: Scope, rules: &SegmentRules) -> Result<(), RepositoryError>;
}

/// The read model of other modules' events (orders, deals, invoices and payments), their
/// idempotency keys and dead letters.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InboundStore: Send + Sync + 'static {
    /// Applies `event` in one transaction, at most once per (organization, event id), and
    /// returns [`InboundOutcome::Applied`] with the customer when its record changed:
    ///
    /// 1. records the event id, and MUST return [`InboundOutcome::Duplicate`] without any
    ///    change when it was recorded before (also when the two deliveries race);
    /// 2. locks the customer it names (`customer_id`, in the envelope's workspace) so that
    ///    concurrent events of one customer apply one after the other, and MUST return
    ///    [`InboundOutcome::UnknownCustomer`], recording nothing, when there is no such live
    ///    customer (a reversal naming only an order is recorded against the order);
    /// 3. updates the read model: an order counts once per order id and never after its
    ///    cancellation or refund (whichever arrives first); a deal is won once per deal id; an
    ///    invoice is issued once per invoice id; every payment event counts;
    /// 4. stores the customer and events that [`crate::integration::settle`] derives from what
    ///    changed (purchase totals recomputed from every counted order of the customer), with
    ///    the events in the outbox.
    async fn apply_inbound(
        &self,
        event: &InboundEnvelope,
        now: OffsetDateTime,
    ) -> Result<InboundOutcome, RepositoryError>;

    /// Keeps a refused event for an operator.
    async fn add_dead_letter(&self, letter: &DeadLetter) -> Result<(), RepositoryError>;

    /// The dead letters of `scope`, newest first.
    async fn dead_letters(&self, scope: Scope, page: u32, limit: u32) -> Result<Page<DeadLetter>, RepositoryError>;

    /// The orders of a live customer of `scope`, newest first (by completion), with items;
    /// `Ok(None)` when there is no such customer.
    async fn purchases(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Option<Page<Purchase>>, RepositoryError>;

    /// The notes, orders, deals, invoices and payments of a live customer of `scope`, in no
    /// particular order; `Ok(None)` when there is no such customer.
    async fn activity_of(&self, scope: Scope, customer: CustomerId) -> Result<Option<Vec<Activity>>, RepositoryError>;

    /// Every order of a live customer of `scope` that completed (also those cancelled or
    /// refunded later), with items, oldest first; `Ok(None)` when there is no such customer.
    async fn orders_of(&self, scope: Scope, customer: CustomerId) -> Result<Option<Vec<Purchase>>, RepositoryError>;

    /// Item-to-item recommendations: the products most often bought together with any of
    /// `products` — counted as the orders of *other* customers of `scope` (completed, not
    /// cancelled or refunded) that hold one of `products` and the candidate — best first (ties
    /// by product id), at most `limit`, never one of `products`. Empty when `products` is.
    async fn co_purchased(
        &self,
        scope: Scope,
        customer: CustomerId,
        products: &[String],
        limit: usize,
    ) -> Result<Vec<String>, RepositoryError>;
}

/// A counted purchase as the CLV models read it: an order that completed and was neither
/// cancelled nor refunded by the end of the observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedPurchase {
    /// Who bought (a live customer of the scope).
    pub customer_id: CustomerId,
    /// When the order completed.
    pub completed_at: OffsetDateTime,
    /// Its total.
    pub total_amount: Money,
}

/// What the CLV models of a workspace read and keep: the counted purchases of its live
/// customers, and its latest fit ([`ClvFit`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClvStore: Send + Sync + 'static {
    /// Every purchase of the live customers of `scope` counted at `as_of`, in no particular
    /// order: the orders that completed at or before `as_of` and were not cancelled or
    /// refunded by then (a reversal after `as_of` is not seen, so an earlier `as_of` replays
    /// the past). MUST leave out orders of deleted customers and of other workspaces and
    /// organizations.
    async fn counted_purchases(
        &self,
        scope: Scope,
        as_of: OffsetDateTime,
    ) -> Result<Vec<CountedPurchase>, RepositoryError>;

    /// The same for one customer; `Ok(None)` when there is no such live customer in `scope`.
    async fn counted_purchases_of(
        &self,
        scope: Scope,
        customer: CustomerId,
        as_of: OffsetDateTime,
    ) -> Result<Option<Vec<CountedPurchase>>, RepositoryError>;

    /// The latest fit stored for the workspace; `Ok(None)` when it was never fitted.
    async fn clv_fit(&self, scope: Scope) -> Result<Option<ClvFit>, RepositoryError>;

    /// Stores the workspace's fit, replacing the stored one unless that one ran later (its
    /// `fitted_at` is after this one's): when two fits race, the later run is kept. Returns
    /// whether `fit` was stored.
    async fn put_clv_fit(&self, scope: Scope, fit: &ClvFit) -> Result<bool, RepositoryError>;

    /// The workspaces (of every organization) with at least one counted order whose stored
    /// fit ran before `fitted_before`, or that have none, in no particular order.
    async fn clv_refit_due(&self, fitted_before: OffsetDateTime) -> Result<Vec<Scope>, RepositoryError>;
}

/// Finds customers for the list endpoint.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerSearch: Send + Sync + 'static {
    /// One page of the customers of `scope` matching `query`, in its order (ties by id), each
    /// with contacts and addresses: at its offset, or strictly after its keyset position. With
    /// the total counted as the query's count mode says, and the position after the page's last
    /// row when more rows follow (for every sort order, also for offset pages).
    async fn search(&self, scope: Scope, query: &CustomerQuery) -> Result<CustomerList, RepositoryError>;

    /// How many live customers of `scope` fall in each segment, where a customer belongs to
    /// the first segment of `rules` (in order) whose condition it meets, and to `otherwise`
    /// when it meets none. Segments without customers may be left out.
    async fn segment_counts(
        &self,
        scope: Scope,
        rules: &[(Segment, Condition)],
        otherwise: Segment,
    ) -> Result<Vec<(Segment, u64)>, RepositoryError>;

    /// The recency × frequency grid of the live customers of `scope` with a purchase: per
    /// pair of scores (as [`crate::analytics::rfm::scores`] gives them), the customers and
    /// their total purchases. Empty cells may be left out.
    async fn rfm_grid(&self, scope: Scope) -> Result<Vec<RfmCell>, RepositoryError>;

    /// The RFM scores of one live customer of `scope` among the workspace's customers with a
    /// purchase, as [`crate::analytics::rfm::scores`] gives them; `Ok(None)` when it has no
    /// purchase (or is no live customer of `scope`).
    async fn rfm_of(&self, scope: Scope, customer: CustomerId) -> Result<Option<RfmScore>, RepositoryError>;

    /// The counts behind the module metrics of `scope` for `period`, as
    /// [`crate::analytics::metrics`] defines them. The status and liveness of a customer at an
    /// instant MUST be what its events in the outbox say (its last status event before the
    /// instant, deletions, restorations, merges into another customer), not its current
    /// record, for every customer whose history moved since the period's start; one whose
    /// last such event came before it was, at both ends, what its record says now. Lifetime
    /// values are the current ones of the live customers. Counted in the store, without
    /// loading the customers.
    async fn metric_counts(&self, scope: Scope, period: &Period) -> Result<MetricCounts, RepositoryError>;
}

/// A failure of the cache. The service treats it as a miss and carries on.
#[derive(Debug, thiserror::Error)]
#[error("cache failure: {0}")]
pub struct CacheError(pub String);

/// What a cache did since the process started, for operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `redis`, `memory` or `disabled`.
    pub backend: &'static str,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the database (absent, expired, or the cache unavailable).
    pub misses: u64,
    /// Calls to the cache's store that failed (unreachable, too slow, unreadable entry).
    pub errors: u64,
}

/// A cache of customers by id and of list pages, per workspace, invalidated by generations.
///
/// The contract:
///
/// - Every entry belongs to one scope (organization and workspace) and one *generation* of it,
///   and is only ever served for that scope and generation: one tenant can never receive
///   another's entry.
/// - A reader takes [`CustomerCache::generation`] *before* it reads from storage, and puts what
///   it read under that generation. After every committed write of a workspace the service
///   calls [`CustomerCache::bump`], which MUST make a generation current that was never current
///   before (also after the store lost or evicted the counter), so nothing put under an older
///   generation is served again, including what a slow reader loaded before the write and puts
///   after it.
/// - A `bump` MUST NOT be lost: when the store does not answer, the adapter keeps trying in
///   the background until it takes effect, and meanwhile serves and stores nothing of that
///   workspace.
/// - Entries may vanish at any time (time to live, eviction, restart). Any failure is an
///   error that the service treats as a miss: the cache never fails a request.
///
/// List pages are stored as the text the service gives (JSON of the search result): the cache
/// does not depend on the shape of a page. `key` identifies the query within the workspace
/// (equivalent queries have equal keys).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerCache: Send + Sync + 'static {
    /// The current generation of `scope`.
    async fn generation(&self, scope: Scope) -> Result<u64, CacheError>;
    /// The customer cached under `generation`, if any.
    async fn get_customer(&self, scope: Scope, generation: u64, id: CustomerId)
    -> Result<Option<Customer>, CacheError>;
    /// Caches `customer` (of `scope`) under `generation`; ignored when that generation is
    /// no longer current.
    async fn put_customer(&self, scope: Scope, generation: u64, customer: &Customer) -> Result<(), CacheError>;
    /// The list page cached under `generation` and `key`, if any.
    async fn get_page(&self, scope: Scope, generation: u64, key: &str) -> Result<Option<String>, CacheError>;
    /// Caches a list page under `generation` and `key`; ignored when that generation is no
    /// longer current.
    async fn put_page(&self, scope: Scope, generation: u64, key: &str, page: &str) -> Result<(), CacheError>;
    /// Makes a new generation of `scope` current; called after every committed write of the
    /// workspace. On failure the adapter keeps trying by itself (see the trait's contract).
    async fn bump(&self, scope: Scope) -> Result<(), CacheError>;
    /// Hit, miss and error counts.
    fn stats(&self) -> CacheStats;
}

#[async_trait]
impl<T: CustomerCache + ?Sized> CustomerCache for std::sync::Arc<T> {
    async fn generation(&self, scope: Scope) -> Result<u64, CacheError> {
        (**self).generation(scope).await
    }
    async fn get_customer(
        &self,
        scope: Scope,
        generation: u64,
        id: CustomerId,
    ) -> Result<Option<Customer>, CacheError> {
        (**self).get_customer(scope, generation, id).await
    }
    async fn put_customer(&self, scope: Scope, generation: u64, customer: &Customer) -> Result<(), CacheError> {
        (**self).put_customer(scope, generation, customer).await
    }
    async fn get_page(&self, scope: Scope, generation: u64, key: &str) -> Result<Option<String>, CacheError> {
        (**self).get_page(scope, generation, key).await
    }
    async fn put_page(&self, scope: Scope, generation: u64, key: &str, page: &str) -> Result<(), CacheError> {
        (**self).put_page(scope, generation, key, page).await
    }
    async fn bump(&self, scope: Scope) -> Result<(), CacheError> {
        (**self).bump(scope).await
    }
    fn stats(&self) -> CacheStats {
        (**self).stats()
    }
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
