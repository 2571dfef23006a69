//! The subtle parts of [`super::parse`]: encoded words, charsets, ids, DSNs,
//! noise, limits. Whole real-world mails are in the corpus
//! (`tests/fixtures/mail/`, `tests/api/mail_corpus.rs`).

use super::*;
use crate::domain::email::FoldKind;

const LIMITS: Limits = Limits {
    attachment_bytes: 1000,
    attachments_bytes: 1500,
};

fn parsed(raw: &str) -> Incoming {
    parse(raw.as_bytes(), &LIMITS).expect("a mail")
}

#[test]
fn not_a_mail() {
    assert_eq!(parse(b"", &LIMITS), Err(ParseError::NotAMail));
}

#[test]
fn encoded_word_subjects_and_names() {
    let mail = parsed(
        "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>\r\n\
         To: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>, plain@example.com\r\n\
         Subject: =?UTF-8?B?UmU6IEJlc3RlbGx1bmcgw7xiZXI=?=\r\n =?UTF-8?Q?_20_=E2=82=AC?=\r\n\
         \r\nHi\r\n",
    );
    assert_eq!(mail.subject, "Re: Bestellung über 20 €");
    assert_eq!(
        mail.from,
        Some(Mailbox::new(
            Some("André Pirard".into()),
            "pirard@example.be"
        ))
    );
    assert_eq!(
        mail.to,
        vec![
            Mailbox::new(Some("山田".into()), "yamada@example.jp"),
            Mailbox::new(None, "plain@example.com"),
        ]
    );
}

#[test]
fn subjects_collapse_whitespace() {
    let mail = parsed("Subject:  a\r\n\tfolded   subject \r\n\r\nx");
    assert_eq!(mail.subject, "a folded subject");
    assert_eq!(parsed("From: a@b\r\n\r\nx").subject, "");
}

#[test]
fn charsets_are_decoded() {
    let latin1 = b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\nGr\xfc\xdfe, Andr\xe9\r\n";
    assert_eq!(parse(latin1, &LIMITS).unwrap().text, "Grüße, André");
    let sjis = b"Content-Type: text/plain; charset=Shift_JIS\r\n\r\n\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\r\n";
    assert_eq!(parse(sjis, &LIMITS).unwrap().text, "こんにちは");
    let jis = b"Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n\x1b$B$3$s$K$A$O\x1b(B\r\n";
    assert_eq!(parse(jis, &LIMITS).unwrap().text, "こんにちは");
    let unknown = b"Content-Type: text/plain; charset=x-unknown\r\n\r\nplain \xff ascii\r\n";
    assert_eq!(
        parse(unknown, &LIMITS).unwrap().text,
        "plain \u{fffd} ascii"
    );
}

#[test]
fn message_ids_are_normalized_or_derived() {
    let mail = parsed(
        "Message-ID: < abc@example.com >\r\nIn-Reply-To: <x@y>\r\n\
         References: <r1@y>\r\n <r2@y> <x@y>\r\n\r\nx",
    );
    assert_eq!(mail.message_id, "abc@example.com");
    assert_eq!(mail.in_reply_to, vec!["x@y"]);
    assert_eq!(mail.references, vec!["r1@y", "r2@y", "x@y"]);

    let raw = "From: a@b\r\nSubject: no id\r\n\r\nx";
    let first = parsed(raw);
    assert!(first.message_id.starts_with("sha256-"));
    assert!(first.message_id.ends_with("@tandem.invalid"));
    assert_eq!(first.message_id.len(), "sha256-@tandem.invalid".len() + 64);
    assert_eq!(parsed(raw).message_id, first.message_id);
    assert_ne!(parsed(&format!("{raw}!")).message_id, first.message_id);
    let empty = parsed("Message-ID: <>\r\n\r\nx");
    assert!(empty.message_id.starts_with("sha256-"));
}

#[test]
fn only_the_newest_references_are_kept() {
    let ids: String = (0..REFERENCES + 5).map(|i| format!(" <{i}@x>")).collect();
    let mail = parsed(&format!("References:{ids}\r\n\r\nx"));
    assert_eq!(mail.references.len(), REFERENCES);
    assert_eq!(mail.references[0], "5@x");
}

#[test]
fn noise_headers() {
    let noise = |headers: &str| parsed(&format!("{headers}\r\n\r\nx")).noise;
    assert_eq!(
        noise("Auto-Submitted: Auto-Replied; owner-email=\"a@b\""),
        Some(Noise::AutoSubmitted("auto-replied".into()))
    );
    assert_eq!(noise("Auto-Submitted: no"), None);
    assert_eq!(
        noise("Precedence: List"),
        Some(Noise::Precedence("list".into()))
    );
    assert_eq!(noise("Precedence: first-class"), None);
    assert_eq!(
        noise("From: MAILER-DAEMON@mx.example (Mail Delivery System)"),
        Some(Noise::AutoSubmitted("delivery-status".into()))
    );
}

/// A DSN around `status` with the returned part `returned`.
fn dsn(status: &str, returned: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example\r\nMessage-ID: <dsn1@mx.example>\r\n\
         In-Reply-To: <fallback@shop.example>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example\r\n\r\n{status}\
         --B\r\n{returned}\
         --B--\r\n"
    )
}

const FAILED: &str = "Final-Recipient: rfc822; eve@example.org\r\nAction: failed\r\n\
    Status: 5.1.1\r\nDiagnostic-Code: X-Postfix; unknown user: \"eve\"\r\n\r\n";

#[test]
fn a_failed_dsn_names_the_returned_mail() {
    let rfc822 = "Content-Type: message/rfc822\r\n\r\n\
        Message-ID: <reply-1@shop.example>\r\nSubject: Re: x\r\n\r\nbody\r\n";
    let mail = parsed(&dsn(FAILED, rfc822));
    assert_eq!(
        mail.bounce,
        Some(Bounce {
            message_ids: vec!["reply-1@shop.example".into()],
            reason: "5.1.1 unknown user: \"eve\"".into(),
        })
    );
    assert_eq!(
        mail.noise,
        Some(Noise::AutoSubmitted("delivery-status".into()))
    );

    let headers = "Content-Type: text/rfc822-headers\r\n\r\n\
        Message-ID: <reply-2@shop.example>\r\nSubject: Re: x\r\n\r\n";
    let mail = parsed(&dsn(FAILED, headers));
    assert_eq!(
        mail.bounce.map(|b| b.message_ids),
        Some(vec!["reply-2@shop.example".to_owned()])
    );

    let nothing = "Content-Type: text/plain\r\n\r\nlost\r\n";
    let mail = parsed(&dsn(FAILED, nothing));
    assert_eq!(
        mail.bounce.map(|b| b.message_ids),
        Some(vec!["fallback@shop.example".to_owned()])
    );
}

#[test]
fn a_delayed_dsn_is_noise_not_a_bounce() {
    let delayed =
        "Final-Recipient: rfc822; eve@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n";
    let mail = parsed(&dsn(delayed, "Content-Type: text/plain\r\n\r\nx\r\n"));
    assert_eq!(mail.bounce, None);
    assert_eq!(
        mail.noise,
        Some(Noise::AutoSubmitted("delivery-status".into()))
    );
}

#[test]
fn attachments_within_limits() {
    let part = |name: &str, size: usize| {
        format!(
            "--B\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n",
            "x".repeat(size)
        )
    };
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nSee files.\r\n{}{}{}{}--B--\r\n",
        part("a.pdf", 800),
        part("big.pdf", 1001),
        part("b.pdf", 800),
        part("c.pdf", 700),
    );
    let mail = parsed(&raw);
    assert_eq!(mail.text, "See files.");
    let seen: Vec<_> = mail
        .attachments
        .iter()
        .map(|a| {
            (
                a.meta.name.as_str(),
                a.meta.size,
                a.meta.dropped.as_deref(),
                a.bytes.as_ref().map(Vec::len),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a.pdf", 800, None, Some(800)),
            ("big.pdf", 1001, Some("too large"), None),
            ("b.pdf", 800, Some("too large"), None),
            ("c.pdf", 700, None, Some(700)),
        ]
    );
    assert!(
        mail.attachments
            .iter()
            .all(|a| a.meta.content_type == "application/pdf")
    );
}

#[test]
fn content_types_are_checked() {
    let with_type = |ct: &str| {
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n\
             --B\r\nContent-Type: {ct}\r\nContent-Disposition: attachment\r\n\r\ndata\r\n--B--\r\n"
        );
        parsed(&raw).attachments[0].meta.content_type.clone()
    };
    assert_eq!(with_type("Image/PNG; name=x"), "image/png");
    assert_eq!(with_type("application"), "application/octet-stream");
}

#[test]
fn html_only_quotes_fold() {
    let raw = "Content-Type: text/html; charset=utf-8\r\n\r\n\
        <div>Thanks</div><div>On Mon, Ada wrote:</div>\
        <blockquote><div>Old</div></blockquote>";
    let mail = parsed(raw);
    assert_eq!(mail.text, "Thanks\nOn Mon, Ada wrote:\n> Old");
    assert_eq!(
        mail.folds,
        vec![Fold {
            kind: FoldKind::Quote,
            start: 1,
            end: 3
        }]
    );
}
