//! Money: a `rust_decimal::Decimal` in tenge with at most two decimals and at most
//! 16 integer digits (it fits `NUMERIC(18,2)` on every backend).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why an amount is not acceptable as [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// More than two digits after the decimal point: rounding would lose what the user sent.
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
    /// More than 16 digits before the decimal point.
    #[error("must be less than 10^16 in absolute value")]
    TooLarge,
    /// A negative amount where only zero or more makes sense.
    #[error("must be greater than or equal to 0")]
    Negative,
}

/// An amount of money with exactly two decimals on output (`"5000000.00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Money(Decimal);

impl Money {
    /// Zero tenge.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// The largest absolute value a `NUMERIC(18,2)` column holds, plus one cent.
    fn limit() -> Decimal {
        Decimal::from_i128_with_scale(10_i128.pow(18), 2)
    }

    /// Accepts any amount with at most two decimals that fits `NUMERIC(18,2)`.
    pub fn parse(amount: Decimal) -> Result<Self, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        if normalized.abs() >= Self::limit() {
            return Err(MoneyError::TooLarge);
        }
        let mut value = normalized;
        value.rescale(2);
        Ok(Self(value))
    }

    /// Like [`Money::parse`], and refuses negative amounts.
    pub fn parse_non_negative(amount: Decimal) -> Result<Self, MoneyError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        Self::parse(amount)
    }

    /// Rounds a computed amount (an average, a prediction) half-even to two decimals.
    /// Saturates at the storable maximum.
    pub fn round(amount: Decimal) -> Self {
        let mut value = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
        let limit = Self::limit() - Decimal::new(1, 2);
        if value > limit {
            value = limit;
        } else if value < -limit {
            value = -limit;
        }
        value.rescale(2);
        Self(value)
    }

    /// The amount.
    pub const fn amount(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Money> for Decimal {
    fn from(value: Money) -> Self {
        value.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parse_keeps_two_decimals() {
        for (input, shown) in [
            ("5000000", "5000000.00"),
            ("0.1", "0.10"),
            ("12.50", "12.50"),
            ("-3.5", "-3.50"),
            ("9999999999999999.99", "9999999999999999.99"),
            ("1.000", "1.00"),
        ] {
            assert_eq!(Money::parse(dec(input)).unwrap().to_string(), shown, "{input}");
        }
    }

    #[test]
    fn parse_refuses_what_it_cannot_store() {
        assert_eq!(Money::parse(dec("1.005")), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse(dec("10000000000000000")), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse(dec("-10000000000000000.00")), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_non_negative(dec("-0.01")), Err(MoneyError::Negative));
        assert_eq!(Money::parse_non_negative(dec("0")).unwrap(), Money::ZERO);
    }

    #[test]
    fn round_is_half_even_and_saturates() {
        assert_eq!(Money::round(dec("2.345")).to_string(), "2.34");
        assert_eq!(Money::round(dec("2.355")).to_string(), "2.36");
        assert_eq!(Money::round(dec("1e20")).to_string(), "9999999999999999.99");
    }
}
