//! Live chat in real headless Chromium (issue #16): a shop page served by the
//! test on another origin embeds `/widget.js`; a visitor writes through the
//! widget while an agent works the chat ticket in the console, in two
//! independent browser sessions. Screenshots of both sides land in
//! `target/browser-tests/chat-*.png`.
//!
//! The story: the visitor writes; the agent sees the chat ticket live in
//! Pending (channel badge), opens it (visitor online; the visitor sees its
//! message "Seen"), sees the visitor typing, accepts, and writes a reply
//! while the visitor watches "Bianca is typing…"; the visitor gets the
//! signed reply and the indicator goes; the console shows the reply seen,
//! and the visitor gone once its browser closes.
//!
//! Bodies are text everywhere: the visitor's message and the agent's reply
//! carry markup that would run if either side parsed it as HTML.
//!
//! Skipped loudly without Chromium and chromedriver, unless `CI` is set (see
//! [`crate::browser`]).

use std::sync::{Arc, OnceLock};

use actix_web::{HttpResponse, HttpServer, web};
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};

use crate::browser::{Browser, Driver, LIVE, LOAD};
use crate::support::*;

/// The visitor's first message: its first line is the ticket's subject too.
const HOSTILE_MESSAGE: &str = "My order is stuck <script>window.__pwned=1</script>";
/// The agent's reply: an image whose error handler would run if parsed as HTML.
const HOSTILE_REPLY: &str = "Sorry about that! Fixed now <img src=x onerror=\"window.__pwned=2\">";

/// A page on its own origin (another port of 127.0.0.1) that embeds the
/// widget of a Tandem server; stopped on drop.
struct Shop {
    origin: String,
    /// The page, once [`Shop::embed`] knows the channel.
    page: Arc<OnceLock<String>>,
    handle: actix_web::dev::ServerHandle,
}

impl Shop {
    /// Listens on a free port; the page is served once [`Shop::embed`] is called.
    async fn start() -> Shop {
        let page = Arc::new(OnceLock::<String>::new());
        let served = page.clone();
        let server = HttpServer::new(move || {
            let served = served.clone();
            actix_web::App::new()
                .route(
                    "/",
                    web::get().to(move || {
                        let page = served.get().cloned();
                        async move {
                            match page {
                                Some(page) => HttpResponse::Ok()
                                    .content_type("text/html; charset=utf-8")
                                    .body(page),
                                None => HttpResponse::ServiceUnavailable().finish(),
                            }
                        }
                    }),
                )
                .default_service(web::to(HttpResponse::NotFound))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("the shop binds a port");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Shop {
            origin: format!("http://{addr}"),
            page,
            handle,
        }
    }

    /// Serves a page embedding the widget of `tandem` with the channel `key`,
    /// as a site would (with page CSS that must not reach into the widget).
    fn embed(&self, tandem: &TestServer, key: &str) {
        let page = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shoe shop</title>\n\
             <style>body {{ font-family: serif; margin: 40px; }} \
             div, p, button, textarea {{ color: red !important; font-size: 30px !important; }}</style>\n\
             </head><body>\n<h1>Shoe shop</h1>\n<p>Our finest shoes, on another origin than the helpdesk.</p>\n\
             <script src=\"{}\" data-channel=\"{key}\" async></script>\n</body></html>\n",
            tandem.url("/widget.js")
        );
        self.page.set(page).expect("one page");
    }

    fn url(&self) -> String {
        format!("{}/", self.origin)
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        // The command goes out at once; the stop completes in the background.
        drop(self.handle.stop(false));
    }
}

/// Runs `body` (a function body that may use `root`, the widget's shadow
/// root) in the page; `null` while the widget is not drawn yet.
async fn in_widget(browser: &Browser, body: &str) -> Value {
    let script = format!(
        "const host = document.getElementById('tandem-chat');
         const root = host && host.shadowRoot;
         if (!root) return null;
         {body}"
    );
    browser
        .client
        .execute(&script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{}: script failed: {e}", browser.name))
}

/// An element inside the widget's shadow root, for real clicks and keys.
async fn widget_element(browser: &Browser, css: &str) -> Element {
    let host = browser.find("#tandem-chat").await;
    let root = host
        .shadow_root()
        .await
        .expect("the widget's open shadow root");
    root.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{}: no {css} in the widget: {e}", browser.name))
}

/// The widget's messages: `{kind, state, who, body}` each, oldest first.
async fn widget_messages(browser: &Browser) -> Vec<Value> {
    let value = in_widget(
        browser,
        "return [...root.querySelectorAll('[data-tandem=message]')].map((m) => ({
             kind: m.dataset.kind, state: m.dataset.state || null,
             who: m.querySelector('.who').textContent, body: m.querySelector('.body').textContent,
         }));",
    )
    .await;
    value.as_array().cloned().unwrap_or_default()
}

/// The widget's typing line ("Bianca is typing…"), empty when nobody types.
async fn widget_typing(browser: &Browser) -> String {
    in_widget(
        browser,
        "return root.querySelector('[data-tandem=typing]').textContent;",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Asserts that nothing a customer or agent wrote ran as script, or became an
/// element, in this page (the widget's shadow root included).
async fn assert_nothing_ran(browser: &Browser) {
    let report = browser
        .client
        .execute(
            "const host = document.getElementById('tandem-chat');
             const roots = [document, host && host.shadowRoot].filter(Boolean);
             const from = (css) => roots.flatMap((root) => [...root.querySelectorAll(css)]);
             return {
                 pwned: window.__pwned === undefined ? null : String(window.__pwned),
                 scripts: from('#ticket-view script, #ticket-list script, [data-tandem=messages] script').length,
                 images: from('#ticket-view img, #ticket-list img, [data-tandem=messages] img').length,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        report,
        json!({"pwned": null, "scripts": 0, "images": 0}),
        "{}: a body was parsed as HTML",
        browser.name
    );
}

#[actix_web::test]
async fn a_visitor_chats_with_an_agent_through_the_widget_in_real_browsers() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    // A long typing timeout: the agent's indicator can only go because the reply was sent.
    let office = Scenario::setup()
        .config("[visitor]\ntyping_timeout_s = 60\n")
        .inbox("Support")
        .agent("bianca", &["Support"])
        .settings(json!({"sign_replies": true}))
        .start()
        .await;
    let server = &office.server;

    // The shop is on another port of 127.0.0.1, so another origin; its channel allows it.
    let shop = Shop::start().await;
    let channel = office
        .admin
        .post(
            "/api/channels",
            json!({
                "kind": "chat", "inbox": office.inbox("Support"), "name": "Website chat",
                "allowed_origins": [shop.origin], "greeting": "Hi! How can we help?",
            }),
        )
        .await;
    assert_eq!(channel.status, 201, "{}", channel.body);
    shop.embed(server, channel.body["key"].as_str().unwrap());

    let (mut visitor, mut agent) = (
        driver.browser("chat-visitor").await,
        driver.browser("chat-agent").await,
    );

    // The agent is in the console first, subscribed to Support: someone is online.
    agent.sign_in(server, "bianca").await;
    agent
        .until_present(LOAD, "on the Pending tab", "[data-queue='pending'].active")
        .await;
    agent
        .until_present(LOAD, "showing an empty Pending", "#ticket-list .empty")
        .await;
    agent.screenshot("pending-empty").await;

    // The visitor opens the shop and the widget on it.
    visitor.client.goto(&shop.url()).await.unwrap();
    visitor
        .until(LOAD, "showing the launcher", |b| async move {
            in_widget(
                b,
                "return Boolean(root.querySelector('[data-tandem=launcher]'));",
            )
            .await
                == json!(true)
        })
        .await;
    visitor.screenshot("shop").await;
    widget_element(&visitor, "[data-tandem=launcher]")
        .await
        .click()
        .await
        .unwrap();
    visitor
        .until(LOAD, "connected, with someone online", |b| async move {
            let ready = "return !root.querySelector('[data-tandem=panel]').hidden
                && root.querySelector('[data-tandem=status]').dataset.state === 'ready'
                && root.querySelector('[data-tandem=offline]').hidden;";
            in_widget(b, ready).await == json!(true)
        })
        .await;
    let greeting = in_widget(
        &visitor,
        "return root.querySelector('[data-tandem=greeting]').textContent;",
    )
    .await;
    assert_eq!(greeting, "Hi! How can we help?");
    // The shop's `p { color: red; font-size: 30px }` stays out of the shadow root.
    let style = in_widget(
        &visitor,
        "const style = getComputedStyle(root.querySelector('[data-tandem=greeting]'));
         return [style.color, style.fontSize];",
    )
    .await;
    assert_eq!(
        style,
        json!(["rgb(29, 35, 48)", "14px"]),
        "page CSS reached the widget"
    );
    visitor.screenshot("widget-open").await;

    // The visitor writes markup: the widget shows it as text, and nothing runs.
    widget_element(&visitor, "[data-tandem=input]")
        .await
        .send_keys(HOSTILE_MESSAGE)
        .await
        .unwrap();
    widget_element(&visitor, "[data-tandem=send]")
        .await
        .click()
        .await
        .unwrap();
    let sent = json!({"kind": "customer", "state": "sent", "who": "You", "body": HOSTILE_MESSAGE});
    visitor
        .until(LIVE, "showing its message as sent", |b| {
            let sent = sent.clone();
            async move { widget_messages(b).await == [sent] }
        })
        .await;
    assert_nothing_ran(&visitor).await;
    visitor.screenshot("message-sent").await;

    // The agent sees the new chat ticket live in Pending, with its channel badge;
    // its subject (the message's first line) is text too.
    let badge = "#ticket-list .ticket-row [data-test='channel-badge']";
    agent
        .until_present(LIVE, "listing the chat ticket in Pending", badge)
        .await;
    let rows = agent
        .client
        .find_all(Locator::Css("#ticket-list .ticket-row"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one ticket in Pending");
    let ticket = rows[0].attr("data-ticket-id").await.unwrap().unwrap();
    let row = format!("#ticket-list .ticket-row[data-ticket-id='{ticket}']");
    assert_eq!(agent.text(badge).await, "Chat · Website chat");
    assert_eq!(
        agent.content(&format!("{row} .subject")).await,
        HOSTILE_MESSAGE
    );
    assert_nothing_ran(&agent).await;
    agent.screenshot("chat-in-pending").await;

    // The agent opens it: the visitor is online, its message is text; opening
    // marks it read, which the visitor sees.
    agent.find(&row).await.click().await.unwrap();
    let view = format!("#ticket-view[data-ticket-id='{ticket}']");
    agent
        .until_present(LOAD, "showing the chat ticket", &view)
        .await;
    agent
        .until_present(
            LIVE,
            "showing the visitor online",
            "[data-test='visitor-state'][data-state='online']",
        )
        .await;
    assert_eq!(
        agent.text("[data-test='ticket-channel']").await,
        "Chat · Website chat"
    );
    let customer = "#messages .message[data-kind='customer'] .body";
    agent
        .until_present(LOAD, "showing the visitor's message", customer)
        .await;
    assert_eq!(agent.content(customer).await, HOSTILE_MESSAGE);
    assert!(
        agent
            .content("#ticket-title")
            .await
            .ends_with(HOSTILE_MESSAGE),
        "the title shows the subject as text"
    );
    assert_nothing_ran(&agent).await;
    agent.screenshot("chat-open").await;
    visitor
        .until(LIVE, "showing its message as seen", |b| async move {
            widget_messages(b)
                .await
                .first()
                .is_some_and(|m| m["state"] == "seen")
        })
        .await;

    // The visitor types again: the agent sees that it types, not what.
    widget_element(&visitor, "[data-tandem=input]")
        .await
        .send_keys("One more thing")
        .await
        .unwrap();
    let typing = "[data-test='visitor-typing']";
    agent
        .until_present(LIVE, "showing the visitor typing", typing)
        .await;
    assert!(
        !agent.content(typing).await.contains("One more"),
        "no preview of the text"
    );
    agent.screenshot("visitor-typing").await;
    widget_element(&visitor, "[data-tandem=send]")
        .await
        .click()
        .await
        .unwrap();
    agent
        .until(LIVE, "showing the second message", |b| async move {
            b.client
                .find_all(Locator::Css(customer))
                .await
                .unwrap()
                .len()
                == 2
        })
        .await;
    agent
        .until_absent(LIVE, "dropping the visitor's typing", typing)
        .await;
    // The agent has the ticket in front of it: the new message is read at once.
    visitor
        .until(LIVE, "showing its second message as seen", |b| async move {
            let messages = widget_messages(b).await;
            messages.len() == 2 && messages.iter().all(|m| m["state"] == "seen")
        })
        .await;

    // The agent accepts the ticket.
    agent
        .find("button[data-action='accept']")
        .await
        .click()
        .await
        .unwrap();
    agent
        .until_present(
            LIVE,
            "showing the ticket as worked on",
            "#ticket-meta .status-working_on",
        )
        .await;
    agent.screenshot("accepted").await;

    // The agent writes a reply: the visitor watches the typing indicator, with the agent's name.
    agent
        .find("#composer-body")
        .await
        .send_keys(HOSTILE_REPLY)
        .await
        .unwrap();
    visitor
        .until(LIVE, "showing Bianca typing", |b| async move {
            widget_typing(b).await == "Bianca is typing…"
        })
        .await;
    visitor.screenshot("agent-typing").await;
    agent.screenshot("writing-reply").await;

    // The reply reaches the visitor signed, as text; the indicator goes.
    agent.find("#send").await.click().await.unwrap();
    visitor
        .until(LIVE, "showing the signed reply", |b| async move {
            widget_messages(b).await.last().is_some_and(|m| {
                m["kind"] == "reply" && m["who"] == "Bianca" && m["body"] == HOSTILE_REPLY
            })
        })
        .await;
    visitor
        .until(LIVE, "dropping the typing indicator", |b| async move {
            widget_typing(b).await.is_empty()
        })
        .await;
    assert_nothing_ran(&visitor).await;
    visitor.screenshot("signed-reply").await;

    // The console shows the reply signed, as text, and seen by the visitor (its panel is open).
    let reply = "#messages .message[data-kind='reply']";
    agent.until_present(LIVE, "showing the reply", reply).await;
    assert_eq!(
        agent.content(&format!("{reply} .body")).await,
        HOSTILE_REPLY
    );
    assert_eq!(
        agent.content(&format!("{reply} .signature")).await,
        "— Bianca"
    );
    agent
        .until_present(
            LIVE,
            "showing that the visitor has seen the reply",
            &format!("{reply} [data-test='seen']"),
        )
        .await;
    assert_nothing_ran(&agent).await;
    agent.screenshot("reply-seen").await;

    // The visitor leaves: the agent sees it gone.
    visitor.client.close().await.unwrap();
    agent
        .until_present(
            LIVE,
            "showing the visitor gone",
            "[data-test='visitor-state'][data-state='gone']",
        )
        .await;
    agent.screenshot("visitor-gone").await;
    agent.client.close().await.unwrap();
}
