//! Noise and bounces (docs/protocol.md §9.7 "How mail becomes tickets",
//! steps 1 and 2): auto-replies, list mail and our own mail open no ticket;
//! a bounce marks the reply it is about `failed`, with the reason.

use super::*;

#[actix_rt::test]
async fn auto_replies_list_mail_and_our_own_mail_open_no_ticket() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let noise = [
        Compose::from("ada", "Out of office", "back monday")
            .header("Auto-Submitted", "auto-replied"),
        Compose::from("ada", "Newsletter", "deals").header("Precedence", "list"),
        Compose::from("ada", "Bulk", "deals").header("Precedence", "bulk"),
        Compose {
            from: format!("Support <{}>", address("support")),
            ..Compose::from("ada", "Our own", "loop")
        },
    ];
    for mail in &noise {
        m.receive(&mail.raw()).await;
    }
    // Auto-Submitted: no is a person's mail.
    let person = Compose::from("ada", "A real question", "hi").header("Auto-Submitted", "no");
    m.receive(&person.raw()).await;
    m.wait_ticket("A real question").await;
    assert_eq!(
        m.tickets().await.len(),
        1,
        "mail is read in order: the noise came first"
    );
    let id = m.channel_id();
    for (reason, count) in [("auto_submitted", 1), ("precedence", 2), ("own_address", 1)] {
        let labels = format!("channel=\"{id}\",reason=\"{reason}\"");
        assert_eq!(
            m.labelled_metric("tandem_mail_ignored_total", &labels)
                .await,
            count,
            "{reason}"
        );
    }
    // Ignored mail is marked too, so it is not read again.
    m.eventually(|| async {
        let stored = m.dovecot.messages("support", "INBOX").await;
        stored.iter().all(|s| s.has_flag("\\Seen")).then_some(())
    })
    .await;
}

/// A Postfix-style delivery status notification about `original`.
fn bounce(original: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n\
To: {support}\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <bounce-{original}>\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.test\r\n\
\r\n\
Final-Recipient: rfc822; ada@example.test\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <ada@example.test>: Recipient address rejected: User unknown\r\n\
--B\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: Shop support <{support}>\r\n\
Message-ID: <{original}>\r\n\
Subject: Re: Where is it\r\n\
--B--\r\n",
        support = address("support"),
    )
    .into_bytes()
}

#[actix_rt::test]
async fn a_bounce_marks_the_reply_it_concerns_failed_and_opens_nothing() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let bianca = m.agent("bianca");
    m.receive(&Compose::from("ada", "Where is it", "?").raw())
        .await;
    let ticket = m.wait_ticket("Where is it").await;
    let ticket = ticket["id"].as_str().unwrap();
    let reply = m.reply(bianca, ticket, "Here it is").await;
    m.wait_delivery(ticket, reply["id"].as_str().unwrap(), "sent")
        .await;
    let mut viewer = m.viewer_of(bianca, ticket).await;

    m.receive(&bounce(reply["email"]["message_id"].as_str().unwrap()))
        .await;
    let frame = viewer.recv_type("delivery").await;
    assert_eq!(frame["message"], reply["id"]);
    assert_eq!(frame["delivery"]["state"], "failed");
    let error = frame["delivery"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("bounced: ") && error.contains("User unknown"),
        "{error}"
    );
    assert_eq!(
        frame["delivery"]["attempts"], 1,
        "a bounce keeps the attempts made"
    );
    assert_eq!(m.tickets().await.len(), 1);

    // A bounce about a mail Tandem never sent changes nothing.
    m.receive(&bounce("someone-else@elsewhere.example")).await;
    let labels = format!("channel=\"{}\",reason=\"bounce\"", m.channel_id());
    m.eventually(|| async {
        (m.labelled_metric("tandem_mail_ignored_total", &labels)
            .await
            == 2)
            .then_some(())
    })
    .await;
    assert_eq!(m.tickets().await.len(), 1);
}
