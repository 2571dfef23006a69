//! E-mail channels (docs/protocol.md §9.7 "Creating an e-mail channel", "The
//! e-mail channel object"): write-only passwords, validation, `/check` in
//! plain words, and the import's status in the channel and `/metrics`.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn a_channel_shows_its_account_and_status_but_never_a_password() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let text = m.channel.to_string();
    assert!(!text.contains("\"password\""), "{text}");
    assert_eq!(m.channel["kind"], "email");
    assert_eq!(m.channel["imap"]["password_set"], true);
    assert_eq!(m.channel["imap"]["folder"], "INBOX");
    assert_eq!(m.channel["imap"]["after"], "seen");
    assert_eq!(m.channel["smtp"]["from_address"], address("support"));
    assert!(m.channel.get("secret").is_none() && m.channel.get("key").is_none());

    let path = format!("/api/channels/{}", m.channel_id());
    let channel = m
        .eventually(|| async {
            let channel = m.admin.get(&path).await.body;
            channel["status"]["last_fetch_at"]
                .is_string()
                .then_some(channel)
        })
        .await;
    assert_eq!(channel["status"]["connected"], true);
    assert_eq!(channel["status"]["idle"], true);
    let listed = m.admin.get("/api/channels").await.body;
    assert!(!listed.to_string().contains("\"password\""));
    let labels = format!("channel=\"{}\"", m.channel_id());
    assert_eq!(m.labelled_metric("tandem_mail_connected", &labels).await, 1);

    // Agents see no channel at all.
    let bianca = m.agent("bianca");
    assert_eq!(bianca.get(&path).await.status, 403);
}

#[actix_rt::test]
async fn bad_settings_are_refused_and_change_nothing() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let good = channel_body(&m.dovecot, &m.sink, m.inbox("Support"), json!({}));
    let cases = [
        ("imap", "password", json!(null)),
        ("imap", "tls", json!("sometimes")),
        ("imap", "after", json!("delete")),
        ("imap", "poll_s", json!(0)),
        ("imap", "host", json!("two words")),
        ("smtp", "from_address", json!("not an address")),
        ("imap", "colour", json!("blue")),
    ];
    for (half, field, value) in cases {
        let mut body = good.clone();
        if value.is_null() {
            body[half].as_object_mut().unwrap().remove(field);
        } else {
            body[half][field] = value.clone();
        }
        let resp = m.admin.post("/api/channels", body).await;
        assert_eq!(resp.status, 400, "{half}.{field} = {value}: {}", resp.body);
    }
    let mut chat_with_mail = good.clone();
    chat_with_mail["kind"] = json!("chat");
    assert_eq!(
        m.admin.post("/api/channels", chat_with_mail).await.status,
        400
    );
    let channels = m.admin.get("/api/channels").await.body;
    assert_eq!(channels["channels"].as_array().unwrap().len(), 1);

    let path = format!("/api/channels/{}", m.channel_id());
    let resp = m.admin.patch(&path, json!({"imap": {"port": 0}})).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(
        m.admin.get(&path).await.body["imap"]["port"],
        m.dovecot.imap_port()
    );
}

#[actix_rt::test]
async fn a_change_without_a_password_keeps_the_stored_one() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let path = format!("/api/channels/{}", m.channel_id());
    let resp = m
        .admin
        .patch(
            &path,
            json!({"imap": {"poll_s": 2}, "smtp": {"from_name": "Help"}}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["imap"]["poll_s"], 2);
    assert_eq!(resp.body["smtp"]["from_name"], "Help");
    // The fetcher restarted with the new settings and still logs in.
    m.wait_connected().await;
    m.receive(&Compose::from("ada", "Still reading", "hello").raw())
        .await;
    m.wait_ticket("Still reading").await;
    let check = m.admin.post(format!("{path}/check"), json!({})).await;
    assert_eq!(check.body["imap"]["ok"], true, "{}", check.body);
}

#[actix_rt::test]
async fn check_says_which_step_failed() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let check = |body: serde_json::Value| {
        let m = &m;
        async move {
            let resp = m.admin.post("/api/channels", body).await;
            assert_eq!(resp.status, 201, "{}", resp.body);
            let id = resp.body["id"].as_str().unwrap().to_owned();
            let report = m
                .admin
                .post(format!("/api/channels/{id}/check"), json!({}))
                .await;
            assert_eq!(report.status, 200, "{}", report.body);
            report.body
        }
    };
    let inbox = m.inbox("Support");
    let ok = check(channel_body(&m.dovecot, &m.sink, inbox, json!({}))).await;
    assert_eq!(
        ok["imap"],
        json!({"ok": true, "stage": null, "error": null})
    );
    assert_eq!(ok["smtp"]["ok"], true, "{ok}");

    let login = check(channel_body(
        &m.dovecot,
        &m.sink,
        inbox,
        json!({"password": "wrong"}),
    ))
    .await;
    assert_eq!(login["imap"]["stage"], "login", "{login}");
    assert!(
        login["imap"]["error"]
            .as_str()
            .unwrap()
            .contains("refused the login")
    );

    let folder = check(channel_body(
        &m.dovecot,
        &m.sink,
        inbox,
        json!({"folder": "Nope"}),
    ))
    .await;
    assert_eq!(folder["imap"]["stage"], "folder", "{folder}");

    let closed = free_port();
    let connect = check(channel_body(
        &m.dovecot,
        &m.sink,
        inbox,
        json!({"port": closed}),
    ))
    .await;
    assert_eq!(connect["imap"]["stage"], "connect", "{connect}");

    let dns = check(channel_body(
        &m.dovecot,
        &m.sink,
        inbox,
        json!({"host": "no-such-host.invalid"}),
    ))
    .await;
    assert_eq!(dns["imap"]["stage"], "dns", "{dns}");

    let mut smtp_down = channel_body(&m.dovecot, &m.sink, inbox, json!({}));
    smtp_down["smtp"]["port"] = json!(closed);
    let smtp = check(smtp_down).await;
    assert_eq!(smtp["smtp"]["stage"], "connect", "{smtp}");

    // A failing channel says so in its status, in plain words.
    let bad = m
        .admin
        .post(
            "/api/channels",
            channel_body(&m.dovecot, &m.sink, inbox, json!({"password": "wrong"})),
        )
        .await;
    let path = format!("/api/channels/{}", bad.body["id"].as_str().unwrap());
    let status = m
        .eventually(|| async {
            let status = m.admin.get(&path).await.body["status"].clone();
            status["last_error"].is_string().then_some(status)
        })
        .await;
    assert_eq!(status["connected"], false);
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("refused the login"),
        "{status}"
    );
}
