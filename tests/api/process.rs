//! The real `tandem` binary as a child process, for tests of what only a
//! process shows: the command line, signals, exit codes, logs, crashes, RSS.
//! [`Process`] is a running server; [`tandem`] runs a command to its end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::Api;

pub struct Process {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    /// Every line read so far (stdout and stderr interleaved).
    pub seen: Vec<String>,
    pub addr: String,
}

impl Process {
    /// Starts `tandem serve ARGS` and waits for its `listening on` line.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "info");
        clear_env(&mut command);
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("tandem starts");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut process = Process {
            child,
            lines,
            seen: Vec::new(),
            addr: String::new(),
        };
        let line = process.wait_for("listening on http://");
        process.addr = line
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        process
    }

    /// The first line containing `needle`, waiting for it if not seen yet.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no line with {needle:?}"));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    pub fn api(&self) -> Api {
        Api::at(&format!("http://{}", self.addr))
    }

    pub fn signal_term(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// The server's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reap it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Resident memory of the process now, in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// SIGTERM, then the exit status, keeping the process's output readable.
    pub fn terminate_keep(&mut self) -> ExitStatus {
        self.signal_term();
        self.child.wait().unwrap()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal_term();
        self.child.wait().unwrap()
    }

    /// The exit status, if the process ends within `within`.
    pub fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every line printed so far, waiting for the output to end (after exit).
    pub fn all_output(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

/// What a finished `tandem` command did.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the command succeeded; its stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{}{}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts the command failed with exit code 1 and `needle` on stderr.
    pub fn failed_with(&self, needle: &str) {
        assert_eq!(self.code, Some(1), "{}{}", self.stdout, self.stderr);
        assert!(
            self.stderr.contains(needle),
            "{needle:?} not in {}",
            self.stderr
        );
        assert!(self.stderr.starts_with("tandem: "), "{}", self.stderr);
    }
}

/// Runs `tandem ARGS` to its end, with only `envs` of the TANDEM_ variables.
pub fn tandem(args: &[&str], envs: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command.args(args).stdin(Stdio::null());
    clear_env(&mut command);
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().expect("tandem runs");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`tandem`] off the test's runtime, so its tasks (and servers) keep running meanwhile.
pub async fn tandem_async(args: &[&str], envs: &[(&str, &str)]) -> Outcome {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    actix_web::rt::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        tandem(&args, &envs)
    })
    .await
    .unwrap()
}

/// The environment variables tandem reads, removed so the test's own do not leak in.
fn clear_env(command: &mut Command) {
    for name in [
        "TANDEM_BIND",
        "TANDEM_DATA_DIR",
        "TANDEM_BOOTSTRAP_ADMIN",
        "TANDEM_ADMIN",
        "TANDEM_PASSWORD",
    ] {
        command.env_remove(name);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
