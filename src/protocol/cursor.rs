//! List cursors (`next_cursor` / `cursor` of `GET /api/inboxes/{id}/tickets`).
//!
//! Clients see an opaque `<snapshot>-<key>` string, both parts lower-case
//! hex: the paging snapshot the list is read from and the last index key of
//! the previous page.

/// Where a list continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub snapshot: u64,
    pub key: Vec<u8>,
}

/// Index keys are far shorter; longer cursors are refused.
pub const MAX_KEY_BYTES: usize = 128;

impl Cursor {
    pub fn encode(&self) -> String {
        let key: String = self.key.iter().map(|b| format!("{b:02x}")).collect();
        format!("{:x}-{key}", self.snapshot)
    }

    /// `None` if `text` is not a cursor.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (snapshot, key) = text.split_once('-')?;
        let snapshot = u64::from_str_radix(snapshot, 16).ok()?;
        if !key.len().is_multiple_of(2) || key.len() > 2 * MAX_KEY_BYTES {
            return None;
        }
        let key = (0..key.len())
            .step_by(2)
            .map(|i| {
                key.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()?;
        Some(Cursor { snapshot, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let c = Cursor {
            snapshot: 0x9c41,
            key: vec![0x01, 0xff, 0x00],
        };
        assert_eq!(c.encode(), "9c41-01ff00");
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(
            Cursor::decode("0-"),
            Some(Cursor {
                snapshot: 0,
                key: vec![]
            })
        );
        for bad in [
            "",
            "nope",
            "-00",
            "1-0",
            "1-zz",
            "1-é0",
            &format!("1-{}", "00".repeat(129)),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
