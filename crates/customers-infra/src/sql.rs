//! SQL building blocks shared by the adapters: a statement builder that numbers placeholders
//! for the connected backend, and the codec that stores values the way the migrations declare
//! them (see `customers-migrations`).

use std::fmt::Write;

use rust_decimal::Decimal;
use sea_orm::{DbBackend, QueryResult, Statement, TryGetable, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::Money;
use customers_domain::ports::RepositoryError;

/// A statement under construction: text with placeholders, and the values bound to them.
#[derive(Debug)]
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Starts a statement.
    pub fn new(backend: DbBackend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => {
                let _ = write!(self.text, "${}", self.values.len());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(?, ?, …)` bound to `values`.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    /// The finished statement.
    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// Encodes and decodes values per backend: PostgreSQL gets native types; SQLite gets
/// integers for time (microseconds) and money (cents), which compare and sort exactly.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    backend: DbBackend,
}

impl Codec {
    /// The codec of a backend.
    pub const fn new(backend: DbBackend) -> Self {
        Self { backend }
    }

    /// The backend.
    pub const fn backend(&self) -> DbBackend {
        self.backend
    }

    fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// A statement for this backend.
    pub fn sql(&self, text: &str) -> Sql {
        Sql::new(self.backend, text)
    }

    /// A UUID.
    pub fn uuid(&self, id: impl Into<Uuid>) -> Value {
        Value::Uuid(Some(id.into()))
    }

    /// An optional UUID.
    pub fn opt_uuid(&self, id: Option<impl Into<Uuid>>) -> Value {
        Value::Uuid(id.map(Into::into))
    }

    /// A text.
    pub fn text(&self, text: impl Into<String>) -> Value {
        Value::String(Some(text.into()))
    }

    /// An optional text.
    pub fn opt_text(&self, text: Option<impl Into<String>>) -> Value {
        Value::String(text.map(Into::into))
    }

    /// An integer.
    pub fn int(&self, value: i64) -> Value {
        Value::BigInt(Some(value))
    }

    /// A boolean.
    pub fn bool(&self, value: bool) -> Value {
        Value::Bool(Some(value))
    }

    /// A point in time.
    pub fn time(&self, at: OffsetDateTime) -> Value {
        if self.is_postgres() {
            Value::TimeDateTimeWithTimeZone(Some(at))
        } else {
            Value::BigInt(Some(micros(at)))
        }
    }

    /// An optional point in time.
    pub fn opt_time(&self, at: Option<OffsetDateTime>) -> Value {
        match at {
            Some(at) => self.time(at),
            None if self.is_postgres() => Value::TimeDateTimeWithTimeZone(None),
            None => Value::BigInt(None),
        }
    }

    /// An amount of money.
    pub fn money(&self, amount: Money) -> Value {
        self.decimal(amount.amount(), false)
    }

    /// A decimal compared against money columns. On SQLite it becomes cents, rounded up
    /// (`round_up`, for lower bounds) or down (for upper bounds) so that comparisons stay exact.
    pub fn decimal(&self, amount: Decimal, round_up: bool) -> Value {
        if self.is_postgres() {
            return Value::Decimal(Some(amount));
        }
        let saturated = if amount.is_sign_negative() { i64::MIN } else { i64::MAX };
        let cents = amount
            .checked_mul(Decimal::ONE_HUNDRED)
            .map(|c| if round_up { c.ceil() } else { c.floor() })
            .and_then(|c| i64::try_from(c).ok())
            .unwrap_or(saturated);
        Value::BigInt(Some(cents))
    }

    /// A JSON document.
    pub fn json(&self, value: Option<serde_json::Value>) -> Value {
        if self.is_postgres() {
            Value::Json(value.map(Box::new))
        } else {
            Value::String(value.map(|v| v.to_string()))
        }
    }

    /// Reads a column.
    pub fn get<T: TryGetable>(&self, row: &QueryResult, column: &str) -> Result<T, RepositoryError> {
        row.try_get::<T>("", column).map_err(|e| corrupt(column, e))
    }

    /// Reads a point in time.
    pub fn get_time(&self, row: &QueryResult, column: &str) -> Result<OffsetDateTime, RepositoryError> {
        self.get_opt_time(row, column)?
            .ok_or_else(|| corrupt(column, "unexpected NULL"))
    }

    /// Reads an optional point in time.
    pub fn get_opt_time(&self, row: &QueryResult, column: &str) -> Result<Option<OffsetDateTime>, RepositoryError> {
        if self.is_postgres() {
            return self.get::<Option<OffsetDateTime>>(row, column);
        }
        self.get::<Option<i64>>(row, column)?
            .map(|us| from_micros(us).ok_or_else(|| corrupt(column, "timestamp out of range")))
            .transpose()
    }

    /// Reads an amount of money.
    pub fn get_money(&self, row: &QueryResult, column: &str) -> Result<Money, RepositoryError> {
        let amount = if self.is_postgres() {
            self.get::<Decimal>(row, column)?
        } else {
            Decimal::new(self.get::<i64>(row, column)?, 2)
        };
        Money::parse(amount).map_err(|e| corrupt(column, e))
    }

    /// Reads a JSON document.
    pub fn get_json(&self, row: &QueryResult, column: &str) -> Result<Option<serde_json::Value>, RepositoryError> {
        if self.is_postgres() {
            return self.get::<Option<serde_json::Value>>(row, column);
        }
        self.get::<Option<String>>(row, column)?
            .map(|text| serde_json::from_str(&text).map_err(|e| corrupt(column, e)))
            .transpose()
    }
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
}

/// A stored value that cannot be read back: a bug or a hand-edited row.
pub fn corrupt(column: &str, detail: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::Unexpected(format!("cannot read column {column}: {detail}"))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let codec = Codec::new(DbBackend::Postgres);
        let mut sql = codec.sql("SELECT 1 WHERE a = ");
        sql.bind(codec.int(1))
            .push(" AND b IN ")
            .bind_list([codec.int(2), codec.int(3)]);
        assert_eq!(sql.build().sql, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        let codec = Codec::new(DbBackend::Sqlite);
        let mut sql = codec.sql("SELECT 1 WHERE a = ");
        sql.bind(codec.int(1)).push(" AND b IN ").bind_list([codec.int(2)]);
        assert_eq!(sql.build().sql, "SELECT 1 WHERE a = ? AND b IN (?)");
    }

    #[test]
    fn sqlite_money_bounds_round_towards_the_inside() {
        let codec = Codec::new(DbBackend::Sqlite);
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(codec.decimal(d("100.001"), true), Value::BigInt(Some(10001)));
        assert_eq!(codec.decimal(d("100.009"), false), Value::BigInt(Some(10000)));
    }

    #[test]
    fn micros_round_trip() {
        let at = time::macros::datetime!(2026-11-25 10:11:12.123456 UTC);
        assert_eq!(from_micros(micros(at)), Some(at));
    }

    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
