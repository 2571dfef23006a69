//! Upgrades of data written under an older schema, run once, inside the write
//! transaction that opens the store, before anything reads the data.
//!
//! - 1 → 2: notifications stored their sentence (`text`); now they store the
//!   parameters it is made from (see `domain::notification`). The parameters
//!   are read back out of the text: its ticket part (`#number "subject"`) is
//!   in the record too, so what remains is a name and the fixed phrase of the
//!   kind (docs/protocol.md §3.3), which schema 1 never changed. The upgraded
//!   record therefore shows exactly the text it stored.
//! - 2 → 3: only new tables and new optional fields (chat channels); nothing
//!   to rewrite.
//! - 3 → 4: the same for e-mail channels.
//! - 4 → 5: the same for webhooks and API channels (their tables, the
//!   `channel` of events and webhooks, a ticket's `api` conversation, and
//!   the `webhook_disabled` notification kind an older binary cannot read).

use redb::{ReadableTable, WriteTransaction};
use serde_json::{Map, Value};

use super::tables::NOTIFICATIONS;
use super::{StoreError, codec};
use crate::domain::message::MessageKind;
use crate::domain::notification::{Notification, NotificationKind, ScheduledDropReason};

/// Brings data of schema `from` to the current one.
pub fn run(tx: &WriteTransaction, from: u32) -> Result<(), StoreError> {
    if from < 2 {
        let count = notifications_from_text(tx)?;
        tracing::info!(notifications = count, "upgraded notifications to schema 2");
    }
    Ok(())
}

/// 1 → 2: replaces each notification's `text` by its parameters.
fn notifications_from_text(tx: &WriteTransaction) -> Result<usize, StoreError> {
    let mut table = tx.open_table(NOTIFICATIONS)?;
    let rows: Vec<((u128, u128), Vec<u8>)> = table
        .iter()?
        .map(|row| {
            let (key, value) = row?;
            Ok((key.value(), value.value().to_vec()))
        })
        .collect::<Result<_, StoreError>>()?;
    let mut count = 0;
    for (key, bytes) in rows {
        let mut record: Map<String, Value> = codec::decode(&bytes)?;
        let Some(Value::String(text)) = record.remove("text") else {
            continue; // already stores parameters
        };
        let kind = parameters(&record, &text).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "notification {:?}: its text does not match its kind: {text}",
                record.get("id")
            ))
        })?;
        let Value::Object(kind) = serde_json::to_value(kind).expect("kinds serialize") else {
            unreachable!("a tagged enum serializes as an object")
        };
        record.extend(kind);
        let notification: Notification = codec::decode(&codec::encode(&record))?;
        table.insert(key, codec::encode(&notification).as_slice())?;
        count += 1;
    }
    Ok(count)
}

/// The kind and parameters schema 1 wrote into the `text` of `record`.
fn parameters(record: &Map<String, Value>, text: &str) -> Option<NotificationKind> {
    let number = record.get("ticket_number")?.as_u64()?;
    let subject = record.get("ticket_subject")?.as_str()?;
    let ticket = format!("#{number} \"{subject}\"");
    // The name before a kind's fixed phrase.
    let name = |phrase: String| text.strip_suffix(&phrase).map(str::to_owned);
    Some(match record.get("kind")?.as_str()? {
        "mention" => NotificationKind::Mention {
            by_name: name(format!(" mentioned you on {ticket}"))?,
        },
        "assigned" => NotificationKind::Assigned {
            by_name: name(format!(" assigned you {ticket}"))?,
        },
        "shared" => NotificationKind::Shared {
            by_name: name(format!(" shared {ticket} with you"))?,
        },
        "unshared" => NotificationKind::Unshared {
            by_name: name(format!(" stopped sharing {ticket} with you"))?,
        },
        "update" => [
            (MessageKind::Customer, "wrote"),
            (MessageKind::Reply, "replied"),
            (MessageKind::Note, "added a note"),
        ]
        .into_iter()
        .find_map(|(message, verb)| {
            Some(NotificationKind::Update {
                author_name: name(format!(" {verb} on {ticket}"))?,
                message,
            })
        })?,
        "lock_expired" => (text == format!("Your lock on {ticket} expired"))
            .then_some(NotificationKind::LockExpired)?,
        "scheduled_cancelled" => {
            let why =
                text.strip_prefix(&format!("Your scheduled reply on {ticket} was not sent: "))?;
            let reason = match why {
                "another agent replied first" => ScheduledDropReason::AnotherAgentReplied,
                "its author can no longer reply on this ticket" => {
                    ScheduledDropReason::AuthorMayNotReply
                }
                _ => return None,
            };
            NotificationKind::ScheduledCancelled { reason }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(kind: &str, text: &str) -> Option<NotificationKind> {
        let record = serde_json::json!({
            "kind": kind,
            "ticket_number": 25,
            "ticket_subject": "Printer \"on fire\" with you",
        });
        parameters(record.as_object().unwrap(), text)
    }

    fn named(kind: fn(String) -> NotificationKind) -> Option<NotificationKind> {
        Some(kind("Bianca Rossi".into()))
    }

    #[test]
    fn every_schema_1_text_gives_its_parameters() {
        let t = r#"#25 "Printer "on fire" with you""#;
        assert_eq!(
            kind_of("assigned", &format!("Bianca Rossi assigned you {t}")),
            named(|by_name| NotificationKind::Assigned { by_name })
        );
        assert_eq!(
            kind_of("mention", &format!("Bianca Rossi mentioned you on {t}")),
            named(|by_name| NotificationKind::Mention { by_name })
        );
        assert_eq!(
            kind_of("shared", &format!("Bianca Rossi shared {t} with you")),
            named(|by_name| NotificationKind::Shared { by_name })
        );
        assert_eq!(
            kind_of(
                "unshared",
                &format!("Bianca Rossi stopped sharing {t} with you")
            ),
            named(|by_name| NotificationKind::Unshared { by_name })
        );
        for (message, verb) in [
            (MessageKind::Customer, "wrote"),
            (MessageKind::Reply, "replied"),
            (MessageKind::Note, "added a note"),
        ] {
            assert_eq!(
                kind_of("update", &format!("Bianca Rossi {verb} on {t}")),
                Some(NotificationKind::Update {
                    author_name: "Bianca Rossi".into(),
                    message
                })
            );
        }
        assert_eq!(
            kind_of("lock_expired", &format!("Your lock on {t} expired")),
            Some(NotificationKind::LockExpired)
        );
        for (reason, why) in [
            (
                ScheduledDropReason::AnotherAgentReplied,
                "another agent replied first",
            ),
            (
                ScheduledDropReason::AuthorMayNotReply,
                "its author can no longer reply on this ticket",
            ),
        ] {
            assert_eq!(
                kind_of(
                    "scheduled_cancelled",
                    &format!("Your scheduled reply on {t} was not sent: {why}")
                ),
                Some(NotificationKind::ScheduledCancelled { reason })
            );
        }
    }

    #[test]
    fn a_text_that_does_not_match_its_kind_gives_nothing() {
        assert_eq!(kind_of("assigned", "Bianca assigned you #24 \"x\""), None);
        assert_eq!(kind_of("lock_expired", "Your lock expired"), None);
        assert_eq!(kind_of("party", "Bianca threw a party"), None);
    }
}
