//! Analytics a sales team can trust: pure rules and models over what is stored about
//! customers and their purchases.
//!
//! - [`segment`]: segments (LOST, VIP, LOYAL, NEW, AT_RISK, DORMANT, PROMISING), one
//!   first-match rule with per-workspace thresholds, also expressed as conditions the database
//!   evaluates.

pub mod segment;
