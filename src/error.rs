//! The error vocabulary of docs/protocol.md "Errors", shared by REST handlers,
//! actors and WebSocket `error` frames. Mapped to HTTP in exactly one place
//! (`http::error`).

use std::sync::Arc;

use crate::accounts::AccountError;
use crate::backup::BackupError;
use crate::domain::agent::AgentRef;
use crate::domain::decisions::{ConflictReason, Refusal};
use crate::domain::message::Message;
use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing, invalid or revoked token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{} is working on this ticket; take it over first", holder.name)]
    TicketClaimed { holder: AgentRef },
    #[error("{} holds a hard lock on this ticket", holder.name)]
    TicketLocked { holder: AgentRef },
    #[error("{0}")]
    Conflict(ConflictReason),
    /// `newer`: the messages the author had not seen; `names`: of the agents they name.
    #[error("newer messages arrived since the one you saw; read them, or send with force")]
    Stale {
        newer: Vec<Message>,
        names: Vec<AgentRef>,
    },
    #[error("ticket sharing is disabled")]
    SharingDisabled,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{message}")]
    RateLimited {
        message: &'static str,
        retry_after_s: u64,
    },
    #[error("the server is shutting down")]
    Unavailable,
    /// Clients see only "internal error"; the cause is logged.
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// What went wrong inside the server: the cause of an [`Error::Internal`],
/// kept (with its own sources) for the log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(StoreError),
    #[error("actor unavailable")]
    Mailbox(#[source] actix::MailboxError),
    #[error("ticket actor keeps stopping")]
    ActorKeepsStopping,
    #[error("backup failed")]
    Backup(#[source] Arc<BackupError>),
}

impl Error {
    /// The machine-readable code (`error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound => "not_found",
            Error::TicketClaimed { .. } => "ticket_claimed",
            Error::TicketLocked { .. } => "ticket_locked",
            Error::Conflict(_) => "conflict",
            Error::Stale { .. } => "stale",
            Error::SharingDisabled => "sharing_disabled",
            Error::PayloadTooLarge => "payload_too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::Forbidden(message.into())
    }
}

impl From<crate::domain::access::Denied> for Error {
    fn from(denied: crate::domain::access::Denied) -> Self {
        Refusal::from(denied).into()
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Error::NotFound,
            Refusal::Forbidden(why) => Error::Forbidden(why.to_string()),
            Refusal::Invalid(message) => Error::BadRequest(message),
            Refusal::Claimed { holder } => Error::TicketClaimed { holder },
            Refusal::Locked { holder } => Error::TicketLocked { holder },
            Refusal::Conflict(reason) => Error::Conflict(reason),
            Refusal::SharingDisabled => Error::SharingDisabled,
            Refusal::Stale { newer, names } => Error::Stale { newer, names },
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Error::Unavailable,
            other => Error::Internal(InternalError::Store(other)),
        }
    }
}

impl From<BackupError> for Error {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Store(s) => s.into(),
            other => Error::Internal(InternalError::Backup(Arc::new(other))),
        }
    }
}

impl From<AccountError> for Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => Error::BadRequest(m),
            AccountError::Taken(reason) => Error::Conflict(reason),
            AccountError::NoSuchAgent => Error::NotFound,
            AccountError::BadCredentials => Error::Unauthorized,
            AccountError::RateLimited => Error::RateLimited {
                message: "too many failed logins; try again in a minute",
                retry_after_s: 60,
            },
            AccountError::Store(s) => s.into(),
        }
    }
}

impl From<actix::MailboxError> for Error {
    fn from(e: actix::MailboxError) -> Self {
        Error::Internal(InternalError::Mailbox(e))
    }
}
