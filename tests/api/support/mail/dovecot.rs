//! A real Dovecot (Debian's `dovecot-imapd`) per test: its own generated
//! config, passwd-file, Maildirs, sockets and log in a fresh temporary
//! directory, plaintext IMAP on a free port of 127.0.0.1. Never reads
//! /etc/dovecot. Each user's password is its name.
//!
//! Dovecot refuses to access mail as root: run as root, the mail processes,
//! the login and the internal processes run as `nobody`, which owns the
//! Maildirs; run as any other user, everything runs as that user. The master
//! is this process's child, in a process group of its own: stopping kills
//! the whole group, so a logged-in client loses its connection at once, as
//! when a real server goes away.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_imap::Session;
use async_imap::types::Flag;
use futures_util::TryStreamExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const DOVECOT: &str = "/usr/sbin/dovecot";
/// How long Dovecot may take to start listening or to go away.
const START_WAIT: Duration = Duration::from_secs(10);
/// How often [`Dovecot::wait_messages`] looks again.
const POLL: Duration = Duration::from_millis(50);
/// Dovecot 2.3's post-login capabilities without `IDLE`, for the polling path.
const CAPABILITIES_WITHOUT_IDLE: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT \
    SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL \
    CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC \
    ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+";

pub type ImapSession = Session<TcpStream>;

/// One message of a mailbox, as IMAP shows it.
#[derive(Clone, Debug)]
pub struct StoredMail {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// IMAP flags as the protocol spells them: `\Seen`, `\Answered`, `$Forwarded`...
    pub flags: Vec<String>,
}

impl StoredMail {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

pub struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    users: Vec<String>,
    master: Option<Child>,
}

impl Dovecot {
    /// A running Dovecot with these users (password = name), each with an
    /// empty INBOX, offering IDLE. `None` (the test is skipped, loudly) when
    /// Dovecot is not installed, unless `CI` is set: then it fails.
    pub async fn start(users: &[&str]) -> Option<Dovecot> {
        Dovecot::start_configured(users, true).await
    }

    /// Like [`start`](Self::start), but the server does not announce IDLE, so
    /// a client has to poll.
    pub async fn start_without_idle(users: &[&str]) -> Option<Dovecot> {
        Dovecot::start_configured(users, false).await
    }

    async fn start_configured(users: &[&str], idle: bool) -> Option<Dovecot> {
        if !Path::new(DOVECOT).exists() || !Path::new(super::smtp_sink::DOVECOT_LDA).exists() {
            let message = "e-mail tests need Dovecot: sudo apt-get install dovecot-imapd";
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("\n\n!!!!! SKIPPED: {message} !!!!!\n");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        // Dovecot's unprivileged processes must reach the Maildirs inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        let account = MailAccount::for_this_process();
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).expect("mail dir");
        std::os::unix::fs::chown(&mail, Some(account.uid), Some(account.gid)).expect("chown mail");
        let passwd: String = users
            .iter()
            .map(|user| {
                let home = mail.join(user);
                format!(
                    "{user}:{{PLAIN}}{user}:{}:{}::{}\n",
                    account.uid,
                    account.gid,
                    home.display()
                )
            })
            .collect();
        std::fs::write(dir.path().join("passwd"), passwd).expect("passwd file");
        let port = free_port();
        std::fs::write(
            config_path(dir.path()),
            config(dir.path(), port, &account, idle),
        )
        .expect("dovecot.conf");
        let mut dovecot = Dovecot {
            dir,
            port,
            users: users.iter().map(|u| u.to_string()).collect(),
            master: None,
        };
        dovecot.run().await;
        Some(dovecot)
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn imap_port(&self) -> u16 {
        self.port
    }

    pub fn password(&self, user: &str) -> String {
        user.to_owned()
    }

    pub fn users(&self) -> &[String] {
        &self.users
    }

    /// `user`'s Maildir (`new/`, `cur/`, `tmp/`; Dovecot creates it at the
    /// user's first login), for delivering many mails by the Maildir rules.
    #[allow(dead_code)] // Used by the mail bench (benches/mail/), not the tests.
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.dir.path().join("mail").join(user).join("Maildir")
    }

    /// The generated config, for Dovecot's own tools (`dovecot-lda -c`).
    pub fn config_path(&self) -> PathBuf {
        config_path(self.dir.path())
    }

    /// Kills Dovecot (like a crash: no goodbye to connected clients) and
    /// returns once the port is closed. Mail stays on disk.
    pub async fn stop(&mut self) {
        let Some(mut master) = self.master.take() else {
            return;
        };
        kill_group(&mut master);
        // Its children close their copies of the listener as they exit.
        let deadline = Instant::now() + START_WAIT;
        while TcpStream::connect((self.host(), self.port)).await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "Dovecot still listens after being killed"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops (if running) and starts again on the same port with the same mail.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.run().await;
    }

    /// Spawns the master in the foreground and waits for the IMAP greeting.
    async fn run(&mut self) {
        let stderr = std::fs::File::create(self.dir.path().join("stderr.log")).expect("stderr log");
        let master = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .expect("spawn /usr/sbin/dovecot (is dovecot-imapd installed?)");
        self.master = Some(master);
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(mut tcp) = TcpStream::connect((self.host(), self.port)).await {
                let mut greeting = [0u8; 4];
                if tcp.read_exact(&mut greeting).await.is_ok() && &greeting == b"* OK" {
                    return;
                }
            }
            let exited = self
                .master
                .as_mut()
                .and_then(|m| m.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!("Dovecot did not start ({exited:?}):\n{}", self.log_tail());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The end of Dovecot's log and of its stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        ["dovecot.log", "stderr.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- {name}\n{}",
                    lines[lines.len().saturating_sub(30)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A logged-in IMAP session of `user`.
    pub async fn login(&self, user: &str) -> ImapSession {
        let tcp = TcpStream::connect((self.host(), self.port))
            .await
            .expect("connect to Dovecot");
        let mut client = async_imap::Client::new(tcp);
        client
            .read_response()
            .await
            .expect("IMAP greeting")
            .expect("IMAP greeting");
        client
            .login(user, self.password(user))
            .await
            .unwrap_or_else(|(e, _)| panic!("IMAP login of {user}: {e}"))
    }

    /// The capabilities `user` sees once logged in.
    pub async fn capabilities(&self, user: &str) -> Vec<String> {
        let mut session = self.login(user).await;
        let capabilities = session.capabilities().await.expect("CAPABILITY");
        let names = capabilities
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
                async_imap::types::Capability::Auth(m) => format!("AUTH={m}"),
                async_imap::types::Capability::Atom(a) => a.to_string(),
            })
            .collect();
        session.logout().await.ok();
        names
    }

    /// Puts `raw` into `user`'s `folder` with IMAP APPEND (no flags), creating
    /// the folder if missing.
    pub async fn append(&self, user: &str, folder: &str, raw: &[u8]) {
        let mut session = self.login(user).await;
        let existing: Vec<_> = session
            .list(None, Some(folder))
            .await
            .expect("LIST")
            .try_collect()
            .await
            .expect("LIST");
        if existing.is_empty() {
            session.create(folder).await.expect("CREATE");
        }
        session
            .append(folder, None, None, raw)
            .await
            .unwrap_or_else(|e| panic!("APPEND to {user}/{folder}: {e}"));
        session.logout().await.ok();
    }

    /// Every message of `user`'s `folder` in UID order, read without changing
    /// flags; none when the folder does not exist.
    pub async fn messages(&self, user: &str, folder: &str) -> Vec<StoredMail> {
        let mut session = self.login(user).await;
        let mailbox = match session.examine(folder).await {
            Ok(mailbox) => mailbox,
            Err(async_imap::error::Error::No(_)) => return Vec::new(),
            Err(e) => panic!("EXAMINE {user}/{folder}: {e}"),
        };
        let mut mails = Vec::new();
        if mailbox.exists > 0 {
            let fetches: Vec<_> = session
                .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                .await
                .expect("UID FETCH")
                .try_collect()
                .await
                .expect("UID FETCH");
            mails = fetches
                .iter()
                .map(|fetch| StoredMail {
                    uid: fetch.uid.expect("UID in FETCH"),
                    raw: fetch.body().expect("BODY[] in FETCH").to_vec(),
                    flags: fetch.flags().map(|f| flag_name(&f)).collect(),
                })
                .collect();
            mails.sort_by_key(|m| m.uid);
        }
        session.logout().await.ok();
        mails
    }

    /// Polls until `user`'s `folder` holds at least `count` messages, and
    /// returns them; panics after `timeout`.
    pub async fn wait_messages(
        &self,
        user: &str,
        folder: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<StoredMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.messages(user, folder).await;
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{user}/{folder} holds {} messages after {timeout:?}, expected at least {count}",
                mails.len()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut master) = self.master.take() {
            kill_group(&mut master);
        }
    }
}

/// SIGKILL to Dovecot's whole process group (the master and every process
/// it started, logged-in sessions included), then reaps the master.
fn kill_group(master: &mut Child) {
    let group = format!("-{}", master.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    master.kill().ok();
    master.wait().ok();
}

/// Who Dovecot's processes run as and who owns the mail.
struct MailAccount {
    name: String,
    group: String,
    uid: u32,
    gid: u32,
}

impl MailAccount {
    /// `nobody` when root (Dovecot never accesses mail as root), else the
    /// current user.
    fn for_this_process() -> MailAccount {
        let uid: u32 = id(&["-u"]).parse().expect("uid");
        let user = if uid == 0 { Some("nobody") } else { None };
        let args = |flag: &'static str| -> Vec<&str> { [flag].into_iter().chain(user).collect() };
        MailAccount {
            name: id(&args("-un")),
            group: id(&args("-gn")),
            uid: id(&args("-u")).parse().expect("uid"),
            gid: id(&args("-g")).parse().expect("gid"),
        }
    }
}

/// The output of id(1): the system's own answer, NSS included.
fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("run id");
    assert!(out.status.success(), "id {args:?} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("dovecot.conf")
}

/// A loopback port that was free a moment ago (for a server to bind itself,
/// or for nothing to listen on).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// Dovecot 2.3's config: IMAP on `port` without TLS, users and passwords from
/// the passwd-file, Maildir in each user's home, nothing outside `dir`. The
/// login and anvil services run unchrooted, which a non-root master requires.
fn config(dir: &Path, port: u16, account: &MailAccount, idle: bool) -> String {
    let dir = dir.display();
    let MailAccount {
        name, group, uid, ..
    } = account;
    let capability = if idle {
        String::new()
    } else {
        format!("imap_capability = {CAPABILITIES_WITHOUT_IDLE}\n")
    };
    format!(
        "base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {name}
default_internal_group = {group}
default_login_user = {name}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
{capability}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {dir}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
protocol lda {{
  postmaster_address = postmaster@localhost
}}
"
    )
}

/// A flag as IMAP spells it.
fn flag_name(flag: &Flag<'_>) -> String {
    match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(name) => name.to_string(),
    }
}
