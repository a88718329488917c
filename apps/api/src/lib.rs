//! The customers HTTP service: Poem + OpenAPI over `customers-domain`, with the adapters of
//! `customers-infra`. The binary (`customers`) is a thin CLI over [`app`].

pub mod app;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod dto;
pub mod json;
pub mod problem;
pub mod routes;
