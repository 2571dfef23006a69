//! The mail servers of the e-mail tests work as those tests assume: Dovecot
//! stores and shows mail over IMAP and keeps it across a restart, and the
//! SMTP sink takes mail from lettre, delivers it into Dovecot, and refuses
//! when told to.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::support::mail::{Accepted, Dovecot, SmtpSink, StoredMail};

const WAIT: Duration = Duration::from_secs(10);

fn raw_mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@customer.test>\r\nTo: support@helpdesk.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@customer.test>\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

fn reply(subject: &str) -> Message {
    Message::builder()
        .from("Support <support@helpdesk.test>".parse().unwrap())
        .to("Alice <alice@customer.test>".parse().unwrap())
        .subject(subject)
        .body("We are on it.".to_owned())
        .unwrap()
}

fn smtp(sink: &SmtpSink, credentials: Option<(&str, &str)>) -> AsyncSmtpTransport<Tokio1Executor> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
        .port(sink.port())
        .timeout(Some(WAIT));
    if let Some((user, password)) = credentials {
        builder = builder.credentials(Credentials::new(user.into(), password.into()));
    }
    builder.build()
}

fn subject_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text.lines().find(|l| l.starts_with("Subject: "));
    line.expect("a Subject header")["Subject: ".len()..].to_owned()
}

#[actix_rt::test]
async fn appended_mail_reads_back_unseen_and_folders_are_created() {
    let Some(dovecot) = Dovecot::start(&["support"]).await else {
        return;
    };
    assert!(dovecot.messages("support", "INBOX").await.is_empty());
    assert!(
        dovecot.messages("support", "Done").await.is_empty(),
        "no such folder yet"
    );

    dovecot.append("support", "INBOX", &raw_mail("first")).await;
    dovecot
        .append("support", "INBOX", &raw_mail("second"))
        .await;
    dovecot
        .append("support", "Done", &raw_mail("archived"))
        .await;

    let inbox: Vec<StoredMail> = dovecot.messages("support", "INBOX").await;
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].raw, raw_mail("first"));
    assert_eq!(subject_of(&inbox[1].raw), "second");
    assert!(inbox[0].uid < inbox[1].uid);
    assert!(
        !inbox[0].has_flag("\\Seen"),
        "reading with messages() marks nothing"
    );
    let done = dovecot.messages("support", "Done").await;
    assert_eq!(done.len(), 1);
    assert_eq!(subject_of(&done[0].raw), "archived");
}

#[actix_rt::test]
async fn a_mail_sent_with_lettre_lands_in_the_recipients_inbox() {
    let Some(dovecot) = Dovecot::start(&["support", "alice"]).await else {
        return;
    };
    let sink = SmtpSink::start_with_auth(&dovecot, "support", "smtp-secret").await;

    let wrong = smtp(&sink, Some(("support", "wrong")))
        .send(reply("no"))
        .await;
    assert!(
        wrong.unwrap_err().is_permanent(),
        "bad credentials are refused"
    );

    smtp(&sink, Some(("support", "smtp-secret")))
        .send(reply("Re: my order [#22]"))
        .await
        .expect("the sink accepts");

    let accepted = sink.wait_accepted(1, WAIT).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].from, "support@helpdesk.test");
    assert_eq!(accepted[0].to, ["alice@customer.test"]);
    assert_eq!(accepted[0].auth_user.as_deref(), Some("support"));
    assert_eq!(sink.connections(), 2);
    let inbox = dovecot.wait_messages("alice", "INBOX", 1, WAIT).await;
    assert_eq!(subject_of(&inbox[0].raw), "Re: my order [#22]");
    assert!(String::from_utf8_lossy(&inbox[0].raw).contains("We are on it."));
    assert!(dovecot.messages("support", "INBOX").await.is_empty());
}

#[actix_rt::test]
async fn the_sink_refuses_as_told_and_unknown_recipients() {
    let Some(dovecot) = Dovecot::start(&["alice"]).await else {
        return;
    };
    let sink = SmtpSink::start(&dovecot).await;
    let smtp = smtp(&sink, None);

    sink.fail_next(1, 451, "4.3.0 try again later");
    let first = smtp.send(reply("attempt 1")).await.unwrap_err();
    assert!(first.is_transient(), "451 is transient: {first}");
    smtp.send(reply("attempt 2"))
        .await
        .expect("the next mail is accepted");

    sink.fail_next(1, 550, "5.7.1 refused");
    let refused = smtp.send(reply("attempt 3")).await.unwrap_err();
    assert!(refused.is_permanent(), "550 is permanent: {refused}");

    let stranger = Message::builder()
        .from("support@helpdesk.test".parse().unwrap())
        .to("nobody-here@customer.test".parse().unwrap())
        .body("lost".to_owned())
        .unwrap();
    assert!(smtp.send(stranger).await.unwrap_err().is_permanent());

    let accepted: Vec<Accepted> = sink.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(subject_of(&accepted[0].raw), "attempt 2");
    assert_eq!(accepted[0].auth_user, None);
    let inbox = dovecot.wait_messages("alice", "INBOX", 1, WAIT).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(subject_of(&inbox[0].raw), "attempt 2");
}

#[actix_rt::test]
async fn a_restarted_dovecot_keeps_port_and_mail() {
    let Some(mut dovecot) = Dovecot::start(&["support"]).await else {
        return;
    };
    dovecot.append("support", "INBOX", &raw_mail("kept")).await;
    let before = dovecot.messages("support", "INBOX").await;

    dovecot.stop().await;
    let addr = (dovecot.host(), dovecot.imap_port());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped means gone"
    );
    dovecot.restart().await;

    let after = dovecot.messages("support", "INBOX").await;
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].uid, &after[0].raw),
        (before[0].uid, &before[0].raw)
    );
}

#[actix_rt::test]
async fn idle_is_offered_unless_asked_not_to() {
    let Some(with_idle) = Dovecot::start(&["support"]).await else {
        return;
    };
    let Some(without_idle) = Dovecot::start_without_idle(&["support"]).await else {
        return;
    };

    assert!(
        with_idle
            .capabilities("support")
            .await
            .contains(&"IDLE".to_owned())
    );
    let polling = without_idle.capabilities("support").await;
    assert!(polling.contains(&"UIDPLUS".to_owned()), "{polling:?}");
    assert!(!polling.contains(&"IDLE".to_owned()), "{polling:?}");
}
