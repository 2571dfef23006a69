//! What goes wrong talking to a mail server, said in plain words: the stage
//! that failed (`dns`, `connect`, `tls`, `login`, `folder`, `fetch`, `send`)
//! and the server's or system's own message.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Dns,
    Connect,
    Tls,
    Login,
    Folder,
    Fetch,
    Send,
}

impl Stage {
    fn phrase(self) -> &'static str {
        match self {
            Stage::Dns => "the host name could not be resolved",
            Stage::Connect => "the server could not be reached",
            Stage::Tls => "the TLS handshake failed",
            Stage::Login => "the server refused the login",
            Stage::Folder => "the folder could not be opened",
            Stage::Fetch => "reading the mailbox failed",
            Stage::Send => "the server refused the mail",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailError {
    pub stage: Stage,
    pub detail: String,
    /// Whether trying again later cannot help (a 5xx SMTP answer).
    pub permanent: bool,
}

impl MailError {
    pub fn new(stage: Stage, detail: impl fmt::Display) -> MailError {
        MailError {
            stage,
            detail: detail.to_string(),
            permanent: false,
        }
    }

    pub fn permanent(mut self) -> MailError {
        self.permanent = true;
        self
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage.phrase(), self.detail)
    }
}

impl std::error::Error for MailError {}
