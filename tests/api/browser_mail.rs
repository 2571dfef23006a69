//! An e-mail ticket in the console (issue #17), in real headless Chromium,
//! against real mail servers: Dovecot holds the channel's mailbox and the
//! customers' ones, and the SMTP sink takes the replies and delivers them
//! there (see [`crate::support::mail`]). Screenshots land in
//! `target/browser-tests/mail-agent-*.png`.
//!
//! The story: a customer's mail (Cc a colleague) with a quoted earlier
//! mail, a signature, a file and a file too large to keep arrives in the
//! support mailbox. The agent sees the e-mail ticket live in Pending with
//! the customer's address and the Cc, opens it: the quote and the signature
//! are folded until asked for; the file downloads with the agent's token and
//! holds the mail's bytes; the large file is listed as too large. The agent
//! replies: the reply turns `sent` live, and the customer has it. The SMTP
//! server then refuses twice: the next reply shows queued with the error,
//! then fails, in red with the reason, and a toast says so.
//!
//! Skipped loudly without Chromium and chromedriver, unless `CI` is set (see
//! [`crate::browser`]).

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{Browser, Driver, LIVE, LOAD};
use crate::support::mail::{Dovecot, SmtpSink};
use crate::support::*;

/// Replies retry after a second, and fail at the second failed attempt; a
/// file above 1 KiB is listed but not kept.
const CONFIG: &str = "[mail]\nretry_min_s = 1\nretry_max_s = 1\nmax_attempts = 2\n\
                      attachment_max_bytes = 1024\n";

/// How long a mail takes from the mailbox to the console (IDLE), or a reply
/// from the composer to the sink.
const MAIL: Duration = Duration::from_secs(10);

/// The kept attachment's bytes (binary, so a text round trip would show).
const INVOICE: &[u8] = b"%PDF-1.4\n% invoice 1042\n\x00\x01\x02\xff binary tail\n";
const INVOICE_BASE64: &str = "JVBERi0xLjQKJSBpbnZvaWNlIDEwNDIKAAEC/yBiaW5hcnkgdGFpbAo=";

/// The text the customer wrote (its markup must stay text), its signature,
/// and the earlier mail it quotes.
const WRITTEN: &str = "Hi,\n\nthe parcel never came <img src=x onerror=\"window.__pwned=1\">";
const SIGNATURE: &str = "-- \nAda Lovelace";
const QUOTE: &str =
    "On Mon, 7 Dec 2026, Shop support <support@shop.example> wrote:\n> Your order shipped.";

/// The customer's mail: text with a signature and a quote, a PDF, and a log
/// file beyond `attachment_max_bytes`.
fn customer_mail() -> Vec<u8> {
    let text = format!("{WRITTEN}\n\n{SIGNATURE}\n\n{QUOTE}\n").replace('\n', "\r\n");
    let log = "x".repeat(72).repeat(40);
    format!(
        "From: Ada Lovelace <ada@example.com>\r\n\
         To: Shop support <support@shop.example>\r\n\
         Cc: Bob Stone <bob@client.example>\r\n\
         Subject: Parcel never came\r\n\
         Message-ID: <parcel-1@example.com>\r\n\
         Date: Mon, 7 Dec 2026 09:30:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"part\"\r\n\
         \r\n\
         --part\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {text}\
         --part\r\n\
         Content-Type: application/pdf; name=\"invoice.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {INVOICE_BASE64}\r\n\
         --part\r\n\
         Content-Type: text/plain; name=\"server.log\"\r\n\
         Content-Disposition: attachment; filename=\"server.log\"\r\n\
         \r\n\
         {log}\r\n\
         --part--\r\n"
    )
    .into_bytes()
}

/// The e-mail channel of the Support inbox, on these servers.
async fn email_channel(office: &Scenario, dovecot: &Dovecot, sink: &SmtpSink) {
    let channel = office
        .admin
        .post(
            "/api/channels",
            json!({
                "kind": "email", "inbox": office.inbox("Support"), "name": "support@shop.example",
                "imap": {"host": dovecot.host(), "port": dovecot.imap_port(), "tls": "none",
                         "user": "support", "password": dovecot.password("support")},
                "smtp": {"host": sink.host(), "port": sink.port(), "tls": "none",
                         "from_address": "support@shop.example", "from_name": "Shop support"},
            }),
        )
        .await;
    assert_eq!(channel.status, 201, "{}", channel.body);
}

/// Records what the console hands to the browser as downloads (the blob and
/// the file name) instead of saving them.
async fn capture_downloads(browser: &Browser) {
    let script = "window.__downloads = [];
        const create = URL.createObjectURL.bind(URL);
        URL.createObjectURL = (blob) => {
            const url = create(blob);
            window.__downloads.push({ url, blob, name: null });
            return url;
        };
        HTMLAnchorElement.prototype.click = function () {
            const download = window.__downloads.find((d) => d.url === this.href);
            if (download) download.name = this.download;
        };";
    browser.client.execute(script, vec![]).await.unwrap();
}

/// The captured downloads as `{name, bytes}`; WebDriver waits for the promise.
async fn downloads(browser: &Browser) -> Value {
    let script = "return Promise.all(window.__downloads.map(async (d) => ({
            name: d.name, bytes: Array.from(new Uint8Array(await d.blob.arrayBuffer())),
        })));";
    browser.client.execute(script, vec![]).await.unwrap()
}

async fn displayed(browser: &Browser, css: &str) -> bool {
    browser.find(css).await.is_displayed().await.unwrap()
}

/// The delivery of the `n`th reply (1-based) as `[state, error]`, `null` while not drawn.
async fn delivery(browser: &Browser, n: usize) -> Value {
    let script = "const reply = document.querySelectorAll('#messages .message[data-kind=reply]')[arguments[0] - 1];
        const line = reply && reply.querySelector('[data-test=delivery]');
        if (!line) return null;
        const error = line.querySelector('[data-test=delivery-error]');
        return [line.dataset.state, error && error.textContent];";
    browser
        .client
        .execute(script, vec![json!(n)])
        .await
        .unwrap()
}

async fn reply(browser: &Browser, text: &str) {
    browser
        .find("#composer-body")
        .await
        .send_keys(text)
        .await
        .unwrap();
    browser.find("#send").await.click().await.unwrap();
}

#[actix_web::test]
async fn an_agent_works_an_email_ticket_with_folds_files_and_delivery_in_a_real_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let Some(dovecot) = Dovecot::start(&["support", "ada", "bob"]).await else {
        return;
    };
    let sink = SmtpSink::start(&dovecot).await;
    let office = Scenario::setup()
        .config(CONFIG)
        .inbox("Support")
        .agent("bianca", &["Support"])
        .start()
        .await;
    let server = &office.server;
    email_channel(&office, &dovecot, &sink).await;

    let mut agent = driver.browser("mail-agent").await;
    agent.sign_in(server, "bianca").await;
    agent
        .until_present(LOAD, "showing an empty Pending", "#ticket-list .empty")
        .await;

    // The customer's mail arrives: the ticket shows live, marked as e-mail,
    // with the customer's address and the Cc.
    dovecot.append("support", "INBOX", &customer_mail()).await;
    let badge = "#ticket-list .ticket-row [data-test='channel-badge']";
    agent
        .until_present(MAIL, "listing the e-mail ticket in Pending", badge)
        .await;
    assert_eq!(agent.text(badge).await, "E-mail · support@shop.example");
    assert_eq!(
        agent.text("#ticket-list [data-test='row-customer']").await,
        "Ada Lovelace <ada@example.com>"
    );
    assert_eq!(
        agent.text("#ticket-list [data-test='row-cc']").await,
        "+1 Cc"
    );
    agent.screenshot("in-pending").await;

    // Opened: where replies go and who is copied, in the header.
    agent
        .find("#ticket-list .ticket-row")
        .await
        .click()
        .await
        .unwrap();
    let customer = "#messages .message[data-kind='customer']";
    agent
        .until_present(LOAD, "showing the customer's mail", customer)
        .await;
    assert_eq!(
        agent.text("[data-test='ticket-channel']").await,
        "E-mail · support@shop.example"
    );
    assert_eq!(
        agent.text("[data-test='email-customer']").await,
        "Replies to ada@example.com"
    );
    assert_eq!(
        agent.text("[data-test='email-participants']").await,
        "Cc Bob Stone <bob@client.example>"
    );
    assert_eq!(
        agent
            .text(&format!("{customer} [data-test='email-addresses']"))
            .await,
        "From Ada Lovelace <ada@example.com> · Cc Bob Stone <bob@client.example>"
    );

    // The quote and the signature are folded; what the customer wrote is
    // shown, as text.
    let quote = format!("{customer} [data-test='fold'][data-fold='quote']");
    let signature = format!("{customer} [data-test='fold'][data-fold='signature']");
    assert!(!displayed(&agent, &format!("{quote} .fold-text")).await);
    assert!(!displayed(&agent, &format!("{signature} .fold-text")).await);
    let shown = agent.text(&format!("{customer} .email-body")).await;
    assert!(
        shown.contains("the parcel never came <img src=x"),
        "{shown}"
    );
    assert!(
        !shown.contains("Your order shipped"),
        "the quote shows: {shown}"
    );
    assert!(
        !shown.contains("Ada Lovelace"),
        "the signature shows: {shown}"
    );
    assert_eq!(
        agent.content(&format!("{quote} .fold-text")).await,
        QUOTE,
        "the quote is kept whole"
    );
    // The signature runs to the quote (the blank line before it included).
    assert_eq!(
        agent
            .content(&format!("{signature} .fold-text"))
            .await
            .trim_end(),
        SIGNATURE
    );
    agent.screenshot("folded").await;

    // The toggle shows the quote, and hides it again.
    let toggle = format!("{quote} [data-test='fold-toggle']");
    assert_eq!(agent.text(&toggle).await, "… Show quoted text");
    assert_eq!(
        agent
            .find(&toggle)
            .await
            .attr("aria-expanded")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    agent.find(&toggle).await.click().await.unwrap();
    assert!(displayed(&agent, &format!("{quote} .fold-text")).await);
    assert!(
        agent
            .text(&format!("{customer} .email-body"))
            .await
            .contains("> Your order shipped."),
        "the quote shows once unfolded"
    );
    assert_eq!(agent.text(&toggle).await, "… Hide quoted text");
    assert!(!displayed(&agent, &format!("{signature} .fold-text")).await);
    agent.screenshot("quote-unfolded").await;
    agent.find(&toggle).await.click().await.unwrap();
    assert!(!displayed(&agent, &format!("{quote} .fold-text")).await);

    // The files: the kept one downloads with the agent's token and has the
    // mail's bytes; the large one is listed as too large, without a link.
    let files = agent
        .client
        .find_all(Locator::Css(&format!(
            "{customer} [data-test='attachment']"
        )))
        .await
        .unwrap();
    assert_eq!(files.len(), 2);
    let dropped = format!("{customer} [data-test='attachment'].dropped");
    assert_eq!(
        agent.text(&format!("{dropped} .attachment-name")).await,
        "server.log"
    );
    assert_eq!(
        agent
            .text(&format!("{dropped} [data-test='attachment-dropped']"))
            .await,
        "too large"
    );
    assert!(
        !agent
            .exists(&format!("{dropped} [data-test='attachment-download']"))
            .await
    );
    capture_downloads(&agent).await;
    let download = format!("{customer} [data-test='attachment-download']");
    assert_eq!(agent.text(&download).await, "invoice.pdf");
    agent.find(&download).await.click().await.unwrap();
    agent
        .until(LIVE, "downloading the file", |b| async move {
            downloads(b).await[0]["name"] == "invoice.pdf"
        })
        .await;
    assert_eq!(
        downloads(&agent).await,
        json!([{"name": "invoice.pdf", "bytes": INVOICE}])
    );

    // Nothing the customer wrote ran or became an element.
    let report = agent
        .client
        .execute(
            "return [window.__pwned === undefined, document.querySelectorAll('#messages img').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(report, json!([true, 0]), "a mail was parsed as HTML");
    agent.screenshot("files").await;

    // A reply goes out: it turns `sent` live, and the customer and the Cc have it.
    reply(&agent, "We are sending a new parcel today.").await;
    agent
        .until(MAIL, "showing the reply sent", |b| async move {
            delivery(b, 1).await == json!(["sent", null])
        })
        .await;
    let accepted = sink.wait_accepted(1, MAIL).await;
    let mut to = accepted[0].to.clone();
    to.sort();
    assert_eq!(to, ["ada@example.com", "bob@client.example"]);
    let sent = String::from_utf8_lossy(&accepted[0].raw).into_owned();
    assert!(
        sent.contains("We are sending a new parcel today."),
        "{sent}"
    );
    assert!(
        sent.contains("In-Reply-To: <parcel-1@example.com>"),
        "{sent}"
    );
    agent.screenshot("reply-sent").await;

    // The SMTP server refuses twice: the next reply is queued with the error,
    // then fails after its second attempt, in red, and a toast says so.
    sink.fail_next(2, 451, "4.3.0 Try again later");
    reply(&agent, "Tracking number: 1042-7.").await;
    agent
        .until(
            MAIL,
            "showing the reply queued with its error",
            |b| async move {
                let queued = delivery(b, 2).await;
                queued[0] == "queued"
                    && queued[1]
                        .as_str()
                        .is_some_and(|e| e.contains("Try again later"))
            },
        )
        .await;
    agent.screenshot("reply-queued").await;
    agent
        .until(MAIL, "showing the reply failed", |b| async move {
            delivery(b, 2).await[0] == "failed"
        })
        .await;
    let failed = "#messages .message.undelivered[data-kind='reply'] [data-test='delivery']";
    let text = agent.text(failed).await;
    assert!(
        text.starts_with("Not delivered after 2 attempts:") && text.contains("Try again later"),
        "{text}"
    );
    let colour = agent.find(failed).await.css_value("color").await.unwrap();
    assert_eq!(colour, "rgba(180, 35, 24, 1)", "a failure is red");
    let toast = agent.text("#toasts .toast.error .toast-text").await;
    assert!(toast.contains("was not delivered"), "{toast}");
    // The first reply is still sent: the frame changed only its own message.
    assert_eq!(delivery(&agent, 1).await, json!(["sent", null]));
    agent.screenshot("reply-failed").await;

    assert_eq!(sink.accepted().len(), 1, "the failed reply never went out");
    agent.client.close().await.unwrap();
}
