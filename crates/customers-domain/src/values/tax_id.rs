//! The control-digit algorithm shared by Kazakhstan's IIN and BIN.
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
