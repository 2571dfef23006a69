//! REST request bodies, and the error body every REST error answers with.
//! Unknown fields are refused (`400 bad_request`) so a typo never silently
//! does nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::dto::{AgentRef, MessageDto};
use crate::error::Error;

use crate::domain::{AgentId, InboxId};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentRequest {
    pub handle: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub password: String,
    #[serde(default)]
    pub inboxes: Vec<InboxId>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAgentRequest {
    pub name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
    pub inboxes: Option<Vec<InboxId>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInboxRequest {
    pub name: String,
}

/// Durations in seconds; fractions are accepted (tests use them).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSettingsRequest {
    pub ticket_sharing_enabled: Option<bool>,
    pub sign_replies: Option<bool>,
    /// Absent: unchanged; `null`: never unlock.
    #[serde(default, deserialize_with = "present")]
    pub hard_lock_auto_unlock_s: Option<Option<f64>>,
    pub hidden_release_s: Option<f64>,
    pub reconnect_grace_s: Option<f64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketRequest {
    pub inbox: InboxId,
    pub subject: String,
    pub customer: CustomerBody,
    pub body: String,
}

/// `fields` merges: a key with a string sets it, a key with `null` removes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTicketRequest {
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    pub kind: String,
    pub body: String,
    pub send_at: Option<String>,
    pub after: Option<String>,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub cancel_if_replied: bool,
}

/// `{"agent": id}` or `{"agent": null}`; the key is required.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    #[serde(default, deserialize_with = "present")]
    pub agent: Option<Option<AgentId>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub agent: Option<AgentId>,
    pub inbox: Option<InboxId>,
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub view: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// Distinguishes an absent field (outer `None`) from an explicit `null` (`Some(None)`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowerRequest {
    pub agent: AgentId,
}

/// `{"error": {"code", "message", ...details}}` (docs/protocol.md "Errors").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    /// `ticket_claimed`, `ticket_locked`: who holds the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<AgentRef>,
    /// `rate_limited`: when to try again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// `stale`: the messages the author had not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer: Option<Vec<MessageDto>>,
}

impl ErrorResponse {
    pub fn new(error: &Error) -> ErrorResponse {
        let mut body = ErrorBody {
            code: error.code(),
            message: error.to_string(),
            holder: None,
            retry_after_s: None,
            newer: None,
        };
        match error {
            Error::TicketClaimed { holder } | Error::TicketLocked { holder } => {
                body.holder = Some(holder.clone());
            }
            Error::RateLimited { retry_after_s, .. } => body.retry_after_s = Some(*retry_after_s),
            Error::Stale { newer, names } => {
                body.newer = Some(
                    newer
                        .iter()
                        .map(|m| MessageDto::new(m, &names[..]))
                        .collect(),
                );
            }
            _ => {}
        }
        ErrorResponse { error: body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::{Message, MessageKind, MessageState};
    use crate::domain::{MessageId, TicketId, Timestamp};

    #[test]
    fn a_stale_error_names_the_authors_it_was_given() {
        let ben = AgentRef {
            id: AgentId::new(),
            name: "Ben".into(),
        };
        let reply = Message {
            id: MessageId::new(),
            ticket: TicketId::new(),
            kind: MessageKind::Reply,
            author: Some(ben.id),
            body: "hello".into(),
            mentions: vec![ben.id],
            created_at: Timestamp(1),
            state: MessageState::Sent,
            send_at: None,
            signature: None,
            cancel_if_replied: false,
            client_id: None,
            email: None,
            attachments: Vec::new(),
            delivery: None,
        };
        let error = Error::Stale {
            newer: vec![reply],
            names: vec![ben.clone()],
        };
        let body = serde_json::to_value(ErrorResponse::new(&error)).unwrap();
        let newer = &body["error"]["newer"][0];
        assert_eq!(body["error"]["code"], "stale");
        assert_eq!(
            newer["author"],
            serde_json::json!({"id": ben.id, "name": "Ben"})
        );
        assert_eq!(newer["mentions"][0]["name"], "Ben");
    }
}

/// `POST /api/channels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    pub kind: String,
    pub inbox: InboxId,
    pub name: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub greeting: Option<String>,
    #[serde(default)]
    pub offline_message: Option<String>,
    #[serde(default)]
    pub require_identity: bool,
    /// `email` channels: the mail account (docs/protocol.md §9.7).
    pub imap: Option<crate::domain::mail_account::ImapInput>,
    pub smtp: Option<crate::domain::mail_account::SmtpInput>,
    /// `api` channels: where agents' public replies are POSTed (§9.9).
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// `PATCH /api/channels/{id}`: absent fields stay; `null` clears a text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChannelRequest {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub greeting: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub offline_message: Option<Option<String>>,
    pub require_identity: Option<bool>,
    pub enabled: Option<bool>,
    /// `email` channels: the fields of the account to change (a password
    /// only when given).
    pub imap: Option<crate::domain::mail_account::ImapInput>,
    pub smtp: Option<crate::domain::mail_account::SmtpInput>,
    /// `api` channels: a new callback URL; `null` removes it. Setting it
    /// re-enables a callback the server disabled.
    #[serde(default, deserialize_with = "present")]
    pub callback_url: Option<Option<String>>,
}
