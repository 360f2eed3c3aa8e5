//! Canonical signed digits: how a constant multiplication becomes shifts
//! and adds.

/// The non-adjacent form of `c ≠ 0`: digits `±2^k` as `(k, negative)`, no
/// two adjacent, the fewest non-zero digits of any signed-digit form.
pub fn csd_digits(c: i128) -> Vec<(u32, bool)> {
    let mut d = vec![];
    let mut v = c;
    let mut k = 0;
    while v != 0 {
        if v & 1 == 1 {
            // v mod 4 == 3 → digit −1 (carry up), == 1 → digit +1
            let neg = v & 3 == 3;
            d.push((k, neg));
            v -= if neg { -1 } else { 1 };
        }
        v >>= 1;
        k += 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::csd_digits;

    #[test]
    fn csd_digits_sum_to_the_constant_and_are_non_adjacent() {
        let cases = (-4096i128..=4096).chain([i64::MAX as i128, i64::MIN as i128, (1 << 100) - 1]);
        for c in cases.filter(|&c| c != 0) {
            let d = csd_digits(c);
            let sum: i128 = d
                .iter()
                .map(|&(k, neg)| if neg { -(1i128 << k) } else { 1i128 << k })
                .sum();
            assert_eq!(sum, c);
            assert!(d.windows(2).all(|w| w[1].0 > w[0].0 + 1), "{c}: {d:?}");
            // minimal weight: never more digits than binary has ones
            assert!(d.len() as u32 <= c.unsigned_abs().count_ones());
        }
    }
}
