//! One IMAP connection to an e-mail channel's mailbox, through async-imap:
//! connecting (implicit TLS, STARTTLS or plain), logging in, opening the
//! folder, listing new UIDs, fetching mails, marking or moving them, and
//! waiting with IDLE.
//!
//! Every step says which stage failed ([`MailError`]), so the channel's
//! status and `/check` can tell an admin what to fix. Every network step is
//! bounded by `timeout`.

use std::fmt::Debug;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::error::{MailError, Stage};
use crate::domain::mail_account::{AfterImport, Imap, TlsMode};

/// A byte stream async-imap can run over: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Stream for T {}

pub type Connection = Box<dyn Stream>;

/// A logged-in session with the channel's folder selected.
pub struct Mailbox {
    session: Session<Connection>,
    pub folder: Folder,
}

/// What the server said of the session and its folder.
#[derive(Clone, Copy)]
pub struct Folder {
    pub uid_validity: u32,
    pub can_idle: bool,
    can_move: bool,
    timeout: Duration,
}

/// A fetched mail.
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
}

async fn bounded<T, E: std::fmt::Display>(
    stage: Stage,
    timeout: Duration,
    step: impl Future<Output = Result<T, E>>,
) -> Result<T, MailError> {
    match tokio::time::timeout(timeout, step).await {
        Ok(result) => result.map_err(|e| MailError::new(stage, e)),
        Err(_) => Err(MailError::new(stage, "the server did not answer in time")),
    }
}

/// A TCP connection to `host:port`, telling DNS failures from unreachable servers.
pub async fn tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, MailError> {
    let addrs: Vec<_> = bounded(Stage::Dns, timeout, tokio::net::lookup_host((host, port)))
        .await?
        .collect();
    if addrs.is_empty() {
        return Err(MailError::new(Stage::Dns, format!("{host} has no address")));
    }
    let stream = bounded(Stage::Connect, timeout, TcpStream::connect(&addrs[..])).await?;
    stream
        .set_nodelay(true)
        .map_err(|e| MailError::new(Stage::Connect, e))?;
    Ok(stream)
}

async fn tls(
    host: &str,
    stream: impl Stream + 'static,
    timeout: Duration,
) -> Result<Connection, MailError> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| MailError::new(Stage::Tls, e))?;
    let connector = tokio_rustls::TlsConnector::from(super::tls::client_config());
    let stream = bounded(Stage::Tls, timeout, connector.connect(name, stream)).await?;
    Ok(Box::new(stream))
}

/// An IMAP client past the greeting (and STARTTLS), not logged in yet.
async fn client(
    account: &Imap,
    timeout: Duration,
) -> Result<async_imap::Client<Connection>, MailError> {
    let tcp = tcp(&account.host, account.port, timeout).await?;
    let stream: Connection = match account.tls {
        TlsMode::Implicit => tls(&account.host, tcp, timeout).await?,
        TlsMode::Starttls | TlsMode::None => Box::new(tcp),
    };
    let mut client = async_imap::Client::new(stream);
    let greeting = bounded(Stage::Connect, timeout, client.read_response()).await?;
    if greeting.is_none() {
        return Err(MailError::new(
            Stage::Connect,
            "the server closed the connection",
        ));
    }
    if account.tls != TlsMode::Starttls {
        return Ok(client);
    }
    bounded(
        Stage::Tls,
        timeout,
        client.run_command_and_check_ok("STARTTLS", None),
    )
    .await?;
    let stream = tls(&account.host, client.into_inner(), timeout).await?;
    Ok(async_imap::Client::new(stream))
}

impl Mailbox {
    /// Connects, logs in and selects the account's folder.
    pub async fn open(account: &Imap, timeout: Duration) -> Result<Mailbox, MailError> {
        let client = client(account, timeout).await?;
        let login = client.login(&account.user, &account.password);
        let mut session = match tokio::time::timeout(timeout, login).await {
            Ok(Ok(session)) => session,
            Ok(Err((error, _))) => return Err(MailError::new(Stage::Login, error)),
            Err(_) => {
                return Err(MailError::new(
                    Stage::Login,
                    "the server did not answer in time",
                ));
            }
        };
        let capabilities = bounded(Stage::Login, timeout, session.capabilities()).await?;
        let can_idle = capabilities.has_str("IDLE");
        let can_move = capabilities.has_str("MOVE");
        let uid_validity = select(&mut session, &account.folder, timeout).await?;
        let folder = Folder {
            uid_validity,
            can_idle,
            can_move,
            timeout,
        };
        Ok(Mailbox { session, folder })
    }

    /// Selects the folder again: a folder that was deleted and made again
    /// (a new UIDVALIDITY) is noticed on the next fetch, not never.
    pub async fn reselect(&mut self, folder: &str) -> Result<(), MailError> {
        self.folder.uid_validity = select(&mut self.session, folder, self.folder.timeout).await?;
        Ok(())
    }

    /// The UIDs above `after`, oldest first (only unseen ones if `unseen`).
    pub async fn uids_after(&mut self, after: u32, unseen: bool) -> Result<Vec<u32>, MailError> {
        let query = if unseen {
            format!("UID {}:* UNSEEN", after + 1)
        } else {
            format!("UID {}:*", after + 1)
        };
        let found = bounded(
            Stage::Fetch,
            self.folder.timeout,
            self.session.uid_search(query),
        )
        .await?;
        // `n:*` always matches the newest mail, even when its UID is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > after).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The raw bytes of the mails `uids` (without setting `\Seen`).
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, MailError> {
        let set = uid_set(uids);
        let fetch = async {
            let stream = self.session.uid_fetch(set, "(UID BODY.PEEK[])").await?;
            stream.try_collect::<Vec<_>>().await
        };
        let fetched = bounded(Stage::Fetch, self.folder.timeout * 4, fetch).await?;
        let mut mails: Vec<Fetched> = fetched
            .iter()
            .filter_map(|f| {
                Some(Fetched {
                    uid: f.uid?,
                    raw: f.body()?.to_vec(),
                })
            })
            .collect();
        mails.sort_by_key(|m| m.uid);
        Ok(mails)
    }

    /// Marks the imported mails `uids` as the account says: `\Seen`, or moved.
    pub async fn settle(&mut self, uids: &[u32], after: &AfterImport) -> Result<(), MailError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let timeout = self.folder.timeout;
        match after {
            AfterImport::Seen => {
                let store = async {
                    let stream = self
                        .session
                        .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                        .await?;
                    stream.try_collect::<Vec<_>>().await
                };
                bounded(Stage::Fetch, timeout, store).await?;
            }
            AfterImport::Move(folder) => {
                let _ = bounded(Stage::Folder, timeout, self.session.create(folder)).await;
                if self.folder.can_move {
                    bounded(Stage::Folder, timeout, self.session.uid_mv(&set, folder)).await?;
                } else {
                    bounded(Stage::Folder, timeout, self.session.uid_copy(&set, folder)).await?;
                    let delete = async {
                        let stream = self
                            .session
                            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                            .await?;
                        stream.try_collect::<Vec<_>>().await?;
                        let expunged = self.session.uid_expunge(&set).await?;
                        expunged.try_collect::<Vec<_>>().await
                    };
                    bounded(Stage::Folder, timeout, delete).await?;
                }
            }
        }
        Ok(())
    }

    /// Waits with IDLE until the server reports a change, `wait` passes, or
    /// `stop` changes. Gives the mailbox back for the next fetch.
    pub async fn idle(
        self,
        wait: Duration,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Mailbox, MailError> {
        let Mailbox { session, folder } = self;
        let timeout = folder.timeout;
        let mut idle = session.idle();
        bounded(Stage::Fetch, timeout, idle.init()).await?;
        {
            let (waiting, interrupt) = idle.wait_with_timeout(wait);
            tokio::select! {
                outcome = waiting => { outcome.map_err(|e| MailError::new(Stage::Fetch, e))?; }
                _ = stop.changed() => drop(interrupt),
            }
        }
        let session = bounded(Stage::Fetch, timeout, idle.done()).await?;
        Ok(Mailbox { session, folder })
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.folder.timeout, self.session.logout()).await;
    }
}

/// Selects `folder`; its UIDVALIDITY.
async fn select(
    session: &mut Session<Connection>,
    folder: &str,
    timeout: Duration,
) -> Result<u32, MailError> {
    let selected = bounded(Stage::Folder, timeout, session.select(folder)).await?;
    selected
        .uid_validity
        .ok_or_else(|| MailError::new(Stage::Folder, "the server gave no UIDVALIDITY"))
}

/// `1,3,5:9`-style set of `uids` (sorted).
fn uid_set(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(super::uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(super::uid_set(&[4]), "4");
    }
}
