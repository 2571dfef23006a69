//! A notification's wire `kind` and its `text`, the sentence for people
//! (docs/protocol.md §3.3 "Notification kinds" lists every one). The stored
//! record holds only the kind and its parameters; the sentence is made here,
//! each time it is shown.

use serde::Serialize;

use crate::domain::message::MessageKind;
use crate::domain::notification::{Notification, NotificationKind, ScheduledDropReason};

/// Notification `kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKindDto {
    Mention,
    Update,
    Assigned,
    Shared,
    Unshared,
    LockExpired,
    ScheduledCancelled,
    WebhookDisabled,
}

impl From<&NotificationKind> for NotificationKindDto {
    fn from(kind: &NotificationKind) -> NotificationKindDto {
        match kind {
            NotificationKind::Mention { .. } => NotificationKindDto::Mention,
            NotificationKind::Update { .. } => NotificationKindDto::Update,
            NotificationKind::Assigned { .. } => NotificationKindDto::Assigned,
            NotificationKind::Shared { .. } => NotificationKindDto::Shared,
            NotificationKind::Unshared { .. } => NotificationKindDto::Unshared,
            NotificationKind::LockExpired => NotificationKindDto::LockExpired,
            NotificationKind::ScheduledCancelled { .. } => NotificationKindDto::ScheduledCancelled,
            NotificationKind::WebhookDisabled { .. } => NotificationKindDto::WebhookDisabled,
        }
    }
}

/// The sentence for `n`, e.g. `Bianca assigned you #28 "Password reset link expired"`.
pub fn text(n: &Notification) -> String {
    let ticket = format!("#{} \"{}\"", n.ticket_number, n.ticket_subject);
    match &n.kind {
        NotificationKind::Mention { by_name } => format!("{by_name} mentioned you on {ticket}"),
        NotificationKind::Update {
            author_name,
            message,
        } => {
            let verb = match message {
                MessageKind::Customer => "wrote",
                MessageKind::Reply => "replied",
                MessageKind::Note => "added a note",
            };
            format!("{author_name} {verb} on {ticket}")
        }
        NotificationKind::Assigned { by_name } => format!("{by_name} assigned you {ticket}"),
        NotificationKind::Shared { by_name } => format!("{by_name} shared {ticket} with you"),
        NotificationKind::Unshared { by_name } => {
            format!("{by_name} stopped sharing {ticket} with you")
        }
        NotificationKind::LockExpired => format!("Your lock on {ticket} expired"),
        NotificationKind::ScheduledCancelled { reason } => {
            let why = match reason {
                ScheduledDropReason::AnotherAgentReplied => "another agent replied first",
                ScheduledDropReason::AuthorMayNotReply => {
                    "its author can no longer reply on this ticket"
                }
            };
            format!("Your scheduled reply on {ticket} was not sent: {why}")
        }
        NotificationKind::WebhookDisabled {
            url,
            description,
            reason,
            ..
        } => {
            let webhook = match description {
                Some(description) => format!("\"{description}\" ({url})"),
                None => url.clone(),
            };
            format!("The webhook {webhook} was disabled after a delivery for {ticket}: {reason}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentId, TicketId, Timestamp};

    fn on(number: u64, subject: &str, kind: NotificationKind) -> Notification {
        Notification {
            id: uuid::Uuid::now_v7(),
            agent: AgentId::new(),
            kind,
            ticket: TicketId::new(),
            ticket_number: number,
            ticket_subject: subject.into(),
            by: None,
            created_at: Timestamp(0),
            read: false,
        }
    }

    /// The examples of docs/protocol.md §3.3, one per kind and variant.
    #[test]
    fn every_text_reads_as_documented() {
        let printer = |kind| on(25, "Printer on fire (3rd floor)", kind);
        let reset = |kind| on(28, "Password reset link expired", kind);
        let bianca = || "Bianca".to_string();
        let update = |author_name: &str, message| NotificationKind::Update {
            author_name: author_name.into(),
            message,
        };
        let dropped = |reason| NotificationKind::ScheduledCancelled { reason };
        let disabled = |description: Option<&str>| NotificationKind::WebhookDisabled {
            webhook: crate::domain::WebhookId::new(),
            url: "https://crm.example.com/tandem".into(),
            description: description.map(String::from),
            reason: "the receiver answered 410 Gone".into(),
        };
        let cases = [
            (
                reset(NotificationKind::Assigned { by_name: bianca() }),
                r#"Bianca assigned you #28 "Password reset link expired""#,
            ),
            (
                printer(NotificationKind::LockExpired),
                r#"Your lock on #25 "Printer on fire (3rd floor)" expired"#,
            ),
            (
                printer(NotificationKind::Mention { by_name: bianca() }),
                r#"Bianca mentioned you on #25 "Printer on fire (3rd floor)""#,
            ),
            (
                printer(update("Bianca", MessageKind::Reply)),
                r#"Bianca replied on #25 "Printer on fire (3rd floor)""#,
            ),
            (
                printer(update("Bianca", MessageKind::Note)),
                r#"Bianca added a note on #25 "Printer on fire (3rd floor)""#,
            ),
            (
                printer(update("Maya Lindqvist", MessageKind::Customer)),
                r#"Maya Lindqvist wrote on #25 "Printer on fire (3rd floor)""#,
            ),
            (
                printer(NotificationKind::Shared { by_name: bianca() }),
                r#"Bianca shared #25 "Printer on fire (3rd floor)" with you"#,
            ),
            (
                printer(NotificationKind::Unshared { by_name: bianca() }),
                r#"Bianca stopped sharing #25 "Printer on fire (3rd floor)" with you"#,
            ),
            (
                reset(dropped(ScheduledDropReason::AnotherAgentReplied)),
                r#"Your scheduled reply on #28 "Password reset link expired" was not sent: another agent replied first"#,
            ),
            (
                reset(dropped(ScheduledDropReason::AuthorMayNotReply)),
                r#"Your scheduled reply on #28 "Password reset link expired" was not sent: its author can no longer reply on this ticket"#,
            ),
            (
                printer(disabled(Some("CRM"))),
                r#"The webhook "CRM" (https://crm.example.com/tandem) was disabled after a delivery for #25 "Printer on fire (3rd floor)": the receiver answered 410 Gone"#,
            ),
            (
                printer(disabled(None)),
                r#"The webhook https://crm.example.com/tandem was disabled after a delivery for #25 "Printer on fire (3rd floor)": the receiver answered 410 Gone"#,
            ),
        ];
        for (notification, expected) in cases {
            assert_eq!(text(&notification), expected);
        }
    }
}
