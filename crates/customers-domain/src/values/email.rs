//! [`Email`]: a validated, normalized (trimmed, lower-cased) e-mail address.
//!
//! The syntax check is garde's own e-mail rule ([`garde::rules::email::parse_email`]), so
//! `#[garde(email)]` and [`Email::parse`] agree, plus two rules of ours: at most 254
//! characters (the SMTP path limit) and a domain with at least one dot (no `user@localhost`
//! in a CRM).
//!
//! Internationalized domains (`info@альфа.кз`) are rejected: garde accepts them only with its
//! `email-idna` feature, which this workspace does not enable, and to keep the behaviour from
//! changing if some other crate turns that feature on, non-ASCII domains are rejected
//! explicitly. Such addresses must be given with the domain in punycode (`xn--…` labels).
//! Non-ASCII local parts (`инфо@…`) are rejected by garde itself.

use garde::rules::email::{InvalidEmail, parse_email};

/// Maximum length of an address, in characters (RFC 5321 path limit minus the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A rule an e-mail candidate breaks. Messages are shown to API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace was given.
    #[error("email must not be empty")]
    Empty,
    /// Longer than [`MAX_EMAIL_CHARS`] after trimming.
    #[error("email must be at most 254 characters, got {got}")]
    TooLong {
        /// Number of characters after trimming.
        got: usize,
    },
    /// No `@` separates the local part from the domain.
    #[error("email must contain an @ between the name and the domain")]
    MissingAt,
    /// The local part (before `@`) is longer than 64 characters.
    #[error("email name before the @ must be at most 64 characters")]
    LocalPartTooLong,
    /// The local part is empty or has characters outside letters, digits and ``.!#$%&'*+/=?^_`{|}~-``.
    #[error(
        "email name before the @ must be non-empty and use only Latin letters, digits and . ! # $ % & ' * + / = ? ^ _ ` {{ | }} ~ -"
    )]
    InvalidLocalPart,
    /// The domain is not a valid domain name (labels of Latin letters, digits and inner
    /// hyphens, separated by dots) nor a bracketed IP address.
    #[error("email domain after the @ must be a valid domain name made of Latin letters, digits, hyphens and dots")]
    InvalidDomain,
    /// The domain has no dot, e.g. `user@localhost`.
    #[error("email domain after the @ must contain a dot, like example.kz")]
    DomainWithoutDot,
}

/// A valid e-mail address, trimmed and lower-cased.
///
/// Built only through [`Email::parse`] (or `TryFrom<String>`, `FromStr`, serde).
/// Serialized as the plain normalized string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

validated_string!(Email, EmailError);

impl Email {
    /// Parses an address: trims surrounding whitespace, lower-cases it and checks the rules.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let normalized = raw.trim().to_lowercase();
        if normalized.is_empty() {
            return Err(EmailError::Empty);
        }
        let chars = normalized.chars().count();
        if chars > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong { got: chars });
        }
        parse_email(&normalized).map_err(|e| match e {
            InvalidEmail::Empty => EmailError::Empty,
            InvalidEmail::MissingAt => EmailError::MissingAt,
            InvalidEmail::UserLengthExceeded => EmailError::LocalPartTooLong,
            InvalidEmail::InvalidUser => EmailError::InvalidLocalPart,
            // The 254-character limit above makes `DomainLengthExceeded` unreachable;
            // `InvalidEmail` is non-exhaustive, so unknown future reasons land here too.
            _ => EmailError::InvalidDomain,
        })?;
        // `parse_email` splits at the first '@' and has accepted the rest as the domain.
        let (_, domain) = normalized.split_once('@').ok_or(EmailError::MissingAt)?;
        if !domain.is_ascii() {
            return Err(EmailError::InvalidDomain);
        }
        if !domain.contains('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        Ok(Self(normalized))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An e-mail read back from storage, where only [`Email::parse`]d values are written: a
    /// trimmed, lower-case value with one `@` between non-empty parts is taken as it is;
    /// anything else is parsed.
    pub fn from_stored(stored: &str) -> Result<Self, EmailError> {
        let plain = stored.len() <= MAX_EMAIL_CHARS
            && stored.trim() == stored
            && stored.to_lowercase() == stored
            && stored
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if plain {
            return Ok(Email(stored.to_owned()));
        }
        Email::parse(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_normalized() {
        for (input, expected) in [
            ("user@example.kz", "user@example.kz"),
            ("User.Name@Example.KZ", "user.name@example.kz"),
            ("  info@kaspi.kz  ", "info@kaspi.kz"),
            ("\tSALES@ALFA-BANK.KZ\n", "sales@alfa-bank.kz"),
            ("first.last+crm@mail.example.com", "first.last+crm@mail.example.com"),
            ("o'brien@example.org", "o'brien@example.org"),
            ("a@b.co", "a@b.co"),
            ("info@xn--80aa0a4a.xn--80ao21a", "info@xn--80aa0a4a.xn--80ao21a"),
            ("user@[127.0.0.1]", "user@[127.0.0.1]"),
        ] {
            let email = Email::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(email.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_rejected() {
        let local_65 = format!("{}@example.kz", "a".repeat(65));
        let local_64 = format!("{}@example.kz", "a".repeat(64));
        // 63 + 1 + 63 + 1 + 63 + 1 + 59 = 251 domain characters; with "ab@": 254 total.
        let domain_251 = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(59)
        );
        let max_len = format!("ab@{domain_251}");
        assert_eq!(max_len.len(), 254);
        assert_eq!(Email::parse(&max_len).unwrap().as_str(), max_len);
        assert_eq!(Email::parse(&local_64).unwrap().as_str(), local_64);
        let too_long = format!("abc@{domain_251}");
        for (input, expected) in [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("user.example.kz", EmailError::MissingAt),
            ("user", EmailError::MissingAt),
            ("@example.kz", EmailError::InvalidLocalPart),
            ("us er@example.kz", EmailError::InvalidLocalPart),
            ("инфо@альфа.кз", EmailError::InvalidLocalPart),
            ("info@альфа.кз", EmailError::InvalidDomain),
            ("user@", EmailError::InvalidDomain),
            ("user@exa mple.kz", EmailError::InvalidDomain),
            ("user@-example.kz", EmailError::InvalidDomain),
            ("user@example..kz", EmailError::InvalidDomain),
            ("user@example.kz.", EmailError::InvalidDomain),
            ("user@a@example.kz", EmailError::InvalidDomain),
            ("user@example_kz.kz", EmailError::InvalidDomain),
            ("user@localhost", EmailError::DomainWithoutDot),
            (local_65.as_str(), EmailError::LocalPartTooLong),
            (too_long.as_str(), EmailError::TooLong { got: 255 }),
        ] {
            assert_eq!(Email::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn too_long_counts_characters_after_trimming() {
        let input = format!("  {}@example.kz  ", "a".repeat(250));
        assert_eq!(Email::parse(&input), Err(EmailError::TooLong { got: 261 }));
    }

    #[test]
    fn error_messages_name_the_rule() {
        for (error, message) in [
            (EmailError::Empty, "email must not be empty"),
            (
                EmailError::TooLong { got: 300 },
                "email must be at most 254 characters, got 300",
            ),
            (
                EmailError::MissingAt,
                "email must contain an @ between the name and the domain",
            ),
            (
                EmailError::LocalPartTooLong,
                "email name before the @ must be at most 64 characters",
            ),
            (
                EmailError::InvalidLocalPart,
                "email name before the @ must be non-empty and use only Latin letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -",
            ),
            (
                EmailError::InvalidDomain,
                "email domain after the @ must be a valid domain name made of Latin letters, digits, hyphens and dots",
            ),
            (
                EmailError::DomainWithoutDot,
                "email domain after the @ must contain a dot, like example.kz",
            ),
        ] {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn serde_forms() {
        let email = Email::parse("Info@Example.KZ").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"info@example.kz\"");
        for (json, expected) in [
            ("\"info@example.kz\"", Some("info@example.kz")),
            ("\" INFO@EXAMPLE.KZ \"", Some("info@example.kz")),
            ("\"info\"", None),
            ("42", None),
        ] {
            let parsed = serde_json::from_str::<Email>(json).ok();
            assert_eq!(parsed.as_ref().map(Email::as_str), expected, "{json}");
        }
    }

    #[test]
    fn conversions_and_display() {
        let email: Email = "A@B.KZ".parse().unwrap();
        assert_eq!(email.to_string(), "a@b.kz");
        assert_eq!(email.as_ref(), "a@b.kz");
        assert_eq!(String::from(email.clone()), "a@b.kz");
        assert_eq!(Email::try_from("a@b.kz".to_owned()), Ok(email));
    }
}
