//! Why a decision was refused. Each variant becomes one error code of
//! docs/protocol.md "Errors" (`error::Error` maps them); the English of
//! conflicts and forbidden cases lives here, next to the rule that refuses.

use super::super::access::Denied;
use super::super::agent::AgentRef;
use super::super::message::Message;

/// A refused decision; `error::Error` turns it into the error clients see
/// (and its message), so only conflicts and forbidden cases, whose words
/// depend on the rule, carry their text here.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// The ticket does not exist, or the caller may not know it does.
    NotFound,
    Forbidden(Forbidden),
    /// The request itself is invalid (400), whatever the ticket's state.
    Invalid(String),
    /// Another agent holds the live claim.
    Claimed {
        holder: AgentRef,
    },
    /// Another agent holds a hard lock.
    Locked {
        holder: AgentRef,
    },
    Conflict(ConflictReason),
    SharingDisabled,
    /// Newer customer messages or replies arrived since the one the author
    /// saw; `names`: of the agents those messages name (authors, mentions).
    Stale {
        newer: Vec<Message>,
        names: Vec<AgentRef>,
    },
}

impl Refusal {
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Invalid(message.into())
    }
}

impl From<Denied> for Refusal {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotFound => Refusal::NotFound,
            Denied::Forbidden => Refusal::Forbidden(Forbidden::Role),
        }
    }
}

impl From<ConflictReason> for Refusal {
    fn from(reason: ConflictReason) -> Self {
        Refusal::Conflict(reason)
    }
}

/// Visible, but not allowed to this caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error("your role does not allow this on this ticket")]
    Role,
    #[error("only the lock's holder or an admin may unlock")]
    NotLockHolder,
    #[error("only its author or an admin may cancel a scheduled reply")]
    NotAuthor,
}

/// Why the ticket's state does not allow the request (409 `conflict`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConflictReason {
    /// The accept race's losers learn who won (`None`: it was assigned, then unassigned).
    #[error("already accepted by {}", .by.as_ref().map_or("someone", |a| a.name.as_str()))]
    AlreadyAccepted { by: Option<AgentRef> },
    #[error("that agent cannot be assigned this ticket")]
    CannotBeAssigned,
    #[error("that agent cannot work on this ticket there")]
    CannotWorkThere,
    #[error("the ticket is already pending")]
    AlreadyPending,
    #[error("the ticket is already there")]
    AlreadyThere,
    #[error("only pending or working tickets can be resolved")]
    NotResolvable,
    #[error("only resolved or archived tickets can be reopened")]
    NotReopenable,
    #[error("the ticket is already archived")]
    AlreadyArchived,
    #[error("the conversation is closed")]
    ConversationClosed,
    #[error("ticket exists")]
    TicketExists,
    #[error("the ticket is not locked")]
    NotLocked,
    #[error("that agent cannot see this ticket")]
    CannotSee,
    #[error("tickets are shared with active agents only, not light agents")]
    NotShareable,
    #[error("only a scheduled reply can be cancelled; this one was sent")]
    AlreadySent,
    #[error("the handle {0} is taken")]
    HandleTaken(String),
    #[error("the e-mail {0} is taken")]
    EmailTaken(String),
}
