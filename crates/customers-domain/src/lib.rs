//! Customers domain: the CRM core of the ERP.
//!
//! Pure Rust, no I/O: entities and value types, Kazakhstan IIN/BIN validators, validated
//! commands, the list query, domain errors and events, the ports (repository, cache, search,
//! event publisher, clock) and the use-case service generic over them.

pub mod analytics;
pub mod commands;
pub mod error;
pub mod events;
pub mod history;
pub mod ids;
pub mod integration;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod ports;
pub mod query;
pub mod service;
pub mod values;

pub use error::{CustomerError, FieldError, UniqueField, ValidationErrors};
pub use ids::{AddressId, ContactId, CustomerId, NoteId, OrganizationId, Scope, UserId, WorkspaceId};
pub use model::{
    AddressType, CompanySize, Coordinates, CustomFields, Customer, CustomerAddress, CustomerContact, CustomerNote,
    CustomerStatus, CustomerType, NoteChannel, NoteDirection, Rating, SocialMedia,
};
pub use money::Money;
pub use service::{CustomerInsights, CustomerService, Ingested, SegmentCounts};
