//! [`KzPostalCode`]: a Kazakhstan postal code, legacy or Kazpost's 2022 format.

/// A rule a postal code candidate breaks. Messages are shown to API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostalCodeError {
    /// Nothing but whitespace was given.
    #[error("postal code must not be empty")]
    Empty,
    /// Neither of the two accepted formats.
    #[error(
        "postal code must be either 6 digits (legacy format, e.g. 050000) or 7 characters: a Latin letter, 2 digits and 4 Latin letters or digits (Kazpost format since 2022, e.g. A05F4K5)"
    )]
    InvalidFormat,
}

/// A valid Kazakhstan postal code: legacy 6 digits (`050000`) or the 7-character Kazpost
/// code (`A05F4K5`: a Latin letter, 2 digits, 4 Latin letters or digits), upper-cased.
///
/// Built only through [`KzPostalCode::parse`] (or `TryFrom<String>`, `FromStr`, serde).
/// Serialized as the plain normalized string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KzPostalCode(String);

validated_string!(KzPostalCode, PostalCodeError);

fn is_legacy(code: &[u8]) -> bool {
    code.len() == 6 && code.iter().all(u8::is_ascii_digit)
}

fn is_kazpost_2022(code: &[u8]) -> bool {
    match code {
        [letter, d1, d2, rest @ ..] => {
            letter.is_ascii_alphabetic()
                && d1.is_ascii_digit()
                && d2.is_ascii_digit()
                && rest.len() == 4
                && rest.iter().all(u8::is_ascii_alphanumeric)
        }
        _ => false,
    }
}

impl KzPostalCode {
    /// Parses a postal code: trims surrounding whitespace, checks the format and upper-cases
    /// the letters (`a05f4k5` → `A05F4K5`).
    pub fn parse(raw: &str) -> Result<Self, PostalCodeError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PostalCodeError::Empty);
        }
        let bytes = trimmed.as_bytes();
        if is_legacy(bytes) || is_kazpost_2022(bytes) {
            Ok(Self(trimmed.to_ascii_uppercase()))
        } else {
            Err(PostalCodeError::InvalidFormat)
        }
    }

    /// The normalized code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the legacy 6-digit format.
    pub fn is_legacy(&self) -> bool {
        self.0.len() == 6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes_are_normalized() {
        for (input, expected, legacy) in [
            ("050000", "050000", true),
            ("010000", "010000", true),
            (" 050010 ", "050010", true),
            ("A05F4K5", "A05F4K5", false),
            ("Z10K8D7", "Z10K8D7", false),
            ("a05f4k5", "A05F4K5", false),
            ("\tz10k8d7\n", "Z10K8D7", false),
            ("A050000", "A050000", false),
            ("T00ABCD", "T00ABCD", false),
        ] {
            let code = KzPostalCode::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(code.as_str(), expected, "{input:?}");
            assert_eq!(code.is_legacy(), legacy, "{input:?}");
        }
    }

    #[test]
    fn invalid_codes_are_rejected() {
        for (input, expected) in [
            ("", PostalCodeError::Empty),
            ("   ", PostalCodeError::Empty),
            ("05000", PostalCodeError::InvalidFormat),
            ("0500000", PostalCodeError::InvalidFormat),
            ("05000A", PostalCodeError::InvalidFormat),
            ("A05F4K", PostalCodeError::InvalidFormat),
            ("A05F4K56", PostalCodeError::InvalidFormat),
            ("AA5F4K5", PostalCodeError::InvalidFormat),
            ("A0FF4K5", PostalCodeError::InvalidFormat),
            ("105F4K5", PostalCodeError::InvalidFormat),
            ("A05F-K5", PostalCodeError::InvalidFormat),
            ("A05 F4K5", PostalCodeError::InvalidFormat),
            ("050 000", PostalCodeError::InvalidFormat),
            ("А05F4K5", PostalCodeError::InvalidFormat), // Cyrillic А
            ("０50000", PostalCodeError::InvalidFormat), // fullwidth zero
        ] {
            assert_eq!(KzPostalCode::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn error_messages_name_the_rule() {
        for (error, message) in [
            (PostalCodeError::Empty, "postal code must not be empty"),
            (
                PostalCodeError::InvalidFormat,
                "postal code must be either 6 digits (legacy format, e.g. 050000) or 7 characters: a Latin letter, 2 digits and 4 Latin letters or digits (Kazpost format since 2022, e.g. A05F4K5)",
            ),
        ] {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn serde_forms() {
        let code = KzPostalCode::parse("a05f4k5").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"A05F4K5\"");
        for (json, expected) in [
            ("\"a05f4k5\"", Some("A05F4K5")),
            ("\"050000\"", Some("050000")),
            ("\"05000\"", None),
            ("50000", None),
        ] {
            let parsed = serde_json::from_str::<KzPostalCode>(json).ok();
            assert_eq!(parsed.as_ref().map(KzPostalCode::as_str), expected, "{json}");
        }
    }

    #[test]
    fn conversions_and_display() {
        let code: KzPostalCode = "z10k8d7".parse().unwrap();
        assert_eq!(code.to_string(), "Z10K8D7");
        assert_eq!(code.as_ref(), "Z10K8D7");
        assert_eq!(String::from(code.clone()), "Z10K8D7");
        assert_eq!(KzPostalCode::try_from("Z10K8D7".to_owned()), Ok(code));
    }
}
