//! An in-memory customer cache for a single server process (the embedded SQLite default).
//!
//! It is per process: with several server copies behind a load balancer, each would keep its
//! own copies and miss the others' writes, so the server disables it on PostgreSQL (a shared
//! Redis cache is the multi-instance answer).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use customers_domain::ports::{CacheError, CustomerCache};
use customers_domain::{Customer, CustomerId, Scope};

/// How long a customer stays cached (the spec's 10 minutes).
pub const CUSTOMER_TTL: Duration = Duration::from_secs(600);

/// What the cache knows about one customer.
#[derive(Debug)]
struct Entry {
    expires: Instant,
    /// Versions up to this one are stale (an invalidation happened after they were read).
    stale_up_to: i64,
    customer: Option<Customer>,
}

type Entries = HashMap<(Scope, CustomerId), Entry>;

/// A bounded map of customers with a time to live. Keys include the organization and
/// workspace, so one tenant can never be served another's entry. Invalidations leave a marker
/// for the time to live, so that a slow reader cannot put back a version that was replaced or
/// deleted meanwhile.
#[derive(Debug)]
pub struct InMemoryCache {
    entries: Mutex<Entries>,
    ttl: Duration,
    capacity: usize,
}

impl Default for InMemoryCache {
    fn default() -> Self {
        Self::new(CUSTOMER_TTL, 10_000)
    }
}

impl InMemoryCache {
    /// A cache holding at most `capacity` customers for `ttl` each (`capacity` 0: disabled).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// A cache that stores nothing.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO, 0)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Entries>, CacheError> {
        self.entries
            .lock()
            .map_err(|_| CacheError("cache lock poisoned".into()))
    }

    fn make_room(&self, entries: &mut Entries) {
        if entries.len() < self.capacity {
            return;
        }
        let now = Instant::now();
        entries.retain(|_, entry| entry.expires > now);
        if entries.len() >= self.capacity {
            // Keep the invalidation markers (they guard against stale puts); drop the copies.
            entries.retain(|_, entry| entry.customer.is_none());
        }
    }
}

#[async_trait]
impl CustomerCache for InMemoryCache {
    async fn get(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>, CacheError> {
        if self.capacity == 0 {
            return Ok(None);
        }
        let mut entries = self.lock()?;
        match entries.get(&(scope, id)) {
            Some(entry) if entry.expires > Instant::now() => Ok(entry.customer.clone()),
            Some(_) => {
                entries.remove(&(scope, id));
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, customer: &Customer) -> Result<(), CacheError> {
        if self.capacity == 0 {
            return Ok(());
        }
        let mut entries = self.lock()?;
        let key = (customer.scope(), customer.id);
        let now = Instant::now();
        if let Some(entry) = entries.get(&key).filter(|e| e.expires > now) {
            let newer_cached = entry.customer.as_ref().is_some_and(|c| c.version >= customer.version);
            if newer_cached || customer.version <= entry.stale_up_to {
                return Ok(());
            }
        }
        self.make_room(&mut entries);
        let stale_up_to = entries.get(&key).map_or(0, |e| e.stale_up_to);
        entries.insert(
            key,
            Entry {
                expires: now + self.ttl,
                stale_up_to,
                customer: Some(customer.clone()),
            },
        );
        Ok(())
    }

    async fn invalidate(&self, scope: Scope, id: CustomerId, stale_up_to: i64) -> Result<(), CacheError> {
        if self.capacity == 0 {
            return Ok(());
        }
        let mut entries = self.lock()?;
        self.make_room(&mut entries);
        entries.insert(
            (scope, id),
            Entry {
                expires: Instant::now() + self.ttl,
                stale_up_to,
                customer: None,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use customers_domain::commands::CustomerDraft;
    use customers_domain::{CustomerType, OrganizationId, UserId, WorkspaceId};

    fn customer(version: i64) -> Customer {
        let scope = Scope::new(
            OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkspaceId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let mut c = CustomerDraft::new(CustomerType::Individual, "Асем", "asem@example.kz")
            .parse()
            .unwrap()
            .into_customer(scope, UserId::new(), time::OffsetDateTime::now_utc());
        c.version = version;
        c
    }

    #[tokio::test]
    async fn a_late_reader_cannot_put_back_a_replaced_version() {
        let cache = InMemoryCache::default();
        let v1 = customer(1);
        cache.put(&v1).await.unwrap();
        cache.invalidate(v1.scope(), v1.id, 1).await.unwrap();
        assert_eq!(cache.get(v1.scope(), v1.id).await.unwrap(), None);
        cache.put(&v1).await.unwrap();
        assert_eq!(cache.get(v1.scope(), v1.id).await.unwrap(), None, "stale put ignored");
        let mut v2 = v1.clone();
        v2.version = 2;
        cache.put(&v2).await.unwrap();
        assert_eq!(cache.get(v1.scope(), v1.id).await.unwrap(), Some(v2.clone()));
        cache.put(&v1).await.unwrap();
        assert_eq!(
            cache.get(v1.scope(), v1.id).await.unwrap(),
            Some(v2),
            "older never replaces newer"
        );
    }

    #[tokio::test]
    async fn a_deleted_customer_is_never_put_back() {
        let cache = InMemoryCache::default();
        let c = customer(3);
        cache.invalidate(c.scope(), c.id, i64::MAX).await.unwrap();
        cache.put(&c).await.unwrap();
        assert_eq!(cache.get(c.scope(), c.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn entries_are_per_tenant_and_the_disabled_cache_stores_nothing() {
        let cache = InMemoryCache::default();
        let c = customer(1);
        cache.put(&c).await.unwrap();
        let other = Scope::new(c.organization_id, WorkspaceId::from_uuid(uuid::Uuid::from_u128(99)));
        assert_eq!(cache.get(other, c.id).await.unwrap(), None);
        let disabled = InMemoryCache::disabled();
        disabled.put(&c).await.unwrap();
        assert_eq!(disabled.get(c.scope(), c.id).await.unwrap(), None);
    }
}
