//! An in-memory cache for a single server process (the embedded SQLite default), with the same
//! generation scheme as the Redis cache (see [`CustomerCache`]).
//!
//! It is per process: with several server copies behind a load balancer, each would keep its
//! own entries and miss the others' writes, so the server uses it only on SQLite, and on
//! PostgreSQL only the shared Redis cache (`REDIS_URL`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use customers_domain::ports::{CacheError, CacheStats, CustomerCache};
use customers_domain::{Customer, CustomerId, Scope};

/// How long a customer stays cached (the spec's 10 minutes).
pub const CUSTOMER_TTL: Duration = Duration::from_secs(600);
/// How long a list page stays cached (the spec's 5 minutes).
pub const PAGE_TTL: Duration = Duration::from_secs(300);
/// How many entries the in-memory cache holds by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The entries of one workspace, all of its current generation.
#[derive(Debug, Default)]
struct Workspace {
    generation: u64,
    customers: HashMap<CustomerId, (Instant, Customer)>,
    pages: HashMap<String, (Instant, String)>,
}

#[derive(Debug, Default)]
struct State {
    /// The next generation handed out: generations are never reused in the process, so an
    /// entry put under a dead generation can never become current again.
    next_generation: u64,
    workspaces: HashMap<Scope, Workspace>,
    /// Entries held (customers and pages).
    entries: usize,
}

impl State {
    fn workspace(&mut self, scope: Scope) -> &mut Workspace {
        let next = &mut self.next_generation;
        self.workspaces.entry(scope).or_insert_with(|| {
            *next += 1;
            Workspace {
                generation: *next,
                ..Default::default()
            }
        })
    }

    /// Frees one slot: drops expired entries, and everything when that is not enough.
    fn make_room(&mut self, capacity: usize) {
        if self.entries < capacity {
            return;
        }
        let now = Instant::now();
        let mut entries = 0;
        for workspace in self.workspaces.values_mut() {
            workspace.customers.retain(|_, (expires, _)| *expires > now);
            workspace.pages.retain(|_, (expires, _)| *expires > now);
            entries += workspace.customers.len() + workspace.pages.len();
        }
        self.entries = entries;
        if self.entries >= capacity {
            // Generations stay: they guard against stale puts.
            for workspace in self.workspaces.values_mut() {
                workspace.customers.clear();
                workspace.pages.clear();
            }
            self.entries = 0;
        }
    }
}

/// Customers and list pages of each workspace under its current generation, with a time to
/// live and a bound on the number of entries. Keys include the organization and workspace, so
/// one tenant can never be served another's entry. A bump drops the workspace's entries and
/// moves it to a new generation: a slow reader's later put under the old one is ignored.
#[derive(Debug)]
pub struct InMemoryCache {
    state: Mutex<State>,
    customer_ttl: Duration,
    page_ttl: Duration,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for InMemoryCache {
    fn default() -> Self {
        Self::new(CUSTOMER_TTL, PAGE_TTL, DEFAULT_CAPACITY)
    }
}

impl InMemoryCache {
    /// A cache holding at most `capacity` entries, customers for `customer_ttl` and list pages
    /// for `page_ttl` (`capacity` 0: disabled).
    pub fn new(customer_ttl: Duration, page_ttl: Duration, capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            customer_ttl,
            page_ttl,
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that stores nothing (every read goes to the database).
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO, Duration::ZERO, 0)
    }

    fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, CacheError> {
        self.state.lock().map_err(|_| CacheError("cache lock poisoned".into()))
    }

    fn count<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }
}

#[async_trait]
impl CustomerCache for InMemoryCache {
    async fn generation(&self, scope: Scope) -> Result<u64, CacheError> {
        if !self.enabled() {
            return Ok(0);
        }
        Ok(self.lock()?.workspace(scope).generation)
    }

    async fn get_customer(
        &self,
        scope: Scope,
        generation: u64,
        id: CustomerId,
    ) -> Result<Option<Customer>, CacheError> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut state = self.lock()?;
        let workspace = state.workspace(scope);
        let found = match workspace.customers.get(&id) {
            Some((expires, customer)) if workspace.generation == generation && *expires > Instant::now() => {
                Some(customer.clone())
            }
            _ => None,
        };
        Ok(self.count(found))
    }

    async fn put_customer(&self, scope: Scope, generation: u64, customer: &Customer) -> Result<(), CacheError> {
        if !self.enabled() || customer.scope() != scope {
            return Ok(());
        }
        let mut state = self.lock()?;
        if state.workspace(scope).generation != generation {
            return Ok(());
        }
        state.make_room(self.capacity);
        let entry = (Instant::now() + self.customer_ttl, customer.clone());
        if state.workspace(scope).customers.insert(customer.id, entry).is_none() {
            state.entries += 1;
        }
        Ok(())
    }

    async fn get_page(&self, scope: Scope, generation: u64, key: &str) -> Result<Option<String>, CacheError> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut state = self.lock()?;
        let workspace = state.workspace(scope);
        let found = match workspace.pages.get(key) {
            Some((expires, page)) if workspace.generation == generation && *expires > Instant::now() => {
                Some(page.clone())
            }
            _ => None,
        };
        Ok(self.count(found))
    }

    async fn put_page(&self, scope: Scope, generation: u64, key: &str, page: &str) -> Result<(), CacheError> {
        if !self.enabled() {
            return Ok(());
        }
        let mut state = self.lock()?;
        if state.workspace(scope).generation != generation {
            return Ok(());
        }
        state.make_room(self.capacity);
        let entry = (Instant::now() + self.page_ttl, page.to_owned());
        if state.workspace(scope).pages.insert(key.to_owned(), entry).is_none() {
            state.entries += 1;
        }
        Ok(())
    }

    async fn bump(&self, scope: Scope) -> Result<(), CacheError> {
        if !self.enabled() {
            return Ok(());
        }
        let mut guard = self.lock()?;
        let state = &mut *guard;
        state.next_generation += 1;
        let generation = state.next_generation;
        let workspace = state.workspaces.entry(scope).or_default();
        state.entries -= workspace.customers.len() + workspace.pages.len();
        *workspace = Workspace {
            generation,
            ..Default::default()
        };
        Ok(())
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            backend: if self.enabled() { "memory" } else { "disabled" },
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: 0,
        }
    }
}
