//! The Kaiser window, shared by the filter designs of several stages (the
//! analysis stage's true-peak interpolator, the DSP stage's half-band
//! oversamplers), so both design their filters from one definition.

/// Zeroth-order modified Bessel function of the first kind (power series,
/// summed until a term no longer changes the total).
pub fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..64 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Kaiser window of shape `beta` at normalised position `r` (−1 at one end,
/// 0 in the centre, 1 at the other end); 0 outside the window.
pub fn kaiser(r: f64, beta: f64) -> f64 {
    if r.abs() > 1.0 {
        return 0.0;
    }
    bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_matches_known_values() {
        // I0(0) = 1, I0(1) = 1.2660658777520082, I0(5) = 27.239871823604442.
        assert_eq!(bessel_i0(0.0), 1.0);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_2).abs() < 1e-14);
        assert!((bessel_i0(5.0) - 27.239_871_823_604_442).abs() < 1e-11);
    }

    #[test]
    fn kaiser_is_one_in_the_centre_and_symmetric() {
        assert_eq!(kaiser(0.0, 8.0), 1.0);
        assert_eq!(kaiser(0.3, 8.0), kaiser(-0.3, 8.0));
        assert_eq!(kaiser(1.5, 8.0), 0.0);
        assert!(kaiser(0.99, 8.0) < kaiser(0.5, 8.0));
    }
}
