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
    pub idle_stop: Duration,
    pub store_max_batch: usize,
    pub log_level: String,
    /// Serve the console from this directory instead of the embedded copy.
    pub console_dir: Option<PathBuf>,
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
            idle_stop: seconds("actors.idle_stop_s", raw.actors.idle_stop_s)?,
            store_max_batch: raw.store.max_batch,
            log_level: raw.log.level,
            console_dir: Some(raw.console.dir).filter(|dir| !dir.as_os_str().is_empty()),
        })
    }
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
    }
}
