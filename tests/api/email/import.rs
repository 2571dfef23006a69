//! How mail becomes tickets (docs/protocol.md §9.7 "How mail becomes
//! tickets", "What is guaranteed"): a mail is a ticket at once (IDLE) or at
//! the next poll, is marked or moved only once stored, and is imported once
//! across restarts, duplicates and an IMAP server that goes away.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn a_customer_mail_becomes_a_pending_unread_ticket_live() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let mut tab = m.tab(bianca).await;
    let mail = Compose::from(
        "ada",
        "=?UTF-8?Q?Parcel_n=C3=A9ver_came?=",
        "Hello,\nwhere is it?",
    )
    .cc("bob");
    m.receive(&mail.raw()).await;

    let frame = tab.recv_type("ticket").await;
    assert_eq!(frame["change"]["action"], "created");
    assert!(frame["change"]["by"].is_null());
    let ticket = &frame["ticket"];
    assert_eq!(ticket["subject"], "Parcel néver came");
    assert_eq!(ticket["status"], "pending");
    assert_eq!(ticket["unread"], true);
    assert_eq!(
        ticket["customer"],
        json!({"name": "Ada", "contact": address("ada")})
    );
    assert_eq!(ticket["channel"]["kind"], "email");
    assert_eq!(ticket["channel"]["id"], m.channel_id());
    assert_eq!(
        ticket["channel"]["participants"],
        json!([{"name": null, "address": address("bob")}])
    );

    let id = ticket["id"].as_str().unwrap();
    let messages = m.wait_messages(id, 1).await;
    assert_eq!(messages[0]["kind"], "customer");
    assert_eq!(messages[0]["body"], "Hello,\nwhere is it?");
    assert_eq!(messages[0]["email"]["message_id"], mail.message_id);
    assert_eq!(messages[0]["email"]["from"]["address"], address("ada"));
    assert!(messages[0]["delivery"].is_null());

    // Marked seen in the mailbox, after the commit.
    m.eventually(|| async {
        let stored = m.dovecot.messages("support", "INBOX").await;
        stored[0].has_flag("\\Seen").then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_channel_that_moves_mail_moves_it_once_imported() {
    let Some(m) = Mail::start_with(desk(), json!({"after": "move:Done"})).await else {
        return;
    };
    m.receive(&Compose::from("ada", "Move me", "x").raw()).await;
    m.wait_ticket("Move me").await;
    let done = m
        .dovecot
        .wait_messages("support", "Done", 1, MAIL_WAIT)
        .await;
    assert_eq!(header(&done[0].raw, "Subject").as_deref(), Some("Move me"));
    m.eventually(|| async {
        m.dovecot
            .messages("support", "INBOX")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn polling_imports_when_the_server_has_no_idle() {
    let Some(dovecot) = Dovecot::start_without_idle(USERS).await else {
        return;
    };
    let m = Mail::on(desk().start().await, dovecot, json!({"poll_s": 1})).await;
    let channel = m.wait_connected().await;
    assert_eq!(channel["status"]["idle"], false);
    m.receive(&Compose::from("ada", "Polled", "x").raw()).await;
    m.wait_ticket("Polled").await;
}

#[actix_rt::test]
async fn a_message_id_is_imported_once_even_when_the_mail_comes_twice() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let mail = Compose::from("ada", "Twice", "same mail");
    m.receive(&mail.raw()).await;
    let ticket = m.wait_ticket("Twice").await;
    m.receive(&mail.raw()).await;
    // A later mail proves the second copy was read (mail is read in order).
    m.receive(&Compose::from("bob", "After", "x").raw()).await;
    m.wait_ticket("After").await;
    let id = ticket["id"].as_str().unwrap();
    assert_eq!(m.detail(id).await["messages"].as_array().unwrap().len(), 1);
    assert_eq!(m.tickets().await.len(), 2);
    let labels = format!("channel=\"{}\",reason=\"duplicate\"", m.channel_id());
    assert_eq!(
        m.labelled_metric("tandem_mail_ignored_total", &labels)
            .await,
        1
    );
}

#[actix_rt::test]
async fn a_restart_imports_nothing_twice_and_catches_up() {
    let Some(dovecot) = Dovecot::start(USERS).await else {
        return;
    };
    let sink = SmtpSink::start(&dovecot).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), FAST_MAIL).await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let body = channel_body(&dovecot, &sink, &inbox, json!({}));
    assert_eq!(admin.post("/api/channels", body).await.status, 201);
    let first = Compose::from("ada", "Before the restart", "x");
    dovecot.append("support", "INBOX", &first.raw()).await;
    eventually(|| async { (tickets(&admin, &inbox).await.len() == 1).then_some(()) }).await;
    server.stop();

    // Mail that arrives while Tandem is down, and the old mail marked unseen
    // again by a person: the new one is imported, the old one not again.
    dovecot
        .append(
            "support",
            "INBOX",
            &Compose::from("bob", "While down", "x").raw(),
        )
        .await;
    let mut session = dovecot.login("support").await;
    session.select("INBOX").await.unwrap();
    let unseen = session
        .uid_store("1", "-FLAGS.SILENT (\\Seen)")
        .await
        .unwrap();
    futures_util::TryStreamExt::try_collect::<Vec<_>>(unseen)
        .await
        .unwrap();
    session.logout().await.ok();

    let server = TestServer::start_in(dir.path(), FAST_MAIL).await.unwrap();
    let admin = server.admin().await;
    let all = eventually(|| async {
        let all = tickets(&admin, &inbox).await;
        all.iter()
            .any(|t| t["subject"] == "While down")
            .then_some(all)
    })
    .await;
    assert_eq!(all.len(), 2, "{all:?}");
    let old = all
        .iter()
        .find(|t| t["subject"] == "Before the restart")
        .unwrap();
    let detail = admin
        .get(format!("/api/tickets/{}", old["id"].as_str().unwrap()))
        .await;
    assert_eq!(detail.body["messages"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn an_imap_server_that_goes_away_is_reconnected_and_nothing_is_lost() {
    let Some(mut m) = Mail::start().await else {
        return;
    };
    m.dovecot.stop().await;
    let path = format!("/api/channels/{}", m.channel_id());
    m.eventually(|| async {
        let status = m.admin.get(&path).await.body["status"].clone();
        (status["connected"] == false && status["last_error"].is_string()).then_some(())
    })
    .await;
    m.dovecot.restart().await;
    // Mail delivered while Tandem had no connection yet.
    m.receive(&Compose::from("ada", "Back again", "x").raw())
        .await;
    m.wait_ticket("Back again").await;
    let channel = m.wait_connected().await;
    assert!(
        channel["status"]["last_error"].is_string(),
        "the last error stays visible"
    );
}

#[actix_rt::test]
async fn a_recreated_folder_is_read_again_without_importing_anything_twice() {
    let Some(dovecot) = Dovecot::start(USERS).await else {
        return;
    };
    let first = Compose::from("ada", "Before the new folder", "x");
    dovecot.append("support", "Support", &first.raw()).await;
    for n in 1..=2 {
        let older = Compose::from("carol", &format!("Older {n}"), "x");
        dovecot.append("support", "Support", &older.raw()).await;
    }
    let m = Mail::on(desk().start().await, dovecot, json!({"folder": "Support"})).await;
    m.wait_ticket("Older 2").await;
    // The folder is deleted and made again (a new UIDVALIDITY, UIDs from 1
    // again: below the last one imported), with the first mail copied back
    // and a new one.
    let mut session = m.dovecot.login("support").await;
    session.delete("Support").await.unwrap();
    session.logout().await.ok();
    m.dovecot.append("support", "Support", &first.raw()).await;
    let second = Compose::from("bob", "After the new folder", "y");
    m.dovecot.append("support", "Support", &second.raw()).await;
    m.wait_ticket("After the new folder").await;
    let all = m.tickets().await;
    assert_eq!(all.len(), 4, "{all:?}");
    let labels = format!("channel=\"{}\",reason=\"duplicate\"", m.channel_id());
    assert_eq!(
        m.labelled_metric("tandem_mail_ignored_total", &labels)
            .await,
        1
    );
}
