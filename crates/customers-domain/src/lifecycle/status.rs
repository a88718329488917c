//! The customer status machine: which funnel stage may follow which.
//!
//! | from       | allowed targets                 |
//! |------------|---------------------------------|
//! | `LEAD`     | `PROSPECT`, `ACTIVE`, `CHURNED` |
//! | `PROSPECT` | `LEAD`, `ACTIVE`, `CHURNED`     |
//! | `ACTIVE`   | `INACTIVE`, `CHURNED`           |
//! | `INACTIVE` | `ACTIVE`, `CHURNED`             |
//! | `CHURNED`  | `ACTIVE`, `LEAD`                |
//!
//! Staying in the same status is always accepted: it is a no-op, so repeating a request is
//! harmless (idempotent). Lead conversion ([`can_convert`]) is the `LEAD`/`PROSPECT` → `ACTIVE`
//! edge of this table.

use std::fmt;

use crate::model::CustomerStatus;

/// The statuses a customer in `from` may move to (not counting `from` itself), in the order of
/// the table in the [module docs](self).
pub fn allowed_targets(from: CustomerStatus) -> &'static [CustomerStatus] {
    use CustomerStatus::{Active, Churned, Inactive, Lead, Prospect};
    match from {
        Lead => &[Prospect, Active, Churned],
        Prospect => &[Lead, Active, Churned],
        Active => &[Inactive, Churned],
        Inactive => &[Active, Churned],
        Churned => &[Active, Lead],
    }
}

/// Accepts a move from `from` to `to` when the table allows it, or when `to == from` (a no-op).
///
/// ```
/// use customers_domain::CustomerStatus;
/// use customers_domain::lifecycle::status::check_transition;
///
/// assert!(check_transition(CustomerStatus::Lead, CustomerStatus::Active).is_ok());
/// let err = check_transition(CustomerStatus::Active, CustomerStatus::Lead).unwrap_err();
/// assert_eq!(err.to_string(), "cannot change status from ACTIVE to LEAD; allowed: INACTIVE, CHURNED");
/// ```
pub fn check_transition(from: CustomerStatus, to: CustomerStatus) -> Result<(), TransitionError> {
    let allowed = allowed_targets(from);
    if from == to || allowed.contains(&to) {
        Ok(())
    } else {
        Err(TransitionError { from, to, allowed })
    }
}

/// Whether a customer in `from` may be converted from a lead into a buying (`ACTIVE`) customer:
/// only a `LEAD` or a `PROSPECT` can.
pub fn can_convert(from: CustomerStatus) -> bool {
    matches!(from, CustomerStatus::Lead | CustomerStatus::Prospect)
}

/// A status change the table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot change status from {from} to {to}; allowed: {}", StatusList(allowed))]
pub struct TransitionError {
    /// The current status.
    pub from: CustomerStatus,
    /// The requested status.
    pub to: CustomerStatus,
    /// What `from` may move to.
    pub allowed: &'static [CustomerStatus],
}

/// Formats statuses as `A, B, C`.
struct StatusList<'a>(&'a [CustomerStatus]);

impl fmt::Display for StatusList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, status) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(status.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CustomerStatus::{Active, Churned, Inactive, Lead, Prospect};

    /// The whole 5×5 table: row = from, columns in the order LEAD, PROSPECT, ACTIVE, INACTIVE,
    /// CHURNED; `true` = allowed (the diagonal is the idempotent no-op).
    const TABLE: [(CustomerStatus, [bool; 5]); 5] = [
        (Lead, [true, true, true, false, true]),
        (Prospect, [true, true, true, false, true]),
        (Active, [false, false, true, true, true]),
        (Inactive, [false, false, true, true, true]),
        (Churned, [true, false, true, false, true]),
    ];
    const COLUMNS: [CustomerStatus; 5] = [Lead, Prospect, Active, Inactive, Churned];

    #[test]
    fn every_pair_follows_the_table() {
        assert_eq!(CustomerStatus::ALL, COLUMNS, "the table covers every status");
        for (from, row) in TABLE {
            for (to, expected) in COLUMNS.into_iter().zip(row) {
                let result = check_transition(from, to);
                assert_eq!(result.is_ok(), expected, "{from} -> {to}");
                if let Err(err) = result {
                    assert_eq!(err.from, from);
                    assert_eq!(err.to, to);
                    assert_eq!(err.allowed, allowed_targets(from));
                }
                // The list and the check agree, and the list never names `from` itself.
                assert_eq!(
                    allowed_targets(from).contains(&to),
                    expected && from != to,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn allowed_targets_are_listed_in_table_order() {
        let cases: [(CustomerStatus, &[CustomerStatus]); 5] = [
            (Lead, &[Prospect, Active, Churned]),
            (Prospect, &[Lead, Active, Churned]),
            (Active, &[Inactive, Churned]),
            (Inactive, &[Active, Churned]),
            (Churned, &[Active, Lead]),
        ];
        for (from, expected) in cases {
            assert_eq!(allowed_targets(from), expected, "{from}");
        }
    }

    #[test]
    fn errors_name_the_allowed_targets() {
        let cases = [
            (
                Active,
                Lead,
                "cannot change status from ACTIVE to LEAD; allowed: INACTIVE, CHURNED",
            ),
            (
                Active,
                Prospect,
                "cannot change status from ACTIVE to PROSPECT; allowed: INACTIVE, CHURNED",
            ),
            (
                Lead,
                Inactive,
                "cannot change status from LEAD to INACTIVE; allowed: PROSPECT, ACTIVE, CHURNED",
            ),
            (
                Prospect,
                Inactive,
                "cannot change status from PROSPECT to INACTIVE; allowed: LEAD, ACTIVE, CHURNED",
            ),
            (
                Inactive,
                Lead,
                "cannot change status from INACTIVE to LEAD; allowed: ACTIVE, CHURNED",
            ),
            (
                Churned,
                Prospect,
                "cannot change status from CHURNED to PROSPECT; allowed: ACTIVE, LEAD",
            ),
            (
                Churned,
                Inactive,
                "cannot change status from CHURNED to INACTIVE; allowed: ACTIVE, LEAD",
            ),
        ];
        for (from, to, message) in cases {
            assert_eq!(check_transition(from, to).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn only_leads_and_prospects_convert() {
        let cases = [
            (Lead, true),
            (Prospect, true),
            (Active, false),
            (Inactive, false),
            (Churned, false),
        ];
        for (from, expected) in cases {
            assert_eq!(can_convert(from), expected, "{from}");
            if expected {
                assert!(
                    check_transition(from, Active).is_ok(),
                    "conversion is an edge of the table"
                );
            }
        }
    }
}
