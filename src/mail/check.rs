//! `POST /api/channels/{id}/check`: tries both connections of an e-mail
//! channel now and says in plain words what failed (docs/protocol.md §9.7).

use std::time::Duration;

use serde::Serialize;

use super::error::{MailError, Stage};
use super::imap::{self, Mailbox};
use super::smtp;
use crate::domain::mail_account::MailAccount;

/// How one half of the account did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub ok: bool,
    /// `dns`, `connect`, `tls`, `login`, `folder` or `send`, when it failed.
    pub stage: Option<Stage>,
    pub error: Option<String>,
}

impl From<Result<(), MailError>> for Outcome {
    fn from(result: Result<(), MailError>) -> Outcome {
        match result {
            Ok(()) => Outcome {
                ok: true,
                stage: None,
                error: None,
            },
            Err(e) => Outcome {
                ok: false,
                stage: Some(e.stage),
                error: Some(e.to_string()),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub imap: Outcome,
    pub smtp: Outcome,
}

/// Tries IMAP (log in, open the folder) and SMTP (log in) at once.
pub async fn check(account: &MailAccount, timeout: Duration) -> Report {
    let imap = async {
        let mailbox = Mailbox::open(&account.imap, timeout).await?;
        mailbox.logout().await;
        Ok(())
    };
    let smtp = async {
        // lettre does not tell a name that does not resolve from a refused connection.
        imap::tcp(&account.smtp.host, account.smtp.port, timeout)
            .await
            .map_err(|e| match e.stage {
                Stage::Dns => e,
                _ => MailError::new(Stage::Connect, e.detail),
            })?;
        let transport = smtp::transport(&account.smtp, timeout)?;
        smtp::check(&transport).await
    };
    let (imap, smtp) = futures_util::join!(imap, smtp);
    Report {
        imap: imap.into(),
        smtp: smtp.into(),
    }
}
