//! Order statistics for aggregating measurements, with a fixed rule so that
//! rebuilding a profile from the same tracks gives the same numbers.

/// The `p`-th percentile (0…100) by linear interpolation between order
/// statistics (Hyndman–Fan type 7, the default of numpy and R). `None` for
/// an empty set; NaNs must be filtered out by the caller.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let fraction = rank - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Half the interquartile range: a robust "± how much" around the median.
pub fn iqr_half_width(values: &[f64]) -> Option<f64> {
    Some((percentile(values, 75.0)? - percentile(values, 25.0)?) / 2.0)
}

/// The median of the values that exist.
pub fn median_of_some(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = values
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    median(&present)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(median(&v), Some(3.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(5.0));
        assert_eq!(percentile(&v, 10.0), Some(1.4));
        assert_eq!(median(&[1.0, 2.0]), Some(1.5));
        assert_eq!(iqr_half_width(&v), Some(1.0));
        assert_eq!(median(&[]), None);
        assert_eq!(
            median_of_some([None, Some(2.0), Some(f64::NAN), Some(4.0)]),
            Some(3.0)
        );
    }
}
