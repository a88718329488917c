//! Validated value types: each parses its raw input once and keeps the result private.
//!
//! Every type follows "parse, don't validate": a private field, a `parse(&str)` constructor
//! returning a per-type error enum (one variant per rule, messages meant for API users),
//! `as_str()`, `Display`, `AsRef<str>`, serde as the plain string with deserialization going
//! through `parse`. The string newtypes get those conversions from one macro,
//! `validated_string!` (below), so they cannot drift apart.
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

/// Implements the conversions every validated string newtype shares, all going through its
/// `parse`, so a value of the type can only ever hold what `parse` accepted:
///
/// - `Display`, `AsRef<str>` and `From<Type> for String`: the stored (normalized) string;
/// - `FromStr` and `TryFrom<String>`: `parse`, failing with the type's own error;
/// - serde: serialized as the plain stored string; deserialized from a string through
///   `parse`, a rejection becoming a custom error with the error's message (what
///   `#[serde(try_from = "String", into = "String")]` would derive).
///
/// `validated_string!(Type, TypeError)` needs `Type` to be a tuple struct whose only field is
/// the private `String`, with `fn parse(&str) -> Result<Type, TypeError>` and
/// `TypeError: Display`. Defined before the `mod` lines so the submodules see it.
macro_rules! validated_string {
    ($type:ident, $error:ty) => {
        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $type {
            type Error = $error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.0
            }
        }

        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(::serde::de::Error::custom)
            }
        }
    };
}

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

    /// Checks what `validated_string!` generates for `T`: every conversion agrees with `parse`,
    /// for `raw` (accepted) and `rejected`.
    fn conversions_agree_with_parse<T, E>(parse: fn(&str) -> Result<T, E>, raw: &str, rejected: &str)
    where
        T: std::str::FromStr<Err = E>
            + TryFrom<String, Error = E>
            + Into<String>
            + AsRef<str>
            + std::fmt::Display
            + serde::Serialize
            + serde::de::DeserializeOwned
            + Clone
            + PartialEq
            + std::fmt::Debug,
        E: std::fmt::Display + PartialEq + std::fmt::Debug,
    {
        let value = parse(raw).unwrap();
        let stored = value.as_ref().to_owned();
        assert_eq!(value.to_string(), stored, "{raw:?}");
        assert_eq!(Into::<String>::into(value.clone()), stored, "{raw:?}");
        assert_eq!(raw.parse::<T>(), Ok(value.clone()), "{raw:?}");
        assert_eq!(T::try_from(raw.to_owned()), Ok(value.clone()), "{raw:?}");
        assert_eq!(
            serde_json::to_value(&value).unwrap(),
            serde_json::Value::String(stored.clone())
        );
        let raw_json = serde_json::to_string(raw).unwrap();
        assert_eq!(serde_json::from_str::<T>(&raw_json).unwrap(), value, "{raw:?}");
        assert!(serde_json::from_str::<T>("42").is_err(), "{raw:?}");

        let error = parse(rejected).err().unwrap();
        assert_eq!(rejected.parse::<T>().err().as_ref(), Some(&error), "{rejected:?}");
        assert_eq!(
            T::try_from(rejected.to_owned()).err().as_ref(),
            Some(&error),
            "{rejected:?}"
        );
        let rejected_json = serde_json::to_string(rejected).unwrap();
        let serde_error = serde_json::from_str::<T>(&rejected_json).unwrap_err().to_string();
        assert!(serde_error.starts_with(&error.to_string()), "{serde_error}");
    }

    #[test]
    fn string_newtypes_convert_through_parse() {
        conversions_agree_with_parse(Iin::parse, " 900515300008 ", "900515300001");
        conversions_agree_with_parse(Bin::parse, "971240001315", "123456789012");
        conversions_agree_with_parse(Phone::parse, "8 701 234 56 78", "8 701 CALL NOW");
        conversions_agree_with_parse(Email::parse, " Info@Example.KZ", "user@localhost");
        conversions_agree_with_parse(KzPostalCode::parse, "a05f4k5", "");
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
