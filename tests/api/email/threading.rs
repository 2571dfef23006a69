//! Threading (docs/protocol.md §9.7 "How mail becomes tickets", step 4):
//! Message-IDs first, then a `[#N]` token only from the ticket's customer or
//! participants, else a new ticket; Cc replies thread; closed tickets do not
//! take mail.

use serde_json::json;

use super::*;

/// A ticket from `user`'s mail with `cc`; its id, number and mail.
async fn ticket(m: &Mail, user: &str, cc: &[&str], subject: &str) -> (String, u64, Compose) {
    let mut mail = Compose::from(user, subject, "first");
    for person in cc {
        mail = mail.cc(person);
    }
    m.receive(&mail.raw()).await;
    let t = m.wait_ticket(subject).await;
    (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_u64().unwrap(),
        mail,
    )
}

#[actix_rt::test]
async fn references_thread_whoever_writes_and_cc_people_join_the_participants() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let (id, _, first) = ticket(&m, "ada", &["bob"], "Shared problem").await;
    // Bob (in Cc) answers Ada's mail with his own client; only References
    // names the thread.
    let mut bobs = Compose::from("bob", "Re: Shared problem", "me too").cc("carol");
    bobs.references.push(first.message_id.clone());
    m.receive(&bobs.raw()).await;
    let messages = m.wait_messages(&id, 2).await;
    assert_eq!(messages[1]["email"]["from"]["address"], address("bob"));
    let participants = m.detail(&id).await["channel"]["participants"].clone();
    assert_eq!(
        participants,
        json!([{"name": null, "address": address("bob")}, {"name": null, "address": address("carol")}])
    );
    // Replies go to Ada, copied to both.
    m.reply(m.agent("bianca"), &id, "On it").await;
    let raw = &m.sink.wait_accepted(1, MAIL_WAIT).await[0].raw;
    let cc = header(raw, "Cc").unwrap();
    assert!(
        cc.contains(&address("bob")) && cc.contains(&address("carol")),
        "{cc}"
    );
    assert!(header(raw, "To").unwrap().contains(&address("ada")));
    assert_eq!(m.tickets().await.len(), 1);
}

#[actix_rt::test]
async fn a_subject_token_threads_only_from_the_customer_or_a_participant() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let (id, number, _) = ticket(&m, "ada", &["bob"], "Token test").await;
    let subject = format!("Re: Token test [#{number}]");
    m.receive(&Compose::from("ada", &subject, "from the customer").raw())
        .await;
    m.wait_messages(&id, 2).await;
    m.receive(&Compose::from("bob", &subject, "from a participant").raw())
        .await;
    m.wait_messages(&id, 3).await;
    // Eve quotes the number, but the ticket is none of her business.
    m.receive(&Compose::from("eve", &subject, "from a stranger").raw())
        .await;
    let eves = m.wait_ticket(&format!("Token test [#{number}]")).await;
    assert_ne!(eves["id"], id);
    assert_eq!(eves["customer"]["contact"], address("eve"));
    assert_eq!(m.detail(&id).await["messages"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn a_mail_without_any_thread_is_a_new_ticket_even_from_the_same_customer() {
    let Some(m) = Mail::start().await else {
        return;
    };
    ticket(&m, "ada", &[], "First question").await;
    ticket(&m, "ada", &[], "Second question").await;
    assert_eq!(m.tickets().await.len(), 2);
}

#[actix_rt::test]
async fn an_archived_ticket_takes_no_more_mail() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let (id, _, first) = ticket(&m, "ada", &[], "Old story").await;
    let archive = m
        .admin
        .post(format!("/api/tickets/{id}/archive"), json!({}))
        .await;
    assert_eq!(archive.status, 200, "{}", archive.body);
    let answer = Compose::from("ada", "Re: Old story", "it is back").answering(&first.message_id);
    m.receive(&answer.raw()).await;
    let fresh = m.wait_ticket("Old story").await;
    assert_ne!(fresh["id"], id);
    assert_eq!(fresh["status"], "pending");
}

#[actix_rt::test]
async fn a_stranger_who_threads_by_message_id_is_heard_but_never_copied() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let (id, _, first) = ticket(&m, "ada", &[], "Private matter").await;
    // Eve got hold of the Message-ID (a forwarded mail) and copies Carol.
    let eves = Compose::from("eve", "Re: Private matter", "let me in")
        .cc("carol")
        .answering(&first.message_id);
    m.receive(&eves.raw()).await;
    let messages = m.wait_messages(&id, 2).await;
    assert_eq!(messages[1]["email"]["from"]["address"], address("eve"));
    let detail = m.detail(&id).await;
    assert_eq!(detail["channel"]["participants"], json!([]));
    m.reply(m.agent("bianca"), &id, "Only for Ada").await;
    let raw = &m.sink.wait_accepted(1, MAIL_WAIT).await[0].raw;
    assert_eq!(header(raw, "Cc"), None);
    assert!(header(raw, "To").unwrap().contains(&address("ada")));
}
