//! Resident identity number (居民身份证号码), GB 11643-1999.

/// Weights of positions 1–17 for ISO 7064 MOD 11-2.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for R = Σ mod 11, R = 0…10.
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character (position 18) for the first 17 digits, or `None` when one is not a
/// digit.
pub fn check_char(first17: &[u8]) -> Option<u8> {
    debug_assert_eq!(first17.len(), 17);
    let mut sum = 0u32;
    for (&c, &w) in first17.iter().zip(WEIGHTS.iter()) {
        if !c.is_ascii_digit() {
            return None;
        }
        sum += (c - b'0') as u32 * w;
    }
    Some(CHECK[(sum % 11) as usize])
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn domain_examples() {
        for id in [
            "11010519491231002X",
            "44011320141005001X",
            "360426199101010071",
        ] {
            let b = id.as_bytes();
            assert_eq!(check_char(&b[..17]), Some(b[17]), "{id}");
        }
        assert_eq!(check_char(&b"36042619910102009X"[..17]), Some(b'3'));
    }
}
