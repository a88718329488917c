//! What Kazakhstan's IIN and BIN share: the shape (12 ASCII digits), the control-digit
//! algorithm below, and the crate-internal checks both parsers build on (each type adds only
//! the rules on what its digits mean and keeps its own error enum and messages).
//!
//! Both identifiers are 12 digits `d1..d12`, where `d12` is a control digit computed from
//! `d1..d11`:
//!
//! 1. `c = (d1·1 + d2·2 + … + d11·11) mod 11`;
//! 2. if `c == 10`, a second pass uses the weights `3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2`;
//! 3. if the second pass gives 10 as well, the number is never issued (it is *not* completed
//!    with a 0): no valid IIN or BIN starts with those 11 digits.
//!
//! Otherwise the number is valid iff `c == d12`.

/// Weights of the first pass, for digits 1 to 11.
const FIRST_PASS_WEIGHTS: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// Weights of the second pass, used only when the first pass gives 10.
const SECOND_PASS_WEIGHTS: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// Outcome of checking the 12th (control) digit of an IIN or BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlDigitCheck {
    /// The 12th digit equals the computed control digit.
    Valid,
    /// The 12th digit differs from the computed control digit `expected`.
    Mismatch {
        /// The control digit the first 11 digits require.
        expected: u8,
    },
    /// Both passes give 10: a number starting with these 11 digits is never issued.
    NeverIssued,
}

fn weighted_mod_11(digits: &[u8; 11], weights: &[u32; 11]) -> u32 {
    digits.iter().zip(weights).map(|(&d, &w)| u32::from(d) * w).sum::<u32>() % 11
}

/// Computes the control digit for the first 11 digits (digit values `0..=9`, not ASCII).
///
/// Returns `None` when both passes give 10, i.e. when such a number is never issued.
pub fn control_digit(first_eleven: &[u8; 11]) -> Option<u8> {
    let first = weighted_mod_11(first_eleven, &FIRST_PASS_WEIGHTS);
    let c = if first == 10 {
        weighted_mod_11(first_eleven, &SECOND_PASS_WEIGHTS)
    } else {
        first
    };
    // `c < 10` here, so the cast is lossless.
    (c != 10).then_some(c as u8)
}

/// Checks the 12th digit of a 12-digit IIN or BIN given as digit values `0..=9` (not ASCII).
pub fn check_control_digit(digits: &[u8; 12]) -> ControlDigitCheck {
    let mut first_eleven = [0u8; 11];
    first_eleven.copy_from_slice(&digits[..11]);
    match control_digit(&first_eleven) {
        None => ControlDigitCheck::NeverIssued,
        Some(expected) if expected == digits[11] => ControlDigitCheck::Valid,
        Some(expected) => ControlDigitCheck::Mismatch { expected },
    }
}

/// Converts exactly 12 ASCII digits into their digit values; `None` for anything else.
pub(crate) fn twelve_digits(s: &str) -> Option<[u8; 12]> {
    let bytes: &[u8; 12] = s.as_bytes().try_into().ok()?;
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.map(|b| b - b'0'))
}

/// Result of scanning the shape of a trimmed IIN/BIN candidate.
pub(crate) struct Shape {
    /// Number of characters (Unicode scalar values), as a user would count them.
    pub(crate) char_count: usize,
    /// First character that is not an ASCII digit: 1-based position and the character.
    pub(crate) first_non_digit: Option<(usize, char)>,
}

/// Counts the characters of `s` and finds its first non-ASCII-digit character.
pub(crate) fn scan_shape(s: &str) -> Shape {
    Shape {
        char_count: s.chars().count(),
        first_non_digit: s
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_digit())
            .map(|(i, c)| (i + 1, c)),
    }
}

/// How an IIN or BIN error enum spells the rules the two identifiers share.
///
/// [`IinError`](super::IinError) and [`BinError`](super::BinError) name these variants alike
/// (`WrongLength`, `NonDigit`, `ChecksumMismatch`, `NeverIssued`, with the same fields), so one
/// macro implements the trait for both; the messages stay each enum's own.
pub(crate) trait SharedRuleErrors {
    /// The trimmed input has `got` characters instead of 12.
    fn wrong_length(got: usize) -> Self;
    /// The first character that is not an ASCII digit, at 1-based `position`.
    fn non_digit(position: usize, found: char) -> Self;
    /// The 12th digit is `got`, but the first 11 digits require `expected`.
    fn checksum_mismatch(expected: u8, got: u8) -> Self;
    /// Both control-digit passes give 10: a number starting with these 11 digits is never
    /// issued.
    fn never_issued() -> Self;
}

macro_rules! impl_shared_rule_errors {
    ($($error:ty),+) => {$(
        impl SharedRuleErrors for $error {
            fn wrong_length(got: usize) -> Self {
                Self::WrongLength { got }
            }

            fn non_digit(position: usize, found: char) -> Self {
                Self::NonDigit { position, found }
            }

            fn checksum_mismatch(expected: u8, got: u8) -> Self {
                Self::ChecksumMismatch { expected, got }
            }

            fn never_issued() -> Self {
                Self::NeverIssued
            }
        }
    )+};
}

impl_shared_rule_errors!(super::IinError, super::BinError);

/// Lists every rule `raw` (trimmed of surrounding whitespace) breaks as an IIN or BIN, empty
/// when valid.
///
/// The shape comes first: exactly 12 characters (counted as a user would) and only ASCII
/// digits (the first offending character is reported); when either is broken the list stops
/// there. Otherwise `own_rules` checks what the type's digits mean, given the trimmed input
/// and its digit values, and the control digit is checked last; each rule is reported
/// independently.
pub(crate) fn problems<E: SharedRuleErrors>(raw: &str, own_rules: impl FnOnce(&str, &[u8; 12]) -> Vec<E>) -> Vec<E> {
    let trimmed = raw.trim();
    let shape = scan_shape(trimmed);
    let mut problems = Vec::new();
    if shape.char_count != 12 {
        problems.push(E::wrong_length(shape.char_count));
    }
    if let Some((position, found)) = shape.first_non_digit {
        problems.push(E::non_digit(position, found));
    }
    let Some(digits) = twelve_digits(trimmed) else {
        return problems;
    };
    problems.extend(own_rules(trimmed, &digits));
    problems.extend(control_digit_problem(&digits));
    problems
}

/// The control-digit rule as an `E`: `None` when the 12th digit is the computed one.
fn control_digit_problem<E: SharedRuleErrors>(digits: &[u8; 12]) -> Option<E> {
    match check_control_digit(digits) {
        ControlDigitCheck::Valid => None,
        ControlDigitCheck::Mismatch { expected } => Some(E::checksum_mismatch(expected, digits[11])),
        ControlDigitCheck::NeverIssued => Some(E::never_issued()),
    }
}

/// The result of an IIN or BIN `parse`: the trimmed input when `problems` lists nothing wrong
/// with `raw`, otherwise the first problem it lists.
pub(crate) fn parse_trimmed<E>(raw: &str, problems: impl FnOnce(&str) -> Vec<E>) -> Result<String, E> {
    match problems(raw).into_iter().next() {
        Some(error) => Err(error),
        None => Ok(raw.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits12(s: &str) -> [u8; 12] {
        twelve_digits(s).unwrap()
    }

    fn digits11(s: &str) -> [u8; 11] {
        let v: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        v.try_into().unwrap()
    }

    #[test]
    fn check_control_digit_table() {
        for (input, expected) in [
            // BIN 971240001315: 9·1+7·2+1·3+2·4+4·5+0·6+0·7+0·8+1·9+3·10+1·11
            //   = 9+14+3+8+20+0+0+0+9+30+11 = 104; 104 mod 11 = 5 = d12.
            ("971240001315", ControlDigitCheck::Valid),
            ("971240001314", ControlDigitCheck::Mismatch { expected: 5 }),
            // 900515300001: 9+0+0+20+5+30+21+0+0+0+0 = 85; 85 mod 11 = 8.
            ("900515300008", ControlDigitCheck::Valid),
            ("900515300001", ControlDigitCheck::Mismatch { expected: 8 }),
            // 00000000001x: first pass 1·11 = 11 → 0.
            ("000000000010", ControlDigitCheck::Valid),
            // 10000000000x: first pass 1·1 = 1.
            ("100000000001", ControlDigitCheck::Valid),
            // 0000000001 0x: d10 = 1 → first pass 10; second pass 1·1 = 1.
            ("000000000101", ControlDigitCheck::Valid),
            // "10 → 0" is wrong: the control digit here is 1, not 0.
            ("000000000100", ControlDigitCheck::Mismatch { expected: 1 }),
            // d1 = 1, d9 = 1: first pass 1+9 = 10; second pass 3+11 = 14 → 3.
            ("100000001003", ControlDigitCheck::Valid),
        ] {
            assert_eq!(check_control_digit(&digits12(input)), expected, "{input}");
        }
    }

    #[test]
    fn control_digit_never_issued_when_both_passes_give_ten() {
        // 01000000118 (d2 = 1, d9 = 1, d10 = 1, d11 = 8):
        //   first pass  1·2 + 1·9 + 1·10 + 8·11 = 109; 109 mod 11 = 10;
        //   second pass 1·4 + 1·11 + 1·1 + 8·2  =  32;  32 mod 11 = 10 → never issued.
        // And the first such prefix found by search, whatever it is.
        let searched = (0u64..100_000_000_000)
            .map(|n| format!("{n:011}"))
            .find(|s| {
                let d = digits11(s);
                weighted_mod_11(&d, &FIRST_PASS_WEIGHTS) == 10 && weighted_mod_11(&d, &SECOND_PASS_WEIGHTS) == 10
            })
            .unwrap();
        for prefix in ["01000000118", searched.as_str()] {
            let d = digits11(prefix);
            assert_eq!(control_digit(&d), None, "{prefix}");
            for last in 0..=9u8 {
                let mut all = [0u8; 12];
                all[..11].copy_from_slice(&d);
                all[11] = last;
                assert_eq!(
                    check_control_digit(&all),
                    ControlDigitCheck::NeverIssued,
                    "{prefix}{last}"
                );
            }
        }
    }

    #[test]
    fn control_digit_table() {
        for (input, expected) in [
            ("97124000131", Some(5)),
            ("00000000010", Some(1)),
            ("10000000100", Some(3)),
            ("00000000000", Some(0)),
        ] {
            assert_eq!(control_digit(&digits11(input)), expected, "{input}");
        }
    }

    #[test]
    fn twelve_digits_table() {
        for (input, expected) in [
            ("971240001315", Some([9, 7, 1, 2, 4, 0, 0, 0, 1, 3, 1, 5])),
            ("97124000131", None),
            ("9712400013150", None),
            ("97124000131a", None),
            ("97124000131١", None),
            ("", None),
        ] {
            assert_eq!(twelve_digits(input), expected, "{input}");
        }
    }

    #[test]
    fn shared_problems_stop_at_a_bad_shape() {
        use super::super::{BinError, IinError};

        fn own_rules_must_not_run<E>(trimmed: &str, _: &[u8; 12]) -> Vec<E> {
            panic!("own rules ran on {trimmed:?}")
        }
        assert_eq!(
            problems::<IinError>(" 12a ", own_rules_must_not_run),
            vec![
                IinError::WrongLength { got: 3 },
                IinError::NonDigit {
                    position: 3,
                    found: 'a'
                },
            ]
        );
        assert_eq!(
            problems::<BinError>("", own_rules_must_not_run),
            vec![BinError::WrongLength { got: 0 }]
        );
        assert_eq!(
            problems::<BinError>("97124000131x", own_rules_must_not_run),
            vec![BinError::NonDigit {
                position: 12,
                found: 'x'
            }]
        );
    }

    #[test]
    fn shared_problems_run_own_rules_then_the_control_digit() {
        use super::super::{BinError, IinError};

        let own_rules = |trimmed: &str, digits: &[u8; 12]| {
            assert_eq!(trimmed, "971240001314");
            assert_eq!(digits, &digits12("971240001314"));
            vec![IinError::InvalidCenturyDigit { digit: digits[6] }]
        };
        assert_eq!(
            problems("\t971240001314 ", own_rules),
            vec![
                IinError::InvalidCenturyDigit { digit: 0 },
                IinError::ChecksumMismatch { expected: 5, got: 4 },
            ]
        );
        assert_eq!(problems("971240001315", |_, _| Vec::<BinError>::new()), vec![]);
        // 01000000118 is never issued (see `control_digit_never_issued_when_both_passes_give_ten`).
        assert_eq!(
            problems::<BinError>("010000001183", |_, _| Vec::new()),
            vec![BinError::NeverIssued]
        );
    }

    #[test]
    fn parse_trimmed_gives_the_trimmed_input_or_the_first_problem() {
        use super::super::IinError;

        assert_eq!(parse_trimmed(" 12 ", |_| Vec::<IinError>::new()), Ok("12".to_owned()));
        assert_eq!(
            parse_trimmed(" 12 ", |raw| {
                assert_eq!(raw, " 12 ");
                vec![IinError::NeverIssued, IinError::WrongLength { got: 2 }]
            }),
            Err(IinError::NeverIssued)
        );
    }

    #[test]
    fn scan_shape_table() {
        for (input, count, first) in [
            ("123", 3, None),
            ("12a4", 4, Some((3, 'a'))),
            ("１23", 3, Some((1, '１'))),
            ("12 3", 4, Some((3, ' '))),
            ("", 0, None),
        ] {
            let shape = scan_shape(input);
            assert_eq!(shape.char_count, count, "{input}");
            assert_eq!(shape.first_non_digit, first, "{input}");
        }
    }
}
