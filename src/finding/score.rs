//! The score scale, 0–100, as a validated type: every threshold and base score in the config is
//! one, so a bad value is refused when the file is read.

use serde::{Deserialize, Serialize};

/// A score threshold in [0, 100].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Threshold(f64);

/// A value that is not a score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    /// Outside [0, 100] (or NaN).
    #[error("{0} is not a score threshold (allowed 0 to 100)")]
    OutOfRange(f64),
    /// Text (a command-line value) that is not a number.
    #[error("{0:?} is not a number")]
    NotANumber(String),
}

impl Threshold {
    /// A threshold known to be in range, for defaults.
    pub(crate) const fn of(v: f64) -> Threshold {
        Threshold(v)
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Threshold {
    type Error = ThresholdError;

    fn try_from(v: f64) -> Result<Threshold, ThresholdError> {
        if (0.0..=100.0).contains(&v) {
            Ok(Threshold(v))
        } else {
            Err(ThresholdError::OutOfRange(v))
        }
    }
}

impl std::str::FromStr for Threshold {
    type Err = ThresholdError;

    /// A number in [0, 100], as given on the command line.
    fn from_str(s: &str) -> Result<Threshold, ThresholdError> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| ThresholdError::NotANumber(s.to_string()))?;
        Threshold::try_from(v)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Threshold::try_from(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_score() {
        assert_eq!(Threshold::try_from(70.0).unwrap().get(), 70.0);
        assert!(Threshold::try_from(0.0).is_ok() && Threshold::try_from(100.0).is_ok());
        for bad in [-0.5, 100.01, f64::NAN, f64::INFINITY] {
            let e = Threshold::try_from(bad).unwrap_err();
            assert!(e.to_string().contains("0 to 100"), "{e}");
        }
        assert_eq!("55".parse::<Threshold>().unwrap().get(), 55.0);
        let e = "x".parse::<Threshold>().unwrap_err();
        assert_eq!(e, ThresholdError::NotANumber("x".into()));
        assert_eq!(e.to_string(), "\"x\" is not a number");
        assert_eq!(
            "101".parse::<Threshold>().unwrap_err(),
            ThresholdError::OutOfRange(101.0)
        );
    }
}
