//! Semantic versions as DRA `version` attributes and the CEL `semver()` library use them:
//! strict SemVer 2.0.0 (`MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, no leading zeros),
//! ordered by SemVer precedence (build metadata ignored), as `blang/semver` does.

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Semver {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pre: Vec<PreId>,
    /// The text as written (used for equality of attributes, as Kubernetes does).
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum PreId {
    Num(u64),
    Alpha(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid semantic version {text:?}: {reason}")]
pub struct SemverError {
    pub text: String,
    pub reason: &'static str,
}

fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl Semver {
    pub fn parse(text: &str) -> Result<Semver, SemverError> {
        let err = |reason| SemverError {
            text: text.to_string(),
            reason,
        };
        let (rest, build) = match text.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (text, None),
        };
        if let Some(b) = build
            && (b.is_empty()
                || b.split('.').any(|id| {
                    id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                }))
        {
            return Err(err("bad build metadata"));
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return Err(err("expected MAJOR.MINOR.PATCH"));
        }
        let num = |s: &str| {
            numeric(s).ok_or_else(|| err("version numbers must be integers without leading zeros"))
        };
        let (major, minor, patch) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
        let mut pre_ids = Vec::new();
        if let Some(p) = pre {
            for id in p.split('.') {
                if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                    return Err(err("bad pre-release identifier"));
                }
                if id.bytes().all(|c| c.is_ascii_digit()) {
                    pre_ids.push(PreId::Num(numeric(id).ok_or_else(|| {
                        err("numeric pre-release identifier with a leading zero")
                    })?));
                } else {
                    pre_ids.push(PreId::Alpha(id.to_string()));
                }
            }
        }
        Ok(Semver {
            major,
            minor,
            patch,
            pre: pre_ids,
            text: text.to_string(),
        })
    }

    /// SemVer precedence.
    pub fn precedence(&self, other: &Semver) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = match (a, b) {
                            (PreId::Num(x), PreId::Num(y)) => x.cmp(y),
                            (PreId::Num(_), PreId::Alpha(_)) => Ordering::Less,
                            (PreId::Alpha(_), PreId::Num(_)) => Ordering::Greater,
                            (PreId::Alpha(x), PreId::Alpha(y)) => x.cmp(y),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Semver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_semver() {
        let v = |s| Semver::parse(s).unwrap();
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2.0",
            "550.54.15",
        ];
        for w in order.windows(2) {
            assert_eq!(
                v(w[0]).precedence(&v(w[1])),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(v("1.0.0+a").precedence(&v("1.0.0+b")), Ordering::Equal);
        for bad in ["1.0", "01.0.0", "1.0.0-", "1.0.0+", "a.b.c", "1.0.0-01", ""] {
            assert!(Semver::parse(bad).is_err(), "{bad}");
        }
    }
}
