//! The mails of the import bench: what customers write to a shop's support
//! address, a few KiB each, in the shapes real clients send. Of every ten
//! mails, six are `text/plain` (some quoted-printable, some with the quoted
//! earlier conversation and a signature), two `multipart/alternative` (text
//! and HTML), and two `multipart/mixed` with a small attachment (a PNG or a
//! text log). Each has its own Message-ID and no `[#N]` token, so each opens
//! a ticket.
//!
//! They are delivered by the Maildir rules (written into `tmp/`, renamed
//! into `new/`), as a local delivery agent does: Dovecot finds them at its
//! next look at the folder, unseen.

use std::path::Path;

/// The Dovecot user (and local part of the address) of customer `n`.
pub fn customer(n: usize) -> String {
    format!("customer{n}")
}

const DOMAIN: &str = "example.test";

const SUBJECTS: &[&str] = &[
    "Order {n} has not arrived",
    "Invoice {n}: wrong VAT number",
    "Cannot log in since the update",
    "Refund for order {n}",
    "Question about my subscription",
    "Parcel {n} arrived damaged",
    "Change of delivery address for order {n}",
];

const SENTENCES: &[&str] = &[
    "I ordered the blue kettle two weeks ago and the tracking page still says the parcel is being prepared.",
    "Could you please tell me when it will ship, or cancel the order if it cannot ship this month?",
    "The invoice you sent shows my old company name and the VAT number of our previous office.",
    "Since yesterday's update the app logs me out every time I open the settings page.",
    "I tried resetting the password twice, and both times the link in the mail had already expired.",
    "The box was crushed on one side and the glass lid of the pan is broken into three pieces.",
    "I attach a photo of the label so you can see the parcel number and the state of the box.",
    "We are moving on Friday, so please send the order to the new address below instead.",
    "My subscription renewed although I cancelled it in March; I still have the confirmation mail.",
    "Thank you for the quick answer last time, the replacement arrived and works perfectly.",
    "Is there a way to combine the two orders into one delivery to save on shipping costs?",
    "I would rather have the money back than a voucher, as I will not order again this year.",
];

/// Mail `i` of a run (`nonce` makes its Message-ID unique across runs).
pub fn mail(i: usize, nonce: u64) -> Vec<u8> {
    let who = i % crate::CUSTOMERS;
    let from = format!("Customer {who} <{}@{DOMAIN}>", customer(who));
    let subject = SUBJECTS[i % SUBJECTS.len()].replace("{n}", &(100_000 + i).to_string());
    let head = format!(
        "Return-Path: <{}@{DOMAIN}>\r\nReceived: from mail.client.example (mail.client.example [192.0.2.{}])\r\n\tby mx.{DOMAIN} with ESMTPS id {i:08x}; Mon, 07 Dec 2026 09:{:02}:{:02} +0000\r\nFrom: {from}\r\nTo: Shop support <{}@{DOMAIN}>\r\nSubject: {subject}\r\nDate: Mon, 07 Dec 2026 09:{:02}:{:02} +0000\r\nMessage-ID: <{nonce:x}.{i}@mail.client.example>\r\nMIME-Version: 1.0\r\nUser-Agent: Bench/1.0\r\n",
        customer(who),
        i % 250 + 1,
        (i / 60) % 60,
        i % 60,
        crate::SUPPORT,
        (i / 60) % 60,
        i % 60,
    );
    let text = text(i);
    let mail = match i % 10 {
        0..=2 => plain_8bit(&head, &text),
        3..=5 => plain_quoted_printable(&head, &text),
        6 | 7 => alternative(&head, &text, i),
        _ => mixed(&head, &text, i),
    };
    mail.into_bytes()
}

/// The text customer mail `i` says, 1.5–3 KiB: a greeting, sentences, a
/// signature, and on every third mail the quoted earlier conversation.
pub fn text(i: usize) -> String {
    let who = i % crate::CUSTOMERS;
    let mut text = String::from("Hello,\n\n");
    let sentences = 12 + i % 12;
    for s in 0..sentences {
        text.push_str(SENTENCES[(i * 7 + s * 5) % SENTENCES.len()]);
        text.push(if s % 3 == 2 { '\n' } else { ' ' });
        if s % 3 == 2 {
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "\nKind regards,\nCustomer {who}\n\n-- \nCustomer {who}\nPhone +44 20 7946 {:04}\n",
        i % 10_000
    ));
    if i.is_multiple_of(3) {
        text.push_str(
            "\nOn Fri, 4 Dec 2026 at 16:02, Shop support <support@example.test> wrote:\n",
        );
        for s in 0..6 {
            text.push_str("> ");
            text.push_str(SENTENCES[(i + s) % SENTENCES.len()]);
            text.push('\n');
        }
    }
    text
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn plain_8bit(head: &str, text: &str) -> String {
    format!(
        "{head}Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        crlf(text)
    )
}

fn plain_quoted_printable(head: &str, text: &str) -> String {
    format!(
        "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
        quoted_printable(text)
    )
}

fn alternative(head: &str, text: &str, i: usize) -> String {
    let boundary = format!("alt-{i:08x}");
    let html: String = text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>\r\n", p.replace('\n', "<br>\r\n")))
        .collect();
    format!(
        "{head}Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family: Arial\">\r\n{html}</body></html>\r\n--{boundary}--\r\n",
        quoted_printable(text)
    )
}

fn mixed(head: &str, text: &str, i: usize) -> String {
    let boundary = format!("mix-{i:08x}");
    let (name, content_type, bytes) = if i % 20 == 8 {
        ("label.png", "image/png", png_like(i, 3000))
    } else {
        ("app.log", "text/plain; charset=utf-8", log_lines(i, 2500))
    };
    format!(
        "{head}Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--{boundary}--\r\n",
        crlf(text),
        base64_lines(&bytes)
    )
}

/// A PNG signature and header followed by `size` bytes of noise (nobody decodes it).
fn png_like(i: usize, size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut x = i as u64 | 1;
    while bytes.len() < size {
        // xorshift: cheap incompressible bytes, like image data.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x as u8);
    }
    bytes
}

fn log_lines(i: usize, size: usize) -> Vec<u8> {
    let mut log = String::new();
    let mut n = 0;
    while log.len() < size {
        log.push_str(&format!(
            "2026-12-06T21:{:02}:{:02}Z WARN sync: retrying upload {i}-{n} after timeout (attempt {})\n",
            n % 60,
            (n * 7) % 60,
            n % 5 + 1
        ));
        n += 1;
    }
    log.into_bytes()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters, each ending in CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            let c = if k <= chunk.len() {
                BASE64[(n >> (18 - 6 * k)) as usize & 63] as char
            } else {
                '='
            };
            out.push(c);
        }
        line += 4;
        if line == 76 {
            out.push_str("\r\n");
            line = 0;
        }
    }
    if line > 0 {
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable with soft line breaks before 76 characters.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let mut width = 0;
        let last = line.len().saturating_sub(1);
        for (at, byte) in line.bytes().enumerate() {
            // Trailing white space is encoded: decoders drop it otherwise ("-- ").
            let trailing_space = at == last && byte == b' ';
            let encoded = if byte == b'=' || trailing_space || !(b' '..=b'~').contains(&byte) {
                format!("={byte:02X}")
            } else {
                (byte as char).to_string()
            };
            if width + encoded.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += encoded.len();
            out.push_str(&encoded);
        }
        out.push_str("\r\n");
    }
    out
}

/// Delivers `count` mails into the Maildir at `maildir` (which must exist):
/// each written into `tmp/` and renamed into `new/`. Their total size in bytes.
pub fn deliver(maildir: &Path, count: usize, nonce: u64) -> u64 {
    let pid = std::process::id();
    let mut total = 0;
    for i in 0..count {
        let raw = mail(i, nonce);
        total += raw.len() as u64;
        // Maildir's unique name: time, sequence and process.
        let name = format!("{nonce}.M{i}P{pid}.bench,S={}", raw.len());
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, &raw).expect("write into tmp/");
        std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("rename into new/");
    }
    total
}
