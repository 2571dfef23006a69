//! The SMTP server the server under test sends to: plain SMTP on a free port
//! of 127.0.0.1, spoken by the `mailin` crate. Every accepted mail is
//! delivered by Dovecot's own `dovecot-lda` into the INBOX of the Dovecot
//! user named by the recipient's local part (`alice@any.domain` → `alice`),
//! so tests read what customers received over IMAP; it is also recorded as
//! [`Accepted`] for direct assertions on the envelope.
//!
//! A recipient who is no Dovecot user is refused at `RCPT` (550). A sink made
//! with [`SmtpSink::start_with_auth`] offers AUTH PLAIN and LOGIN without TLS
//! and requires them with its one user and password, as a submission server
//! does; [`SmtpSink::fail_next`] makes it refuse the next mails after `DATA`
//! (then it hangs up, as it does after any refused mail). A sink made with
//! [`SmtpSink::start_recording`] only records what it accepts, delivering
//! nothing: the mail bench measures the sender, not a `dovecot-lda` process
//! per mail.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};

use super::dovecot::Dovecot;

pub(super) const DOVECOT_LDA: &str = "/usr/lib/dovecot/dovecot-lda";

/// One mail the sink accepted (answered 250 after `DATA`).
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent, dot-unstuffed, CRLF line ends.
    pub raw: Vec<u8>,
    /// The user the client authenticated as, if it did.
    pub auth_user: Option<String>,
    /// When the sink answered 250 to it (after delivering it, if it does).
    #[allow(dead_code)] // Read by the mail bench (benches/mail/), not the tests.
    pub at: Instant,
}

/// What every connection's handler shares.
#[derive(Default)]
struct Shared {
    accepted: Vec<Accepted>,
    connections: usize,
    /// The reply to the next mails instead of delivering them, and how many.
    failures: Option<(usize, u16, String)>,
}

pub struct SmtpSink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    closed: Arc<AtomicBool>,
}

impl SmtpSink {
    /// A sink without AUTH delivering into `dovecot`'s users.
    pub async fn start(dovecot: &Dovecot) -> SmtpSink {
        SmtpSink::start_configured(dovecot, None, true)
    }

    /// A sink without AUTH that accepts mail for `dovecot`'s users and only
    /// records it (nothing lands in a mailbox).
    #[allow(dead_code)] // Used by the mail bench (benches/mail/), not the tests.
    pub async fn start_recording(dovecot: &Dovecot) -> SmtpSink {
        SmtpSink::start_configured(dovecot, None, false)
    }

    /// A sink that requires AUTH PLAIN or LOGIN as `user` with `password`
    /// before `MAIL`, and refuses other credentials with 535.
    pub async fn start_with_auth(dovecot: &Dovecot, user: &str, password: &str) -> SmtpSink {
        SmtpSink::start_configured(dovecot, Some((user.to_owned(), password.to_owned())), true)
    }

    fn start_configured(
        dovecot: &Dovecot,
        credentials: Option<(String, String)>,
        deliver: bool,
    ) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP sink");
        let port = listener.local_addr().expect("local addr").port();
        let mut sessions = SessionBuilder::new("sink.test");
        if credentials.is_some() {
            sessions
                .enable_auth(AuthMechanism::Plain)
                .enable_auth(AuthMechanism::Login)
                .insecure_enable_plaintext_auth();
        }
        let shared = Arc::new(Mutex::new(Shared::default()));
        let closed = Arc::new(AtomicBool::new(false));
        let handler = Delivery {
            shared: shared.clone(),
            lda_config: deliver.then(|| dovecot.config_path()),
            users: dovecot.users().to_vec(),
            credentials,
            auth_user: None,
            from: String::new(),
            to: Vec::new(),
            raw: Vec::new(),
        };
        let accepting = closed.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                handler.shared.lock().unwrap().connections += 1;
                let peer = stream.peer_addr().expect("peer").ip();
                let session = sessions.build(peer, handler.clone());
                std::thread::spawn(move || serve(stream, session));
            }
        });
        SmtpSink {
            port,
            shared,
            closed,
        }
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The mails accepted so far, in order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.shared.lock().unwrap().accepted.clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().unwrap().connections
    }

    /// Polls until at least `count` mails were accepted, and returns them;
    /// panics after `timeout`.
    pub async fn wait_accepted(&self, count: usize, timeout: Duration) -> Vec<Accepted> {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted = self.accepted();
            if accepted.len() >= count {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink accepted {} mails after {timeout:?}, expected at least {count}",
                accepted.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Answers the next `count` mails' end of `DATA` with `code` and `text`
    /// (451: try again later; 550: refused for good) instead of accepting them.
    pub fn fail_next(&self, count: usize, code: u16, text: &str) {
        self.shared.lock().unwrap().failures = (count > 0).then(|| (count, code, text.to_owned()));
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The accept loop sees the flag on its next connection: this one.
        self.closed.store(true, Ordering::SeqCst);
        TcpStream::connect((self.host(), self.port)).ok();
    }
}

/// One SMTP session on a blocking socket: each line to mailin, each answer
/// back.
fn serve(stream: TcpStream, mut session: mailin::Session<Delivery>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = BufWriter::new(stream);
    session.greeting().write_to(&mut writer)?;
    writer.flush()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let answer = session.process(&line);
        if answer.action == Action::NoReply {
            continue;
        }
        answer.write_to(&mut writer)?;
        writer.flush()?;
        // mailin stays in its DATA state after refusing a mail, taking every
        // later line (QUIT too) as more data: hang up, as a server may.
        let refused_mail = line == b".\r\n" && answer.is_error;
        if answer.action == Action::Close || refused_mail {
            return Ok(());
        }
    }
}

/// mailin's callbacks for one connection: collects the envelope and the data,
/// and delivers at the end of `DATA`.
#[derive(Clone)]
struct Delivery {
    shared: Arc<Mutex<Shared>>,
    /// Dovecot's config for `dovecot-lda`; `None`: record only.
    lda_config: Option<PathBuf>,
    users: Vec<String>,
    credentials: Option<(String, String)>,
    auth_user: Option<String>,
    from: String,
    to: Vec<String>,
    raw: Vec<u8>,
}

impl Delivery {
    fn authenticate(&mut self, user: &str, password: &str) -> Response {
        match &self.credentials {
            Some((u, p)) if u == user && p == password => {
                self.auth_user = Some(user.to_owned());
                response::AUTH_OK
            }
            _ => response::INVALID_CREDENTIALS,
        }
    }

    /// The reply [`SmtpSink::fail_next`] asked for, counting it down.
    fn take_failure(&self) -> Option<Response> {
        let mut shared = self.shared.lock().unwrap();
        let (left, code, text) = shared.failures.as_mut()?;
        let refusal = Response::custom(*code, text.clone());
        *left -= 1;
        if *left == 0 {
            shared.failures = None;
        }
        Some(refusal)
    }

    /// Hands the mail to Dovecot for each recipient (unless the sink only
    /// records); a failure is a 451 with dovecot-lda's words.
    fn deliver(&self) -> Result<(), String> {
        let Some(lda_config) = &self.lda_config else {
            return Ok(());
        };
        for to in &self.to {
            let mut lda = Command::new(DOVECOT_LDA)
                .arg("-c")
                .arg(lda_config)
                .args(["-d", local_part(to), "-f", &self.from])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run {DOVECOT_LDA}: {e}"))?;
            lda.stdin
                .take()
                .expect("piped stdin")
                .write_all(&self.raw)
                .map_err(|e| e.to_string())?;
            let out = lda.wait_with_output().map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "dovecot-lda for {to}: {} {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(())
    }
}

impl Handler for Delivery {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.users.iter().any(|user| user == local_part(to)) {
            response::OK
        } else {
            response::NO_MAILBOX
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.raw.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.raw.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(refusal) = self.take_failure() {
            return refusal;
        }
        if let Err(error) = self.deliver() {
            return Response::custom(451, error);
        }
        self.shared.lock().unwrap().accepted.push(Accepted {
            from: self.from.clone(),
            to: self.to.clone(),
            raw: self.raw.clone(),
            auth_user: self.auth_user.clone(),
            at: Instant::now(),
        });
        response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        self.authenticate(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.authenticate(user, password)
    }
}

/// `alice` of `alice@example.com` (or of a bare `alice`).
fn local_part(address: &str) -> &str {
    address.split('@').next().unwrap_or(address)
}
