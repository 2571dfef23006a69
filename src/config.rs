//! Configuration: the embedded `config/default.toml`, an optional file layered
//! over it key by key, then environment and command-line overrides, validated
//! into a [`Config`] with real [`Duration`]s.
//!
//! Invariant: every key has a default in `config/default.toml`, so a
//! `RawConfig` always deserializes completely from the merged table and
//! unknown keys are rejected (a typo in a config file is an error, not a no-op).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::proxies::TrustedProxies;

/// The embedded defaults; also the documentation of every key.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid TOML in {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid value for {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// Overrides that win over files: environment variables, then flags.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Overrides {
    /// `TANDEM_BIND` and `TANDEM_DATA_DIR`, with `flags` winning over them.
    pub fn from_env_and_flags(flags: Overrides) -> Overrides {
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Overrides {
            bind: flags.bind.or_else(|| env("TANDEM_BIND")),
            data_dir: flags
                .data_dir
                .or_else(|| env("TANDEM_DATA_DIR").map(PathBuf::from)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    ws: RawWs,
    actors: RawActors,
    store: RawStore,
    log: RawLog,
    console: RawConsole,
    auth: RawAuth,
    visitor: RawVisitor,
    backup: RawBackup,
    mail: RawMail,
    webhooks: RawWebhooks,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhooks {
    timeout_s: f64,
    retry_min_s: f64,
    retry_max_s: f64,
    horizon_s: f64,
    max_response_bytes: usize,
    allow_private: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    timeout_s: f64,
    batch: usize,
    reconnect_min_s: f64,
    reconnect_max_s: f64,
    retry_min_s: f64,
    retry_max_s: f64,
    max_attempts: u32,
    attachment_max_bytes: u64,
    attachments_max_bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    dir: PathBuf,
    every_s: f64,
    keep: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVisitor {
    max_frame_bytes: usize,
    frames_per_s: f64,
    frames_burst: f64,
    max_sockets_per_visitor: usize,
    max_sockets_per_address: usize,
    typing_timeout_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    bind: String,
    data_dir: PathBuf,
    workers: usize,
    max_body_bytes: usize,
    shutdown_timeout_s: f64,
    shutdown_deadline_s: f64,
    trusted_proxies: Vec<String>,
    tls_cert: PathBuf,
    tls_key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWs {
    heartbeat_s: f64,
    hello_timeout_s: f64,
    max_frame_bytes: usize,
    frames_per_s: f64,
    frames_burst: f64,
    max_sockets_per_agent: usize,
    max_sockets_per_address: usize,
    allowed_origins: Vec<String>,
    max_backlog_frames: usize,
    max_backlog_bytes: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActors {
    idle_stop_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    max_batch: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    token_ttl_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: String,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub shutdown_timeout: Duration,
    /// A shutdown still running this long after the signal exits anyway.
    pub shutdown_deadline: Duration,
    /// How long a login token stays valid.
    pub token_ttl: Duration,
    pub ws: WsConfig,
    pub visitor: VisitorConfig,
    pub mail: MailConfig,
    pub webhooks: WebhooksConfig,
    pub idle_stop: Duration,
    pub store_max_batch: usize,
    pub log_level: String,
    /// Serve the console from this directory instead of the embedded copy.
    pub console_dir: Option<PathBuf>,
    /// Scheduled backups (`[backup]`); `None` when `dir` is empty.
    pub backup: Option<BackupConfig>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Serve HTTPS with these PEM files instead of plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// Scheduled backups (`[backup]`, see `backup::schedule`).
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Where backup files go (created if missing).
    pub dir: PathBuf,
    /// The time from one backup's end to the next one's start.
    pub every: Duration,
    /// How many backup files to keep; the oldest beyond are removed.
    pub keep: usize,
}

/// `[server] tls_cert` and `tls_key`: a PEM certificate chain (the server's
/// own certificate first) and its PEM private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct WsConfig {
    pub heartbeat: Duration,
    pub hello_timeout: Duration,
    pub max_frame_bytes: usize,
    pub frames_per_s: f64,
    pub frames_burst: f64,
    pub max_sockets_per_agent: usize,
    pub max_sockets_per_address: usize,
    pub allowed_origins: Vec<String>,
    pub max_backlog_frames: usize,
    pub max_backlog_bytes: usize,
}

/// The chat visitors' socket limits (`[visitor]`).
#[derive(Debug, Clone)]
pub struct VisitorConfig {
    pub max_frame_bytes: usize,
    pub frames_per_s: f64,
    pub frames_burst: f64,
    pub max_sockets_per_visitor: usize,
    pub max_sockets_per_address: usize,
    pub typing_timeout: Duration,
}

/// Webhook deliveries (`[webhooks]`, see `webhooks`).
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Connecting, sending and reading the answer, in all.
    pub timeout: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// A delivery still failing this long after its event is given up.
    pub horizon: Duration,
    /// Bytes of a receiver's answer read at most.
    pub max_response_bytes: usize,
    /// Whether loopback, private and link-local destinations are allowed.
    pub allow_private: bool,
}

/// E-mail channels (`[mail]`, see `mail`).
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub timeout: Duration,
    pub batch: usize,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub max_attempts: u32,
    pub attachment_max_bytes: u64,
    pub attachments_max_bytes: u64,
}

impl Config {
    /// Embedded defaults, then `file`, then `extra` TOML text (used by tests), then `overrides`.
    pub fn load(
        file: Option<&Path>,
        extra: Option<&str>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = parse(DEFAULT_TOML, "the embedded default config")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            merge(&mut table, parse(&text, &path.display().to_string())?);
        }
        if let Some(text) = extra {
            merge(&mut table, parse(text, "inline config")?);
        }
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                origin: "merged config".into(),
                message: e.message().to_owned(),
            })?;
        Config::validate(raw, overrides)
    }

    fn validate(raw: RawConfig, overrides: &Overrides) -> Result<Config, ConfigError> {
        let bind_text = overrides.bind.clone().unwrap_or(raw.server.bind);
        let bind = bind_text.parse().map_err(|_| ConfigError::Invalid {
            key: "server.bind",
            message: format!("{bind_text:?} is not an address like 127.0.0.1:8080"),
        })?;
        let ws = raw.ws;
        if ws.max_frame_bytes < 1024 {
            return Err(invalid("ws.max_frame_bytes", "must be at least 1024"));
        }
        if ws.frames_per_s <= 0.0 || ws.frames_burst < 1.0 {
            return Err(invalid(
                "ws.frames_per_s",
                "rate and burst must be positive",
            ));
        }
        for (key, value) in [
            ("ws.max_sockets_per_agent", ws.max_sockets_per_agent),
            ("ws.max_sockets_per_address", ws.max_sockets_per_address),
            ("ws.max_backlog_frames", ws.max_backlog_frames),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        let visitor = raw.visitor;
        if visitor.max_frame_bytes < 256 {
            return Err(invalid("visitor.max_frame_bytes", "must be at least 256"));
        }
        if visitor.frames_per_s <= 0.0 || visitor.frames_burst < 1.0 {
            return Err(invalid(
                "visitor.frames_per_s",
                "rate and burst must be positive",
            ));
        }
        for (key, value) in [
            (
                "visitor.max_sockets_per_visitor",
                visitor.max_sockets_per_visitor,
            ),
            (
                "visitor.max_sockets_per_address",
                visitor.max_sockets_per_address,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if raw.store.max_batch == 0 {
            return Err(invalid("store.max_batch", "must be at least 1"));
        }
        if raw.backup.keep == 0 {
            return Err(invalid("backup.keep", "must be at least 1"));
        }
        let every = seconds("backup.every_s", raw.backup.every_s)?;
        let backup = Some(raw.backup.dir)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| BackupConfig {
                dir,
                every,
                keep: raw.backup.keep,
            });
        let trusted_proxies =
            TrustedProxies::parse(&raw.server.trusted_proxies).map_err(|message| {
                ConfigError::Invalid {
                    key: "server.trusted_proxies",
                    message,
                }
            })?;
        let tls = match (
            Some(raw.server.tls_cert).filter(|p| !p.as_os_str().is_empty()),
            Some(raw.server.tls_key).filter(|p| !p.as_os_str().is_empty()),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("server.tls_key", "is needed with tls_cert")),
            (None, Some(_)) => return Err(invalid("server.tls_cert", "is needed with tls_key")),
        };
        Ok(Config {
            bind,
            data_dir: overrides.data_dir.clone().unwrap_or(raw.server.data_dir),
            workers: raw.server.workers,
            max_body_bytes: raw.server.max_body_bytes,
            shutdown_timeout: seconds("server.shutdown_timeout_s", raw.server.shutdown_timeout_s)?,
            shutdown_deadline: seconds(
                "server.shutdown_deadline_s",
                raw.server.shutdown_deadline_s,
            )?,
            token_ttl: seconds("auth.token_ttl_s", raw.auth.token_ttl_s)?,
            ws: WsConfig {
                heartbeat: seconds("ws.heartbeat_s", ws.heartbeat_s)?,
                hello_timeout: seconds("ws.hello_timeout_s", ws.hello_timeout_s)?,
                max_frame_bytes: ws.max_frame_bytes,
                frames_per_s: ws.frames_per_s,
                frames_burst: ws.frames_burst,
                max_sockets_per_agent: ws.max_sockets_per_agent,
                max_sockets_per_address: ws.max_sockets_per_address,
                allowed_origins: ws.allowed_origins,
                max_backlog_frames: ws.max_backlog_frames,
                max_backlog_bytes: ws.max_backlog_bytes,
            },
            visitor: VisitorConfig {
                max_frame_bytes: visitor.max_frame_bytes,
                frames_per_s: visitor.frames_per_s,
                frames_burst: visitor.frames_burst,
                max_sockets_per_visitor: visitor.max_sockets_per_visitor,
                max_sockets_per_address: visitor.max_sockets_per_address,
                typing_timeout: seconds("visitor.typing_timeout_s", visitor.typing_timeout_s)?,
            },
            mail: mail_config(raw.mail)?,
            webhooks: webhooks_config(raw.webhooks)?,
            idle_stop: seconds("actors.idle_stop_s", raw.actors.idle_stop_s)?,
            store_max_batch: raw.store.max_batch,
            log_level: raw.log.level,
            console_dir: Some(raw.console.dir).filter(|dir| !dir.as_os_str().is_empty()),
            backup,
            trusted_proxies,
            tls,
        })
    }
}

fn mail_config(raw: RawMail) -> Result<MailConfig, ConfigError> {
    if raw.batch == 0 {
        return Err(invalid("mail.batch", "must be at least 1"));
    }
    if raw.max_attempts == 0 {
        return Err(invalid("mail.max_attempts", "must be at least 1"));
    }
    Ok(MailConfig {
        timeout: seconds("mail.timeout_s", raw.timeout_s)?,
        batch: raw.batch,
        reconnect_min: seconds("mail.reconnect_min_s", raw.reconnect_min_s)?,
        reconnect_max: seconds("mail.reconnect_max_s", raw.reconnect_max_s)?,
        retry_min: seconds("mail.retry_min_s", raw.retry_min_s)?,
        retry_max: seconds("mail.retry_max_s", raw.retry_max_s)?,
        max_attempts: raw.max_attempts,
        attachment_max_bytes: raw.attachment_max_bytes,
        attachments_max_bytes: raw.attachments_max_bytes,
    })
}

fn webhooks_config(raw: RawWebhooks) -> Result<WebhooksConfig, ConfigError> {
    Ok(WebhooksConfig {
        timeout: seconds("webhooks.timeout_s", raw.timeout_s)?,
        retry_min: seconds("webhooks.retry_min_s", raw.retry_min_s)?,
        retry_max: seconds("webhooks.retry_max_s", raw.retry_max_s)?,
        horizon: seconds("webhooks.horizon_s", raw.horizon_s)?,
        max_response_bytes: raw.max_response_bytes,
        allow_private: raw.allow_private,
    })
}

fn invalid(key: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_owned(),
    }
}

fn seconds(key: &'static str, value: f64) -> Result<Duration, ConfigError> {
    match Duration::try_from_secs_f64(value) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(invalid(key, "must be a positive number of seconds")),
    }
}

fn parse(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.message().to_owned(),
        })
}

/// Layers `over` onto `base`: tables merge recursively, any other value replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_layers_override_in_order() {
        let config =
            Config::load(None, Some("[ws]\nheartbeat_s = 0.5"), &Overrides::default()).unwrap();
        assert_eq!(config.ws.heartbeat, Duration::from_millis(500));
        assert_eq!(config.ws.max_frame_bytes, 65536);
        assert_eq!(config.bind.port(), 8080);

        let overrides = Overrides {
            bind: Some("127.0.0.1:0".into()),
            data_dir: None,
        };
        let config =
            Config::load(None, Some("[server]\nbind = \"0.0.0.0:9\""), &overrides).unwrap();
        assert_eq!(config.bind.port(), 0);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let o = Overrides::default();
        assert!(Config::load(None, Some("[ws]\nheartbeat = 1"), &o).is_err());
        assert!(Config::load(None, Some("[ws]\nheartbeat_s = 0"), &o).is_err());
        assert!(Config::load(None, Some("[server]\nbind = \"nope\""), &o).is_err());
        let huge = Config::load(None, Some("[auth]\ntoken_ttl_s = 1e30"), &o).unwrap_err();
        assert!(huge.to_string().contains("auth.token_ttl_s"), "{huge}");
        let zero = Config::load(None, Some("[ws]\nmax_backlog_frames = 0"), &o).unwrap_err();
        assert!(zero.to_string().contains("ws.max_backlog_frames"), "{zero}");
        let keep = Config::load(None, Some("[backup]\nkeep = 0"), &o).unwrap_err();
        assert!(keep.to_string().contains("backup.keep"), "{keep}");
    }

    #[test]
    fn backups_are_off_until_a_directory_is_set() {
        let o = Overrides::default();
        assert!(Config::load(None, None, &o).unwrap().backup.is_none());
        let on = Config::load(None, Some("[backup]\ndir = \"b\"\nevery_s = 0.5"), &o).unwrap();
        let backup = on.backup.unwrap();
        assert_eq!(backup.every, Duration::from_millis(500));
        assert_eq!((backup.dir.to_str(), backup.keep), (Some("b"), 7));
    }

    #[test]
    fn trusted_proxies_and_tls_files_are_checked() {
        let o = Overrides::default();
        let config = Config::load(None, None, &o).unwrap();
        assert_eq!(config.trusted_proxies, TrustedProxies::default());
        assert!(config.tls.is_none());

        let text = "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]";
        let config = Config::load(None, Some(text), &o).unwrap();
        assert!(config.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        let bad = "[server]\ntrusted_proxies = [\"10.0.0.1/8\"]";
        let error = Config::load(None, Some(bad), &o).unwrap_err().to_string();
        assert!(
            error.contains("server.trusted_proxies") && error.contains("10.0.0.1/8"),
            "{error}"
        );

        let both = "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"";
        let tls = Config::load(None, Some(both), &o).unwrap().tls.unwrap();
        assert_eq!(
            (tls.cert.to_str(), tls.key.to_str()),
            (Some("c.pem"), Some("k.pem"))
        );
        let alone = Config::load(None, Some("[server]\ntls_cert = \"c.pem\""), &o).unwrap_err();
        assert!(alone.to_string().contains("server.tls_key"), "{alone}");
        let alone = Config::load(None, Some("[server]\ntls_key = \"k.pem\""), &o).unwrap_err();
        assert!(alone.to_string().contains("server.tls_cert"), "{alone}");
    }
}
