//! Kubernetes resource quantities (`resource.Quantity`), exact.
//!
//! A quantity is held as an integer number of nano-units (10⁻⁹), the finest scale
//! Kubernetes keeps, in an `i128`: `40Gi`, `100m`, `1.5`, `2e3` are all exact, and
//! comparisons never round. Values beyond ±1.7·10²⁰ units are rejected rather than
//! clamped.

use std::fmt;

/// An exact Kubernetes quantity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    nanos: i128,
}

/// Why a quantity string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {text:?}: {reason}")]
pub struct QuantityError {
    pub text: String,
    pub reason: &'static str,
}

const NANO: i128 = 1_000_000_000;
/// Largest magnitude accepted, in whole units (keeps every operation inside i128).
const MAX_UNITS: i128 = 1 << 70;

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    /// A whole number of units.
    pub fn from_units(units: i64) -> Quantity {
        Quantity {
            nanos: i128::from(units) * NANO,
        }
    }

    /// `value` in nano-units.
    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// Parses the Kubernetes quantity syntax: an optionally signed decimal number,
    /// then a binary-SI suffix (`Ki` … `Ei`), a decimal-SI suffix (`n u m k M G T P E`)
    /// or a decimal exponent (`e3`, `E-2`).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let err = |reason| QuantityError {
            text: text.to_string(),
            reason,
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (negative, s) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(num_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err("expected a decimal number"));
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        // Digits as an integer with a decimal exponent: value = digits * 10^exp10.
        let digits_str = format!("{int_part}{frac_part}");
        let digits_str = digits_str.trim_start_matches('0');
        if digits_str.len() > 36 {
            return Err(err("too many digits"));
        }
        let mut digits: i128 = if digits_str.is_empty() {
            0
        } else {
            digits_str
                .parse()
                .map_err(|_| err("expected a decimal number"))?
        };
        let mut exp10: i32 = -(frac_part.len() as i32);
        let mut binary_shift: u32 = 0;
        match suffix {
            "" => {}
            "Ki" => binary_shift = 10,
            "Mi" => binary_shift = 20,
            "Gi" => binary_shift = 30,
            "Ti" => binary_shift = 40,
            "Pi" => binary_shift = 50,
            "Ei" => binary_shift = 60,
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            s if s.starts_with(['e', 'E']) => {
                let e: i32 = s[1..]
                    .parse()
                    .map_err(|_| err("expected an integer exponent after 'e'"))?;
                if !(-40..=40).contains(&e) {
                    return Err(err("exponent out of range"));
                }
                exp10 += e;
            }
            _ => return Err(err("unknown suffix")),
        }
        // Scale to nano-units.
        exp10 += 9;
        let overflow = || err("out of range");
        if binary_shift > 0 {
            digits = digits
                .checked_mul(1i128 << binary_shift)
                .ok_or_else(overflow)?;
        }
        let mut nanos = digits;
        if exp10 >= 0 {
            for _ in 0..exp10 {
                nanos = nanos.checked_mul(10).ok_or_else(overflow)?;
            }
        } else {
            // Kubernetes rounds sub-nano precision up (away from zero); so do we.
            let mut div: i128 = 1;
            for _ in 0..(-exp10) {
                div = div.checked_mul(10).ok_or_else(overflow)?;
            }
            nanos = (nanos + div - 1) / div;
        }
        if nanos / NANO > MAX_UNITS {
            return Err(overflow());
        }
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
        })
    }

    /// Whether the quantity is a whole number of units.
    pub fn is_integer(self) -> bool {
        self.nanos % NANO == 0
    }

    /// The whole number of units, if it is one and fits an `i64`.
    pub fn as_integer(self) -> Option<i64> {
        if self.is_integer() {
            i64::try_from(self.nanos / NANO).ok()
        } else {
            None
        }
    }

    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        self.nanos
            .checked_add(other.nanos)
            .map(|nanos| Quantity { nanos })
    }

    pub fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        self.nanos
            .checked_sub(other.nanos)
            .map(|nanos| Quantity { nanos })
    }

    pub fn signum(self) -> i64 {
        self.nanos.signum() as i64
    }
}

impl fmt::Display for Quantity {
    /// Plain units, with binary suffixes for whole multiples of 1024 (e.g. `80Gi`) and a
    /// decimal fraction otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_integer() {
            let units = self.nanos / NANO;
            if units != 0 {
                for (shift, suffix) in [
                    (60, "Ei"),
                    (50, "Pi"),
                    (40, "Ti"),
                    (30, "Gi"),
                    (20, "Mi"),
                    (10, "Ki"),
                ] {
                    if units % (1i128 << shift) == 0 {
                        return write!(f, "{}{suffix}", units >> shift);
                    }
                }
            }
            return write!(f, "{units}");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.abs();
        let frac = format!("{:09}", abs % NANO);
        write!(f, "{sign}{}.{}", abs / NANO, frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_the_kubernetes_forms() {
        assert_eq!(q("40Gi"), Quantity::from_units(40 << 30));
        assert_eq!(q("80Gi").to_string(), "80Gi");
        assert_eq!(q("1k"), Quantity::from_units(1000));
        assert_eq!(q("100m").nanos(), 100_000_000);
        assert_eq!(q("1.5"), q("1500m"));
        assert_eq!(q("2e3"), q("2k"));
        assert_eq!(q("-1"), Quantity::from_units(-1));
        assert_eq!(q("0"), Quantity::ZERO);
        assert_eq!(q("1n").nanos(), 1);
        assert!(q("40Gi") < q("80Gi"));
        assert!(q("1G") < q("1Gi"));
        assert_eq!(q("1.5").to_string(), "1.5");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "Gi",
            "1.2.3",
            "1x",
            "1e",
            "1e999",
            "99999999999999999999999999999999999999999Ei",
            "--1",
            ".",
            "1Ei1",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert!(Quantity::parse("9999999999Ei").is_err());
    }
}
