//! `tandem backup --url URL --to FILE`: signs in as an admin, downloads
//! `GET /api/admin/backup` into `FILE.partial`, signs out (the token is
//! revoked), verifies the file (`backup::format`) and only then renames it to
//! `FILE`, so `FILE` is always a whole, checked backup (an older one it
//! replaces stays until then).
//!
//! Credentials come from `TANDEM_ADMIN=handle:password`, or are asked on the
//! terminal (the password without echo when stdin is a terminal).
//!
//! Plain `http://` only: this client has no TLS. Against a server behind
//! HTTPS, use its plain address from the same host, or download the endpoint
//! with any HTTPS client and check the file with `tandem restore`.

use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::backup::format::{self, FormatError, Verified};

/// The longest wait for the answer's head: the server takes the whole
/// snapshot before it answers.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why the backup was not downloaded.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("--url must be an http:// URL such as http://127.0.0.1:8080, not `{0}`")]
    BadUrl(String),
    #[error(
        "https:// is not supported by `tandem backup` (it has no TLS); use the server's plain http:// address, or fetch GET /api/admin/backup with an HTTPS client"
    )]
    Https,
    #[error("TANDEM_ADMIN must be handle:password")]
    BadAdmin,
    #[error("cannot read the credentials")]
    Prompt(#[source] io::Error),
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{what} failed: the server answered {status}: {message}")]
    Refused {
        what: &'static str,
        status: u16,
        message: String,
    },
    #[error("the download broke off: {0}")]
    Broken(String),
    #[error("cannot write {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the downloaded file is not a sound backup: {0}")]
    Unsound(FormatError),
}

/// An admin's handle and password.
pub struct Credentials {
    pub handle: String,
    pub password: String,
}

impl Credentials {
    /// From `TANDEM_ADMIN=handle:password`, else asked on the terminal.
    pub fn from_env_or_prompt() -> Result<Credentials, DownloadError> {
        match std::env::var("TANDEM_ADMIN") {
            Ok(spec) if !spec.is_empty() => {
                let (handle, password) = spec
                    .split_once(':')
                    .filter(|(h, p)| !h.is_empty() && !p.is_empty())
                    .ok_or(DownloadError::BadAdmin)?;
                Ok(Credentials {
                    handle: handle.to_owned(),
                    password: password.to_owned(),
                })
            }
            _ => Ok(Credentials {
                handle: ask("Admin handle: ", false).map_err(DownloadError::Prompt)?,
                password: ask("Password: ", true).map_err(DownloadError::Prompt)?,
            }),
        }
    }
}

/// A server's base URL: plain `http://`, without trailing slashes.
pub struct ServerUrl(String);

impl ServerUrl {
    pub fn parse(url: &str) -> Result<ServerUrl, DownloadError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(DownloadError::Https);
        }
        if !lower.starts_with("http://") || url.len() <= "http://".len() {
            return Err(DownloadError::BadUrl(url.to_owned()));
        }
        Ok(ServerUrl(url.trim_end_matches('/').to_owned()))
    }
}

/// Downloads a backup from the server at `url` into `to`; what it verified.
pub async fn download(
    url: &ServerUrl,
    to: &Path,
    credentials: &Credentials,
) -> Result<Verified, DownloadError> {
    let base = &url.0;
    let client = awc::Client::builder().timeout(ANSWER_TIMEOUT).finish();
    let token = login(&client, base, credentials).await?;
    let fetched = fetch(&client, base, &token, to).await;
    // Best effort: an unrevoked token still expires on its own.
    let _ = client
        .post(format!("{base}/api/logout"))
        .bearer_auth(&token)
        .send()
        .await;
    fetched
}

async fn login(
    client: &awc::Client,
    base: &str,
    credentials: &Credentials,
) -> Result<String, DownloadError> {
    let url = format!("{base}/api/login");
    let body = json!({"login": credentials.handle, "password": credentials.password});
    let mut answer = client
        .post(&url)
        .send_json(&body)
        .await
        .map_err(|e| unreachable(&url, e))?;
    let bytes = answer
        .body()
        .await
        .map_err(|e| DownloadError::Broken(e.to_string()))?;
    if answer.status() != 200 {
        return Err(refused("signing in", answer.status(), &bytes));
    }
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["token"].as_str().map(str::to_owned))
        .ok_or_else(|| DownloadError::Broken("the sign-in answer has no token".into()))
}

async fn fetch(
    client: &awc::Client,
    base: &str,
    token: &str,
    to: &Path,
) -> Result<Verified, DownloadError> {
    let url = format!("{base}/api/admin/backup");
    let mut answer = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| unreachable(&url, e))?;
    if answer.status() != 200 {
        let bytes = answer.body().await.unwrap_or_default();
        return Err(refused("the backup", answer.status(), &bytes));
    }
    let partial = partial_path(to);
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| DownloadError::Io { path, source }
    };
    let result = async {
        let mut file = File::create(&partial).map_err(io_error(&partial))?;
        while let Some(chunk) = answer.next().await {
            let chunk = chunk.map_err(|e| DownloadError::Broken(e.to_string()))?;
            file.write_all(&chunk).map_err(io_error(&partial))?;
        }
        file.sync_all().map_err(io_error(&partial))?;
        let file = File::open(&partial).map_err(io_error(&partial))?;
        let verified = format::verify(file).map_err(DownloadError::Unsound)?;
        std::fs::rename(&partial, to).map_err(io_error(to))?;
        Ok(verified)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// `FILE.partial` next to `FILE`.
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn unreachable(url: &str, error: impl std::fmt::Display) -> DownloadError {
    DownloadError::Unreachable {
        url: url.to_owned(),
        message: error.to_string(),
    }
}

/// A refusal, with the `message` of the server's JSON error when it has one.
fn refused(what: &'static str, status: awc::http::StatusCode, body: &[u8]) -> DownloadError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    DownloadError::Refused {
        what,
        status: status.as_u16(),
        message,
    }
}

/// Asks `question` on stderr and reads one line from stdin; with `hidden`,
/// the terminal does not echo it (through `stty`, when stdin is a terminal).
fn ask(question: &str, hidden: bool) -> io::Result<String> {
    eprint!("{question}");
    io::stderr().flush()?;
    let stdin = io::stdin();
    let hide = hidden && stdin.is_terminal();
    let stty = |mode| std::process::Command::new("stty").arg(mode).status();
    if hide {
        let _ = stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if hide {
        let _ = stty("echo");
        eprintln!();
    }
    if read? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_taken() {
        let url = ServerUrl::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(url.0, "http://127.0.0.1:8080");
        assert!(matches!(
            ServerUrl::parse("https://help.example.com"),
            Err(DownloadError::Https)
        ));
        assert!(matches!(
            ServerUrl::parse("127.0.0.1:8080"),
            Err(DownloadError::BadUrl(_))
        ));
    }
}
