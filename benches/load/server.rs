//! The server under load: Tandem (or the baseline) in a child process of this
//! bench, started from the same binary with [`CHILD_FLAG`], or an external
//! server given with `--url`. A child exits when its stdin closes, so it never
//! outlives the bench.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const CHILD_FLAG: &str = "__load_server";

/// Bench-friendly limits: the generator opens many sockets per agent and
/// address and sends faster than a browser. `ws_extra` adds `[ws]` keys,
/// `extra` other tables.
pub fn bench_config(ws_extra: &str, extra: &str) -> String {
    format!(
        "[ws]\nmax_sockets_per_agent = 100000\nmax_sockets_per_address = 100000\nframes_per_s = 100000\nframes_burst = 100000\n{ws_extra}\n[log]\nlevel = \"warn\"\n{extra}"
    )
}

pub struct Target {
    pub base: String,
    pub pid: Option<u32>,
    child: Option<Child>,
    /// The child's data directory, removed after the child is gone.
    pub dir: Option<tempfile::TempDir>,
}

impl Target {
    pub fn external(url: &str, pid: Option<u32>) -> Target {
        Target {
            base: url.to_owned(),
            pid,
            child: None,
            dir: None,
        }
    }

    /// Tandem on `data_dir` with `config` (see [`bench_config`]).
    pub fn tandem(data_dir: &Path, config: &str) -> Target {
        spawn(&["tandem", data_dir.to_str().unwrap()], config)
    }

    pub fn baseline() -> Target {
        spawn(&["baseline"], "")
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs;
        let hostport = self.base.trim_start_matches("http://");
        hostport
            .to_socket_addrs()
            .expect("server address")
            .next()
            .expect("server address")
    }

    /// CPU seconds (user + system) of the server process so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        crate::proc_stats::cpu_seconds(self.pid?)
    }

    /// Resident set size of the server process, in bytes.
    pub fn rss_bytes(&self) -> Option<f64> {
        crate::proc_stats::rss_bytes(self.pid?)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            if std::env::var_os("LOAD_SERVER_WRAPPER").is_some() {
                // Let a profiler write its report: the child exits when its stdin closes.
                drop(child.stdin.take());
            } else {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

fn spawn(args: &[&str], config: &str) -> Target {
    // /proc/self/exe still works when a rebuild has replaced the file meanwhile.
    let mut command = Command::new("/proc/self/exe");
    // Opt-in profiling: `LOAD_SERVER_WRAPPER="valgrind --tool=dhat"` runs the
    // child under that command (words split on whitespace).
    if let Ok(wrapper) = std::env::var("LOAD_SERVER_WRAPPER") {
        let mut words = wrapper.split_whitespace();
        if let Some(program) = words.next() {
            command = Command::new(program);
            command
                .args(words)
                .arg(std::env::current_exe().expect("bench executable"));
        }
    }
    let mut child = command
        .arg(CHILD_FLAG)
        .args(args)
        .env("TANDEM_LOAD_CONFIG", config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server child");
    // The server prints its own lines too: find ours, and keep draining the pipe.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("LISTENING ") {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx.recv().expect("the server child ended before listening");
    Target {
        base: format!("http://{addr}"),
        pid: Some(child.id()),
        child: Some(child),
        dir: None,
    }
}

/// The child side: runs the server until stdin closes.
pub fn child_main(args: &[String]) {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    let announce = |addr: std::net::SocketAddr| {
        use std::io::Write;
        let mut out = std::io::stdout();
        writeln!(out, "LISTENING {addr}").unwrap();
        out.flush().unwrap();
    };
    match args.first().map(String::as_str) {
        Some("tandem") => {
            use tandem::app::App;
            use tandem::bootstrap::Bootstrap;
            use tandem::config::{Config, Overrides};
            let data_dir = std::path::PathBuf::from(&args[1]);
            let text = std::env::var("TANDEM_LOAD_CONFIG").unwrap_or_default();
            let overrides = Overrides {
                bind: Some("127.0.0.1:0".into()),
                data_dir: Some(data_dir),
            };
            let config = Config::load(None, Some(&text), &overrides).expect("bench config");
            actix_rt::System::new().block_on(async move {
                let server = App::build(
                    config,
                    Bootstrap {
                        demo: false,
                        admin: None,
                    },
                )
                .await
                .expect("server");
                announce(server.addr());
                server.run().await.unwrap();
            });
        }
        Some("baseline") => crate::baseline::serve(announce),
        other => panic!("unknown server kind {other:?}"),
    }
}
