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
    let ms = (seconds * 1000.0).round();
    if !seconds.is_finite() || ms < min_ms as f64 || ms > MAX_DURATION_MS as f64 {
        return None;
    }
    Some(ms as u64)
}
