//! The one Gauss hypergeometric series the BG/NBD expectations need, summed without overflow.
//!
//! The conditional expectation of BG/NBD (FHL 2005, eq. 10) contains
//! `(1−z)^{r+x} ₂F₁(r+x, b+x; a+b+x−1; z)`. Summed as written, the series overflows for a
//! heavy buyer: its terms grow like `(r+x)ₙ(b+x)ₙ / (a+b+x−1)ₙ · zⁿ/n!`, which for `x` in
//! the hundreds and `z` near 1 exceeds `f64`. Euler's transformation
//! `₂F₁(A, B; C; z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z)` turns it into
//! `(1−z)^{a−1} ₂F₁(q, a−1; C; z)` with `q = a+b−1−r` and `C = a+b+x−1`: the numerator
//! parameters no longer grow with `x`, the denominator parameter does, and the series
//! converges fast exactly where the original one blew up (see [`super::bg_nbd`] for how the
//! rest of the expectation is arranged around it).
//!
//! The transformed series costs about `a·z/(1−z)` terms and has terms of one sign when
//! `q ≥ −1`; where `a` is much larger than `r + x` (a dropout probability nearly the same for
//! every customer) or `r` much larger than `a + b` (nearly the same purchase rate), the
//! untransformed series, all of whose terms are positive, is used instead ([`gauss_tail`]);
//! the choice is made in [`super::bg_nbd`].
//!
//! No general `₂F₁` of a crate is used: the pure-Rust ones sum the untransformed series in
//! linear space (and overflow or panic on these arguments), the others bind C libraries. The
//! two series needed here are summed in a scaled representation (mantissa and exponent kept
//! apart), so that neither a tiny prefactor such as `(1−z)^{a−1}` nor large intermediate terms
//! underflow or overflow.

/// At most this many terms; reached only when `z` is within about `10⁻⁵` of 1, i.e. for a
/// horizon about 10⁵ times longer than `α + T`.
const MAX_TERMS: u32 = 5_000_000;

/// `exp(log_scale) · Σ_{n≥1} (q)ₙ (a)ₙ₋₁ zⁿ / ((c+1)ₙ₋₁ n!)` for `0 ≤ z < 1`, `a > 0`,
/// `c > −1`, where `(y)ₙ` is the rising factorial: the tail of the Euler-transformed series.
///
/// Terms: `h₁ = q·z`, `hₙ₊₁ / hₙ = (q+n)(a+n−1) z / ((c+n)(n+1))`.
pub(super) fn euler_tail(q: f64, a: f64, c: f64, z: f64, log_scale: f64) -> f64 {
    debug_assert!(
        (0.0..1.0).contains(&z) && a > 0.0 && c > -1.0,
        "q={q} a={a} c={c} z={z}"
    );
    if z == 0.0 || q == 0.0 {
        return 0.0;
    }
    scaled_sum(log_scale + q.abs().ln() + z.ln(), q.signum(), z, |n| {
        (q + n) * (a + n - 1.0) * z / ((c + n) * (n + 1.0))
    })
}

/// `exp(log_scale) · Σ_{n≥1} (A)ₙ (B)ₙ zⁿ / ((C)ₙ n!)` for `0 ≤ z < 1` and `A, B, C > 0`: the
/// tail of the untransformed series, all of whose terms are positive.
pub(super) fn gauss_tail(big_a: f64, big_b: f64, big_c: f64, z: f64, log_scale: f64) -> f64 {
    debug_assert!((0.0..1.0).contains(&z) && big_a > 0.0 && big_b > 0.0 && big_c > 0.0);
    if z == 0.0 {
        return 0.0;
    }
    scaled_sum(log_scale + (big_a * big_b / big_c).ln() + z.ln(), 1.0, z, |n| {
        (big_a + n) * (big_b + n) * z / ((big_c + n) * (n + 1.0))
    })
}

/// `sign · exp(log_first) · Σ_{n≥1} Πₖ₌₁ⁿ⁻¹ ratio(k)`: a series given by its first term (in
/// logarithm) and the ratios of consecutive terms, which tend to `z < 1`.
///
/// The current term and the running sum are kept divided by `exp(shift)`, and rescaled when
/// the term grows large, so that neither a tiny first term nor huge intermediate ones leave
/// `f64`'s range. Summation stops when the remainder, bounded by `|hₙ|·ρ/(1−ρ)` with
/// `ρ = max(|ratio|, z)`, is below half an ulp of the sum.
fn scaled_sum(log_first: f64, sign: f64, z: f64, ratio: impl Fn(f64) -> f64) -> f64 {
    const RESCALE: f64 = 1e150;
    let rescale_log = RESCALE.ln();
    let mut shift = log_first;
    let mut term = sign;
    let mut sum = term;
    let mut n = 1.0_f64;
    for _ in 0..MAX_TERMS {
        let ratio = ratio(n);
        term *= ratio;
        sum += term;
        n += 1.0;
        if term == 0.0 {
            // A numerator parameter is a negative integer: the series terminates.
            break;
        }
        if term.abs() > RESCALE {
            term /= RESCALE;
            sum /= RESCALE;
            shift += rescale_log;
        }
        let rho = ratio.abs().max(z);
        if rho < 1.0 && term.abs() * rho / (1.0 - rho) <= 0.5 * f64::EPSILON * sum.abs() {
            break;
        }
    }
    sum * shift.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain series `Σ_{n≥0} (A)ₙ(B)ₙ/(C)ₙ zⁿ/n!`, fine for small arguments.
    fn naive_2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
        let (mut term, mut sum) = (1.0, 1.0);
        for n in 0..10_000 {
            let n = f64::from(n);
            term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
            sum += term;
            if term.abs() < 1e-18 * sum.abs() {
                break;
            }
        }
        sum
    }

    #[test]
    fn matches_the_untransformed_series_where_that_one_is_safe() {
        // (1−z)^{r+x} ₂F₁(r+x, b+x; C; z) = (1−z)^{a−1} (1 + (a−1) G), G = euler_tail / C.
        let cases = [
            // r, a, b, x, z
            (0.243_f64, 0.793_f64, 2.426_f64, 0.0_f64, 0.3_f64),
            (0.243, 0.793, 2.426, 2.0, 0.5),
            (0.243, 0.793, 2.426, 10.0, 0.2),
            (1.5, 3.0, 0.7, 1.0, 0.6),
            (0.5, 1.2, 5.0, 4.0, 0.45),
            (2.0, 0.4, 0.8, 0.0, 0.5),
        ];
        for (r, a, b, x, z) in cases {
            let c = a + b + x - 1.0;
            let q = a + b - 1.0 - r;
            let direct = (1.0 - z).powf(r + x) * naive_2f1(r + x, b + x, c, z);
            let transformed =
                (1.0 - z).powf(a - 1.0) + (a - 1.0) * euler_tail(q, a, c, z, (a - 1.0) * (1.0 - z).ln()) / c;
            let rel = (direct - transformed).abs() / direct.abs();
            assert!(rel < 1e-12, "{r} {a} {b} {x} {z}: {direct} vs {transformed}");
        }
    }

    #[test]
    fn closed_forms() {
        // a = 1, c = 0: the terms are (q)ₙ zⁿ / n!, the sum is (1−z)^{−q} − 1.
        for (q, z) in [(0.5_f64, 0.3_f64), (2.0, 0.9), (-0.5, 0.7), (3.7, 0.99)] {
            let expected = (1.0 - z).powf(-q) - 1.0;
            let got = euler_tail(q, 1.0, 0.0, z, 0.0);
            assert!(
                (got - expected).abs() <= 1e-13 * expected.abs(),
                "{q} {z}: {got} vs {expected}"
            );
        }
        // B = C: the untransformed terms are (A)ₙ zⁿ / n!, the sum is (1−z)^{−A} − 1.
        for (big_a, big_b, z) in [(0.243_f64, 2.426, 0.5_f64), (150.0, 3.0, 0.9), (7.0, 1e9, 0.99)] {
            let expected = (1.0 - z).powf(-big_a) - 1.0;
            let got = gauss_tail(big_a, big_b, big_b, z, 0.0);
            assert!(
                (got - expected).abs() <= 1e-12 * expected,
                "{big_a} {z}: {got} vs {expected}"
            );
        }
        // A negative integer q ends the series: q = −2 gives −2z + z² = (1−z)² − 1.
        let z = 0.4_f64;
        assert!((euler_tail(-2.0, 1.0, 0.0, z, 0.0) - ((1.0 - z) * (1.0 - z) - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn huge_terms_and_a_tiny_prefactor_neither_overflow_nor_underflow() {
        // q = 1, c = 0: the sum is z·₂F₁(2, a; 2; z) = z (1−z)^{−a}. With a = 2000 and z = ½
        // the terms reach 2^2000 ≈ 10^602 and the prefactor e^{−1400} underflows on its own,
        // while the product, ½·e^{2000 ln 2 − 1400}, is about 5.6·10⁻⁷.
        let (a, z, log_scale) = (2000.0, 0.5, -1400.0);
        let expected = z * (a * 2f64.ln() + log_scale).exp();
        let got = euler_tail(1.0, a, 0.0, z, log_scale);
        assert!((got - expected).abs() <= 1e-12 * expected, "{got} vs {expected}");
        // And the sum that is truly below f64's range is 0, not NaN.
        assert_eq!(euler_tail(1.0, a, 0.0, z, -3000.0), 0.0);
    }
}
