//! An in-memory customer cache for a single server (the embedded default).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use customers_domain::ports::{CacheError, CustomerCache};
use customers_domain::{Customer, CustomerId, Scope};

/// How long a customer stays cached (the spec's 10 minutes).
pub const CUSTOMER_TTL: Duration = Duration::from_secs(600);

type Entries = HashMap<(Scope, CustomerId), (Instant, Customer)>;

/// A bounded map of customers with a time to live. Keys include the organization and
/// workspace, so one tenant can never be served another's entry.
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
    /// A cache holding at most `capacity` customers for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, CacheError> {
        self.entries
            .lock()
            .map_err(|_| CacheError("cache lock poisoned".into()))
    }
}

#[async_trait]
impl CustomerCache for InMemoryCache {
    async fn get(&self, scope: Scope, id: CustomerId) -> Result<Option<Customer>, CacheError> {
        let mut entries = self.lock()?;
        match entries.get(&(scope, id)) {
            Some((expires, customer)) if *expires > Instant::now() => Ok(Some(customer.clone())),
            Some(_) => {
                entries.remove(&(scope, id));
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, customer: &Customer) -> Result<(), CacheError> {
        let mut entries = self.lock()?;
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            (customer.scope(), customer.id),
            (Instant::now() + self.ttl, customer.clone()),
        );
        Ok(())
    }

    async fn invalidate(&self, scope: Scope, id: CustomerId) -> Result<(), CacheError> {
        self.lock()?.remove(&(scope, id));
        Ok(())
    }
}
