//! Adapters for the ports of `customers-domain`.
//!
//! - [`db`]: connecting to PostgreSQL or SQLite and running the migrations.
//! - [`repository`]: the SeaORM customer repository and the database-backed search, one code
//!   path for both backends.
//! - [`cache`]: the in-memory cache (one process); [`redis_cache`]: the shared Redis cache.
//! - [`events`]: an event publisher that logs and records events.
//! - [`relay`]: the outbox relay to a Redis Stream.
//! - [`consumer`]: the consumer of other modules' events on a Redis Stream.

pub mod cache;
pub mod consumer;
pub mod db;
pub mod events;
pub mod redis_cache;
pub mod relay;
pub mod repository;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::InMemoryCache;
pub use consumer::InboundConsumer;
pub use db::{connect, migrate};
pub use events::RecordingPublisher;
pub use redis_cache::RedisCache;
pub use relay::OutboxRelay;
pub use repository::SeaRepository;
pub use sea_orm::{DatabaseConnection, DbErr};
