//! Black-box tests of the HTTP API: each test starts the real server on `127.0.0.1:0` over a
//! fresh database and talks to it with an HTTP client, on SQLite and on PostgreSQL
//! (`both_backends!`). All of them build into this one test binary.

#![recursion_limit = "256"]

#[macro_use]
mod helpers;

mod analytics;
mod auth;
mod bulk;
mod cache;
mod clv;
mod concurrency;
mod crash;
mod crud;
mod cursor;
mod etag;
mod event_schemas;
mod events;
mod health;
mod integration;
mod lifecycle;
mod list;
mod merge;
mod metrics;
mod openapi;
mod parts;
mod restore;
mod segments;
mod snapshots;
mod stream;
mod tenancy;
mod validation;
