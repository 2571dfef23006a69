//! Backups and restores (issue #20): `GET /api/admin/backup` under write
//! load, `tandem backup` and `tandem restore` round trips onto a fresh
//! server, what a restore refuses, and scheduled backups.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::rt::time::sleep;
use serde_json::{Value, json};

use crate::process::{Process, tandem, tandem_async};
use crate::support::*;
use tandem::store::tables::SCHEMA_VERSION;

/// The backup file of `server`, downloaded over HTTP by `admin`.
async fn download(server: &TestServer, admin: &Api) -> Vec<u8> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let mut resp = client
        .get(server.url("/api/admin/backup"))
        .bearer_auth(admin.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let length: usize = resp
        .headers()
        .get("content-length")
        .expect("a known length")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.body().limit(1 << 30).await.unwrap().to_vec();
    assert_eq!(body.len(), length, "the announced length");
    body
}

/// Restores `backup` (written to a file in `dir`) with `tandem restore` into
/// a new data directory in `dir`.
fn restore(backup: &[u8], dir: &Path) -> PathBuf {
    let file = dir.join("tandem.backup");
    std::fs::write(&file, backup).unwrap();
    let data = dir.join("restored");
    tandem(
        &["restore", "--from", path(&file), "--data-dir", path(&data)],
        &[],
    )
    .ok();
    data
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every ticket of `inbox` (view `all`), paging to the end.
async fn all_tickets(api: &Api, inbox: &str) -> Vec<Value> {
    let mut tickets = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = api
            .get(format!("/api/inboxes/{inbox}/tickets?limit=200{cursor}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        tickets.extend(page.body["tickets"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return tickets,
        }
    }
}

/// The bodies of a ticket's notes, oldest first.
fn notes(detail: &Value) -> Vec<String> {
    detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "note")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

/// One acknowledged write of the load: a ticket (`note: None`) or a note on it.
struct Acked {
    at: Instant,
    ticket: String,
    note: Option<String>,
}

#[actix_web::test]
async fn a_backup_under_write_load_holds_every_write_acknowledged_before_it_and_nothing_half_done()
{
    const WRITERS: usize = 3;
    const NOTES: usize = 3;
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let acked: Rc<RefCell<Vec<Acked>>> = Rc::default();
    let stop = Rc::new(Cell::new(false));
    // Each writer creates a ticket, then adds its notes one by one, and again.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (admin, inbox) = (admin.clone(), inbox.clone());
            let (acked, stop) = (acked.clone(), stop.clone());
            actix_web::rt::spawn(async move {
                let mut n = 0;
                while !stop.get() {
                    let created = admin.create_ticket(&inbox, &format!("w{w} t{n}")).await;
                    let ticket = created["id"].as_str().unwrap().to_owned();
                    let ack = |note| Acked {
                        at: Instant::now(),
                        ticket: ticket.clone(),
                        note,
                    };
                    acked.borrow_mut().push(ack(None));
                    for k in 0..NOTES {
                        let body = format!("w{w} t{n} note {k}");
                        let path = format!("/api/tickets/{ticket}/messages");
                        let resp = admin
                            .post(path, json!({"kind": "note", "body": body}))
                            .await;
                        assert_eq!(resp.status, 200, "{}", resp.body);
                        acked.borrow_mut().push(ack(Some(body)));
                    }
                    n += 1;
                }
            })
        })
        .collect();
    sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    let before = acked.borrow().len();
    let backup = download(&server, &admin).await;
    // The writers kept writing while the snapshot was taken and sent.
    sleep(Duration::from_millis(100)).await;
    stop.set(true);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(
        acked.borrow().len() > before,
        "writes went on during the backup"
    );

    let dir = tempfile::tempdir().unwrap();
    let data = restore(&backup, dir.path());
    let restored = TestServer::start_in(&data, "").await.unwrap();
    let admin = admin.on(&restored);
    let tickets = all_tickets(&admin, &inbox).await;
    let mut numbers: Vec<u64> = tickets
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=tickets.len() as u64).collect::<Vec<_>>(),
        "numbers without gaps"
    );
    let mut details = std::collections::HashMap::new();
    for ticket in &tickets {
        let id = ticket["id"].as_str().unwrap();
        let detail = admin.get(format!("/api/tickets/{id}")).await.body;
        // Whole: its customer message, and its notes in order, none skipped.
        let subject = detail["subject"].as_str().unwrap().to_owned();
        assert_eq!(detail["messages"][0]["kind"], "customer");
        assert_eq!(
            detail["messages"][0]["body"],
            format!("Help with {subject}")
        );
        let expected: Vec<String> = (0..notes(&detail).len())
            .map(|k| format!("{subject} note {k}"))
            .collect();
        assert_eq!(notes(&detail), expected, "{subject}");
        details.insert(id.to_owned(), detail);
    }
    let acked = acked.take();
    let required: Vec<&Acked> = acked.iter().filter(|a| a.at < started).collect();
    assert!(
        required.len() >= WRITERS,
        "{} writes before",
        required.len()
    );
    for write in required {
        let detail = details
            .get(&write.ticket)
            .unwrap_or_else(|| panic!("ticket {} acknowledged before the backup", write.ticket));
        if let Some(note) = &write.note {
            assert!(notes(detail).contains(note), "{note} acknowledged before");
        }
    }
    // The restored copy is a working server: it takes new tickets after the last.
    let next = admin.create_ticket(&inbox, "After the restore").await;
    assert_eq!(next["number"], tickets.len() as u64 + 1);
}

/// The answers to `GET` of each of `paths`, each asserted `200`.
async fn answers(api: &Api, paths: &[String]) -> Vec<Value> {
    let mut answers = Vec::new();
    for path in paths {
        let resp = api.get(path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        answers.push(resp.body);
    }
    answers
}

#[actix_web::test]
async fn tandem_backup_and_restore_bring_back_everything_on_a_fresh_server() {
    let d = Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .settings(
            json!({"sign_replies": false, "hidden_release_s": 12, "ticket_sharing_enabled": true}),
        )
        .ticket("Support", "Printer on fire")
        .ticket("Support", "Invoice")
        .start()
        .await;
    let (bianca, hanna) = (d.agent("bianca"), d.agent("hanna"));
    let note = json!({"kind": "note", "body": "@hanna have a look"});
    assert_eq!(bianca.post(d.path("/messages"), note).await.status, 200);
    let assign = json!({"agent": bianca.id});
    assert_eq!(d.admin.post(d.path("/assign"), assign).await.status, 200);
    let lock = bianca.put(d.path("/lock")).await;
    assert_eq!(lock.status, 200, "{}", lock.body);
    let second = format!("/api/tickets/{}", d.tickets[1]);
    let later = json!({"kind": "reply", "body": "Following up", "send_at": in_ms(3_600_000)});
    let scheduled = hanna.post(format!("{second}/messages"), later).await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    // Hanna's second login is revoked; the first one stays.
    let revoked = d.server.login("hanna", "pw").await;
    assert_eq!(revoked.post("/api/logout", json!(null)).await.status, 204);

    let shared = [
        d.path(""),
        d.path("/history"),
        second.clone(),
        "/api/settings".to_owned(),
        "/api/me/notifications".to_owned(),
    ];
    let admins = [&shared[..], &["/api/agents".into(), "/api/inboxes".into()]].concat();
    let original = answers(&d.admin, &admins).await;
    let hanna_before = answers(hanna, &shared).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nightly.backup");
    let admin = format!("admin:{ADMIN_PASSWORD}");
    let url = d.server.url("");
    let out = tandem_async(
        &["backup", "--url", &url, "--to", path(&file)],
        &[("TANDEM_ADMIN", &admin)],
    )
    .await;
    let stdout = out.ok();
    assert!(stdout.contains("wrote "), "{stdout}");
    let header = format!("tandem-backup 1 schema={SCHEMA_VERSION}");
    assert!(stdout.contains(&header), "{stdout}");
    assert!(
        !dir.path().join("nightly.backup.partial").exists(),
        "renamed once verified"
    );
    let data = dir.path().join("restored");
    let out = tandem(
        &["restore", "--from", path(&file), "--data-dir", path(&data)],
        &[],
    );
    let stdout = out.ok();
    assert!(stdout.contains("integrity: ok"), "{stdout}");
    assert!(stdout.contains("tickets: 2"), "{stdout}");

    let restored = TestServer::start_in(&data, "").await.unwrap();
    assert_eq!(answers(&d.admin.on(&restored), &admins).await, original);
    assert_eq!(answers(&hanna.on(&restored), &shared).await, hanna_before);
    let detail = &original[0];
    assert_eq!(detail["lock"]["agent"]["name"], "Bianca");
    assert!(detail["lock"]["expires_at"].is_string(), "{detail}");
    assert_eq!(original[2]["messages"][1]["state"], "scheduled");
    assert_eq!(
        revoked.on(&restored).get("/api/me").await.status,
        401,
        "a revoked token stays revoked"
    );
    assert_eq!(bianca.on(&restored).get("/api/me").await.status, 200);
    // The restored lock is held: Hanna cannot reply over it.
    let over = hanna
        .on(&restored)
        .post(d.path("/messages"), json!({"kind": "reply", "body": "x"}))
        .await;
    assert_eq!(over.code(), "ticket_locked");
}

#[actix_web::test]
async fn a_restore_refuses_a_damaged_backup_and_a_directory_in_use_or_not_empty() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.create_inbox("Support").await;
    let backup = download(&server, &admin).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let restore_from = |name: &str, bytes: &[u8], force: bool| {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let mut args = vec![
            "restore",
            "--from",
            path(&file),
            "--data-dir",
            path(&target),
        ];
        if force {
            args.push("--force");
        }
        tandem(&args, &[])
    };

    let mut flipped = backup.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    restore_from("flipped.backup", &flipped, false).failed_with("SHA-256");
    let cut = &backup[..backup.len() - 500];
    restore_from("cut.backup", cut, false).failed_with("incomplete or damaged");
    restore_from("other.backup", b"not a backup\n", false).failed_with("not a Tandem backup");
    assert!(!target.exists(), "nothing written for a refused backup");

    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "mine").unwrap();
    restore_from("good.backup", &backup, false).failed_with("pass --force");
    assert!(!target.join("tandem.redb").exists());
    let forced = restore_from("good.backup", &backup, true);
    forced.ok();
    assert_eq!(
        std::fs::read_to_string(target.join("notes.txt")).unwrap(),
        "mine",
        "--force replaces the database only"
    );
    let names: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
    assert_eq!(names.len(), 2, "no leftovers: {names:?}");

    // Into the directory of a running server: refused even with --force.
    let file = dir.path().join("good.backup");
    let args = [
        "restore",
        "--from",
        path(&file),
        "--data-dir",
        path(&server.dir),
    ];
    tandem(&args, &[]).failed_with("pass --force");
    tandem(&[&args[..], &["--force"]].concat(), &[]).failed_with("in use by a running Tandem");
    assert_eq!(
        admin.get("/api/me").await.status,
        200,
        "the server is unharmed"
    );
}

#[actix_web::test]
async fn a_backup_of_a_newer_schema_is_not_restored() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let backup = download(&server, &admin).await;
    let dir = tempfile::tempdir().unwrap();
    let data = restore(&backup, dir.path());
    // The same database, as a newer Tandem would have written it.
    crate::schema::record_schema(&data, 99);
    let file = tandem::store::Store::file_in(&data);
    let header = tandem::backup::format::header(99, tandem::domain::Timestamp::now());
    let database = std::fs::read(&file).unwrap();
    let mut newer = Vec::new();
    tandem::backup::format::write(&header, &database[..], database.len() as u64, &mut newer)
        .unwrap();
    let newer_file = dir.path().join("newer.backup");
    std::fs::write(&newer_file, newer).unwrap();
    let target = dir.path().join("target");
    tandem(
        &[
            "restore",
            "--from",
            path(&newer_file),
            "--data-dir",
            path(&target),
        ],
        &[],
    )
    .failed_with(&format!(
        "written by a newer Tandem (schema 99; this binary knows up to {SCHEMA_VERSION})"
    ));
    let left: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[actix_web::test]
async fn backups_are_for_admins() {
    let d = Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .start()
        .await;
    let resp = d.agent("bianca").get("/api/admin/backup").await;
    assert_eq!((resp.status, resp.code()), (403, "forbidden"));
    let resp = d.server.anonymous().get("/api/admin/backup").await;
    assert_eq!(resp.status, 401);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.backup");
    let url = d.server.url("");
    let out = tandem_async(
        &["backup", "--url", &url, "--to", path(&file)],
        &[("TANDEM_ADMIN", "bianca:pw")],
    )
    .await;
    out.failed_with("admins only");
    let out = tandem_async(
        &["backup", "--url", &url, "--to", path(&file)],
        &[("TANDEM_ADMIN", "admin:wrong")],
    )
    .await;
    out.failed_with("signing in failed: the server answered 401");
    let https = url.replace("http://", "https://");
    let out = tandem(&["backup", "--url", &https, "--to", path(&file)], &[]);
    out.failed_with("https:// is not supported");
    assert!(!file.exists());
}

/// The names of the backup files in `dir`, sorted.
fn backup_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn scheduled_backups_keep_the_newest_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    std::fs::write(backups.join("README"), "not a backup").unwrap();
    let config = format!(
        "[backup]\ndir = {:?}\nevery_s = 0.1\nkeep = 2\n",
        path(&backups)
    );
    let server = TestServer::start_with(&config).await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    admin.create_ticket(&inbox, "Before the backups").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.metric("tandem_backups_total").await < 4 {
        assert!(Instant::now() < deadline, "four backups in time");
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.metric("tandem_backup_failures_total").await, 0);
    let last = server.metric("tandem_last_backup_timestamp_seconds").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(last) < 60, "{last} vs {now}");
    server.stop();

    let files = backup_files(&backups);
    assert_eq!(files.len(), 3, "the newest 2, and the README: {files:?}");
    assert_eq!(files[0], "README");
    let newest = backups.join(&files[2]);
    let data = dir.path().join("restored");
    tandem(
        &[
            "restore",
            "--from",
            path(&newest),
            "--data-dir",
            path(&data),
        ],
        &[],
    )
    .ok();
    let restored = TestServer::start_in(&data, "").await.unwrap();
    let tickets = all_tickets(&admin.on(&restored), &inbox).await;
    assert_eq!(tickets[0]["subject"], "Before the backups");
}

#[actix_web::test]
async fn a_failed_scheduled_backup_is_counted_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    // A directory under a regular file cannot be created.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let config = dir.path().join("tandem.toml");
    let text = format!(
        "[backup]\ndir = {:?}\nevery_s = 0.1\n",
        path(&blocker.join("backups"))
    );
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let mut process = Process::start(
        &[
            "--config",
            path(&config),
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            path(&data),
        ],
        &[("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")],
    );
    let line = process.wait_for("scheduled backup failed");
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("backups"), "names the directory: {line}");
    let api = process.api();
    assert!(api.metric("tandem_backup_failures_total").await >= 1);
    assert_eq!(api.metric("tandem_backups_total").await, 0);
    assert_eq!(api.metric("tandem_last_backup_timestamp_seconds").await, 0);
    assert!(process.terminate().success());
}
