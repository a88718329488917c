//! [`Iin`]: Kazakhstan's individual identification number (ЖСН / ИИН).
//!
//! Layout of the 12 digits:
//!
//! | digits | meaning                                                                    |
//! |--------|----------------------------------------------------------------------------|
//! | 1–6    | birth date `YYMMDD`                                                        |
//! | 7      | century and sex: 1/2 → 1800s, 3/4 → 1900s, 5/6 → 2000s; odd male, even female; 0 foreign national |
//! | 8–11   | serial number                                                              |
//! | 12     | control digit (see [`super::tax_id`])                                     |

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::tax_id;

/// Sex encoded in the 7th digit of an IIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sex {
    /// Odd century digit (1, 3, 5). Serialized as `"MALE"`.
    Male,
    /// Even century digit (2, 4, 6). Serialized as `"FEMALE"`.
    Female,
}

/// A rule an IIN candidate breaks. Messages are shown to API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    /// The trimmed input is not exactly 12 characters long.
    #[error("IIN must be exactly 12 digits, got {got}")]
    WrongLength {
        /// Number of characters in the trimmed input.
        got: usize,
    },
    /// The trimmed input contains a character other than the ASCII digits 0–9.
    #[error("IIN must contain only digits 0-9, found {found:?} at position {position}")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Digits 1–6 are not a real calendar date `YYMMDD` in the century given by digit 7.
    #[error("IIN digits 1-6 must be a real birth date YYMMDD, got {yymmdd}")]
    InvalidBirthDate {
        /// Digits 1–6 as typed.
        yymmdd: String,
    },
    /// Digit 7 (century and sex) is not in `0..=6`.
    #[error("IIN digit 7 (century and sex) must be 0-6, got {digit}")]
    InvalidCenturyDigit {
        /// The 7th digit.
        digit: u8,
    },
    /// The 12th digit is not the control digit computed from the first 11.
    #[error("IIN control digit (digit 12) must be {expected} for these first 11 digits, got {got}")]
    ChecksumMismatch {
        /// The control digit the first 11 digits require.
        expected: u8,
        /// The 12th digit as typed.
        got: u8,
    },
    /// The first 11 digits give 10 in both control-digit passes: such an IIN is never issued.
    #[error("IIN cannot exist: its control digit computes to 10 in both passes, such numbers are never issued")]
    NeverIssued,
}

/// A valid Kazakhstan individual identification number (12 ASCII digits).
///
/// Built only through [`Iin::parse`] (or `TryFrom<String>`, `FromStr`, serde), so holding an
/// `Iin` proves every rule holds. Serialized as the plain 12-digit string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iin(String);

validated_string!(Iin, IinError);

/// Years in which digits 1–6 must form a real date, for a given century digit.
///
/// For digit 0 (foreign nationals) and for invalid digits (7–9, reported separately) the date
/// is accepted if it exists in 19YY or in 20YY.
fn candidate_centuries(century_digit: u8) -> &'static [i32] {
    match century_digit {
        1 | 2 => &[1800],
        3 | 4 => &[1900],
        5 | 6 => &[2000],
        _ => &[1900, 2000],
    }
}

fn date_from(year: i32, month: u8, day: u8) -> Option<Date> {
    let month = Month::try_from(month).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn two_digits(d: &[u8; 12], at: usize) -> u8 {
    d[at] * 10 + d[at + 1]
}

/// The IIN's own rules on 12 digits: digits 1–6 a real birth date in the century of digit 7,
/// and digit 7 itself in `0..=6`.
fn birth_date_and_century_problems(trimmed: &str, d: &[u8; 12]) -> Vec<IinError> {
    let mut problems = Vec::new();
    let (yy, month, day) = (two_digits(d, 0), two_digits(d, 2), two_digits(d, 4));
    let century_digit = d[6];
    let date_exists = candidate_centuries(century_digit)
        .iter()
        .any(|&century| date_from(century + i32::from(yy), month, day).is_some());
    if !date_exists {
        problems.push(IinError::InvalidBirthDate {
            yymmdd: trimmed[..6].to_owned(),
        });
    }
    if century_digit > 6 {
        problems.push(IinError::InvalidCenturyDigit { digit: century_digit });
    }
    problems
}

impl Iin {
    /// Parses an IIN: trims surrounding whitespace, then checks every rule.
    ///
    /// Returns the first error of [`Iin::problems`].
    pub fn parse(raw: &str) -> Result<Self, IinError> {
        tax_id::parse_trimmed(raw, Self::problems).map(Self)
    }

    /// Lists every rule `raw` (trimmed of surrounding whitespace) breaks, empty when valid.
    ///
    /// Length and non-digit problems come first; when either is present the list stops
    /// there. Otherwise the birth date, the century digit and the control digit are each
    /// checked and reported independently.
    pub fn problems(raw: &str) -> Vec<IinError> {
        tax_id::problems(raw, birth_date_and_century_problems)
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn digit(&self, index: usize) -> u8 {
        self.0.as_bytes()[index] - b'0'
    }

    /// The 7th digit: century and sex (`0..=6`; 0 for foreign nationals).
    pub fn century_digit(&self) -> u8 {
        self.digit(6)
    }

    /// Birth date from digits 1–6 and the century digit; `None` when the century digit is 0
    /// (the century is then unknown).
    pub fn birth_date(&self) -> Option<Date> {
        let century = match self.century_digit() {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            _ => return None,
        };
        let yy = self.digit(0) * 10 + self.digit(1);
        let month = self.digit(2) * 10 + self.digit(3);
        let day = self.digit(4) * 10 + self.digit(5);
        date_from(century + i32::from(yy), month, day)
    }

    /// Sex from the century digit (odd male, even female); `None` when the digit is 0.
    pub fn sex(&self) -> Option<Sex> {
        match self.century_digit() {
            0 => None,
            d if d % 2 == 1 => Some(Sex::Male),
            _ => Some(Sex::Female),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    /// Completes 11 digits with their control digit; `None` if never issued.
    fn with_control_digit(first_eleven: &str) -> Option<String> {
        let d: Vec<u8> = first_eleven.bytes().map(|b| b - b'0').collect();
        let d: [u8; 11] = d.try_into().unwrap();
        tax_id::control_digit(&d).map(|c| format!("{first_eleven}{c}"))
    }

    /// Completes 11 digits with a control digit that is guaranteed wrong.
    fn with_wrong_control_digit(first_eleven: &str) -> (String, u8) {
        let right = with_control_digit(first_eleven).unwrap();
        let expected = right.as_bytes()[11] - b'0';
        let wrong = (expected + 1) % 10;
        (format!("{first_eleven}{wrong}"), expected)
    }

    /// Finds a serial (digits 8–11) for the given 7 digits whose first pass gives 10,
    /// optionally requiring the second pass to give 10 as well.
    fn find_first_pass_ten(first_seven: &str, second_also_ten: bool) -> String {
        (0..10_000)
            .map(|n| format!("{first_seven}{n:04}"))
            .find(|s| {
                let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
                let first: u32 = d.iter().zip(1..).map(|(d, w)| d * w).sum::<u32>() % 11;
                let weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
                let second: u32 = d.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
                first == 10 && (second == 10) == second_also_ten
            })
            .unwrap()
    }

    #[test]
    fn valid_iins_and_their_facts() {
        for (first_eleven, birth, sex, century) in [
            // Man born 1990-05-15.
            (
                "9005153".to_owned() + "0000",
                Some(date!(1990 - 05 - 15)),
                Some(Sex::Male),
                3,
            ),
            // Woman born 2001-12-31.
            (
                "0112316".to_owned() + "0001",
                Some(date!(2001 - 12 - 31)),
                Some(Sex::Female),
                6,
            ),
            // Woman born 1965-03-01.
            (
                "6503014".to_owned() + "0123",
                Some(date!(1965 - 03 - 01)),
                Some(Sex::Female),
                4,
            ),
            // Man born 2005-07-20.
            (
                "0507205".to_owned() + "0456",
                Some(date!(2005 - 07 - 20)),
                Some(Sex::Male),
                5,
            ),
            // Man born 1899-01-01.
            (
                "9901011".to_owned() + "0007",
                Some(date!(1899 - 01 - 01)),
                Some(Sex::Male),
                1,
            ),
            // Woman born 1850-06-30.
            (
                "5006302".to_owned() + "0002",
                Some(date!(1850 - 06 - 30)),
                Some(Sex::Female),
                2,
            ),
            // Foreign national: no birth date, no sex.
            ("8507140".to_owned() + "0010", None, None, 0),
            // 29 Feb 2000 (leap year).
            (
                "0002295".to_owned() + "0003",
                Some(date!(2000 - 02 - 29)),
                Some(Sex::Male),
                5,
            ),
            // 29 Feb 1996 (leap year).
            (
                "9602294".to_owned() + "0003",
                Some(date!(1996 - 02 - 29)),
                Some(Sex::Female),
                4,
            ),
            // Foreigner, 29 Feb with YY = 00: 2000 is leap, so valid.
            ("0002290".to_owned() + "0003", None, None, 0),
        ] {
            let raw = with_control_digit(&first_eleven)
                .or_else(|| with_control_digit(&format!("{}9", &first_eleven[..10])))
                .unwrap();
            let iin = Iin::parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(iin.as_str(), raw);
            assert_eq!(iin.birth_date(), birth, "{raw}");
            assert_eq!(iin.sex(), sex, "{raw}");
            assert_eq!(iin.century_digit(), century, "{raw}");
            assert!(Iin::problems(&raw).is_empty(), "{raw}");
        }
    }

    #[test]
    fn hand_computed_iin_is_valid() {
        // 900515300008: 9·1 + 0·2 + 0·3 + 5·4 + 1·5 + 5·6 + 3·7 + 0·8 + 0·9 + 0·10 + 0·11
        //   = 9 + 20 + 5 + 30 + 21 = 85; 85 mod 11 = 8 = d12.
        let iin = Iin::parse("900515300008").unwrap();
        assert_eq!(iin.birth_date(), Some(date!(1990 - 05 - 15)));
        assert_eq!(iin.sex(), Some(Sex::Male));
        // Same number with a wrong 12th digit.
        assert_eq!(
            Iin::parse("900515300001"),
            Err(IinError::ChecksumMismatch { expected: 8, got: 1 })
        );
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        for input in [" 900515300008", "900515300008 ", "\t900515300008\n", "  900515300008  "] {
            assert_eq!(Iin::parse(input).unwrap().as_str(), "900515300008", "{input:?}");
        }
    }

    #[test]
    fn second_pass_decides_the_control_digit() {
        let first_eleven = find_first_pass_ten("9005153", false);
        let d: Vec<u32> = first_eleven.bytes().map(|b| u32::from(b - b'0')).collect();
        let weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
        let second = d.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
        let raw = format!("{first_eleven}{second}");
        let iin = Iin::parse(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(iin.as_str(), raw);
        // "10 → 0" would be wrong unless the second pass happens to give 0.
        if second != 0 {
            assert_eq!(
                Iin::parse(&format!("{first_eleven}0")),
                Err(IinError::ChecksumMismatch {
                    expected: second as u8,
                    got: 0
                })
            );
        }
    }

    #[test]
    fn control_digit_hand_computed() {
        // Base 9005153 0000: first pass 9·1 + 5·4 + 1·5 + 5·6 + 3·7 = 85.
        for (input, expected) in [
            // d10 = 1: 85 + 1·10 = 95; 95 mod 11 = 7 → control 7.
            ("900515300107", Ok(())),
            ("900515300100", Err(IinError::ChecksumMismatch { expected: 7, got: 0 })),
            // d8 = 3: 85 + 3·8 = 109; 109 mod 11 = 10 → second pass with 3,4,…,11,1,2:
            //   9·3 + 5·6 + 1·7 + 5·8 + 3·9 + 3·10 = 27 + 30 + 7 + 40 + 27 + 30 = 161;
            //   161 mod 11 = 7 → control 7 (not 0).
            ("900515330007", Ok(())),
            ("900515330000", Err(IinError::ChecksumMismatch { expected: 7, got: 0 })),
            // d8 = 3, d11 = 7: first pass 109 + 7·11 = 186; 186 mod 11 = 10;
            //   second pass 161 + 7·2 = 175; 175 mod 11 = 10 → never issued.
            ("900515330070", Err(IinError::NeverIssued)),
            ("900515330077", Err(IinError::NeverIssued)),
        ] {
            assert_eq!(Iin::parse(input).map(|_| ()), expected, "{input}");
        }
    }

    #[test]
    fn never_issued_is_rejected() {
        let first_eleven = find_first_pass_ten("9005153", true);
        for last in 0..=9 {
            let raw = format!("{first_eleven}{last}");
            assert_eq!(Iin::parse(&raw), Err(IinError::NeverIssued), "{raw}");
            assert_eq!(Iin::problems(&raw), vec![IinError::NeverIssued], "{raw}");
        }
    }

    #[test]
    fn bad_checksum_is_rejected() {
        for first_eleven in ["90051530000", "01123160001", "85071400010", "00022950003"] {
            let (raw, expected) = with_wrong_control_digit(first_eleven);
            let got = raw.as_bytes()[11] - b'0';
            assert_eq!(
                Iin::parse(&raw),
                Err(IinError::ChecksumMismatch { expected, got }),
                "{raw}"
            );
        }
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for (first_eleven, yymmdd) in [
            ("9013153", "901315"), // month 13
            ("9000153", "900015"), // month 00
            ("9004313", "900431"), // 31 April
            ("9001003", "900100"), // day 00
            ("9001323", "900132"), // day 32
            ("0102295", "010229"), // 29 Feb 2001, not leap
            ("9902293", "990229"), // 29 Feb 1999, not leap
            ("0002293", "000229"), // 29 Feb 1900, not leap (century digit 3)
            ("0002291", "000229"), // 29 Feb 1800, not leap (century digit 1)
            ("0102290", "010229"), // foreigner: neither 1901 nor 2001 is leap
            ("9002300", "900230"), // foreigner: 30 Feb never exists
        ] {
            let first_eleven = format!("{first_eleven}0000");
            let raw = with_control_digit(&first_eleven)
                .or_else(|| with_control_digit(&format!("{}1", &first_eleven[..10])))
                .unwrap();
            let expected = IinError::InvalidBirthDate {
                yymmdd: yymmdd.to_owned(),
            };
            assert_eq!(Iin::parse(&raw), Err(expected.clone()), "{raw}");
            assert_eq!(Iin::problems(&raw), vec![expected], "{raw}");
        }
    }

    #[test]
    fn century_digits_7_8_9_are_rejected() {
        for digit in [7u8, 8, 9] {
            let first_eleven = format!("900515{digit}0000");
            let raw = with_control_digit(&first_eleven)
                .or_else(|| with_control_digit(&format!("900515{digit}0001")))
                .unwrap();
            let expected = IinError::InvalidCenturyDigit { digit };
            assert_eq!(Iin::parse(&raw), Err(expected.clone()), "{raw}");
            assert_eq!(Iin::problems(&raw), vec![expected], "{raw}");
        }
    }

    #[test]
    fn wrong_length_is_rejected() {
        for (input, got) in [
            ("90051530000", 11),
            ("9005153000081", 13),
            ("", 0),
            ("   ", 0),
            ("9", 1),
        ] {
            assert_eq!(Iin::parse(input), Err(IinError::WrongLength { got }), "{input:?}");
            assert_eq!(Iin::problems(input), vec![IinError::WrongLength { got }], "{input:?}");
        }
    }

    #[test]
    fn non_digits_are_rejected() {
        for (input, position, found) in [
            ("90051530000a", 12, 'a'),
            ("A00515300008", 1, 'A'),
            ("900515 00008", 7, ' '),
            ("900515-00008", 7, '-'),
            ("90051530000١", 12, '١'),  // Arabic-Indic digit one
            ("９00515300008", 1, '９'), // fullwidth digit nine
            ("90051530000\u{0661}", 12, '\u{0661}'),
        ] {
            assert_eq!(
                Iin::parse(input),
                Err(IinError::NonDigit { position, found }),
                "{input:?}"
            );
            assert_eq!(
                Iin::problems(input),
                vec![IinError::NonDigit { position, found }],
                "{input:?}"
            );
        }
    }

    #[test]
    fn problems_lists_every_broken_rule() {
        for (input, expected) in [
            // Wrong length and a non-digit: both, then stop.
            (
                "9005a",
                vec![
                    IinError::WrongLength { got: 5 },
                    IinError::NonDigit {
                        position: 5,
                        found: 'a',
                    },
                ],
            ),
            // 901399 8 0000 d12: month 13, century 8; first pass 9+0+3+12+45+54+56 = 179
            // → 179 mod 11 = 3; d12 = 0 → mismatch expecting 3.
            (
                "901399800000",
                vec![
                    IinError::InvalidBirthDate {
                        yymmdd: "901399".to_owned(),
                    },
                    IinError::InvalidCenturyDigit { digit: 8 },
                    IinError::ChecksumMismatch { expected: 3, got: 0 },
                ],
            ),
            // Valid except checksum: only the checksum.
            ("900515300001", vec![IinError::ChecksumMismatch { expected: 8, got: 1 }]),
            ("900515300008", vec![]),
        ] {
            assert_eq!(Iin::problems(input), expected, "{input}");
            assert_eq!(Iin::parse(input).err(), expected.first().cloned(), "{input}");
        }
    }

    #[test]
    fn error_messages_name_the_rule() {
        for (error, message) in [
            (
                IinError::WrongLength { got: 11 },
                "IIN must be exactly 12 digits, got 11",
            ),
            (
                IinError::NonDigit {
                    position: 3,
                    found: 'x',
                },
                "IIN must contain only digits 0-9, found 'x' at position 3",
            ),
            (
                IinError::InvalidBirthDate {
                    yymmdd: "901315".to_owned(),
                },
                "IIN digits 1-6 must be a real birth date YYMMDD, got 901315",
            ),
            (
                IinError::InvalidCenturyDigit { digit: 8 },
                "IIN digit 7 (century and sex) must be 0-6, got 8",
            ),
            (
                IinError::ChecksumMismatch { expected: 8, got: 1 },
                "IIN control digit (digit 12) must be 8 for these first 11 digits, got 1",
            ),
            (
                IinError::NeverIssued,
                "IIN cannot exist: its control digit computes to 10 in both passes, such numbers are never issued",
            ),
        ] {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let iin = Iin::parse("900515300008").unwrap();
        assert_eq!(serde_json::to_string(&iin).unwrap(), "\"900515300008\"");
        for (json, ok) in [
            ("\"900515300008\"", true),
            ("\" 900515300008 \"", true),
            ("\"900515300001\"", false),
            ("\"90051530000\"", false),
            ("900515300008", false),
        ] {
            let parsed: Result<Iin, _> = serde_json::from_str(json);
            assert_eq!(parsed.is_ok(), ok, "{json}");
            if ok {
                assert_eq!(parsed.unwrap(), iin);
            }
        }
        let err = serde_json::from_str::<Iin>("\"900515300001\"").unwrap_err();
        assert!(err.to_string().contains("IIN control digit"), "{err}");
    }

    #[test]
    fn sex_serializes_screaming() {
        for (sex, json) in [(Sex::Male, "\"MALE\""), (Sex::Female, "\"FEMALE\"")] {
            assert_eq!(serde_json::to_string(&sex).unwrap(), json);
            assert_eq!(serde_json::from_str::<Sex>(json).unwrap(), sex);
        }
    }

    #[test]
    fn conversions_and_display() {
        let iin: Iin = "900515300008".parse().unwrap();
        assert_eq!(iin.to_string(), "900515300008");
        assert_eq!(iin.as_ref(), "900515300008");
        assert_eq!(String::from(iin.clone()), "900515300008");
        assert_eq!(Iin::try_from("900515300008".to_owned()), Ok(iin));
        assert_eq!("x".parse::<Iin>(), Err(IinError::WrongLength { got: 1 }));
    }
}
