//! Server-wide settings an admin changes at run time (`PATCH /api/settings`).
//!
//! Durations are kept in milliseconds so tests can use fractions of a second;
//! the wire shows seconds (whole seconds as integers).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub ticket_sharing_enabled: bool,
    pub sign_replies: bool,
    /// `None`: hard locks never unlock by themselves.
    pub hard_lock_auto_unlock_ms: Option<u64>,
    pub hidden_release_ms: u64,
    pub reconnect_grace_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ticket_sharing_enabled: false,
            sign_replies: true,
            hard_lock_auto_unlock_ms: Some(1_800_000),
            hidden_release_ms: 30_000,
            reconnect_grace_ms: 10_000,
        }
    }
}

/// The longest duration setting: one week.
pub const MAX_DURATION_MS: u64 = 7 * 24 * 3600 * 1000;

/// A duration setting given in seconds (fractions allowed) as milliseconds,
/// if it is from `min_ms` to a week.
pub fn duration_ms(seconds: f64, min_ms: u64) -> Option<u64> {
    let range = min_ms as f64 / 1000.0..=MAX_DURATION_MS as f64 / 1000.0;
    range
        .contains(&seconds)
        .then(|| (seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_before_rounding() {
        assert_eq!(duration_ms(0.5, 0), Some(500));
        assert_eq!(duration_ms(0.001, 1), Some(1));
        assert_eq!(duration_ms(604_800.0, 0), Some(MAX_DURATION_MS));
        // These used to round into the range: -0.0004 s to 0 ms, 0.0005 s to 1 ms.
        for (seconds, min_ms) in [
            (-0.0004, 0),
            (0.0005, 1),
            (604_800.000_4, 0),
            (f64::NAN, 0),
            (f64::INFINITY, 0),
        ] {
            assert_eq!(duration_ms(seconds, min_ms), None, "{seconds}");
        }
    }
}
