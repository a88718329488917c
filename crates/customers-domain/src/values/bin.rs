//! [`Bin`]: Kazakhstan's business identification number (БСН / БИН).
//!
//! Layout of the 12 digits:
//!
//! | digits | meaning                                                                     |
//! |--------|-----------------------------------------------------------------------------|
//! | 1–2    | registration year `YY`                                                      |
//! | 3–4    | registration month `MM` (01–12)                                            |
//! | 5      | entity type: 4 resident legal entity, 5 non-resident legal entity, 6 individual entrepreneur in joint activity |
//! | 6      | attribute: 0 head office, 1 branch, 2 representative office, 3 peasant/farm enterprise |
//! | 7–11   | serial number                                                               |
//! | 12     | control digit (see [`super::tax_id`])                                      |

use serde::{Deserialize, Serialize};

use super::tax_id;

/// Entity type encoded in the 5th digit of a BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BinEntityType {
    /// Digit 4: resident legal entity.
    ResidentLegalEntity,
    /// Digit 5: non-resident legal entity.
    NonResidentLegalEntity,
    /// Digit 6: individual entrepreneur working in joint activity.
    JointActivityEntrepreneur,
}

impl BinEntityType {
    /// The entity type for a 5th digit, `None` for digits other than 4, 5 and 6.
    pub fn from_digit(digit: u8) -> Option<Self> {
        match digit {
            4 => Some(Self::ResidentLegalEntity),
            5 => Some(Self::NonResidentLegalEntity),
            6 => Some(Self::JointActivityEntrepreneur),
            _ => None,
        }
    }
}

/// Attribute (kind of establishment) encoded in the 6th digit of a BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BinAttribute {
    /// Digit 0: head office.
    HeadOffice,
    /// Digit 1: branch.
    Branch,
    /// Digit 2: representative office.
    RepresentativeOffice,
    /// Digit 3: peasant (farm) enterprise.
    PeasantFarm,
}

impl BinAttribute {
    /// The attribute for a 6th digit, `None` for digits other than 0 to 3.
    pub fn from_digit(digit: u8) -> Option<Self> {
        match digit {
            0 => Some(Self::HeadOffice),
            1 => Some(Self::Branch),
            2 => Some(Self::RepresentativeOffice),
            3 => Some(Self::PeasantFarm),
            _ => None,
        }
    }
}

/// A rule a BIN candidate breaks. Messages are shown to API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    /// The trimmed input is not exactly 12 characters long.
    #[error("BIN must be exactly 12 digits, got {got}")]
    WrongLength {
        /// Number of characters in the trimmed input.
        got: usize,
    },
    /// The trimmed input contains a character other than the ASCII digits 0–9.
    #[error("BIN must contain only digits 0-9, found {found:?} at position {position}")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Digits 3–4 are not a month `01..=12`.
    #[error("BIN digits 3-4 must be the registration month 01-12, got {month:02}")]
    InvalidRegistrationMonth {
        /// Digits 3–4 as a number.
        month: u8,
    },
    /// Digit 5 is not a known entity type.
    #[error(
        "BIN digit 5 (entity type) must be 4 (resident legal entity), 5 (non-resident legal entity) or 6 (individual entrepreneur in joint activity), got {digit}"
    )]
    InvalidEntityType {
        /// The 5th digit.
        digit: u8,
    },
    /// Digit 6 is not a known attribute.
    #[error(
        "BIN digit 6 (attribute) must be 0 (head office), 1 (branch), 2 (representative office) or 3 (peasant/farm enterprise), got {digit}"
    )]
    InvalidAttribute {
        /// The 6th digit.
        digit: u8,
    },
    /// The 12th digit is not the control digit computed from the first 11.
    #[error("BIN control digit (digit 12) must be {expected} for these first 11 digits, got {got}")]
    ChecksumMismatch {
        /// The control digit the first 11 digits require.
        expected: u8,
        /// The 12th digit as typed.
        got: u8,
    },
    /// The first 11 digits give 10 in both control-digit passes: such a BIN is never issued.
    #[error("BIN cannot exist: its control digit computes to 10 in both passes, such numbers are never issued")]
    NeverIssued,
}

/// A valid Kazakhstan business identification number (12 ASCII digits).
///
/// Built only through [`Bin::parse`] (or `TryFrom<String>`, `FromStr`, serde), so holding a
/// `Bin` proves every rule holds. Serialized as the plain 12-digit string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bin(String);

validated_string!(Bin, BinError);

/// The BIN's own rules on 12 digits: digits 3–4 a month, digit 5 an entity type and digit 6
/// an attribute.
fn registration_problems(_trimmed: &str, d: &[u8; 12]) -> Vec<BinError> {
    let mut problems = Vec::new();
    let month = d[2] * 10 + d[3];
    if !(1..=12).contains(&month) {
        problems.push(BinError::InvalidRegistrationMonth { month });
    }
    if BinEntityType::from_digit(d[4]).is_none() {
        problems.push(BinError::InvalidEntityType { digit: d[4] });
    }
    if BinAttribute::from_digit(d[5]).is_none() {
        problems.push(BinError::InvalidAttribute { digit: d[5] });
    }
    problems
}

impl Bin {
    /// Parses a BIN: trims surrounding whitespace, then checks every rule.
    ///
    /// Returns the first error of [`Bin::problems`].
    pub fn parse(raw: &str) -> Result<Self, BinError> {
        tax_id::parse_trimmed(raw, Self::problems).map(Self)
    }

    /// Lists every rule `raw` (trimmed of surrounding whitespace) breaks, empty when valid.
    ///
    /// Length and non-digit problems come first; when either is present the list stops
    /// there. Otherwise the month, entity type, attribute and control digit are each checked
    /// and reported independently.
    pub fn problems(raw: &str) -> Vec<BinError> {
        tax_id::problems(raw, registration_problems)
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn digit(&self, index: usize) -> u8 {
        self.0.as_bytes()[index] - b'0'
    }

    /// Registration year from digits 1–2.
    ///
    /// Pivot: `YY >= 91` means 19YY, anything else 20YY. BINs exist only since Kazakhstan's
    /// independence (1991), so 91–99 are the 1990s and 00–90 the 2000s (this pivot will
    /// need revisiting before 2091).
    pub fn registration_year(&self) -> i32 {
        let yy = i32::from(self.digit(0) * 10 + self.digit(1));
        if yy >= 91 { 1900 + yy } else { 2000 + yy }
    }

    /// Registration month from digits 3–4 (`1..=12`).
    pub fn registration_month(&self) -> u8 {
        self.digit(2) * 10 + self.digit(3)
    }

    /// Entity type from digit 5.
    pub fn entity_type(&self) -> BinEntityType {
        BinEntityType::from_digit(self.digit(4)).expect("a parsed BIN always has a valid entity type digit")
    }

    /// Attribute from digit 6.
    pub fn attribute(&self) -> BinAttribute {
        BinAttribute::from_digit(self.digit(5)).expect("a parsed BIN always has a valid attribute digit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes 11 digits with their control digit; `None` if never issued.
    fn with_control_digit(first_eleven: &str) -> Option<String> {
        let d: Vec<u8> = first_eleven.bytes().map(|b| b - b'0').collect();
        let d: [u8; 11] = d.try_into().unwrap();
        tax_id::control_digit(&d).map(|c| format!("{first_eleven}{c}"))
    }

    /// Like [`with_control_digit`], bumping the last serial digit if the prefix is never issued.
    fn complete(first_eleven: &str) -> String {
        with_control_digit(first_eleven)
            .or_else(|| with_control_digit(&format!("{}9", &first_eleven[..10])))
            .unwrap()
    }

    #[test]
    fn real_bin_hand_computed() {
        // 971240001315: 9·1 + 7·2 + 1·3 + 2·4 + 4·5 + 0·6 + 0·7 + 0·8 + 1·9 + 3·10 + 1·11
        //   = 9 + 14 + 3 + 8 + 20 + 0 + 0 + 0 + 9 + 30 + 11 = 104; 104 mod 11 = 5 = d12.
        let bin = Bin::parse("971240001315").unwrap();
        assert_eq!(bin.registration_year(), 1997);
        assert_eq!(bin.registration_month(), 12);
        assert_eq!(bin.entity_type(), BinEntityType::ResidentLegalEntity);
        assert_eq!(bin.attribute(), BinAttribute::HeadOffice);
        for last in (0..=9).filter(|&d| d != 5) {
            let raw = format!("97124000131{last}");
            assert_eq!(
                Bin::parse(&raw),
                Err(BinError::ChecksumMismatch { expected: 5, got: last }),
                "{raw}"
            );
        }
    }

    #[test]
    fn hand_computed_bins() {
        for (input, expected) in [
            // 2005-01, resident head office, 05014000065: 0·1 + 5·2 + 0·3 + 1·4 + 4·5 + 0·6
            //   + 0·7 + 0·8 + 0·9 + 6·10 + 5·11 = 10 + 4 + 20 + 60 + 55 = 149; 149 mod 11 = 6.
            ("050140000656", Ok(())),
            ("050140000650", Err(BinError::ChecksumMismatch { expected: 6, got: 0 })),
            // 2010-03, resident branch, 10034100001: 1·1 + 3·4 + 4·5 + 1·6 + 1·11 = 50;
            //   50 mod 11 = 6 → 100341000016.
            ("100341000016", Ok(())),
            // The well-known example 123456789012 is invalid: month 34, digit 5 = 5 is fine,
            // digit 6 = 6 is not an attribute; first pass 1+4+9+16+25+36+49+64+81+0+11 = 296;
            // 296 mod 11 = 10 → second pass 3+8+15+24+35+48+63+80+99+0+2 = 377;
            // 377 mod 11 = 3 → the control digit would be 3, not 2.
            ("123456789012", Err(BinError::InvalidRegistrationMonth { month: 34 })),
        ] {
            assert_eq!(Bin::parse(input).map(|_| ()), expected, "{input}");
        }
        assert_eq!(
            Bin::problems("123456789012"),
            vec![
                BinError::InvalidRegistrationMonth { month: 34 },
                BinError::InvalidAttribute { digit: 6 },
                BinError::ChecksumMismatch { expected: 3, got: 2 },
            ]
        );
    }

    #[test]
    fn valid_bins_and_their_facts() {
        use BinAttribute::*;
        use BinEntityType::*;
        for (first_eleven, year, month, entity, attribute) in [
            ("97124000131", 1997, 12, ResidentLegalEntity, HeadOffice),
            ("91014100001", 1991, 1, ResidentLegalEntity, Branch),
            ("90065200002", 2090, 6, NonResidentLegalEntity, RepresentativeOffice),
            ("00116300003", 2000, 11, JointActivityEntrepreneur, PeasantFarm),
            ("23034000123", 2023, 3, ResidentLegalEntity, HeadOffice),
            ("99125100777", 1999, 12, NonResidentLegalEntity, Branch),
            ("15076200045", 2015, 7, JointActivityEntrepreneur, RepresentativeOffice),
        ] {
            let raw = complete(first_eleven);
            let bin = Bin::parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(bin.as_str(), raw);
            assert_eq!(bin.registration_year(), year, "{raw}");
            assert_eq!(bin.registration_month(), month, "{raw}");
            assert_eq!(bin.entity_type(), entity, "{raw}");
            assert_eq!(bin.attribute(), attribute, "{raw}");
            assert!(Bin::problems(&raw).is_empty(), "{raw}");
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        for input in [" 971240001315", "971240001315 ", "\t971240001315\r\n"] {
            assert_eq!(Bin::parse(input).unwrap().as_str(), "971240001315", "{input:?}");
        }
    }

    #[test]
    fn bad_month_is_rejected() {
        for (first_eleven, month) in [
            ("97004000131", 0),
            ("97134000131", 13),
            ("97994000131", 99),
            ("97204000131", 20),
        ] {
            let raw = complete(first_eleven);
            let expected = BinError::InvalidRegistrationMonth { month };
            assert_eq!(Bin::parse(&raw), Err(expected.clone()), "{raw}");
            assert_eq!(Bin::problems(&raw), vec![expected], "{raw}");
        }
    }

    #[test]
    fn bad_entity_type_is_rejected() {
        for digit in [0u8, 1, 2, 3, 7, 8, 9] {
            let raw = complete(&format!("9712{digit}000131"));
            let expected = BinError::InvalidEntityType { digit };
            assert_eq!(Bin::parse(&raw), Err(expected.clone()), "{raw}");
            assert_eq!(Bin::problems(&raw), vec![expected], "{raw}");
        }
    }

    #[test]
    fn bad_attribute_is_rejected() {
        for digit in [4u8, 5, 6, 7, 8, 9] {
            let raw = complete(&format!("97124{digit}00131"));
            let expected = BinError::InvalidAttribute { digit };
            assert_eq!(Bin::parse(&raw), Err(expected.clone()), "{raw}");
            assert_eq!(Bin::problems(&raw), vec![expected], "{raw}");
        }
    }

    #[test]
    fn never_issued_is_rejected() {
        // Find serial digits 7–11 for prefix 971240 where both passes give 10.
        let first_eleven = (0..100_000)
            .map(|n| format!("971240{n:05}"))
            .find(|s| {
                let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
                tax_id::control_digit(&d.try_into().unwrap()).is_none()
            })
            .unwrap();
        for last in 0..=9 {
            let raw = format!("{first_eleven}{last}");
            assert_eq!(Bin::parse(&raw), Err(BinError::NeverIssued), "{raw}");
        }
    }

    #[test]
    fn wrong_length_and_non_digits_are_rejected() {
        for (input, expected) in [
            ("97124000131", vec![BinError::WrongLength { got: 11 }]),
            ("9712400013150", vec![BinError::WrongLength { got: 13 }]),
            ("", vec![BinError::WrongLength { got: 0 }]),
            (
                "97124000131O",
                vec![BinError::NonDigit {
                    position: 12,
                    found: 'O',
                }],
            ),
            (
                "971240 01315",
                vec![BinError::NonDigit {
                    position: 7,
                    found: ' ',
                }],
            ),
            (
                "９71240001315",
                vec![BinError::NonDigit {
                    position: 1,
                    found: '９',
                }],
            ),
            (
                "BIN971240001315",
                vec![
                    BinError::WrongLength { got: 15 },
                    BinError::NonDigit {
                        position: 1,
                        found: 'B',
                    },
                ],
            ),
        ] {
            assert_eq!(Bin::problems(input), expected, "{input:?}");
            assert_eq!(Bin::parse(input).err(), expected.first().cloned(), "{input:?}");
        }
    }

    #[test]
    fn error_messages_name_the_rule() {
        for (error, message) in [
            (
                BinError::WrongLength { got: 11 },
                "BIN must be exactly 12 digits, got 11",
            ),
            (
                BinError::NonDigit {
                    position: 2,
                    found: 'x',
                },
                "BIN must contain only digits 0-9, found 'x' at position 2",
            ),
            (
                BinError::InvalidRegistrationMonth { month: 0 },
                "BIN digits 3-4 must be the registration month 01-12, got 00",
            ),
            (
                BinError::InvalidEntityType { digit: 7 },
                "BIN digit 5 (entity type) must be 4 (resident legal entity), 5 (non-resident legal entity) or 6 (individual entrepreneur in joint activity), got 7",
            ),
            (
                BinError::InvalidAttribute { digit: 9 },
                "BIN digit 6 (attribute) must be 0 (head office), 1 (branch), 2 (representative office) or 3 (peasant/farm enterprise), got 9",
            ),
            (
                BinError::ChecksumMismatch { expected: 5, got: 4 },
                "BIN control digit (digit 12) must be 5 for these first 11 digits, got 4",
            ),
            (
                BinError::NeverIssued,
                "BIN cannot exist: its control digit computes to 10 in both passes, such numbers are never issued",
            ),
        ] {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn serde_forms() {
        let bin = Bin::parse("971240001315").unwrap();
        assert_eq!(serde_json::to_string(&bin).unwrap(), "\"971240001315\"");
        for (json, ok) in [
            ("\"971240001315\"", true),
            ("\"971240001314\"", false),
            ("\"123456789012\"", false),
            ("971240001315", false),
        ] {
            assert_eq!(serde_json::from_str::<Bin>(json).is_ok(), ok, "{json}");
        }
        for (value, json) in [
            (
                serde_json::to_string(&BinEntityType::ResidentLegalEntity).unwrap(),
                "\"RESIDENT_LEGAL_ENTITY\"",
            ),
            (
                serde_json::to_string(&BinEntityType::NonResidentLegalEntity).unwrap(),
                "\"NON_RESIDENT_LEGAL_ENTITY\"",
            ),
            (
                serde_json::to_string(&BinEntityType::JointActivityEntrepreneur).unwrap(),
                "\"JOINT_ACTIVITY_ENTREPRENEUR\"",
            ),
            (
                serde_json::to_string(&BinAttribute::HeadOffice).unwrap(),
                "\"HEAD_OFFICE\"",
            ),
            (serde_json::to_string(&BinAttribute::Branch).unwrap(), "\"BRANCH\""),
            (
                serde_json::to_string(&BinAttribute::RepresentativeOffice).unwrap(),
                "\"REPRESENTATIVE_OFFICE\"",
            ),
            (
                serde_json::to_string(&BinAttribute::PeasantFarm).unwrap(),
                "\"PEASANT_FARM\"",
            ),
        ] {
            assert_eq!(value, json);
        }
    }

    #[test]
    fn conversions_and_display() {
        let bin: Bin = "971240001315".parse().unwrap();
        assert_eq!(bin.to_string(), "971240001315");
        assert_eq!(bin.as_ref(), "971240001315");
        assert_eq!(String::from(bin.clone()), "971240001315");
        assert_eq!(Bin::try_from("971240001315".to_owned()), Ok(bin));
    }
}
