//! Replies by mail (docs/protocol.md §9.7 "Replies and delivery"): the full
//! loop through real servers, threaded headers, live delivery states,
//! retries, permanent failures, and what never leaves.

use serde_json::json;

use super::*;

/// A ticket from Ada's mail; its id and the mail.
async fn ticket_from_ada(m: &Mail, subject: &str) -> (String, Compose) {
    let mail = Compose::from("ada", subject, "Hello, it broke.").cc("bob");
    m.receive(&mail.raw()).await;
    let ticket = m.wait_ticket(subject).await;
    (ticket["id"].as_str().unwrap().to_owned(), mail)
}

#[actix_rt::test]
async fn the_full_loop_mail_in_reply_out_answer_back_on_the_same_ticket() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let (ticket, first) = ticket_from_ada(&m, "Order 1234 is late").await;
    let number = m.detail(&ticket).await["number"].as_u64().unwrap();
    let mut viewer = m.viewer_of(bianca, &ticket).await;

    let reply = m.reply(bianca, &ticket, "Sorry! It ships today.").await;
    assert_eq!(reply["delivery"]["state"], "queued");
    assert_eq!(reply["delivery"]["attempts"], 0);
    let reply_id = reply["email"]["message_id"].as_str().unwrap().to_owned();
    assert!(reply_id.ends_with("@example.test"), "{reply_id}");
    let frame = viewer.recv_type("delivery").await;
    assert_eq!(frame["message"], reply["id"]);
    assert_eq!(frame["delivery"]["state"], "sent");
    assert_eq!(frame["delivery"]["attempts"], 1);

    // Ada's mailbox has it, threaded; Bob (Cc) gets a copy.
    let received = m.inbox_of("ada", 1).await;
    let raw = &received[0].raw;
    assert_eq!(
        header(raw, "Subject").unwrap(),
        format!("Re: Order 1234 is late [#{number}]")
    );
    assert_eq!(bare(&header(raw, "Message-ID").unwrap()), reply_id);
    assert_eq!(bare(&header(raw, "In-Reply-To").unwrap()), first.message_id);
    assert!(
        header(raw, "References")
            .unwrap()
            .contains(&first.message_id)
    );
    assert!(header(raw, "From").unwrap().contains(&address("support")));
    assert!(header(raw, "Cc").unwrap().contains(&address("bob")));
    assert!(String::from_utf8_lossy(raw).contains("It ships today."));
    m.inbox_of("bob", 1).await;

    // Ada answers from her mail client: the same ticket.
    let answer = Compose::from(
        "ada",
        &format!("Re: Order 1234 is late [#{number}]"),
        "Thanks!",
    )
    .answering(&reply_id);
    m.receive(&answer.raw()).await;
    let messages = m.wait_messages(&ticket, 3).await;
    assert_eq!(messages[2]["body"], "Thanks!");
    assert_eq!(m.tickets().await.len(), 1);
}

#[actix_rt::test]
async fn a_transient_refusal_is_retried_and_a_permanent_one_fails_visibly() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let (ticket, _) = ticket_from_ada(&m, "Retry me").await;
    let mut viewer = m.viewer_of(bianca, &ticket).await;

    m.sink.fail_next(1, 451, "4.3.0 Try again later");
    let reply = m.reply(bianca, &ticket, "First try").await;
    let id = reply["id"].as_str().unwrap();
    let retrying = viewer.recv_type("delivery").await;
    assert_eq!(retrying["delivery"]["state"], "queued");
    assert_eq!(retrying["delivery"]["attempts"], 1);
    assert!(
        retrying["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("451"),
        "{retrying}"
    );
    assert!(retrying["delivery"]["next_attempt_at"].is_string());
    let sent = viewer.recv_type("delivery").await;
    assert_eq!(sent["delivery"]["state"], "sent");
    assert_eq!(sent["delivery"]["attempts"], 2);
    m.wait_delivery(&ticket, id, "sent").await;

    m.sink.fail_next(1, 550, "5.1.1 No such user");
    let doomed = m.reply(bianca, &ticket, "Never arrives").await;
    let failed = viewer.recv_type("delivery").await;
    assert_eq!(failed["message"], doomed["id"]);
    assert_eq!(failed["delivery"]["state"], "failed");
    assert_eq!(failed["delivery"]["attempts"], 1);
    assert!(
        failed["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("550"),
        "{failed}"
    );
    assert_eq!(m.server.metric("tandem_outbox_failed_total").await, 1);
    assert_eq!(m.server.metric("tandem_outbox_retries_total").await, 1);
}

#[actix_rt::test]
async fn a_reply_fails_after_the_last_attempt() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let (ticket, _) = ticket_from_ada(&m, "Always busy").await;
    m.sink.fail_next(3, 421, "4.7.0 Busy");
    let reply = m.reply(bianca, &ticket, "Hello?").await;
    let failed = m
        .wait_delivery(&ticket, reply["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(failed["delivery"]["attempts"], 3, "max_attempts = 3");
    assert!(m.dovecot.messages("ada", "INBOX").await.is_empty());
}

#[actix_rt::test]
async fn notes_and_unsent_scheduled_replies_never_leave_and_signatures_do() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let (ticket, _) = ticket_from_ada(&m, "Quiet please").await;
    let note = bianca
        .post(
            format!("/api/tickets/{ticket}/messages"),
            json!({"kind": "note", "body": "internal only"}),
        )
        .await;
    assert_eq!(note.status, 200);
    assert!(note.body["delivery"].is_null() && note.body["email"].is_null());
    let later = in_ms(60_000);
    let scheduled = bianca
        .post(
            format!("/api/tickets/{ticket}/messages"),
            json!({"kind": "reply", "body": "tomorrow", "send_at": later}),
        )
        .await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    assert!(scheduled.body["delivery"].is_null());

    m.admin
        .patch("/api/settings", json!({"sign_replies": true}))
        .await;
    let soon = in_ms(300);
    let due = bianca
        .post(
            format!("/api/tickets/{ticket}/messages"),
            json!({"kind": "reply", "body": "Signed and scheduled", "send_at": soon}),
        )
        .await;
    assert_eq!(due.status, 200, "{}", due.body);
    m.wait_delivery(&ticket, due.body["id"].as_str().unwrap(), "sent")
        .await;
    let accepted = m.sink.wait_accepted(1, MAIL_WAIT).await;
    assert_eq!(accepted.len(), 1, "only the due reply went out");
    let text = String::from_utf8_lossy(&accepted[0].raw).replace("\r\n", "\n");
    assert!(
        text.contains("Signed and scheduled\n\n-- \nBianca"),
        "{text}"
    );
    assert!(!text.contains("internal only"));
}

#[actix_rt::test]
async fn each_tickets_replies_leave_in_order_while_tickets_go_out_together() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    let mut posted: Vec<(String, Vec<String>)> = Vec::new();
    for user in ["ada", "bob", "carol"] {
        let subject = format!("Order for {user}");
        m.receive(&Compose::from(user, &subject, "x").raw()).await;
        let ticket = m.wait_ticket(&subject).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        posted.push((ticket, Vec::new()));
    }
    for round in 0..4 {
        for (ticket, ids) in &mut posted {
            let reply = m.reply(bianca, ticket, &format!("Reply {round}")).await;
            ids.push(reply["email"]["message_id"].as_str().unwrap().to_owned());
        }
    }
    let accepted = m.sink.wait_accepted(12, MAIL_WAIT).await;
    let order: Vec<String> = accepted
        .iter()
        .map(|a| bare(&header(&a.raw, "Message-ID").unwrap()))
        .collect();
    for (_, ids) in &posted {
        let sent: Vec<&String> = order.iter().filter(|id| ids.contains(id)).collect();
        assert_eq!(
            sent,
            ids.iter().collect::<Vec<_>>(),
            "one ticket's replies in order"
        );
    }
}
