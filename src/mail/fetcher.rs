//! One e-mail channel's import loop: connect, import everything new, wait
//! (IDLE where the server offers it, else `poll_s`), again; on any failure,
//! record it in the channel's status and reconnect with exponential backoff.
//!
//! Exactly once (docs/protocol.md §9.7, "What is guaranteed"):
//! - the cursor (UIDVALIDITY and the last UID handled) is written only after
//!   every mail up to that UID is committed (or deliberately ignored);
//! - a mail is flagged or moved only after the cursor is written;
//! - a crash between a ticket's commit and the cursor fetches the mail
//!   again, and its Message-ID, now in the store, makes it a duplicate;
//! - a new UIDVALIDITY starts the folder over, and Message-IDs again keep
//!   anything from being imported twice.
//!
//! The first time a folder is read (no cursor yet) with `after: "seen"`, only
//! unseen mail is imported: read mail is history, not work.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::watch;

use super::error::MailError;
use super::imap::{Fetched, Mailbox};
use super::intake::{self, Outcome};
use super::parse::{self, Limits};
use crate::core::Core;
use crate::domain::channel::Channel;
use crate::domain::email::MailCursor;
use crate::domain::mail_account::AfterImport;
use crate::store::{reads, writes};

/// Runs until `stop` turns true.
pub async fn run(core: Arc<Core>, channel: Arc<Channel>, mut stop: watch::Receiver<bool>) {
    let config = core.config.mail.clone();
    let mut backoff = config.reconnect_min;
    loop {
        let failed = match session(&core, &channel, &mut stop).await {
            Ok(()) => return,
            Err(failed) => failed,
        };
        tracing::warn!(channel = %channel.id, error = %failed, "e-mail channel: fetching failed");
        core.mail
            .statuses
            .failed(&core.metrics, channel.id, &failed.to_string());
        if failed.connected {
            backoff = config.reconnect_min;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(config.reconnect_max);
    }
}

/// Why a session ended, and whether it had got as far as connecting.
struct Failed {
    error: String,
    connected: bool,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

fn failed(connected: bool) -> impl Fn(MailError) -> Failed {
    move |e| Failed {
        error: e.to_string(),
        connected,
    }
}

/// One connection: `Ok` when stopped, `Err` when it broke.
async fn session(
    core: &Arc<Core>,
    channel: &Arc<Channel>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), Failed> {
    let Some(account) = channel.account.as_ref().map(|a| &a.imap) else {
        return Ok(());
    };
    let timeout = core.config.mail.timeout;
    let mut mailbox = Mailbox::open(account, timeout)
        .await
        .map_err(failed(false))?;
    let idle = account.idle && mailbox.folder.can_idle;
    core.mail
        .statuses
        .connected(&core.metrics, channel.id, idle);
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            mailbox
                .reselect(&account.folder)
                .await
                .map_err(failed(true))?;
        }
        let imported = drain(core, channel, &mut mailbox).await?;
        core.mail.statuses.fetched(channel.id, imported);
        if *stop.borrow() {
            break;
        }
        let wait = Duration::from_secs(u64::from(account.poll_s));
        if idle {
            mailbox = mailbox.idle(wait, stop).await.map_err(failed(true))?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    mailbox.logout().await;
    Ok(())
}

/// Imports every new mail of the folder, a batch at a time (the next one is
/// fetched while the current one commits); the number imported.
async fn drain(
    core: &Arc<Core>,
    channel: &Arc<Channel>,
    mailbox: &mut Mailbox,
) -> Result<u64, Failed> {
    let account = channel
        .account
        .as_ref()
        .map(|a| &a.imap)
        .expect("an e-mail channel");
    let stored = core
        .store
        .read()
        .and_then(|tx| reads::mail_cursor(&tx, channel.id))
        .map_err(|e| Failed {
            error: e.to_string(),
            connected: true,
        })?;
    let (after, unseen_only) = match stored {
        Some(c) if c.uid_validity == mailbox.folder.uid_validity => (c.last_uid, false),
        _ => (0, account.after == AfterImport::Seen),
    };
    let uids = mailbox
        .uids_after(after, unseen_only)
        .await
        .map_err(failed(true))?;
    let mut imported = 0;
    let batches: Vec<&[u32]> = uids.chunks(core.config.mail.batch).collect();
    let mut fetched = match batches.first() {
        Some(first) => mailbox.fetch(first).await.map_err(failed(true))?,
        None => Vec::new(),
    };
    for (i, batch) in batches.iter().enumerate() {
        // The next batch comes over the network while this one commits.
        let next = async {
            match batches.get(i + 1) {
                Some(next) => mailbox.fetch(next).await,
                None => Ok(Vec::new()),
            }
        };
        let (done, next) = futures_util::join!(
            import_batch(core, channel, std::mem::take(&mut fetched)),
            next
        );
        imported += done?;
        fetched = next.map_err(failed(true))?;
        let cursor = MailCursor {
            uid_validity: mailbox.folder.uid_validity,
            last_uid: *batch.last().expect("chunks are not empty"),
        };
        let channel_id = channel.id;
        core.store
            .write(move |tx| writes::put_mail_cursor(tx, channel_id, &cursor))
            .await
            .map_err(|e| Failed {
                error: e.to_string(),
                connected: true,
            })?;
        mailbox
            .settle(batch, &account.after)
            .await
            .map_err(failed(true))?;
    }
    Ok(imported)
}

/// Imports a batch of fetched mails, concurrently (their commits group),
/// except that a mail answering another mail of the batch waits for it.
async fn import_batch(
    core: &Arc<Core>,
    channel: &Arc<Channel>,
    mails: Vec<Fetched>,
) -> Result<u64, Failed> {
    let limits = Limits {
        attachment_bytes: core.config.mail.attachment_max_bytes,
        attachments_bytes: core.config.mail.attachments_max_bytes,
    };
    let mut imported = 0;
    let mut wave = Vec::new();
    let mut wave_ids = HashSet::new();
    for fetched in mails {
        let Ok(mail) = parse::parse(&fetched.raw, &limits) else {
            tracing::warn!(channel = %channel.id, uid = fetched.uid, "e-mail channel: not a mail, ignored");
            intake::count(core, channel, Outcome::Ignored("unreadable"));
            continue;
        };
        let answers_wave = mail
            .in_reply_to
            .iter()
            .chain(&mail.references)
            .chain([&mail.message_id])
            .any(|id| wave_ids.contains(id));
        if answers_wave {
            imported += settle_wave(core, channel, std::mem::take(&mut wave)).await?;
            wave_ids.clear();
        }
        wave_ids.insert(mail.message_id.clone());
        wave.push(mail);
    }
    imported += settle_wave(core, channel, wave).await?;
    Ok(imported)
}

async fn settle_wave(
    core: &Arc<Core>,
    channel: &Arc<Channel>,
    wave: Vec<parse::Incoming>,
) -> Result<u64, Failed> {
    let outcomes = join_all(
        wave.into_iter()
            .map(|mail| intake::import(core, channel, mail)),
    )
    .await;
    let mut imported = 0;
    for outcome in outcomes {
        match outcome {
            Ok(Outcome::Imported) => imported += 1,
            Ok(Outcome::Ignored(_)) => {}
            Err(e) => {
                return Err(Failed {
                    error: format!("importing a mail failed: {e}"),
                    connected: true,
                });
            }
        }
    }
    Ok(imported)
}
