//! Units in types where a bare `f64` would invite confusion.
//!
//! A gain in dB, a level in LUFS and a frequency in Hz are all `f64` in
//! memory; mixing them up (adding a LUFS reading to a linear gain, say) is the
//! classic mastering-code bug. The newtypes serialise as plain numbers so the
//! JSON report stays readable.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Neg, Sub};

/// A level or gain in decibels (dBFS, dBTP or a relative dB, as the field
/// name says).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Db(pub f64);

/// A loudness in LUFS (ITU-R BS.1770 / EBU R128). Differences between two
/// loudness values are in LU, which we express as [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lufs(pub f64);

/// A frequency in hertz.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hz(pub f64);

impl Db {
    /// Amplitude (20·log10) conversion from a linear gain. Zero maps to −∞.
    pub fn from_amplitude(linear: f64) -> Self {
        Db(20.0 * linear.abs().log10())
    }

    /// Power (10·log10) conversion from a linear power ratio.
    pub fn from_power(ratio: f64) -> Self {
        Db(10.0 * ratio.abs().log10())
    }

    /// The linear amplitude gain this dB value stands for.
    pub fn to_amplitude(self) -> f64 {
        10f64.powf(self.0 / 20.0)
    }

    /// The linear power ratio this dB value stands for.
    pub fn to_power(self) -> f64 {
        10f64.powf(self.0 / 10.0)
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl Lufs {
    pub fn value(self) -> f64 {
        self.0
    }
}

impl Hz {
    pub fn value(self) -> f64 {
        self.0
    }
}

impl Add for Db {
    type Output = Db;
    fn add(self, rhs: Db) -> Db {
        Db(self.0 + rhs.0)
    }
}

impl Sub for Db {
    type Output = Db;
    fn sub(self, rhs: Db) -> Db {
        Db(self.0 - rhs.0)
    }
}

impl Neg for Db {
    type Output = Db;
    fn neg(self) -> Db {
        Db(-self.0)
    }
}

/// Moving a loudness by a gain gives a loudness.
impl Add<Db> for Lufs {
    type Output = Lufs;
    fn add(self, rhs: Db) -> Lufs {
        Lufs(self.0 + rhs.0)
    }
}

/// The distance between two loudness readings is a gain (in LU = dB).
impl Sub for Lufs {
    type Output = Db;
    fn sub(self, rhs: Lufs) -> Db {
        Db(self.0 - rhs.0)
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(1);
        write!(f, "{:.*} dB", precision, self.0)
    }
}

impl fmt::Display for Lufs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(1);
        write!(f, "{:.*} LUFS", precision, self.0)
    }
}

impl fmt::Display for Hz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000.0 {
            write!(f, "{:.2} kHz", self.0 / 1000.0)
        } else {
            write!(f, "{:.0} Hz", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amplitude_round_trip() {
        for db in [-120.0, -6.0, 0.0, 3.0, 24.0] {
            let back = Db::from_amplitude(Db(db).to_amplitude());
            assert!((back.0 - db).abs() < 1e-9, "{db} -> {back:?}");
        }
        assert!((Db(-6.0206).to_amplitude() - 0.5).abs() < 1e-4);
        assert!((Db(10.0).to_power() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn loudness_arithmetic_keeps_units() {
        let gain: Db = Lufs(-14.0) - Lufs(-20.0);
        assert_eq!(gain, Db(6.0));
        assert_eq!(Lufs(-20.0) + gain, Lufs(-14.0));
    }

    #[test]
    fn serialises_as_plain_numbers() {
        let json = serde_json::to_string(&(Db(-1.5), Lufs(-14.0), Hz(1000.0))).unwrap();
        assert_eq!(json, "[-1.5,-14.0,1000.0]");
    }
}
