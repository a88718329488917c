//! Lifecycle rules: status transitions, lifetime value, duplicate names, merging.
//!
//! Pure functions over the model; the use cases in [`crate::service`] apply them.
//!
//! - [`status`]: the status transition table ([`check_transition`], [`can_convert`]).
//! - [`ltv`]: the lifetime value estimate ([`lifetime_value`]).
//! - [`names`]: duplicate-name keys and similarity ([`name_key`], [`name_similarity`]).
//! - [`merge`](mod@merge): the customer that absorbs its duplicates ([`merge()`]).

pub mod ltv;
pub mod merge;
pub mod names;
pub mod status;

pub use ltv::lifetime_value;
pub use merge::merge;
pub use names::{NEAR_MATCH_THRESHOLD, name_key, name_similarity, name_tokens};
pub use status::{TransitionError, allowed_targets, can_convert, check_transition};
