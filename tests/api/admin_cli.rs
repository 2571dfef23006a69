//! The offline commands (issue #20): `tandem admin reset-password`,
//! `create-admin`, `list-agents` and `tandem check` on a data directory no
//! server holds, and their clear refusal of one a server holds.

use serde_json::json;

use crate::process::tandem;
use crate::support::*;
use tandem::store::tables::SCHEMA_VERSION;

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[actix_web::test]
async fn every_offline_command_refuses_a_directory_a_server_holds() {
    let server = TestServer::start().await;
    let data = path(&server.dir);
    for args in [
        &["admin", "list-agents", "--data-dir", data][..],
        &["admin", "reset-password", "admin", "--data-dir", data],
        &["admin", "create-admin", "boss", "--data-dir", data],
    ] {
        tandem(args, &[]).failed_with("already in use by another Tandem process");
    }
    tandem(&["check", "--data-dir", data], &[]).failed_with("in use by another Tandem process");
    let admin = server.admin().await;
    let agents = admin.get("/api/agents").await.body;
    assert_eq!(agents.as_array().unwrap().len(), 1, "nothing changed");
}

#[actix_web::test]
async fn offline_commands_repair_accounts_and_check_a_free_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    admin.create_ticket(&inbox, "Printer on fire").await;
    server.stop();
    let data = path(dir.path());

    let out = tandem(
        &["admin", "reset-password", "bianca", "--data-dir", data],
        &[("TANDEM_PASSWORD", "new-secret")],
    );
    let stdout = out.ok();
    assert!(stdout.contains("set from TANDEM_PASSWORD"), "{stdout}");
    assert!(
        !stdout.contains("new-secret"),
        "a given password is never printed"
    );
    assert!(
        stdout.contains("Every token of `bianca` was revoked"),
        "{stdout}"
    );

    let out = tandem(
        &["admin", "reset-password", "admin", "--data-dir", data],
        &[],
    );
    let admin_password = printed_password(out.ok(), "admin");

    // The data directory can also come from TANDEM_DATA_DIR, as for `serve`.
    let out = tandem(
        &["admin", "create-admin", "boss", "--name", "The Boss"],
        &[("TANDEM_DATA_DIR", data)],
    );
    let stdout = out.ok();
    assert!(
        stdout.contains("Created admin `boss` <boss@example.com>"),
        "{stdout}"
    );
    let boss_password = printed_password(stdout, "boss");
    tandem(
        &["admin", "create-admin", "bianca", "--data-dir", data],
        &[],
    )
    .failed_with("the handle bianca is taken");
    tandem(
        &["admin", "reset-password", "nobody", "--data-dir", data],
        &[],
    )
    .failed_with("there is no agent with the handle `nobody`");

    let out = tandem(&["admin", "list-agents", "--data-dir", data], &[]);
    let lines: Vec<Vec<&str>> = out
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["HANDLE", "NAME", "E-MAIL", "ROLE", "STATUS", "INBOXES"]
    );
    assert_eq!(
        lines[1],
        ["admin", "Admin", "admin@example.com", "admin", "active"]
    );
    assert_eq!(
        lines[2],
        [
            "bianca",
            "Bianca",
            "bianca@example.com",
            "agent",
            "active",
            "Support"
        ]
    );
    assert_eq!(
        lines[3],
        ["boss", "The", "Boss", "boss@example.com", "admin", "active"]
    );

    let out = tandem(&["check", "--data-dir", data], &[]);
    let stdout = out.ok();
    let schema = format!("schema: {SCHEMA_VERSION} (current)");
    for line in [
        "integrity: ok",
        schema.as_str(),
        "agents: 3",
        "inboxes: 1",
        "tickets: 1",
        "messages: 1",
        "channels: 0",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in {stdout}");
    }

    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    assert_eq!(
        bianca.on(&server).get("/api/me").await.status,
        401,
        "revoked"
    );
    server.login("bianca", "new-secret").await;
    server.login("admin", &admin_password).await;
    let boss = server.login("boss", &boss_password).await;
    assert_eq!(boss.get("/api/me").await.body["role"], "admin");
    let old = server
        .anonymous()
        .post(
            "/api/login",
            json!({"login": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(old.status, 401, "the old password is gone");
}

/// The password a command printed for `handle`.
fn printed_password(stdout: &str, handle: &str) -> String {
    let prefix = format!("Password of `{handle}`: ");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"));
    assert_eq!(line.len(), 20);
    line.to_owned()
}

#[test]
fn offline_commands_never_create_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("typo");
    for args in [
        &["admin", "list-agents", "--data-dir", path(&data)][..],
        &["admin", "create-admin", "boss", "--data-dir", path(&data)],
    ] {
        tandem(args, &[]).failed_with("there is no Tandem database in");
    }
    tandem(&["check", "--data-dir", path(&data)], &[]).failed_with("there is no database at");
    assert!(!data.exists());
    let bad = tandem(
        &["check", "--config", path(&dir.path().join("missing.toml"))],
        &[],
    );
    assert_eq!(bad.code, Some(2), "a configuration error: {}", bad.stderr);
}
