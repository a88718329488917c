//! Reads through the cache and its invalidation after writes (see [`CustomerCache`] for the
//! contract): a reader takes the workspace's generation before it reads storage and stores what
//! it read under that generation; every committed write bumps the generation. Cache failures
//! are misses: they never fail a request.

use std::future::Future;

use time::UtcOffset;
use tracing::debug;

use crate::error::CustomerError;
use crate::ids::{CustomerId, Scope};
use crate::model::Customer;
use crate::ports::{
    CacheStats, Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, RepositoryError,
};
use crate::query::{CustomerList, CustomerQuery};

use super::{CustomerService, internal};

/// Longest list key cached; longer queries (huge searches) always go to the database.
pub const MAX_LIST_KEY: usize = 4096;

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// What the cache did since the process started.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The workspace's current cache generation, taken before storage is read; `None` when
    /// the cache does not answer (the read then bypasses it).
    async fn cache_generation(&self, scope: Scope) -> Option<u64> {
        match self.cache.generation(scope).await {
            Ok(generation) => Some(generation),
            Err(err) => {
                debug!(error = %err, "cache unavailable; reading the database");
                None
            }
        }
    }

    /// The live customer, from the cache or else from storage (then cached).
    pub(crate) async fn cached_customer(&self, scope: Scope, id: CustomerId) -> Result<Customer, CustomerError> {
        let generation = self.cache_generation(scope).await;
        if let Some(generation) = generation {
            match self.cache.get_customer(scope, generation, id).await {
                Ok(Some(cached)) if cached.scope() == scope && cached.id == id => return Ok(cached),
                Ok(_) => {}
                Err(err) => debug!(error = %err, "cache read failed"),
            }
        }
        let customer = self.load(scope, id).await?;
        if let Some(generation) = generation
            && let Err(err) = self.cache.put_customer(scope, generation, &customer).await
        {
            debug!(error = %err, "cache write failed");
        }
        Ok(customer)
    }

    /// A list page for `query`, from the cache or else from `load` (then cached). `kind` is
    /// part of the key (two kinds of page never share an entry); a cached page that is not
    /// of `scope` is never served.
    pub(crate) async fn cached_list<T, F, Fut>(
        &self,
        scope: Scope,
        query: &CustomerQuery,
        kind: &str,
        load: F,
    ) -> Result<T, CustomerError>
    where
        T: CachedPage,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, RepositoryError>>,
    {
        let key = list_key(query).map(|key| format!("{kind}{key}"));
        let generation = match &key {
            Some(_) => self.cache_generation(scope).await,
            None => None,
        };
        if let (Some(generation), Some(key)) = (generation, &key) {
            match self.cache.get_page(scope, generation, key).await {
                Ok(Some(text)) => match T::decode(&text) {
                    Ok(page) if page.belongs_to(scope) => return Ok(page),
                    Ok(_) => debug!("cached page of another scope ignored"),
                    Err(err) => debug!(error = %err, "cached page unreadable"),
                },
                Ok(None) => {}
                Err(err) => debug!(error = %err, "cache read failed"),
            }
        }
        let page = load().await.map_err(internal)?;
        if let (Some(generation), Some(key)) = (generation, &key) {
            match page.encode() {
                Ok(text) => {
                    if let Err(err) = self.cache.put_page(scope, generation, key, &text).await {
                        debug!(error = %err, "cache write failed");
                    }
                }
                Err(err) => debug!(error = %err, "page not serializable"),
            }
        }
        Ok(page)
    }

    /// Invalidates every cached entry of the workspace; called after each committed write
    /// (and after a write whose outcome is unknown). A failed bump is retried by the cache.
    pub(crate) async fn bump(&self, scope: Scope) {
        if let Err(err) = self.cache.bump(scope).await {
            debug!(error = %err, "cache generation bump failed; the cache retries it");
        }
    }
}

/// A list page as the cache keeps it.
pub(crate) trait CachedPage: Sized {
    /// The entry's text.
    fn encode(&self) -> Result<String, String>;
    /// The page of an entry's text.
    fn decode(text: &str) -> Result<Self, String>;
    /// Whether the page is of `scope` (an entry of another scope is never served).
    fn belongs_to(&self, scope: Scope) -> bool;
}

/// The domain's page, as JSON.
impl CachedPage for CustomerList {
    fn encode(&self) -> Result<String, String> {
        serde_json::to_string(self).map_err(|e| e.to_string())
    }

    fn decode(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn belongs_to(&self, scope: Scope) -> bool {
        self.items.iter().all(|c| c.scope() == scope)
    }
}

/// A page rendered by the caller (see `CustomerService::list_rendered`): its entry is the
/// scope on the first line and the body after it, unescaped.
pub(crate) struct RenderedPage {
    pub scope: Scope,
    pub body: String,
}

impl CachedPage for RenderedPage {
    fn encode(&self) -> Result<String, String> {
        Ok(format!(
            "{} {}\n{}",
            self.scope.organization_id, self.scope.workspace_id, self.body
        ))
    }

    fn decode(text: &str) -> Result<Self, String> {
        let (head, body) = text.split_once('\n').ok_or("no scope line")?;
        let (organization, workspace) = head.split_once(' ').ok_or("no workspace in the scope line")?;
        let id = |text: &str| uuid::Uuid::parse_str(text).map_err(|e| e.to_string());
        Ok(Self {
            scope: Scope::new(
                crate::ids::OrganizationId::from_uuid(id(organization)?),
                crate::ids::WorkspaceId::from_uuid(id(workspace)?),
            ),
            body: body.to_owned(),
        })
    }

    fn belongs_to(&self, scope: Scope) -> bool {
        self.scope == scope
    }
}

/// The cache key of a list query within its workspace: the whole query in a canonical form
/// (its `Debug` text), so that every field, also one added later, is part of the key, and
/// equivalent queries share it (tags in any order or repeated, equal amounts or instants
/// written differently). `None` when the key would be too long to be worth caching.
pub fn list_key(query: &CustomerQuery) -> Option<String> {
    let mut canonical = query.clone();
    let filter = &mut canonical.filter;
    filter.tags.sort_unstable();
    filter.tags.dedup();
    for amount in [&mut filter.min_purchases, &mut filter.max_purchases] {
        *amount = amount.map(|a| a.normalize());
    }
    for at in [&mut filter.created_from, &mut filter.created_to] {
        *at = at.map(|t| t.to_offset(UtcOffset::UTC));
    }
    let key = format!("{canonical:?}");
    (key.len() <= MAX_LIST_KEY).then_some(key)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use mockall::Sequence;
    use mockall::predicate::{always, eq};
    use rust_decimal::Decimal;
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::commands::{AddressDraft, ContactDraft, CustomerChanges, CustomerDraft};
    use crate::error::UniqueField;
    use crate::ids::{OrganizationId, UserId, WorkspaceId};
    use crate::model::{AddressType, CustomerStatus, CustomerType};
    use crate::ports::{
        CacheError, MockClock, MockCustomerCache, MockCustomerRepository, MockCustomerSearch, MockEventPublisher,
    };
    use crate::query::{CountMode, CustomerFilter, CustomerList, Keyset, SearchTerm, SortField};
    use crate::service::ConvertLead;

    type Svc =
        CustomerService<MockCustomerRepository, MockCustomerSearch, MockCustomerCache, MockEventPublisher, MockClock>;

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);

    fn scope() -> Scope {
        Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(2)),
        )
    }

    fn other_scope() -> Scope {
        Scope::new(
            scope().organization_id,
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(3)),
        )
    }

    fn actor() -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(4))
    }

    fn customer_in(scope: Scope, email: &str) -> Customer {
        CustomerDraft::new(CustomerType::Individual, "Асем Нурланова", email)
            .parse()
            .unwrap()
            .into_customer(scope, actor(), NOW)
    }

    fn service(repo: MockCustomerRepository, search: MockCustomerSearch, cache: MockCustomerCache) -> Svc {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        let mut events = MockEventPublisher::new();
        events.expect_publish().returning(|_| Ok(()));
        CustomerService::new(repo, search, cache, events, clock)
    }

    fn list_of(items: Vec<Customer>) -> CustomerList {
        CustomerList {
            total: Some(items.len() as u64),
            total_is_estimate: false,
            page: 1,
            limit: 20,
            next: items.last().map(|c| Keyset::of(c, SortField::CreatedAt)),
            items,
        }
    }

    /// A cache that misses, and expects exactly one bump of `scope()`, after what came before
    /// in `sequence`.
    fn bumped_once_after(sequence: &mut Sequence) -> MockCustomerCache {
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(1));
        cache.expect_get_customer().returning(|_, _, _| Ok(None));
        cache.expect_put_customer().returning(|_, _, _| Ok(()));
        cache
            .expect_bump()
            .with(eq(scope()))
            .times(1)
            .in_sequence(sequence)
            .returning(|_| Ok(()));
        cache
    }

    /// A cache that must never be bumped.
    fn never_bumped() -> MockCustomerCache {
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(1));
        cache.expect_get_customer().returning(|_, _, _| Ok(None));
        cache.expect_put_customer().returning(|_, _, _| Ok(()));
        cache.expect_bump().never();
        cache
    }

    /// A repository holding `customer` whose one update is part of `sequence`.
    fn updated_once_in(sequence: &mut Sequence, customer: Customer) -> MockCustomerRepository {
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(customer.clone())));
        repo.expect_update()
            .times(1)
            .in_sequence(sequence)
            .returning(|_, _, _, _, _| Ok(()));
        repo
    }

    // --- reads -------------------------------------------------------------------------------

    #[tokio::test]
    async fn a_reader_takes_the_generation_before_storage_and_puts_under_it() {
        let stored = customer_in(scope(), "asem@example.kz");
        let id = stored.id;
        let mut sequence = Sequence::new();
        let mut cache = MockCustomerCache::new();
        let mut repo = MockCustomerRepository::new();
        cache
            .expect_generation()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(5));
        cache
            .expect_get_customer()
            .with(eq(scope()), eq(5), eq(id))
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(None));
        let found = stored.clone();
        repo.expect_get()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(move |_, _| Ok(Some(found.clone())));
        cache
            .expect_put_customer()
            .withf(move |s, generation, c| *s == scope() && *generation == 5 && c.id == id)
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(()));
        let service = service(repo, MockCustomerSearch::new(), cache);
        assert_eq!(service.get(scope(), id).await.unwrap(), stored);
    }

    #[tokio::test]
    async fn a_cached_customer_of_another_scope_is_never_served() {
        let foreign = customer_in(other_scope(), "asem@example.kz");
        let mut own = foreign.clone();
        own.organization_id = scope().organization_id;
        own.workspace_id = scope().workspace_id;
        let id = foreign.id;
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(1));
        cache
            .expect_get_customer()
            .returning(move |_, _, _| Ok(Some(foreign.clone())));
        cache.expect_put_customer().returning(|_, _, _| Ok(()));
        let mut repo = MockCustomerRepository::new();
        let stored = own.clone();
        repo.expect_get()
            .times(1)
            .returning(move |_, _| Ok(Some(stored.clone())));
        let service = service(repo, MockCustomerSearch::new(), cache);
        assert_eq!(service.get(scope(), id).await.unwrap(), own);
    }

    /// Cached pages: generation, key, entry.
    type Pages = Arc<Mutex<Vec<(u64, String, String)>>>;

    /// A cache holding the rendered pages put into it (keyed by generation and key).
    fn page_store() -> (MockCustomerCache, Pages) {
        let pages: Pages = Arc::default();
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(7));
        let read = Arc::clone(&pages);
        cache.expect_get_page().returning(move |_, generation, key| {
            let pages = read.lock().unwrap();
            Ok(pages
                .iter()
                .find(|(g, k, _)| *g == generation && k == key)
                .map(|(_, _, v)| v.clone()))
        });
        let written = Arc::clone(&pages);
        cache.expect_put_page().returning(move |_, generation, key, page| {
            written
                .lock()
                .unwrap()
                .push((generation, key.to_owned(), page.to_owned()));
            Ok(())
        });
        (cache, pages)
    }

    #[tokio::test]
    async fn a_rendered_page_is_cached_as_rendered_and_served_without_storage() {
        let (cache, pages) = page_store();
        let mut search = MockCustomerSearch::new();
        let items = vec![customer_in(scope(), "asem@example.kz")];
        search
            .expect_search()
            .times(1)
            .returning(move |_, _| Ok(list_of(items.clone())));
        let service = service(MockCustomerRepository::new(), search, cache);
        let query = CustomerQuery::default();
        let render = |list: CustomerList| format!("{{\"total\":{}}}", list.total.unwrap_or(0));
        let first = service.list_rendered(scope(), &query, "v1", render).await.unwrap();
        assert_eq!(first, "{\"total\":1}");
        // The second read is a hit: storage is not asked again and nothing is rendered.
        let second = service
            .list_rendered(scope(), &query, "v1", |_| panic!("a hit is not rendered again"))
            .await
            .unwrap();
        assert_eq!(second, first);
        let stored = pages.lock().unwrap().clone();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].1.starts_with("rendered:v1:"), "{}", stored[0].1);
        assert_ne!(stored[0].1, list_key(&query).unwrap(), "never the domain page's key");
        // The entry is the scope, then the body as it is (no JSON escaping to undo on a hit).
        let own = scope();
        assert_eq!(
            stored[0].2,
            format!("{} {}\n{{\"total\":1}}", own.organization_id, own.workspace_id)
        );
    }

    #[tokio::test]
    async fn a_rendered_page_of_another_scope_or_format_is_never_served() {
        let (cache, pages) = page_store();
        let mut search = MockCustomerSearch::new();
        search.expect_search().times(2).returning(|_, _| Ok(list_of(vec![])));
        let service = service(MockCustomerRepository::new(), search, cache);
        let query = CustomerQuery::default();
        let key = format!("rendered:v1:{}", list_key(&query).unwrap());
        // An entry recorded for another workspace under this workspace's key (a collision
        // that the keys make impossible) is not served.
        let foreign = format!("{} {}\nforeign", uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(3));
        pages.lock().unwrap().push((7, key, foreign));
        let body = service
            .list_rendered(scope(), &query, "v1", |_| "own".to_owned())
            .await
            .unwrap();
        assert_eq!(body, "own");
        // Another rendering of the same page has an entry of its own.
        let body = service
            .list_rendered(scope(), &query, "v2", |_| "other format".to_owned())
            .await
            .unwrap();
        assert_eq!(body, "other format");
    }

    #[tokio::test]
    async fn an_unavailable_cache_is_bypassed() {
        let stored = customer_in(scope(), "asem@example.kz");
        let id = stored.id;
        let mut cache = MockCustomerCache::new();
        cache
            .expect_generation()
            .returning(|_| Err(CacheError("connection refused".into())));
        cache.expect_get_customer().never();
        cache.expect_put_customer().never();
        cache.expect_get_page().never();
        cache.expect_put_page().never();
        let mut repo = MockCustomerRepository::new();
        repo.expect_get()
            .times(1)
            .returning(move |_, _| Ok(Some(stored.clone())));
        let mut search = MockCustomerSearch::new();
        search.expect_search().times(1).returning(|_, _| Ok(list_of(vec![])));
        let service = service(repo, search, cache);
        assert_eq!(service.get(scope(), id).await.unwrap().id, id);
        assert_eq!(
            service.list(scope(), &CustomerQuery::default()).await.unwrap().total,
            Some(0)
        );
    }

    #[tokio::test]
    async fn list_pages_are_cached_under_the_generation_taken_before_the_search() {
        let page = list_of(vec![customer_in(scope(), "asem@example.kz")]);
        let query = CustomerQuery::default();
        let key = list_key(&query).unwrap();
        let stored = Arc::new(Mutex::new(None::<String>));
        let mut sequence = Sequence::new();
        let mut cache = MockCustomerCache::new();
        cache
            .expect_generation()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(9));
        cache
            .expect_get_page()
            .with(eq(scope()), eq(9), eq(key.clone()))
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(None));
        let mut search = MockCustomerSearch::new();
        let found = page.clone();
        search
            .expect_search()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(move |_, _| Ok(found.clone()));
        let sink = stored.clone();
        cache
            .expect_put_page()
            .with(eq(scope()), eq(9), eq(key.clone()), always())
            .times(1)
            .in_sequence(&mut sequence)
            .returning(move |_, _, _, text| {
                *sink.lock().unwrap() = Some(text.to_owned());
                Ok(())
            });
        let first = service(MockCustomerRepository::new(), search, cache);
        assert_eq!(first.list(scope(), &query).await.unwrap(), page);

        // Served from the cache: no search.
        let text = stored.lock().unwrap().clone().unwrap();
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(9));
        cache.expect_get_page().returning(move |_, _, _| Ok(Some(text.clone())));
        cache.expect_put_page().never();
        let mut search = MockCustomerSearch::new();
        search.expect_search().never();
        let second = service(MockCustomerRepository::new(), search, cache);
        assert_eq!(second.list(scope(), &query).await.unwrap(), page);
    }

    #[tokio::test]
    async fn a_cached_page_holding_another_scopes_customer_is_never_served() {
        let foreign = list_of(vec![customer_in(other_scope(), "asem@example.kz")]);
        let text = serde_json::to_string(&foreign).unwrap();
        let mut cache = MockCustomerCache::new();
        cache.expect_generation().returning(|_| Ok(1));
        cache.expect_get_page().returning(move |_, _, _| Ok(Some(text.clone())));
        cache.expect_put_page().returning(|_, _, _, _| Ok(()));
        let mut search = MockCustomerSearch::new();
        search.expect_search().times(1).returning(|_, _| Ok(list_of(vec![])));
        let service = service(MockCustomerRepository::new(), search, cache);
        assert!(
            service
                .list(scope(), &CustomerQuery::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }

    // --- writes ------------------------------------------------------------------------------

    #[tokio::test]
    async fn create_and_bulk_create_bump_after_the_commit() {
        let mut sequence = Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(()));
        let cache = bumped_once_after(&mut sequence);
        let draft = CustomerDraft::new(CustomerType::Individual, "Асем", "asem@example.kz");
        service(repo, MockCustomerSearch::new(), cache)
            .create(scope(), actor(), draft.clone().parse().unwrap())
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find_all_by_unique().returning(|_, _, _| Ok(Vec::new()));
        repo.expect_insert_many()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(()));
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .bulk_create(scope(), actor(), vec![draft.parse().unwrap()])
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn updates_status_changes_and_conversions_bump_after_the_commit() {
        let current = customer_in(scope(), "asem@example.kz");
        let id = current.id;

        let mut sequence = Sequence::new();
        let repo = updated_once_in(&mut sequence, current.clone());
        let cache = bumped_once_after(&mut sequence);
        let changes = CustomerChanges {
            name: Some("Асем Ермекова".into()),
            ..Default::default()
        };
        service(repo, MockCustomerSearch::new(), cache)
            .update(scope(), actor(), id, changes, None)
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let repo = updated_once_in(&mut sequence, current.clone());
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .change_status(scope(), actor(), id, CustomerStatus::Prospect, None, None)
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let repo = updated_once_in(&mut sequence, current);
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .convert(scope(), actor(), id, ConvertLead::default(), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn contact_and_address_changes_bump_after_the_commit() {
        let current = customer_in(scope(), "asem@example.kz");
        let id = current.id;

        let mut sequence = Sequence::new();
        let repo = updated_once_in(&mut sequence, current.clone());
        let cache = bumped_once_after(&mut sequence);
        let contact = ContactDraft {
            first_name: "Асет".into(),
            last_name: "Жумабеков".into(),
            email: "aset@example.kz".into(),
            phone: "+77011111111".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        service(repo, MockCustomerSearch::new(), cache)
            .add_contact(scope(), actor(), id, contact)
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let repo = updated_once_in(&mut sequence, current);
        let cache = bumped_once_after(&mut sequence);
        let address = AddressDraft::new(AddressType::Billing, "ул. Абая, 150", "Алматы", "050000")
            .parse()
            .unwrap();
        service(repo, MockCustomerSearch::new(), cache)
            .add_address(scope(), actor(), id, address)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn deletes_restores_and_merges_bump_after_the_commit() {
        let primary = customer_in(scope(), "asem@example.kz");
        let duplicate = customer_in(scope(), "asem2@example.kz");
        let (primary_id, duplicate_id) = (primary.id, duplicate.id);

        let mut sequence = Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_soft_delete()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, ids, _, _, _| Ok(ids.to_vec()));
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .bulk_delete(scope(), actor(), &[primary_id, duplicate_id])
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let mut repo = MockCustomerRepository::new();
        let deleted = primary.clone();
        repo.expect_get_deleted()
            .returning(move |_, _| Ok(Some((deleted.clone(), NOW))));
        repo.expect_restore()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(()));
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .restore(scope(), actor(), primary_id)
            .await
            .unwrap();

        let mut sequence = Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, id| {
            Ok(Some(if id == primary_id {
                primary.clone()
            } else {
                duplicate.clone()
            }))
        });
        repo.expect_merge()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _, _| Ok(()));
        let cache = bumped_once_after(&mut sequence);
        service(repo, MockCustomerSearch::new(), cache)
            .merge(scope(), actor(), primary_id, &[duplicate_id], false)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn refused_and_empty_writes_do_not_bump() {
        let current = customer_in(scope(), "asem@example.kz");
        let id = current.id;

        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .returning(|_, _| Err(RepositoryError::Duplicate(UniqueField::Email)));
        repo.expect_find_by_unique().returning(|_, _, _| Ok(None));
        let draft = CustomerDraft::new(CustomerType::Individual, "Асем", "asem@example.kz");
        let result = service(repo, MockCustomerSearch::new(), never_bumped())
            .create(scope(), actor(), draft.parse().unwrap())
            .await;
        assert!(matches!(result, Err(CustomerError::Duplicate { .. })));

        // Nothing changes: nothing is written.
        let mut repo = MockCustomerRepository::new();
        let stored = current.clone();
        repo.expect_get().returning(move |_, _| Ok(Some(stored.clone())));
        repo.expect_update().never();
        let same = CustomerChanges {
            name: Some(current.name.clone()),
            ..Default::default()
        };
        service(repo, MockCustomerSearch::new(), never_bumped())
            .update(scope(), actor(), id, same, None)
            .await
            .unwrap();

        // Nothing deleted.
        let mut repo = MockCustomerRepository::new();
        repo.expect_soft_delete().returning(|_, _, _, _, _| Ok(Vec::new()));
        let outcome = service(repo, MockCustomerSearch::new(), never_bumped())
            .bulk_delete(scope(), actor(), &[id])
            .await
            .unwrap();
        assert!(outcome.deleted.is_empty());
    }

    #[tokio::test]
    async fn a_write_of_unknown_outcome_bumps() {
        let current = customer_in(scope(), "asem@example.kz");
        let id = current.id;
        let mut repo = MockCustomerRepository::new();
        repo.expect_get().returning(move |_, _| Ok(Some(current.clone())));
        repo.expect_update()
            .returning(|_, _, _, _, _| Err(RepositoryError::Unexpected("connection reset during COMMIT".into())));
        let mut sequence = Sequence::new();
        let cache = bumped_once_after(&mut sequence);
        let changes = CustomerChanges {
            name: Some("Асем Ермекова".into()),
            ..Default::default()
        };
        let result = service(repo, MockCustomerSearch::new(), cache)
            .update(scope(), actor(), id, changes, None)
            .await;
        assert!(matches!(result, Err(CustomerError::Internal(_))));
    }

    #[tokio::test]
    async fn a_failed_bump_does_not_fail_the_write() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().times(1).returning(|_, _| Ok(()));
        let mut cache = MockCustomerCache::new();
        cache
            .expect_bump()
            .times(1)
            .returning(|_| Err(CacheError("timed out".into())));
        let draft = CustomerDraft::new(CustomerType::Individual, "Асем", "asem@example.kz");
        service(repo, MockCustomerSearch::new(), cache)
            .create(scope(), actor(), draft.parse().unwrap())
            .await
            .unwrap();
    }

    // --- keys --------------------------------------------------------------------------------

    fn query(filter: CustomerFilter) -> CustomerQuery {
        CustomerQuery::new(filter, None, None, None, None).unwrap()
    }

    #[test]
    fn equivalent_queries_share_a_key() {
        let a = query(CustomerFilter {
            tags: vec!["vip".into(), "Almaty".into()],
            min_purchases: Some(Decimal::new(1000, 2)),
            created_from: Some(time::macros::datetime!(2026-01-01 05:00 +05:00)),
            ..Default::default()
        });
        let b = query(CustomerFilter {
            tags: vec!["almaty,VIP".into(), "vip".into()],
            min_purchases: Some(Decimal::from(10)),
            created_from: Some(time::macros::datetime!(2026-01-01 00:00 UTC)),
            ..Default::default()
        });
        assert_eq!(list_key(&a), list_key(&b));
    }

    #[test]
    fn every_field_is_part_of_the_key() {
        let base = query(CustomerFilter::default());
        let mut keys = vec![list_key(&base)];
        let mut page = base.clone();
        page.page = 2;
        keys.push(list_key(&page));
        let mut limit = base.clone();
        limit.limit = 21;
        keys.push(list_key(&limit));
        let mut sort = base.clone();
        sort.sort_by = SortField::Name;
        keys.push(list_key(&sort));
        keys.push(list_key(&query(CustomerFilter {
            search: SearchTerm::parse("альфа"),
            ..Default::default()
        })));
        keys.push(list_key(&query(CustomerFilter {
            tags: vec!["a".into()],
            ..Default::default()
        })));
        keys.push(list_key(&query(CustomerFilter {
            is_active: Some(false),
            ..Default::default()
        })));
        keys.push(list_key(&base.clone().counted(CountMode::None)));
        let position = Keyset::of(&customer_in(scope(), "asem@example.kz"), SortField::CreatedAt);
        keys.push(list_key(&base.clone().after(position).unwrap()));
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
    }

    #[test]
    fn huge_queries_are_not_cached() {
        let long = query(CustomerFilter {
            search: SearchTerm::parse(&"a".repeat(MAX_LIST_KEY)),
            ..Default::default()
        });
        assert_eq!(list_key(&long), None);
    }
}
