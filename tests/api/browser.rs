//! The bundled web console in real headless Chromium, driven through
//! chromedriver (WebDriver) by two independent browser sessions logged in as
//! two agents. Screenshots of each step land in `target/browser-tests/`.
//!
//! Without Chromium and chromedriver the test is skipped with a loud message,
//! unless `CI` is set: then it fails (`.ci/run` installs both).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::*;

/// How long a browser waits for something the other agent did to show.
pub(crate) const LIVE: Duration = Duration::from_secs(2);
/// How long a page gets for loading and logging in.
pub(crate) const LOAD: Duration = Duration::from_secs(15);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process on a free port, ended on drop.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver, or explains how to install it (and fails under CI).
    pub(crate) async fn start() -> Option<Driver> {
        if !PathBuf::from(CHROMIUM).exists() || !PathBuf::from(CHROMEDRIVER).exists() {
            let message = "browser tests need Chromium and chromedriver: \
                           sudo apt-get install chromium chromium-driver";
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("\n\n!!!!! SKIPPED: {message} !!!!!\n");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + LOAD;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(driver)
    }

    /// A new browser with its own profile (so its own session storage).
    pub(crate) async fn browser(&self, name: &'static str) -> Browser {
        let mut capabilities = serde_json::Map::new();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,860",
        ];
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session");
        Browser {
            client,
            name,
            shots: 0,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One agent's (or visitor's) browser.
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) name: &'static str,
    shots: usize,
}

impl Browser {
    /// Opens the console and signs in; waits for the live socket.
    pub(crate) async fn sign_in(&self, server: &TestServer, login: &str) {
        self.client.goto(&server.url("/")).await.unwrap();
        self.client
            .wait()
            .at_most(LOAD)
            .for_element(Locator::Css("#login-name"))
            .await
            .unwrap();
        self.find("#login-name")
            .await
            .send_keys(login)
            .await
            .unwrap();
        self.find("#login-password")
            .await
            .send_keys("pw")
            .await
            .unwrap();
        self.find("#login-submit").await.click().await.unwrap();
        self.until_present(
            LOAD,
            "signed in with a live socket",
            "body[data-state='app'][data-socket='open']",
        )
        .await;
    }

    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no {css}: {e}", self.name))
    }

    pub(crate) async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The text content, shown or not (WebDriver's text is empty for hidden elements).
    pub(crate) async fn content(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("textContent")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Waits until `check` holds, polling the page; fails after `within`.
    pub(crate) async fn until<'a, F, Fut>(&'a self, within: Duration, what: &str, check: F)
    where
        F: Fn(&'a Browser) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while !check(self).await {
            if Instant::now() > deadline {
                let path = self.screenshot_named("failed").await;
                panic!(
                    "{}: not {what} within {within:?} (screenshot {})",
                    self.name,
                    path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(crate) async fn until_present(&self, within: Duration, what: &str, css: &str) {
        self.until(within, what, |b| b.exists(css)).await;
    }

    pub(crate) async fn until_absent(&self, within: Duration, what: &str, css: &str) {
        self.until(within, what, |b| async move { !b.exists(css).await })
            .await;
    }

    pub(crate) async fn screenshot(&mut self, step: &str) {
        self.shots += 1;
        let step = format!("{:02}-{step}", self.shots);
        self.screenshot_named(&step).await;
    }

    async fn screenshot_named(&self, step: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}-{step}.png", self.name));
        if let Ok(png) = self.client.screenshot().await {
            std::fs::write(&path, png).unwrap();
        }
        path
    }

    /// Makes the page believe its tab was hidden or shown (Page Visibility API).
    async fn set_hidden(&self, hidden: bool) {
        let script = "const hidden = arguments[0];
            Object.defineProperty(document, 'visibilityState', {value: hidden ? 'hidden' : 'visible', configurable: true});
            Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));";
        self.client
            .execute(script, vec![Value::Bool(hidden)])
            .await
            .unwrap();
    }
}

/// The agents, inbox and tickets the browsers work on.
fn office() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .settings(json!({"hidden_release_s": 1, "reconnect_grace_s": 60}))
        .ticket("Support", "Printer on fire")
        .ticket("Support", "Refund for order 1042")
        .ticket("Support", "Password reset loops")
        .ticket("Support", "Invoice missing")
}

/// The list row of `ticket`.
fn row(ticket: &str) -> String {
    format!("#ticket-list .ticket-row[data-ticket-id='{ticket}']")
}

#[actix_web::test]
async fn two_agents_work_one_inbox_in_real_browsers() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let office = office().start().await;
    let server = &office.server;
    let bianca_id = office.agent("bianca").id.clone();
    let (mut a, mut b) = (
        driver.browser("bianca").await,
        driver.browser("hanna").await,
    );
    a.sign_in(server, "bianca").await;
    b.sign_in(server, "hanna").await;
    assert_eq!(a.text("#me-name").await, "Bianca");
    let t1 = row(&office.tickets[0]);
    a.until_present(LOAD, "listing the pending tickets", &t1)
        .await;
    b.until_present(LOAD, "listing the pending tickets", &t1)
        .await;
    b.screenshot("pending-list").await;

    // A opens a ticket: B's list shows A's badge within 2 s.
    a.find(&t1).await.click().await.unwrap();
    let view = format!("#ticket-view[data-ticket-id='{}']", office.tickets[0]);
    a.until_present(LOAD, "showing the ticket", &view).await;
    let badge = format!("{t1} .badge.holder[data-agent='{bianca_id}']");
    b.until_present(LIVE, "showing Bianca's badge", &badge)
        .await;
    a.screenshot("working-on-ticket").await;
    b.screenshot("sees-bianca-badge").await;

    // B force-releases through the "x", confirming a question that names the holder; A is told.
    b.find(&format!("{t1} button.force-release"))
        .await
        .click()
        .await
        .unwrap();
    b.until_present(LIVE, "asking to confirm", "#confirm-dialog[open]")
        .await;
    assert!(
        b.text("#confirm-text").await.contains("Bianca"),
        "the confirmation names the holder"
    );
    b.screenshot("confirm-force-release").await;
    b.find("#confirm-ok").await.click().await.unwrap();
    a.until_present(
        LIVE,
        "showing the claim-lost banner",
        "#claim-lost-banner:not([hidden])",
    )
    .await;
    assert!(
        a.text("#claim-lost-banner").await.contains("Hanna"),
        "the banner says who"
    );
    b.until_absent(LIVE, "dropping Bianca's badge", &badge)
        .await;
    a.screenshot("claim-lost").await;

    // A claims it again, then closes its window: B sees the release at once (grace is 60 s).
    a.find("#back").await.click().await.unwrap();
    a.until_present(LIVE, "back on the list", &t1).await;
    a.find(&t1).await.click().await.unwrap();
    b.until_present(LIVE, "showing Bianca's badge again", &badge)
        .await;
    let spare = a.client.new_window(true).await.unwrap();
    a.client.close_window().await.unwrap();
    b.until_absent(LIVE, "releasing the closed window's claim", &badge)
        .await;
    b.screenshot("released-on-close").await;

    // A hides its tab: dimmed at once, released after `hidden_release_s` (1 s).
    a.client.switch_to_window(spare.handle).await.unwrap();
    a.sign_in(server, "bianca").await;
    let t2 = row(&office.tickets[1]);
    a.until_present(LOAD, "listing the pending tickets", &t2)
        .await;
    a.find(&t2).await.click().await.unwrap();
    let badge2 = format!("{t2} .badge.holder[data-agent='{bianca_id}']");
    b.until_present(LIVE, "showing Bianca's badge", &badge2)
        .await;
    a.set_hidden(true).await;
    let dimmed = format!("{t2} .badge[data-agent='{bianca_id}'].dimmed");
    b.until_present(LIVE, "dimming Bianca's badge", &dimmed)
        .await;
    b.screenshot("bianca-hidden").await;
    let hidden_at = Instant::now();
    b.until_absent(LIVE + LIVE, "releasing the hidden tab's claim", &badge2)
        .await;
    assert!(
        hidden_at.elapsed() >= Duration::from_millis(500),
        "released only after the grace"
    );
    b.screenshot("hidden-released").await;
    a.set_hidden(false).await;

    // A writes an internal note mentioning B: B's bell count goes up.
    assert_eq!(b.content("#bell-count").await, "0");
    a.until_present(LIVE, "showing the composer", "#composer-body")
        .await;
    a.find("#composer [data-mode='note']")
        .await
        .click()
        .await
        .unwrap();
    a.find("#composer-body")
        .await
        .send_keys("Can you check the refund? @hanna ")
        .await
        .unwrap();
    a.find("#send").await.click().await.unwrap();
    b.until(LIVE, "counting the mention", |b| async move {
        b.content("#bell-count").await == "1"
    })
    .await;
    a.until_present(
        LIVE,
        "showing the note",
        "#messages .message[data-kind='note']",
    )
    .await;
    a.screenshot("note-sent").await;
    b.screenshot("bell-rang").await;

    // A accepts the ticket: it leaves B's Pending tab live (a moved row stays briefly, marked).
    a.find("button[data-action='accept']")
        .await
        .click()
        .await
        .unwrap();
    b.until_absent(
        LIVE,
        "moving the accepted ticket out of Pending",
        &format!("{t2}:not(.moved)"),
    )
    .await;
    b.screenshot("accepted-moved-out").await;

    a.client.close().await.unwrap();
    b.client.close().await.unwrap();
}

#[actix_web::test]
async fn the_console_reconnects_and_reopens_its_ticket_after_a_server_restart() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let office = office()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    // Taken before the server is stopped, which moves it out of `office`.
    let bianca = office.agent("bianca").clone();
    let bianca_id = bianca.id.clone();
    let (mut a, mut b) = (
        driver.browser("restart-bianca").await,
        driver.browser("restart-hanna").await,
    );
    a.sign_in(&office.server, "bianca").await;
    b.sign_in(&office.server, "hanna").await;
    let t1 = row(&office.tickets[0]);
    a.until_present(LOAD, "listing the pending tickets", &t1)
        .await;
    a.find(&t1).await.click().await.unwrap();
    let badge = format!("{t1} .badge.holder[data-agent='{bianca_id}']");
    b.until_present(LOAD, "showing Bianca's badge", &badge)
        .await;

    // The server stops (sockets get 1001) and starts again on the same address and data.
    let addr = office.server.addr;
    office.server.stop();
    a.until_absent(
        LOAD,
        "noticing the socket closed",
        "body[data-socket='open']",
    )
    .await;
    a.screenshot("offline").await;
    let restarted = TestServer::start_at(dir.path(), &addr.to_string(), "")
        .await
        .unwrap();

    // Both reconnect on their own; Bianca's tab opens its ticket again and holds it.
    a.until_present(LOAD, "reconnected", "body[data-socket='open']")
        .await;
    b.until_present(LOAD, "reconnected", "body[data-socket='open']")
        .await;
    // The new server knows nothing of the old claims: this one is the tab's re-open.
    let ticket = format!("/api/tickets/{}", office.tickets[0]);
    let api = bianca.on(&restarted);
    let deadline = Instant::now() + LOAD;
    while api.get(&ticket).await.body["claim"]["agent"]["id"] != bianca_id.as_str() {
        assert!(
            Instant::now() < deadline,
            "Bianca's tab did not claim its ticket again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.until_present(LOAD, "showing Bianca's badge after the restart", &badge)
        .await;
    let view = format!("#ticket-view[data-ticket-id='{}']", office.tickets[0]);
    a.until_present(LIVE, "still showing the ticket", &view)
        .await;
    a.until_absent(
        LIVE,
        "holding it (no holder banner)",
        "#holder-banner:not([hidden])",
    )
    .await;
    a.screenshot("reopened-after-restart").await;
    b.screenshot("sees-bianca-after-restart").await;

    a.client.close().await.unwrap();
    b.client.close().await.unwrap();
}
