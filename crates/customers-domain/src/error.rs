//! Domain errors: what can go wrong, independent of any transport.

use std::fmt;

use crate::ids::CustomerId;

/// One rule one field breaks. `field` is the camelCase path of the input
/// (`email`, `contacts[0].phone`, `tags[3]`), as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong, in plain English.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every rule an input breaks (never empty when returned as an error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }

    /// Records an error.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records an error when `result` is one, returning the value otherwise.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.push(field, err.to_string());
                None
            }
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }

    /// Adds the errors of a garde report, with paths turned into the camelCase wire names,
    /// below `prefix` (empty for top-level input).
    pub fn extend_from_report(&mut self, prefix: &str, report: garde::Report) {
        for (path, error) in report.into_inner() {
            let path = wire_path(&path.to_string());
            let field = match (prefix.is_empty(), path.is_empty()) {
                (true, _) => path,
                (false, true) => prefix.to_owned(),
                (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
                (false, false) => format!("{prefix}.{path}"),
            };
            self.push(field, error.message().to_owned());
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Turns a Rust field path (`contacts[0].first_name`, `customer_type`) into the wire path
/// (`contacts[0].firstName`, `type`).
fn wire_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let (name, index) = segment.find('[').map_or((segment, ""), |at| segment.split_at(at));
            let name = match name {
                "customer_type" | "address_type" => "type".to_owned(),
                other => snake_to_camel(other),
            };
            format!("{name}{index}")
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn snake_to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A field that must be unique among the live customers of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UniqueField {
    /// E-mail (compared lower-cased).
    Email,
    /// Individual identification number.
    Iin,
    /// Business identification number.
    Bin,
}

impl UniqueField {
    /// The wire name of the field.
    pub const fn as_str(&self) -> &'static str {
        match self {
            UniqueField::Email => "email",
            UniqueField::Iin => "iin",
            UniqueField::Bin => "bin",
        }
    }
}

impl fmt::Display for UniqueField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a use case of the customer service can fail with. Mapped once to HTTP by the API.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// The input breaks one or more rules.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such customer in the caller's organization and workspace.
    #[error("customer not found")]
    NotFound,
    /// Another customer of the organization already has this e-mail, IIN or BIN.
    #[error("a customer with this {field} already exists")]
    Duplicate {
        /// The field that collides.
        field: UniqueField,
        /// The existing customer, when it is in the caller's workspace.
        existing_id: Option<CustomerId>,
    },
    /// Another customer of the organization already has this e-mail, IIN or BIN — for several
    /// items of a batch (`[3].email`), or items of the batch repeat each other.
    #[error("conflicting items: {0}")]
    Conflicts(ValidationErrors),
    /// A contact, address or note of the customer does not exist.
    #[error("{0} not found")]
    PartNotFound(&'static str),
    /// The status cannot move as asked.
    #[error("{0}")]
    Transition(crate::lifecycle::status::TransitionError),
    /// Only a LEAD or PROSPECT can be converted.
    #[error("only a LEAD or PROSPECT can be converted, the customer is {0}")]
    NotConvertible(crate::model::CustomerStatus),
    /// The caller may not do this to this record (e.g. edit another author's note).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The client's `If-Match` version is not the current one.
    #[error("the customer has changed: current version is {current_version}")]
    PreconditionFailed {
        /// The version the customer has now.
        current_version: i64,
    },
    /// The customer changed concurrently too many times for the write to go through.
    #[error("the customer was changed concurrently; retry")]
    Contention,
    /// A port failed (database down, bug). The message is for logs, never for clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ValidationErrors> for CustomerError {
    fn from(errors: ValidationErrors) -> Self {
        CustomerError::Invalid(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_path_uses_camel_case_and_keeps_indexes() {
        assert_eq!(wire_path("contacts[0].first_name"), "contacts[0].firstName");
        assert_eq!(wire_path("customer_type"), "type");
        assert_eq!(wire_path("addresses[12].address_type"), "addresses[12].type");
        assert_eq!(wire_path("tags[3]"), "tags[3]");
        assert_eq!(wire_path("credit_limit"), "creditLimit");
    }
}
