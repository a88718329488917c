//! Black-box tests of the HTTP API: each test starts the real server on `127.0.0.1:0` over a
//! fresh database and talks to it with an HTTP client, on SQLite and on PostgreSQL
//! (`both_backends!`). All of them build into this one test binary.

#![recursion_limit = "256"]

#[macro_use]
mod helpers;

mod auth;
mod concurrency;
mod crud;
mod health;
mod list;
mod openapi;
mod snapshots;
mod tenancy;
mod validation;
