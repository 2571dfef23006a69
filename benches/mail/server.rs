//! The server under test: the real `tandem` binary (`tandem serve`, built by
//! `cargo bench` with the bench) in a child process on a fresh data
//! directory, so its CPU time and RSS are its alone; and the REST clients the
//! bench drives it with.

use crate::mail::dovecot::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::report::Run;

/// How long the server may take to answer `/healthz`.
const START_WAIT: Duration = Duration::from_secs(20);

pub struct Server {
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with the defaults but `[log] level = "warn"` and, if given,
    /// `mail.batch`. Its admin is `admin` / `pw`.
    pub async fn start(batch: Option<usize>) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tandem.toml");
        let batch = batch.map_or(String::new(), |b| format!("[mail]\nbatch = {b}\n"));
        std::fs::write(&config, format!("[log]\nlevel = \"warn\"\n{batch}")).expect("config");
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--bind", &addr])
            .env("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tandem serve");
        let mut server = Server {
            base: format!("http://{addr}"),
            child,
            _dir: dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&mut self) {
        let client = awc::Client::default();
        let deadline = Instant::now() + START_WAIT;
        loop {
            let answer = client.get(format!("{}/healthz", self.base)).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            let exited = self.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "tandem serve on {} did not start ({exited:?})",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn cpu_seconds(&self) -> f64 {
        crate::proc_stats::cpu_seconds(self.child.id()).unwrap_or(f64::NAN)
    }

    pub fn rss_mib(&self) -> f64 {
        crate::proc_stats::rss_bytes(self.child.id()).map_or(f64::NAN, |b| b / 1048576.0)
    }

    /// The value of one series of `/metrics`, e.g.
    /// `tandem_mail_imported_total{channel="…"}`; 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let mut resp = awc::Client::default()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics");
        let body = resp.body().limit(1 << 24).await.expect("metrics body");
        let prefix = format!("{series} ");
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// The store's counters so far.
    pub async fn store(&self) -> Store {
        Store {
            writes: self.metric("tandem_store_writes_total").await,
            commits: self.metric("tandem_store_commits_total").await,
            commit_seconds: self.metric("tandem_store_commit_seconds_sum").await,
        }
    }
}

/// The store writer's counters (`tandem_store_*` of `/metrics`).
#[derive(Clone, Copy)]
pub struct Store {
    pub writes: f64,
    pub commits: f64,
    pub commit_seconds: f64,
}

impl Store {
    /// Adds what happened between `before` and `self` to `run`, per `unit`
    /// of the `phase`'s work.
    pub fn report(self, before: Store, phase: &str, seconds: f64, per: f64, run: &mut Run) {
        let commits = self.commits - before.commits;
        let writes = self.writes - before.writes;
        let mean_commit = (self.commit_seconds - before.commit_seconds) * 1000.0 / commits;
        run.add(&format!("{phase}: store writes per item"), writes / per, "");
        run.add(
            &format!("{phase}: store commits per item"),
            commits / per,
            "",
        );
        run.add(
            &format!("{phase}: store commits/s"),
            commits / seconds,
            "/s",
        );
        run.add(
            &format!("{phase}: mean commit (apply + fsync)"),
            mean_commit,
            "ms",
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A REST client with a token; one per concurrent task keeps its own
/// keep-alive connections, as a browser tab does.
#[derive(Clone)]
pub struct Rest {
    base: String,
    token: Option<String>,
}

impl Rest {
    pub fn new(base: &str, token: Option<&str>) -> Rest {
        Rest {
            base: base.to_owned(),
            token: token.map(str::to_owned),
        }
    }

    /// A client for one task (awc's clients are per thread and pool their connections).
    pub fn client(&self) -> awc::Client {
        let mut builder = awc::Client::builder().timeout(Duration::from_secs(120));
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        builder.finish()
    }

    /// `method path` with a JSON body (`Value::Null`: none): the status and the JSON answer.
    pub async fn call(
        &self,
        client: &awc::Client,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let req = client.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        let mut resp = if body.is_null() {
            req.send().await
        } else {
            req.send_json(&body).await
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let bytes = resp.body().limit(1 << 26).await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (resp.status().as_u16(), json)
    }

    /// Like [`call`](Self::call), with a fresh client; panics unless the status is 2xx.
    pub async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(&self.client(), method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }
}

/// The helpdesk of a run: the admin, the inbox `Support` and its agent.
pub struct Desk {
    pub admin: Rest,
    pub agent: Rest,
    pub inbox: String,
}

impl Desk {
    pub async fn new(server: &Server) -> Desk {
        let anonymous = Rest::new(&server.base, None);
        let login = |login: &'static str| {
            let anonymous = anonymous.clone();
            async move {
                let body = json!({"login": login, "password": "pw"});
                let answer = anonymous.ok("POST", "/api/login", body).await;
                answer["token"].as_str().expect("token").to_owned()
            }
        };
        let admin = Rest::new(&server.base, Some(&login("admin").await));
        let inbox = admin
            .ok("POST", "/api/inboxes", json!({"name": "Support"}))
            .await["id"]
            .as_str()
            .expect("inbox id")
            .to_owned();
        let agent = json!({"handle": "bianca", "name": "Bianca", "email": "bianca@example.com",
                           "role": "agent", "password": "pw", "inboxes": [inbox]});
        admin.ok("POST", "/api/agents", agent).await;
        let agent = Rest::new(&server.base, Some(&login("bianca").await));
        Desk {
            admin,
            agent,
            inbox,
        }
    }
}
