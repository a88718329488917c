//! Whether a workspace has enough data for a model.

use serde::{Deserialize, Serialize};

use super::summary::{CustomerSummary, TimeUnit};

/// The least data a workspace needs for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    /// Customers with at least one purchase.
    pub min_customers: usize,
    /// Days from the earliest first purchase to the end of the observation.
    pub min_history_days: u32,
}

impl Default for Eligibility {
    /// 200 customers and 90 days.
    fn default() -> Self {
        Self {
            min_customers: 200,
            min_history_days: 90,
        }
    }
}

/// Why a workspace gets no model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// Too few customers with a purchase.
    #[error("{customers} customers with a purchase; a model needs at least {required}")]
    TooFewCustomers {
        /// Customers with a purchase.
        customers: usize,
        /// The threshold.
        required: usize,
    },
    /// The purchase history is too short.
    #[error("{days} days of purchase history; a model needs at least {required}")]
    TooShortHistory {
        /// Whole days from the earliest first purchase to the end of the observation.
        days: u32,
        /// The threshold.
        required: u32,
    },
}

impl Eligibility {
    /// Checks the summaries of a workspace (one per customer with a purchase; ages in `unit`).
    pub fn check(&self, summaries: &[CustomerSummary], unit: TimeUnit) -> Result<(), Ineligible> {
        if summaries.len() < self.min_customers {
            return Err(Ineligible::TooFewCustomers {
                customers: summaries.len(),
                required: self.min_customers,
            });
        }
        let oldest = summaries.iter().map(CustomerSummary::age).fold(0.0, f64::max);
        // Ages of whole days are exact in days and weeks up to rounding of the division by 7.
        let days = (unit.to_days(oldest) + 1e-6).floor();
        let days = if days >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            days as u32
        };
        if days < self.min_history_days {
            return Err(Ineligible::TooShortHistory {
                days,
                required: self.min_history_days,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn customers(n: usize, age: f64) -> Vec<CustomerSummary> {
        (0..n)
            .map(|i| CustomerSummary::new(0, 0.0, if i == 0 { age } else { 0.0 }, Decimal::ZERO).unwrap())
            .collect()
    }

    #[test]
    fn thresholds() {
        let rule = Eligibility::default();
        let cases = [
            (200, 90.0, TimeUnit::Days, Ok(())),
            (5000, 400.0, TimeUnit::Days, Ok(())),
            (
                199,
                400.0,
                TimeUnit::Days,
                Err(Ineligible::TooFewCustomers {
                    customers: 199,
                    required: 200,
                }),
            ),
            (
                0,
                0.0,
                TimeUnit::Days,
                Err(Ineligible::TooFewCustomers {
                    customers: 0,
                    required: 200,
                }),
            ),
            (
                200,
                89.0,
                TimeUnit::Days,
                Err(Ineligible::TooShortHistory { days: 89, required: 90 }),
            ),
            // 90 days in weeks is 12.857…: still 90 days.
            (200, 90.0 / 7.0, TimeUnit::Weeks, Ok(())),
            (
                200,
                12.0,
                TimeUnit::Weeks,
                Err(Ineligible::TooShortHistory { days: 84, required: 90 }),
            ),
        ];
        for (n, age, unit, expected) in cases {
            assert_eq!(rule.check(&customers(n, age), unit), expected, "{n} {age} {unit:?}");
        }
    }

    #[test]
    fn reasons_read_well() {
        let e = Ineligible::TooFewCustomers {
            customers: 150,
            required: 200,
        };
        assert_eq!(
            e.to_string(),
            "150 customers with a purchase; a model needs at least 200"
        );
        let e = Ineligible::TooShortHistory { days: 30, required: 90 };
        assert_eq!(e.to_string(), "30 days of purchase history; a model needs at least 90");
    }
}
