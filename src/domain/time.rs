//! Wall-clock instants as milliseconds since the Unix epoch, UTC.
//! Millisecond precision is what the wire shows and what ordering needs.

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Now, or just after `earlier` if the clock has not passed it yet: for
    /// events that must sort after one decided before them in the same
    /// millisecond.
    pub fn now_after(earlier: Option<Timestamp>) -> Timestamp {
        let now = Timestamp::now();
        earlier.map_or(now, |e| now.max(Timestamp(e.0 + 1)))
    }

    pub fn plus(self, duration: std::time::Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(duration.as_millis().min(i64::MAX as u128) as i64),
        )
    }

    /// How long from now until this time (zero if it has passed).
    pub fn until(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.saturating_sub(Timestamp::now().0).max(0) as u64)
    }

    /// RFC 3339 UTC with millisecond precision, e.g. `2026-11-21T05:47:00.123Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        let t = ::time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// Parses any RFC 3339 time (any offset); `None` if it is not one, or if
    /// in UTC it falls outside the years 0000–9999 that [`Self::to_rfc3339`] can show.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let t =
            ::time::OffsetDateTime::parse(text, &::time::format_description::well_known::Rfc3339)
                .ok()?;
        let utc = t.checked_to_offset(::time::UtcOffset::UTC)?;
        (0..=9999)
            .contains(&utc.year())
            .then(|| Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_at_millisecond_precision() {
        let t = Timestamp(1_795_000_000_123);
        let text = t.to_rfc3339();
        assert!(text.ends_with(".123Z"), "{text}");
        assert_eq!(Timestamp::parse_rfc3339(&text), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-01-01T02:00:00+02:00"),
            Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn times_outside_years_0000_to_9999_utc_are_refused() {
        // These used to be accepted and shown as "-001-12-31T23:59:00.000Z"
        // and "1970-01-01T00:00:00.000Z".
        assert_eq!(Timestamp::parse_rfc3339("0000-01-01T00:00:00+00:01"), None);
        assert_eq!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-00:01"), None);
        for edge in ["0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"] {
            assert_eq!(
                Timestamp::parse_rfc3339(edge)
                    .map(Timestamp::to_rfc3339)
                    .as_deref(),
                Some(edge)
            );
        }
    }
}
