//! Schema versions (issue #20, point 2): every committed data directory of an
//! earlier (or today's) schema starts under this binary and serves its data;
//! a directory of a newer schema is refused clearly by every command; and a
//! start killed with SIGKILL in the middle of its upgrade leaves a directory
//! that starts.
//!
//! The fixtures are `tests/fixtures/schema-N/tandem.redb`, each written by
//! the binary of schema N with [`write_the_schema_fixture`] (see
//! `tests/fixtures/README.md`); all hold the same data, checked by
//! [`serves_the_fixture_data`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use redb::ReadableDatabase;
use serde_json::{Value, json};
use tandem::store::tables::{META, SCHEMA_VERSION, SEARCH};
use tandem::store::{Store, codec};

use crate::process::{Process, tandem};
use crate::support::*;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The settings of the fixtures (locks never expire, so theirs stays).
fn fixture_settings() -> Value {
    json!({"ticket_sharing_enabled": true, "sign_replies": false,
           "hard_lock_auto_unlock_s": null, "hidden_release_s": 12})
}

/// When the fixture's scheduled reply is due.
const DUE: &str = "2099-01-01T00:00:00.000Z";

/// Writes `tests/fixtures/schema-<SCHEMA_VERSION>/tandem.redb` with this
/// binary. Run by hand when the schema version changes:
/// `cargo test --test api schema::write_the_schema_fixture -- --ignored`.
#[actix_web::test]
#[ignore = "writes a committed fixture; run by hand for a new schema version"]
async fn write_the_schema_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = server.admin().await;
    let patch = admin.patch("/api/settings", fixture_settings()).await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let support = admin.create_inbox("Support").await;
    let sales = admin.create_inbox("Sales").await;
    let bianca = server
        .agent(&admin, "bianca", "agent", &[&support, &sales])
        .await;
    let hanna = server.agent(&admin, "hanna", "agent", &[&support]).await;
    server.agent(&admin, "lena", "light", &[&support]).await;
    let printer = admin.create_ticket(&support, "Printer on fire").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invoice = admin.create_ticket(&sales, "Invoice").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let on = |ticket: &str, tail: &str| format!("/api/tickets/{ticket}{tail}");
    for (api, path, body) in [
        (
            &bianca,
            on(&printer, "/messages"),
            json!({"kind": "note", "body": "@hanna have a look"}),
        ),
        (&admin, on(&printer, "/assign"), json!({"agent": bianca.id})),
        (
            &hanna,
            on(&printer, "/messages"),
            json!({"kind": "reply", "body": "Following up", "send_at": DUE}),
        ),
        (
            &bianca,
            on(&invoice, "/messages"),
            json!({"kind": "reply", "body": "Paid, thanks"}),
        ),
        (
            &admin,
            "/api/channels".to_owned(),
            json!({"kind": "chat", "inbox": support, "name": "Website chat", "allowed_origins": []}),
        ),
        (
            &admin,
            "/api/channels".to_owned(),
            // A mailbox nothing listens for: the record, not the import.
            json!({"kind": "email", "inbox": support, "name": "Support mail",
                   "imap": {"host": "127.0.0.1", "port": 9, "tls": "none", "user": "support", "password": "pw"},
                   "smtp": {"host": "127.0.0.1", "port": 9, "tls": "none", "from_address": "support@example.test"}}),
        ),
    ] {
        let resp = api.post(&path, body).await;
        assert!(resp.status < 300, "{path}: {}", resp.body);
    }
    assert_eq!(bianca.put(on(&printer, "/lock")).await.status, 200);
    // From schema 5: an API channel with a conversation, and a webhook.
    let sms = admin
        .post(
            "/api/channels",
            json!({"kind": "api", "inbox": support, "name": "SMS bridge",
                   "callback_url": "https://sms.example.test/in"}),
        )
        .await;
    assert_eq!(sms.status, 201, "{}", sms.body);
    let integration = server
        .anonymous()
        .with_token(sms.body["api_key"].as_str().unwrap());
    let sms_path = format!(
        "/api/channels/{}/conversations",
        sms.body["id"].as_str().unwrap()
    );
    let opened = integration
        .post(
            &sms_path,
            json!({"external_id": "+4917", "contact": {"name": "Ada", "identifier": "+4917"}}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let sent = integration
        .post(
            format!("{sms_path}/+4917/messages"),
            json!({"body": "Hello", "external_message_id": "sms-1"}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let hook = admin
        .post(
            "/api/webhooks",
            json!({"url": "https://crm.example.test/tandem", "events": ["ticket.created"], "description": "CRM"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    server.stop();
    let fixture = fixtures().join(format!("schema-{SCHEMA_VERSION}"));
    std::fs::create_dir_all(&fixture).unwrap();
    std::fs::copy(Store::file_in(dir.path()), Store::file_in(&fixture)).unwrap();
}

/// Checks a server started on a fixture serves the data
/// [`write_the_schema_fixture`] wrote.
async fn serves_the_fixture_data(server: &TestServer, fixture: &str) {
    let admin = server.admin().await;
    let names = |list: &Value, key: &str| -> Vec<String> {
        let items = list
            .as_array()
            .unwrap_or_else(|| panic!("{fixture}: {list}"));
        items
            .iter()
            .map(|i| i[key].as_str().unwrap().to_owned())
            .collect()
    };
    let inboxes = admin.get("/api/inboxes").await.body;
    assert_eq!(names(&inboxes, "name"), ["Sales", "Support"], "{fixture}");
    let agents = admin.get("/api/agents").await.body;
    assert_eq!(
        names(&agents, "handle"),
        ["admin", "bianca", "hanna", "lena"]
    );
    let settings = admin.get("/api/settings").await.body;
    for (key, value) in fixture_settings().as_object().unwrap() {
        assert_eq!(&settings[key], value, "{fixture}: {key}");
    }
    let found = admin.get("/api/search?q=printer").await.body;
    let id = found["tickets"][0]["id"].as_str().unwrap().to_owned();
    let detail = admin.get(format!("/api/tickets/{id}")).await.body;
    assert_eq!(detail["subject"], "Printer on fire", "{fixture}");
    assert_eq!(detail["assignee"], agents[1]["id"], "Bianca");
    assert_eq!(detail["lock"]["agent"]["name"], "Bianca");
    assert_eq!(detail["lock"]["expires_at"], Value::Null);
    let messages = detail["messages"].as_array().unwrap();
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["customer", "note", "reply"], "{fixture}");
    assert_eq!(messages[1]["body"], "@hanna have a look");
    assert_eq!(messages[2]["state"], "scheduled");
    assert_eq!(messages[2]["send_at"], DUE);
    let history = admin.get(format!("/api/tickets/{id}/history")).await.body;
    let actions = names(&history, "action");
    for action in ["created", "assigned", "locked"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{fixture}: {actions:?}"
        );
    }
    let hanna = server.login("hanna", "pw").await;
    let notifications = hanna.get("/api/me/notifications").await.body;
    assert_eq!(
        notifications[0]["kind"], "mention",
        "{fixture}: {notifications}"
    );
    let channels = admin.get("/api/channels").await.body;
    let channel_names = names(&channels["channels"], "name");
    assert_eq!(channel_names[0], "Website chat", "{fixture}");
    // Schema 4 added e-mail channels: their account survives, passwords kept.
    if let Some(mail) = channels["channels"].as_array().unwrap().get(1) {
        assert_eq!(mail["kind"], "email", "{fixture}");
        assert_eq!(mail["imap"]["password_set"], true, "{fixture}");
        assert_eq!(mail["smtp"]["from_address"], "support@example.test");
    }
    // Schema 5 added API channels and webhooks: the channel's conversations
    // and its messages' ids survive, and so does the webhook.
    let api_channel = channels["channels"].as_array().unwrap().get(2);
    if let Some(sms) = api_channel {
        assert_eq!(sms["kind"], "api", "{fixture}");
        assert_eq!(sms["callback_url"], "https://sms.example.test/in");
        let path = format!("/api/channels/{}", sms["id"].as_str().unwrap());
        let rotated = admin.post(format!("{path}/rotate_key"), json!({})).await;
        let integration = server
            .anonymous()
            .with_token(rotated.body["api_key"].as_str().unwrap());
        let messages = format!("{path}/conversations/+4917/messages");
        let again = json!({"body": "Hello", "external_message_id": "sms-1"});
        let resent = integration.post(&messages, again).await;
        assert_eq!(resent.status, 200, "{fixture}: {}", resent.body);
        let next = json!({"body": "Still there?", "external_message_id": "sms-2"});
        let continued = integration.post(&messages, next).await;
        assert_eq!(continued.status, 201, "{fixture}: {}", continued.body);
        assert_eq!(continued.body["conversation"], resent.body["conversation"]);
        let hooks = admin.get("/api/webhooks").await.body;
        assert_eq!(
            names(&hooks["webhooks"], "description"),
            ["CRM"],
            "{fixture}"
        );
    }
    let inbox = inboxes[1]["id"].as_str().unwrap();
    let next = admin.create_ticket(inbox, "After the upgrade").await;
    let numbers_taken = if api_channel.is_some() { 3 } else { 2 };
    assert_eq!(
        next["number"],
        numbers_taken + 1,
        "{fixture}: numbers continue"
    );
}

#[actix_web::test]
async fn every_schema_fixture_starts_under_this_binary_and_serves_its_data() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("schema-"))
        .collect();
    names.sort();
    assert!(
        names.contains(&format!("schema-{SCHEMA_VERSION}")),
        "a fixture of today's schema: run write_the_schema_fixture ({names:?})"
    );
    for name in names {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixtures().join(&name).join("tandem.redb"),
            Store::file_in(dir.path()),
        )
        .unwrap();
        let server = TestServer::start_in(dir.path(), "").await.unwrap();
        serves_the_fixture_data(&server, &name).await;
        server.stop();
        let out = tandem(&["check", "--data-dir", path(dir.path())], &[]);
        let current = format!("schema: {SCHEMA_VERSION} (current)");
        assert!(
            out.ok().contains(&current),
            "{name} was upgraded: {}",
            out.stdout
        );
    }
}

/// Sets the schema version recorded in the database of `dir`.
pub fn record_schema(dir: &Path, version: u32) {
    let db = redb::Database::open(Store::file_in(dir)).unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table(META)
        .unwrap()
        .insert("schema_version", codec::encode(&version).as_slice())
        .unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_directory_of_a_newer_schema_is_refused_clearly_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixtures().join(format!("schema-{SCHEMA_VERSION}/tandem.redb"));
    std::fs::copy(fixture, Store::file_in(dir.path())).unwrap();
    let newer = SCHEMA_VERSION + 1;
    record_schema(dir.path(), newer);
    let data = path(dir.path());
    let message = format!(
        "the data directory was written by a newer Tandem (schema {newer}; this binary knows up to {SCHEMA_VERSION}); upgrade the binary"
    );
    let serve = tandem(&["serve", "--bind", "127.0.0.1:0", "--data-dir", data], &[]);
    serve.failed_with(&message);
    tandem(&["admin", "list-agents", "--data-dir", data], &[]).failed_with(&message);
    let check = tandem(&["check", "--data-dir", data], &[]);
    check.failed_with("the check found problems");
    assert!(
        check.stdout.contains("NEWER than this binary knows"),
        "{}",
        check.stdout
    );
    // Refusing changed nothing: the version is still the newer one.
    let db = redb::Database::open(Store::file_in(dir.path())).unwrap();
    let tx = db.begin_read().unwrap();
    let meta = tx.open_table(META).unwrap();
    let version = meta.get("schema_version").unwrap().unwrap();
    assert_eq!(codec::decode::<u32>(version.value()).unwrap(), newer);
}

/// A data directory as schema 1 left it, with `tickets` tickets: starting on
/// it runs every upgrade step and indexes every ticket, in one transaction.
async fn schema_1_directory(dir: &Path, tickets: usize) {
    use tandem::domain::message::Message;
    use tandem::domain::ticket::{Customer, Ticket};
    use tandem::domain::{Inbox, InboxId, TicketId, Timestamp};
    use tandem::store::writes;

    let metrics = Arc::new(tandem::metrics::Metrics::default());
    let store = Store::open(dir, 16, metrics).unwrap();
    store
        .write(move |tx| {
            let inbox = Inbox {
                id: InboxId::new(),
                name: "Support".into(),
                created_at: Timestamp::now(),
            };
            writes::put_inbox(tx, &inbox)?;
            for n in 0..tickets {
                let number = writes::allocate_ticket_number(tx)?;
                let customer = Customer {
                    name: format!("Customer {n}"),
                    contact: format!("c{n}@example.com"),
                };
                let subject = format!("Question {n} about zebra crossings");
                let ticket = Ticket::new(
                    TicketId::new(),
                    number,
                    inbox.id,
                    subject,
                    customer,
                    Timestamp::now(),
                );
                writes::put_ticket(tx, None, &ticket)?;
                let body = format!("Hello, question number {n} about the zebra crossing.");
                let message = Message::customer(ticket.id, body, Timestamp::now(), None);
                writes::put_message(tx, &message)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    store.shutdown();
    let db = redb::Database::open(Store::file_in(dir)).unwrap();
    let tx = db.begin_write().unwrap();
    tx.delete_table(SEARCH).unwrap();
    tx.open_table(META).unwrap().remove("search_index").unwrap();
    tx.commit().unwrap();
    drop(db);
    record_schema(dir, 1);
}

/// The schema version of the database in `dir`, and whether it is indexed.
fn upgrade_state(dir: &Path) -> (u32, bool) {
    let db = redb::Database::open(Store::file_in(dir)).unwrap();
    let tx = db.begin_read().unwrap();
    let meta = tx.open_table(META).unwrap();
    let version = meta.get("schema_version").unwrap().unwrap();
    let version = codec::decode::<u32>(version.value()).unwrap();
    (version, meta.get("search_index").unwrap().is_some())
}

#[actix_web::test]
async fn a_start_killed_in_the_middle_of_its_upgrade_leaves_a_directory_that_starts() {
    const TICKETS: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    schema_1_directory(&data, TICKETS).await;
    // An undisturbed start on a copy: how long the upgrade takes.
    let probe = dir.path().join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::copy(Store::file_in(&data), Store::file_in(&probe)).unwrap();
    let admin = [("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")];
    let serve = |dir: &Path| ["--bind", "127.0.0.1:0", "--data-dir", path(dir)].map(String::from);
    let started = Instant::now();
    let process = Process::start(&serve(&probe).each_ref().map(String::as_str), &admin);
    let full = started.elapsed();
    assert_eq!(process.api().get("/healthz").await.status, 200);
    assert!(process.terminate().success());
    assert_eq!(upgrade_state(&probe), (SCHEMA_VERSION, true));

    let mut interrupted = 0;
    for eighth in 1..=6 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("serve")
            .args(serve(&data))
            .env("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * eighth / 8);
        child.kill().unwrap();
        child.wait().unwrap();
        // All of the upgrade or none of it.
        match upgrade_state(&data) {
            (1, false) => interrupted += 1,
            (version, true) if version == SCHEMA_VERSION => {}
            state => panic!("half an upgrade after a kill at {eighth}/8: {state:?}"),
        }
    }
    eprintln!("a start took {full:?}; {interrupted} of 6 kills came before its upgrade committed");
    assert!(interrupted > 0, "no kill came before the upgrade committed");

    let process = Process::start(&serve(&data).each_ref().map(String::as_str), &admin);
    let api = process.api();
    let login = api
        .post("/api/login", json!({"login": "admin", "password": "pw"}))
        .await;
    let admin = api.with_token(login.body["token"].as_str().unwrap());
    let found = admin.get("/api/search?q=zebra&limit=1").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        found.body["tickets"].as_array().unwrap().len(),
        1,
        "indexed"
    );
    let inbox = admin.get("/api/inboxes").await.body[0]["id"].clone();
    let next = admin.create_ticket(inbox.as_str().unwrap(), "After").await;
    assert_eq!(next["number"], TICKETS as u64 + 1);
    assert!(process.terminate().success());
    assert_eq!(upgrade_state(&data), (SCHEMA_VERSION, true));
}
