//! Validated value types: each parses its raw input once and keeps the result private.
//!
//! Every type follows "parse, don't validate": a private field, a `parse(&str)` constructor
//! returning a per-type error enum (one variant per rule, messages meant for API users),
//! `as_str()`, `Display`, `AsRef<str>`, serde as the plain string with deserialization going
//! through `parse`.
//!
//! The `garde_*` functions adapt the parsers to garde's `custom` rule, so commands can
//! validate raw strings with the same rules and messages:
//!
//! ```
//! use customers_domain::values::{garde_iin, garde_phone};
//!
//! #[derive(garde::Validate)]
//! struct Command {
//!     #[garde(custom(garde_phone))]
//!     phone: String,
//!     #[garde(custom(garde_iin))]
//!     iin: Option<String>,
//! }
//! ```

pub mod bin;
pub mod email;
pub mod iin;
pub mod phone;
pub mod postal_code;
pub mod tax_id;

pub use bin::{Bin, BinAttribute, BinEntityType, BinError};
pub use email::{Email, EmailError};
pub use iin::{Iin, IinError, Sex};
pub use phone::{Phone, PhoneError, phone_digits};
pub use postal_code::{KzPostalCode, PostalCodeError};

/// A field value the `garde_*` adapters can check: a string, or an optional one.
///
/// `None` means "not given" and passes; a present value, even empty, is parsed.
pub trait GardeStrInput {
    /// The string to parse, or `None` when the value is absent.
    fn garde_str(&self) -> Option<&str>;
}

impl GardeStrInput for str {
    fn garde_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl GardeStrInput for String {
    fn garde_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: GardeStrInput + ?Sized> GardeStrInput for &T {
    fn garde_str(&self) -> Option<&str> {
        (**self).garde_str()
    }
}

impl<T: GardeStrInput> GardeStrInput for Option<T> {
    fn garde_str(&self) -> Option<&str> {
        self.as_ref().and_then(GardeStrInput::garde_str)
    }
}

fn check<T, E, V>(value: &V, parse: impl FnOnce(&str) -> Result<T, E>) -> garde::Result
where
    E: std::fmt::Display,
    V: GardeStrInput + ?Sized,
{
    match value.garde_str() {
        None => Ok(()),
        Some(raw) => parse(raw).map(|_| ()).map_err(|e| garde::Error::new(e.to_string())),
    }
}

/// garde `custom` rule: the value must be a valid IIN ([`Iin::parse`]); `None` passes.
pub fn garde_iin<V: GardeStrInput + ?Sized, C: ?Sized>(value: &V, _ctx: &C) -> garde::Result {
    check(value, Iin::parse)
}

/// garde `custom` rule: the value must be a valid BIN ([`Bin::parse`]); `None` passes.
pub fn garde_bin<V: GardeStrInput + ?Sized, C: ?Sized>(value: &V, _ctx: &C) -> garde::Result {
    check(value, Bin::parse)
}

/// garde `custom` rule: the value must be a valid phone number ([`Phone::parse`]); `None`
/// passes.
pub fn garde_phone<V: GardeStrInput + ?Sized, C: ?Sized>(value: &V, _ctx: &C) -> garde::Result {
    check(value, Phone::parse)
}

/// garde `custom` rule: the value must be a valid e-mail address ([`Email::parse`]); `None`
/// passes.
pub fn garde_email<V: GardeStrInput + ?Sized, C: ?Sized>(value: &V, _ctx: &C) -> garde::Result {
    check(value, Email::parse)
}

/// garde `custom` rule: the value must be a valid Kazakhstan postal code
/// ([`KzPostalCode::parse`]); `None` passes.
pub fn garde_kz_postal_code<V: GardeStrInput + ?Sized, C: ?Sized>(value: &V, _ctx: &C) -> garde::Result {
    check(value, KzPostalCode::parse)
}

#[cfg(test)]
mod tests {
    use garde::Validate;

    use super::*;

    #[derive(garde::Validate)]
    struct Command {
        #[garde(custom(garde_iin))]
        iin: Option<String>,
        #[garde(custom(garde_bin))]
        bin: Option<String>,
        #[garde(custom(garde_phone))]
        phone: String,
        #[garde(inner(custom(garde_phone)))]
        mobile_phone: Option<String>,
        #[garde(custom(garde_email))]
        email: String,
        #[garde(custom(garde_kz_postal_code))]
        postal_code: String,
        #[garde(dive)]
        nested: Nested,
    }

    #[derive(garde::Validate)]
    struct Nested {
        #[garde(inner(inner(custom(garde_iin))))]
        iin_patch: Option<Option<String>>,
    }

    fn valid_command() -> Command {
        Command {
            iin: Some("900515300008".to_owned()),
            bin: Some("971240001315".to_owned()),
            phone: "8 701 234 56 78".to_owned(),
            mobile_phone: None,
            email: "Info@Example.KZ".to_owned(),
            postal_code: "a05f4k5".to_owned(),
            nested: Nested { iin_patch: Some(None) },
        }
    }

    fn report(command: &Command) -> Vec<(String, String)> {
        match command.validate() {
            Ok(()) => Vec::new(),
            Err(report) => report
                .iter()
                .map(|(path, error)| (path.to_string(), error.message().to_owned()))
                .collect(),
        }
    }

    #[test]
    fn valid_command_passes() {
        assert_eq!(report(&valid_command()), vec![]);
        let absent = Command {
            iin: None,
            bin: None,
            nested: Nested { iin_patch: None },
            ..valid_command()
        };
        assert_eq!(report(&absent), vec![]);
    }

    #[test]
    fn each_adapter_reports_the_parse_message_at_its_path() {
        type Edit = fn(&mut Command);
        let cases: [(Edit, &str, String); 9] = [
            (
                |c| c.iin = Some("90051530000".to_owned()),
                "iin",
                IinError::WrongLength { got: 11 }.to_string(),
            ),
            (
                |c| c.iin = Some("900515300001".to_owned()),
                "iin",
                "IIN control digit (digit 12) must be 8 for these first 11 digits, got 1".to_owned(),
            ),
            (
                |c| c.bin = Some("123456789012".to_owned()),
                "bin",
                BinError::InvalidRegistrationMonth { month: 34 }.to_string(),
            ),
            (
                |c| c.phone = "abc".to_owned(),
                "phone",
                PhoneError::ContainsLetters { found: 'a' }.to_string(),
            ),
            (
                |c| c.mobile_phone = Some("701234567".to_owned()),
                "mobile_phone",
                PhoneError::TooShort { digits: 9, min: 10 }.to_string(),
            ),
            (
                |c| c.email = "nobody".to_owned(),
                "email",
                EmailError::MissingAt.to_string(),
            ),
            (
                |c| c.email = String::new(),
                "email",
                "email must not be empty".to_owned(),
            ),
            (
                |c| c.postal_code = "12345".to_owned(),
                "postal_code",
                PostalCodeError::InvalidFormat.to_string(),
            ),
            (
                |c| c.nested.iin_patch = Some(Some("x".to_owned())),
                "nested.iin_patch",
                IinError::WrongLength { got: 1 }.to_string(),
            ),
        ];
        for (edit, path, message) in cases {
            let mut command = valid_command();
            edit(&mut command);
            assert_eq!(report(&command), vec![(path.to_owned(), message)], "{path}");
        }
    }

    #[test]
    fn several_fields_are_reported_together() {
        let command = Command {
            iin: Some("".to_owned()),
            phone: "".to_owned(),
            ..valid_command()
        };
        assert_eq!(
            report(&command),
            vec![
                ("iin".to_owned(), "IIN must be exactly 12 digits, got 0".to_owned()),
                ("phone".to_owned(), "phone number must not be empty".to_owned()),
            ]
        );
    }

    #[test]
    fn adapters_can_be_called_directly() {
        for (result, expected) in [
            (garde_iin("900515300008", &()), None),
            (garde_bin("971240001315", &()), None),
            (garde_phone("+77012345678", &()), None),
            (garde_email("a@b.kz", &()), None),
            (garde_kz_postal_code("050000", &()), None),
            (garde_iin(&None::<String>, &()), None),
            (garde_kz_postal_code("", &()), Some("postal code must not be empty")),
            (
                garde_bin(&Some("97124000131".to_owned()), &()),
                Some("BIN must be exactly 12 digits, got 11"),
            ),
        ] {
            assert_eq!(result.err().map(|e| e.message().to_owned()).as_deref(), expected);
        }
    }
}
