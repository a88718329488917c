//! Analytics a sales team can trust: pure rules and models over what is stored about
//! customers and their purchases.
//!
//! - [`customer`]: the figures of one customer over a period: totals, categories and
//!   products, profit, credit, interactions.
//! - [`segment`]: segments (LOST, VIP, LOYAL, NEW, AT_RISK, DORMANT, PROMISING), one
//!   first-match rule with per-workspace thresholds, also expressed as conditions the database
//!   evaluates.
//! - [`metrics`]: the module metrics of a period (active customers, lead conversion, churn,
//!   average lifetime value), status at an instant taken from the history.
//! - [`rfm`]: recency, frequency and monetary quintile scores within a workspace.
//! - [`clv`]: the buy-till-you-die models BG/NBD and Gamma-Gamma, fitted per workspace:
//!   probability that a customer is still active, expected purchases and order value,
//!   predicted lifetime value.

pub mod clv;
pub mod customer;
pub mod metrics;
pub mod rfm;
pub mod segment;
