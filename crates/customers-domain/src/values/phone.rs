//! [`Phone`]: a validated phone number stored in E.164 (`+77012345678`).
//!
//! Kazakhstan numbers are accepted in the forms people type (`8 701 234 56 78`,
//! `+7 (701) 234-56-78`, `7012345678`, …); other countries' numbers need a leading `+`.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

/// Fewest digits accepted without a leading `+` (a Kazakhstan number without its prefix).
const MIN_DOMESTIC_DIGITS: usize = 10;
/// Most digits accepted without a leading `+` (a Kazakhstan number with its 8 or 7 prefix).
const MAX_DOMESTIC_DIGITS: usize = 11;
/// Fewest digits accepted after a leading `+` (country code plus the shortest numbers).
const MIN_INTERNATIONAL_DIGITS: usize = 7;
/// Most digits E.164 allows after the `+`.
const MAX_INTERNATIONAL_DIGITS: usize = 15;

/// A rule a phone number candidate breaks. Messages are shown to API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but whitespace was given.
    #[error("phone number must not be empty")]
    Empty,
    /// The input contains a letter.
    #[error("phone number must not contain letters, found {found:?}")]
    ContainsLetters {
        /// The first letter found.
        found: char,
    },
    /// The input contains a character that is neither a digit, a separator nor a leading `+`.
    #[error(
        "phone number may contain only digits 0-9, spaces, dashes, dots, parentheses and a leading +, found {found:?} at position {position}"
    )]
    InvalidCharacter {
        /// 1-based position of the offending character in the trimmed input.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Too few digits for the form used.
    #[error("phone number is too short: got {digits} digits, need at least {min}")]
    TooShort {
        /// Number of digits given.
        digits: usize,
        /// Minimum for the form used (10 for Kazakhstan numbers, 7 after a leading +).
        min: usize,
    },
    /// Too many digits for the form used.
    #[error("phone number is too long: got {digits} digits, at most {max} allowed")]
    TooLong {
        /// Number of digits given.
        digits: usize,
        /// Maximum for the form used (11 for Kazakhstan numbers, 15 after a leading +).
        max: usize,
    },
    /// The digits do not form a number that exists in the numbering plan of its country.
    #[error(
        "phone number is not a valid number: check the country code, the operator or area code and the number of digits"
    )]
    Invalid,
}

/// A valid phone number, stored in E.164 (`+` followed by country code and number).
///
/// Built only through [`Phone::parse`] (or `TryFrom<String>`, `FromStr`, serde).
/// Serialized as the E.164 string; deserialization accepts every form `parse` accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

validated_string!(Phone, PhoneError);

/// Keeps only the ASCII digits of `raw` (`"+7 (701) 234-56-78"` → `"77012345678"`).
///
/// Meant for searching by digits; no validation is done.
pub fn phone_digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// Strips separators and checks characters: returns whether a leading `+` was present and the
/// digits.
fn compact(trimmed: &str) -> Result<(bool, String), PhoneError> {
    let mut plus = false;
    let mut digits = String::with_capacity(trimmed.len());
    for (index, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '.' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            '+' if index == 0 => plus = true,
            c if c.is_alphabetic() => return Err(PhoneError::ContainsLetters { found: c }),
            c => {
                return Err(PhoneError::InvalidCharacter {
                    position: index + 1,
                    found: c,
                });
            }
        }
    }
    Ok((plus, digits))
}

/// Turns the digits of a number typed without `+` into an E.164 candidate.
///
/// The `phonenumber` crate (region KZ) gets some common Kazakhstan forms wrong, so they are
/// rewritten first:
/// - `8` + 10 digits (trunk prefix, including toll-free `8 800 …`) → `+7` + the 10 digits;
/// - `7` + 10 digits → `+7…`;
/// - bare 10 digits starting with 6 or 7 (Kazakhstan's ranges in zone +7) → `+7…`.
///
/// Anything else is left to the crate with KZ as the default region.
fn domestic_candidate(digits: &str) -> String {
    let bytes = digits.as_bytes();
    match (bytes.len(), bytes.first()) {
        (11, Some(b'8')) => format!("+7{}", &digits[1..]),
        (11, Some(b'7')) => format!("+{digits}"),
        (10, Some(b'6' | b'7')) => format!("+7{digits}"),
        _ => digits.to_owned(),
    }
}

/// Whether the 10-digit national number of a zone +7 number (Kazakhstan and Russia share
/// country code 7) is valid per the `phonenumber` crate's KZ or RU metadata.
///
/// Needed because `phonenumber` 0.3.10 strips `8` (the zone's trunk prefix) even after an
/// explicit `+7`: `+7 800 080 08 08` comes out as `+7000800808` and `+7 812 …` (Saint
/// Petersburg) as `+712…`, both then judged invalid although they are genuine numbers. So
/// for `+78…` the national number is matched against the crate's metadata directly, the same
/// way its `is_valid` does (general pattern, then one of the number types).
fn zone_7_national_is_valid(national: &str) -> bool {
    const TYPES: [Type; 10] = [
        Type::FixedLine,
        Type::Mobile,
        Type::TollFree,
        Type::PremiumRate,
        Type::SharedCost,
        Type::PersonalNumber,
        Type::Voip,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ];
    ["KZ", "RU"].iter().any(|region| {
        DATABASE.by_id(*region).is_some_and(|meta| {
            let descriptors = meta.descriptors();
            descriptors.general().is_match(national)
                && TYPES
                    .iter()
                    .any(|&kind| descriptors.get(kind).is_some_and(|d| d.is_match(national)))
        })
    })
}

/// Validates an E.164 candidate (`+` and digits) and returns its canonical E.164 form.
fn validate_e164(candidate: &str) -> Result<String, PhoneError> {
    if let Some(national) = candidate.strip_prefix("+7").filter(|n| n.starts_with('8')) {
        // See `zone_7_national_is_valid` for why the crate's parser is bypassed here.
        return if national.len() == 10 && zone_7_national_is_valid(national) {
            Ok(candidate.to_owned())
        } else {
            Err(PhoneError::Invalid)
        };
    }
    let number = phonenumber::parse(Some(Id::KZ), candidate).map_err(|_| PhoneError::Invalid)?;
    if phonenumber::is_valid(&number) {
        Ok(number.format().mode(Mode::E164).to_string())
    } else {
        Err(PhoneError::Invalid)
    }
}

impl Phone {
    /// Parses and normalizes a phone number to E.164.
    ///
    /// Surrounding whitespace is trimmed; spaces, dashes, dots and parentheses are ignored.
    /// Without a leading `+` the number is taken as a Kazakhstan number (see the accepted forms
    /// in the module docs); with it, any country's valid number is accepted.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (plus, digits) = compact(trimmed)?;
        let (min, max) = if plus {
            (MIN_INTERNATIONAL_DIGITS, MAX_INTERNATIONAL_DIGITS)
        } else {
            (MIN_DOMESTIC_DIGITS, MAX_DOMESTIC_DIGITS)
        };
        if digits.len() < min {
            return Err(PhoneError::TooShort {
                digits: digits.len(),
                min,
            });
        }
        if digits.len() > max {
            return Err(PhoneError::TooLong {
                digits: digits.len(),
                max,
            });
        }
        let candidate = if plus {
            format!("+{digits}")
        } else {
            domestic_candidate(&digits)
        };

        validate_e164(&candidate).map(Self)
    }

    /// The number in E.164, e.g. `+77012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The E.164 digits without the `+`, e.g. `77012345678`.
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
    }

    /// A phone read back from storage, where only [`Phone::parse`]d values are written: a
    /// well-formed E.164 string is taken as it is (no second trip through the numbering
    /// plan, whose metadata may change between releases); anything else is parsed.
    pub fn from_stored(stored: &str) -> Result<Self, PhoneError> {
        let digits = stored.strip_prefix('+').unwrap_or("");
        if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Phone(stored.to_owned()));
        }
        Phone::parse(stored)
    }
}

/// Serde `deserialize_with` for a phone of a stored aggregate (a [`Customer`] read back from
/// a cache entry or a snapshot this system wrote): as [`Phone::from_stored`], a well-formed
/// E.164 string is taken as it is. The aggregate was validated when it was built; parsing
/// every phone of a cached list page again through the numbering plan took most of a cache
/// hit's time. A [`Phone`] on its own still deserializes through [`Phone::parse`].
///
/// [`Customer`]: crate::Customer
pub fn deserialize_stored<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Phone, D::Error> {
    let raw = <String as serde::Deserialize>::deserialize(deserializer)?;
    Phone::from_stored(&raw).map_err(serde::de::Error::custom)
}

/// [`deserialize_stored`] for an optional phone.
pub fn deserialize_stored_opt<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Phone>, D::Error> {
    let raw = <Option<String> as serde::Deserialize>::deserialize(deserializer)?;
    raw.map(|raw| Phone::from_stored(&raw).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod stored_tests {
    use super::*;

    #[test]
    fn stored_phones_are_taken_as_they_are_when_well_formed() {
        assert_eq!(Phone::from_stored("+77012345678").unwrap().digits(), "77012345678");
        assert_eq!(Phone::from_stored("8 701 234 56 78").unwrap().as_str(), "+77012345678");
        assert!(Phone::from_stored("+12").is_err());
        assert!(Phone::from_stored("").is_err());
    }

    #[derive(serde::Deserialize)]
    struct Stored {
        #[serde(deserialize_with = "deserialize_stored")]
        phone: Phone,
        #[serde(default, deserialize_with = "deserialize_stored_opt")]
        mobile: Option<Phone>,
    }

    #[test]
    fn stored_aggregates_take_canonical_phones_as_they_are() {
        let stored: Stored = serde_json::from_str(r#"{"phone": "+77012345678", "mobile": null}"#).unwrap();
        assert_eq!((stored.phone.as_str(), stored.mobile), ("+77012345678", None));
        let stored: Stored = serde_json::from_str(r#"{"phone": "8 701 234 56 78", "mobile": "+77771234567"}"#).unwrap();
        assert_eq!(stored.phone.as_str(), "+77012345678");
        assert_eq!(stored.mobile.unwrap().as_str(), "+77771234567");
        assert!(serde_json::from_str::<Stored>(r#"{"phone": "abc"}"#).is_err());
        assert!(serde_json::from_str::<Stored>(r#"{"phone": "+12"}"#).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakhstan_forms_are_normalized() {
        for (input, expected) in [
            ("+7 701 234 56 78", "+77012345678"),
            ("+77012345678", "+77012345678"),
            ("8 701 234 56 78", "+77012345678"),
            ("87012345678", "+77012345678"),
            ("7012345678", "+77012345678"),
            ("77012345678", "+77012345678"),
            ("+7 (701) 234-56-78", "+77012345678"),
            ("8 (701) 234-56-78", "+77012345678"),
            ("8-701-234-56-78", "+77012345678"),
            ("8.701.234.56.78", "+77012345678"),
            ("  +7 701 234 56 78  ", "+77012345678"),
            ("+7\u{a0}701\u{a0}234\u{a0}56\u{a0}78", "+77012345678"),
            // Other mobile operators.
            ("8 747 123 45 67", "+77471234567"),
            ("+7 775 123 45 67", "+77751234567"),
            ("7051234567", "+77051234567"),
            // Almaty landline.
            ("8 (727) 258-00-00", "+77272580000"),
            ("7272580000", "+77272580000"),
            ("+7 727 258 00 00", "+77272580000"),
            // Astana landline.
            ("8 7172 55 55 55", "+77172555555"),
            // Toll-free.
            ("8 800 080 08 08", "+78000800808"),
            ("+7 800 080 08 08", "+78000800808"),
            ("88000800808", "+78000800808"),
            ("8-800-080-08-08", "+78000800808"),
        ] {
            let phone = Phone::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(phone.as_str(), expected, "{input:?}");
            assert_eq!(phone.digits(), &expected[1..], "{input:?}");
        }
    }

    #[test]
    fn international_numbers_need_a_plus() {
        for (input, expected) in [
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 (212) 555-2368", "+12125552368"),
            ("+49 30 901820", "+4930901820"),
            ("+7 495 123-45-67", "+74951234567"),
            // Zone +7 numbers starting with 8 (see `zone_7_national_is_valid`).
            ("+7 812 123 45 67", "+78121234567"),
            ("+7 843 212 34 56", "+78432123456"),
            ("+998 90 123 45 67", "+998901234567"),
            ("+86 138 0013 8000", "+8613800138000"),
        ] {
            let phone = Phone::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(phone.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for (input, expected) in [
            ("", PhoneError::Empty),
            ("   ", PhoneError::Empty),
            ("abc", PhoneError::ContainsLetters { found: 'a' }),
            ("8 701 CALL NOW", PhoneError::ContainsLetters { found: 'C' }),
            ("+7 701 234 56 78 ext 5", PhoneError::ContainsLetters { found: 'e' }),
            ("8 701 234 5б 78", PhoneError::ContainsLetters { found: 'б' }),
            (
                "8#7012345678",
                PhoneError::InvalidCharacter {
                    position: 2,
                    found: '#',
                },
            ),
            (
                "8 701 234 56 78+",
                PhoneError::InvalidCharacter {
                    position: 16,
                    found: '+',
                },
            ),
            (
                "++77012345678",
                PhoneError::InvalidCharacter {
                    position: 2,
                    found: '+',
                },
            ),
            (
                "8701234567٨",
                PhoneError::InvalidCharacter {
                    position: 11,
                    found: '٨',
                },
            ),
            ("701234567", PhoneError::TooShort { digits: 9, min: 10 }),
            ("12-34", PhoneError::TooShort { digits: 4, min: 10 }),
            ("+7 701", PhoneError::TooShort { digits: 4, min: 7 }),
            ("+", PhoneError::TooShort { digits: 0, min: 7 }),
            ("8 701 234 56 789", PhoneError::TooLong { digits: 12, max: 11 }),
            ("+7 701 234 56 78 90 12 34", PhoneError::TooLong { digits: 17, max: 15 }),
            // Right length, but no such number.
            ("0000000000", PhoneError::Invalid),
            ("1234567890", PhoneError::Invalid),
            ("12345678901", PhoneError::Invalid),
            ("8 000 000 00 00", PhoneError::Invalid),
            ("+7 000 000 00 00", PhoneError::Invalid),
            ("+44 0000 000000", PhoneError::Invalid),
            ("+999 123 456 789", PhoneError::Invalid),
            // Zone +7 with a leading 8 but no such range.
            ("+7 899 123 45 67", PhoneError::Invalid),
            ("+7 800 080 08 0", PhoneError::Invalid),
            ("+7 800 080 08 080", PhoneError::Invalid),
        ] {
            assert_eq!(Phone::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn phonenumber_crate_still_mangles_zone_7_numbers_starting_with_8() {
        // Why `validate_e164` bypasses the crate's parser for `+78…`. If this starts failing,
        // the crate was fixed and the workaround may go.
        for (input, mangled) in [("+78000800808", "+7000800808"), ("+78121234567", "+7121234567")] {
            let number = phonenumber::parse(Some(Id::KZ), input).unwrap();
            assert_eq!(number.format().mode(Mode::E164).to_string(), mangled);
            assert!(!phonenumber::is_valid(&number), "{input}");
        }
    }

    #[test]
    fn phone_digits_keeps_only_ascii_digits() {
        for (input, expected) in [
            ("+7 (701) 234-56-78", "77012345678"),
            ("8 701 234 56 78", "87012345678"),
            ("abc", ""),
            ("", ""),
            ("١٢٣ 45", "45"),
            ("tel:+7-701", "7701"),
        ] {
            assert_eq!(phone_digits(input), expected, "{input:?}");
        }
    }

    #[test]
    fn error_messages_name_the_rule() {
        for (error, message) in [
            (PhoneError::Empty, "phone number must not be empty"),
            (
                PhoneError::ContainsLetters { found: 'x' },
                "phone number must not contain letters, found 'x'",
            ),
            (
                PhoneError::InvalidCharacter {
                    position: 2,
                    found: '#',
                },
                "phone number may contain only digits 0-9, spaces, dashes, dots, parentheses and a leading +, found '#' at position 2",
            ),
            (
                PhoneError::TooShort { digits: 9, min: 10 },
                "phone number is too short: got 9 digits, need at least 10",
            ),
            (
                PhoneError::TooLong { digits: 12, max: 11 },
                "phone number is too long: got 12 digits, at most 11 allowed",
            ),
            (
                PhoneError::Invalid,
                "phone number is not a valid number: check the country code, the operator or area code and the number of digits",
            ),
        ] {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn serde_forms() {
        let phone = Phone::parse("8 701 234 56 78").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+77012345678\"");
        for (json, expected) in [
            ("\"+77012345678\"", Some("+77012345678")),
            ("\"8 (701) 234-56-78\"", Some("+77012345678")),
            ("\"abc\"", None),
            ("77012345678", None),
        ] {
            let parsed = serde_json::from_str::<Phone>(json).ok();
            assert_eq!(parsed.as_ref().map(Phone::as_str), expected, "{json}");
        }
    }

    #[test]
    fn conversions_and_display() {
        let phone: Phone = "87012345678".parse().unwrap();
        assert_eq!(phone.to_string(), "+77012345678");
        assert_eq!(phone.as_ref(), "+77012345678");
        assert_eq!(String::from(phone.clone()), "+77012345678");
        assert_eq!(Phone::try_from("+77012345678".to_owned()), Ok(phone));
    }
}
