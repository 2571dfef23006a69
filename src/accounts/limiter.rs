//! Login throttling (docs/protocol.md): 10 failures for one login name or one
//! address within a minute block further attempts for 60 seconds.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_FAILURES: usize = 10;
const WINDOW: Duration = Duration::from_secs(60);
const BLOCK: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Entry {
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

#[derive(Default)]
pub struct LoginLimiter {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginLimiter {
    /// Whether attempts for any of `keys` are blocked right now.
    pub fn is_blocked(&self, keys: &[String], now: Instant) -> bool {
        let entries = self.entries.lock().expect("limiter lock");
        keys.iter().any(|k| {
            entries
                .get(k)
                .and_then(|e| e.blocked_until)
                .is_some_and(|until| until > now)
        })
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut entries = self.entries.lock().expect("limiter lock");
        if entries.len() > 100_000 {
            // Bound memory under a spray of distinct names: forget expired entries.
            entries.retain(|_, e| {
                e.blocked_until.is_some_and(|u| u > now)
                    || e.failures.back().is_some_and(|t| now - *t < WINDOW)
            });
        }
        for key in keys {
            let entry = entries.entry(key.clone()).or_default();
            while entry.failures.front().is_some_and(|t| now - *t >= WINDOW) {
                entry.failures.pop_front();
            }
            entry.failures.push_back(now);
            if entry.failures.len() >= MAX_FAILURES {
                entry.blocked_until = Some(now + BLOCK);
                entry.failures.clear();
            }
        }
    }

    /// A successful login forgets the failures of its login name (not its address).
    pub fn record_success(&self, login_key: &str) {
        self.entries.lock().expect("limiter lock").remove(login_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_in_a_minute_block_for_a_minute() {
        let limiter = LoginLimiter::default();
        let keys = vec!["login:ada".to_string(), "addr:1.2.3.4".to_string()];
        let t0 = Instant::now();
        for i in 0..9 {
            limiter.record_failure(&keys, t0 + Duration::from_secs(i));
        }
        assert!(!limiter.is_blocked(&keys, t0 + Duration::from_secs(9)));
        limiter.record_failure(&keys, t0 + Duration::from_secs(9));
        assert!(limiter.is_blocked(&keys, t0 + Duration::from_secs(10)));
        assert!(limiter.is_blocked(&["addr:1.2.3.4".to_string()], t0 + Duration::from_secs(68)));
        assert!(!limiter.is_blocked(&keys, t0 + Duration::from_secs(70)));
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let limiter = LoginLimiter::default();
        let keys = vec!["login:bianca".to_string()];
        let t0 = Instant::now();
        for i in 0..10 {
            limiter.record_failure(&keys, t0 + Duration::from_secs(i * 10));
        }
        assert!(!limiter.is_blocked(&keys, t0 + Duration::from_secs(95)));
    }
}
