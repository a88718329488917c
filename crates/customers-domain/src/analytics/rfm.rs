//! RFM: recency, frequency and monetary scores 1..5 by quintiles within a workspace.
//!
//! Among the customers with at least one purchase (and a last purchase date), a value's score
//! is its quintile by cumulative share, ties sharing a score:
//!
//! ```text
//! k     = number of customers whose value is ≤ this one (ties included)
//! n     = number of customers scored
//! score = ⌈5 · k / n⌉                          (1..5, in integer arithmetic)
//! ```
//!
//! Recency is scored by the last purchase date (the most recent score 5), frequency by the
//! purchase count, monetary by the total purchases (the largest score 5). The code is the
//! three digits, "545". The database computes the same scores with window functions (see the
//! adapter); [`scores`] is the reference.

use serde::{Deserialize, Serialize};

/// Scores of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RfmScore {
    /// Recency, 5 = bought most recently.
    pub recency: u8,
    /// Frequency, 5 = most purchases.
    pub frequency: u8,
    /// Monetary, 5 = largest total.
    pub monetary: u8,
}

impl RfmScore {
    /// The code, e.g. "545".
    pub fn code(&self) -> String {
        format!("{}{}{}", self.recency, self.frequency, self.monetary)
    }
}

/// `⌈5 · k / n⌉` for `k` of `n` (both ≥ 1, `k ≤ n`).
pub const fn quintile(k: u64, n: u64) -> u8 {
    if n == 0 || k == 0 {
        return 1;
    }
    let score = (5 * k).div_ceil(n);
    if score > 5 { 5 } else { score as u8 }
}

/// The quintile score of every value, ties sharing one (the order of `values` is kept).
pub fn scores<T: Ord>(values: &[T]) -> Vec<u8> {
    let n = values.len() as u64;
    let mut sorted: Vec<&T> = values.iter().collect();
    sorted.sort();
    values
        .iter()
        .map(|v| {
            // Values ≤ v: the index after the last equal one.
            let k = sorted.partition_point(|x| *x <= v) as u64;
            quintile(k, n)
        })
        .collect()
}

/// One cell of the recency × frequency grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmCell {
    /// Recency score.
    pub recency: u8,
    /// Frequency score.
    pub frequency: u8,
    /// Customers in the cell.
    pub customers: u64,
    /// Their total purchases.
    pub revenue: crate::money::Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_of_distinct_values() {
        let values: Vec<u32> = (1..=10).collect();
        assert_eq!(scores(&values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Order of the input is kept.
        assert_eq!(scores(&[10, 1, 5]), [5, 2, 4]);
    }

    #[test]
    fn ties_share_a_score() {
        // Seven equal values among ten: all take the score of the last of them.
        assert_eq!(scores(&[1, 1, 1, 1, 1, 1, 1, 2, 3, 4]), [4, 4, 4, 4, 4, 4, 4, 4, 5, 5]);
        assert_eq!(scores(&[7, 7, 7]), [5, 5, 5]);
        assert_eq!(scores(&[3]), [5]);
        assert!(scores::<u8>(&[]).is_empty());
    }

    #[test]
    fn boundaries_in_integer_arithmetic() {
        assert_eq!(quintile(1, 5), 1);
        assert_eq!(quintile(2, 10), 1);
        assert_eq!(quintile(3, 10), 2);
        assert_eq!(quintile(1, 1_000_000), 1);
        assert_eq!(quintile(200_001, 1_000_000), 2);
        assert_eq!(quintile(1_000_000, 1_000_000), 5);
        assert_eq!(
            RfmScore {
                recency: 5,
                frequency: 4,
                monetary: 5
            }
            .code(),
            "545"
        );
    }
}
