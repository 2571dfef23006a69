//! The mail account of an e-mail channel: how to fetch its mail (IMAP) and how to
//! send replies (SMTP), validated before anything is stored.
//!
//! Invariants:
//! - Passwords are write-only: they are stored (the server must log in) but
//!   never leave in an answer (`protocol::dto::ChannelDto` has no field for
//!   them), and a change that gives no password keeps the stored one.
//! - A stored account is always complete and valid ([`MailAccountInput::apply`]).

use serde::{Deserialize, Serialize};

/// Input limits of mailbox settings.
pub mod limits {
    pub const HOST_CHARS: usize = 253;
    pub const USER_CHARS: usize = 320;
    pub const PASSWORD_BYTES: usize = 1024;
    pub const FOLDER_CHARS: usize = 200;
    pub const ADDRESS_CHARS: usize = 254;
    pub const NAME_CHARS: usize = 100;
    pub const POLL_S: (u32, u32) = (1, 3600);
}

/// How a connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain, then upgraded with STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No TLS at all: only for servers on a trusted network.
    None,
}

/// What happens to a mail in the mailbox once its ticket is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterImport {
    /// Flagged `\Seen`, left in the folder.
    Seen,
    /// Moved to this folder.
    Move(String),
}

impl AfterImport {
    pub fn parse(text: &str) -> Result<AfterImport, String> {
        match text.split_once(':') {
            None if text == "seen" => Ok(AfterImport::Seen),
            Some(("move", folder)) => Ok(AfterImport::Move(validate_folder(folder)?)),
            _ => Err("after must be \"seen\" or \"move:FOLDER\"".into()),
        }
    }
}

impl std::fmt::Display for AfterImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AfterImport::Seen => f.write_str("seen"),
            AfterImport::Move(folder) => write!(f, "move:{folder}"),
        }
    }
}

impl Serialize for AfterImport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AfterImport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AfterImport::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: String,
    pub folder: String,
    pub after: AfterImport,
    /// Seconds between fetches when the server has no IDLE (or `idle` is off).
    pub poll_s: u32,
    /// Whether to wait with IMAP IDLE where the server offers it.
    pub idle: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Empty: no authentication.
    pub user: String,
    pub password: String,
    pub from_address: String,
    pub from_name: Option<String>,
}

/// An e-mail channel's mail account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailAccount {
    pub imap: Imap,
    pub smtp: Smtp,
}

/// Settings as an admin sends them: every field optional, so one shape serves
/// creating (missing fields take defaults or are refused) and changing
/// (missing fields stay).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImapInput {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<TlsMode>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub folder: Option<String>,
    /// `seen` or `move:FOLDER`.
    #[schema(value_type = Option<String>)]
    pub after: Option<AfterImport>,
    pub poll_s: Option<u32>,
    pub idle: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<TlsMode>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from_address: Option<String>,
    /// Absent (or `null`) keeps the name; `""` removes it.
    pub from_name: Option<String>,
}

/// Both halves of a mailbox as sent.
#[derive(Default)]
pub struct MailAccountInput {
    pub imap: Option<ImapInput>,
    pub smtp: Option<SmtpInput>,
}

impl MailAccountInput {
    /// Whether neither half was sent.
    pub fn is_empty(&self) -> bool {
        self.imap.is_none() && self.smtp.is_none()
    }

    /// The mailbox `old` becomes with this input (a new one when `old` is
    /// `None`), or why not.
    pub fn apply(self, old: Option<&MailAccount>) -> Result<MailAccount, String> {
        let imap = match (self.imap, old.map(|m| &m.imap)) {
            (Some(input), old) => input.apply(old)?,
            (None, Some(old)) => old.clone(),
            (None, None) => return Err("imap is required for an email channel".into()),
        };
        let smtp = match (self.smtp, old.map(|m| &m.smtp)) {
            (Some(input), old) => input.apply(old)?,
            (None, Some(old)) => old.clone(),
            (None, None) => return Err("smtp is required for an email channel".into()),
        };
        Ok(MailAccount { imap, smtp })
    }
}

impl ImapInput {
    fn apply(self, old: Option<&Imap>) -> Result<Imap, String> {
        let tls = self.tls.or(old.map(|o| o.tls)).unwrap_or(TlsMode::Implicit);
        let default_port = if tls == TlsMode::Implicit { 993 } else { 143 };
        let poll_s = self.poll_s.or(old.map(|o| o.poll_s)).unwrap_or(60);
        if !(limits::POLL_S.0..=limits::POLL_S.1).contains(&poll_s) {
            return Err(format!(
                "imap.poll_s must be {}-{}",
                limits::POLL_S.0,
                limits::POLL_S.1
            ));
        }
        Ok(Imap {
            host: validate_host("imap", pick(self.host, old.map(|o| &o.host))?)?,
            port: port("imap", self.port.or(old.map(|o| o.port)), default_port)?,
            tls,
            user: validate_user("imap", pick(self.user, old.map(|o| &o.user))?)?,
            password: validate_password(
                "imap",
                pick(self.password, old.map(|o| &o.password))?,
                true,
            )?,
            folder: match self.folder {
                Some(folder) => validate_folder(&folder)?,
                None => old.map_or_else(|| "INBOX".to_owned(), |o| o.folder.clone()),
            },
            after: self
                .after
                .or(old.map(|o| o.after.clone()))
                .unwrap_or(AfterImport::Seen),
            poll_s,
            idle: self.idle.or(old.map(|o| o.idle)).unwrap_or(true),
        })
    }
}

impl SmtpInput {
    fn apply(self, old: Option<&Smtp>) -> Result<Smtp, String> {
        let tls = self.tls.or(old.map(|o| o.tls)).unwrap_or(TlsMode::Starttls);
        let default_port = if tls == TlsMode::Implicit { 465 } else { 587 };
        let user = self
            .user
            .or(old.map(|o| o.user.clone()))
            .unwrap_or_default();
        let user = if user.trim().is_empty() {
            String::new()
        } else {
            validate_user("smtp", user)?
        };
        let password = self
            .password
            .or(old.map(|o| o.password.clone()))
            .unwrap_or_default();
        let password = validate_password("smtp", password, !user.is_empty())?;
        let from_name = match self.from_name {
            Some(name) => Some(name),
            None => old.and_then(|o| o.from_name.clone()),
        };
        let from_name = from_name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if from_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > limits::NAME_CHARS || n.contains(['\r', '\n']))
        {
            return Err(format!(
                "smtp.from_name must be at most {} characters on one line",
                limits::NAME_CHARS
            ));
        }
        Ok(Smtp {
            host: validate_host("smtp", pick(self.host, old.map(|o| &o.host))?)?,
            port: port("smtp", self.port.or(old.map(|o| o.port)), default_port)?,
            tls,
            user,
            password,
            from_address: validate_address(&pick(self.from_address, old.map(|o| &o.from_address))?)
                .ok_or("smtp.from_address must be an e-mail address")?,
            from_name,
        })
    }
}

/// The new value, else the old one, else a "required" error.
fn pick(new: Option<String>, old: Option<&String>) -> Result<String, String> {
    new.or_else(|| old.cloned()).ok_or_else(|| {
        "a required mailbox field is missing (host, user, password, from_address)".into()
    })
}

fn port(half: &str, port: Option<u16>, default: u16) -> Result<u16, String> {
    match port.unwrap_or(default) {
        0 => Err(format!("{half}.port must be 1-65535")),
        port => Ok(port),
    }
}

fn validate_host(half: &str, host: String) -> Result<String, String> {
    let host = host.trim();
    let ok = !host.is_empty()
        && host.len() <= limits::HOST_CHARS
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if ok {
        Ok(host.to_owned())
    } else {
        Err(format!("{half}.host must be a host name or IP address"))
    }
}

fn validate_user(half: &str, user: String) -> Result<String, String> {
    let user = user.trim();
    if user.is_empty() || user.chars().count() > limits::USER_CHARS || user.contains(['\r', '\n']) {
        return Err(format!(
            "{half}.user must be 1-{} characters",
            limits::USER_CHARS
        ));
    }
    Ok(user.to_owned())
}

fn validate_password(half: &str, password: String, required: bool) -> Result<String, String> {
    if (required && password.is_empty())
        || password.len() > limits::PASSWORD_BYTES
        || password.contains(['\r', '\n', '\0'])
    {
        return Err(format!(
            "{half}.password must be 1-{} bytes on one line",
            limits::PASSWORD_BYTES
        ));
    }
    Ok(password)
}

fn validate_folder(folder: &str) -> Result<String, String> {
    let folder = folder.trim();
    if folder.is_empty()
        || folder.chars().count() > limits::FOLDER_CHARS
        || folder
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(format!(
            "a folder must be 1-{} characters, without quotes, backslashes or control characters",
            limits::FOLDER_CHARS
        ));
    }
    Ok(folder.to_owned())
}

/// `address` if it looks like one mailbox address (`local@domain`, no
/// spaces, brackets or line breaks), trimmed.
pub fn validate_address(address: &str) -> Option<String> {
    let address = address.trim();
    let (local, domain) = address.rsplit_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && address.len() <= limits::ADDRESS_CHARS
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    ok.then(|| address.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imap() -> ImapInput {
        ImapInput {
            host: Some("imap.example.com".into()),
            user: Some("support@example.com".into()),
            password: Some("secret".into()),
            ..Default::default()
        }
    }

    fn smtp() -> SmtpInput {
        SmtpInput {
            host: Some("smtp.example.com".into()),
            user: Some("support@example.com".into()),
            password: Some("secret".into()),
            from_address: Some("support@example.com".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_fill_a_new_mailbox() {
        let m = MailAccountInput {
            imap: Some(imap()),
            smtp: Some(smtp()),
        }
        .apply(None)
        .unwrap();
        assert_eq!((m.imap.port, m.imap.tls), (993, TlsMode::Implicit));
        assert_eq!(m.imap.folder, "INBOX");
        assert_eq!(m.imap.after, AfterImport::Seen);
        assert_eq!((m.smtp.port, m.smtp.tls), (587, TlsMode::Starttls));
    }

    #[test]
    fn a_change_without_password_keeps_it() {
        let old = MailAccountInput {
            imap: Some(imap()),
            smtp: Some(smtp()),
        }
        .apply(None)
        .unwrap();
        let new = MailAccountInput {
            imap: Some(ImapInput {
                folder: Some("Support".into()),
                after: Some(AfterImport::Move("Done".into())),
                ..Default::default()
            }),
            smtp: None,
        }
        .apply(Some(&old))
        .unwrap();
        assert_eq!(new.imap.password, "secret");
        assert_eq!(new.imap.folder, "Support");
        assert_eq!(new.smtp, old.smtp);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            ImapInput {
                host: Some("a b".into()),
                ..imap()
            },
            ImapInput {
                password: Some(String::new()),
                ..imap()
            },
            ImapInput {
                poll_s: Some(0),
                ..imap()
            },
            ImapInput {
                port: Some(0),
                ..imap()
            },
            ImapInput {
                folder: Some("a\"b".into()),
                ..imap()
            },
        ];
        for input in bad {
            assert!(input.apply(None).is_err());
        }
        assert!(
            SmtpInput {
                from_address: Some("not an address".into()),
                ..smtp()
            }
            .apply(None)
            .is_err()
        );
        assert!(AfterImport::parse("move:").is_err());
        assert!(AfterImport::parse("delete").is_err());
    }
}
