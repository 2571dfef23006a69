//! What the fuzz targets check, one function per target. Each takes raw bytes
//! and panics if Tandem panics on them or breaks one of the properties below.
//!
//! This file is compiled into the fuzz targets (`fuzz_targets/*.rs`) and into
//! the main crate's test `tests/api/fuzz_corpus.rs`, which replays the
//! committed corpus in CI; both include it with `#[path]`. It uses only
//! Tandem's public API, the functions the REST handlers and the socket call.

use std::collections::BTreeMap;

use serde_json::Value;
use tandem::domain::agent::{normalize_email, normalize_handle};
use tandem::domain::email::normalize_message_id;
use tandem::domain::mention::mentioned_handles;
use tandem::domain::message::MessageKind;
use tandem::domain::search::parse_query;
use tandem::domain::settings::{MAX_DURATION_MS, duration_ms};
use tandem::domain::ticket::{
    limits, normalize_tags, patch_fields, validate_body, validate_customer, validate_subject,
};
use tandem::domain::{MessageId, Role, Timestamp};
use tandem::mail::parse::{self as mail_parse, Limits, TEXT_BYTES};
use tandem::protocol::cursor::{self, Cursor};
use tandem::protocol::frames::{ClientFrame, Incoming, ServerFrame};
use tandem::protocol::rest::*;
use tandem::protocol::visitor::{VisitorFrame, VisitorIncoming};

/// A WebSocket text frame, as the socket pump hands it to `Incoming::parse`.
///
/// - Parsing is deterministic and never panics.
/// - Invalid JSON has no `ref`; otherwise `ref` is the frame's own `ref` if
///   that is a string or a number, and direct answers echo it unchanged.
/// - A frame that parses had a string `type` naming that frame.
pub fn frames(data: &[u8]) {
    let Some((reference, parsed)) = parsed_frame(
        data,
        |t| {
            let i = Incoming::parse(t);
            (i.reference, i.frame)
        },
        frame_type,
    ) else {
        return;
    };
    if let Some((value, ClientFrame::Open { take_over, .. })) = &parsed {
        assert_eq!(
            *take_over,
            value.get("take_over") == Some(&Value::Bool(true))
        );
    }
    let pong = ServerFrame::Pong {
        reference: reference.clone(),
    };
    let echoed: Value = serde_json::from_str(&pong.encode()).expect("server frames are JSON");
    assert_eq!(echoed.get("ref"), reference.as_ref());
}

/// A frame's `ref`, and its JSON with the frame if it parsed.
type Parsed<F> = (Option<Value>, Option<(Value, F)>);

/// What the agent and visitor sockets' parsers both promise (see [`frames`]),
/// for the text frame `data`: `None` if it is not UTF-8 (the socket closes
/// with 1007 before parsing); else the `ref`, and the JSON with the frame if
/// it parsed. The `error` answer to it echoes the `ref`.
fn parsed_frame<F: PartialEq + std::fmt::Debug>(
    data: &[u8],
    parse: impl Fn(&str) -> (Option<Value>, Result<F, String>),
    type_of: impl Fn(&F) -> &'static str,
) -> Option<Parsed<F>> {
    let text = std::str::from_utf8(data).ok()?;
    let (reference, frame) = parse(text);
    assert_eq!((&reference, &frame), (&parse(text).0, &parse(text).1));
    let error = ServerFrame::Error {
        reference: reference.clone(),
        code: "bad_request",
        message: frame.as_ref().err().cloned().unwrap_or_default(),
    };
    let echoed: Value = serde_json::from_str(&error.encode()).expect("server frames are JSON");
    assert_eq!(echoed.get("ref"), reference.as_ref());
    let value = match serde_json::from_str::<Value>(text) {
        Err(_) => {
            assert_eq!(reference, None);
            assert!(frame.is_err_and(|e| e.starts_with("invalid JSON")));
            return Some((None, None));
        }
        Ok(value) => value,
    };
    let own_ref = value.get("ref").filter(|r| r.is_string() || r.is_number());
    assert_eq!(reference.as_ref(), own_ref);
    let frame = frame.ok().inspect(|f| {
        assert_eq!(value.get("type").and_then(Value::as_str), Some(type_of(f)));
    });
    Some((reference, frame.map(|f| (value, f))))
}

fn frame_type(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Subscribe { .. } => "subscribe",
        ClientFrame::Leave => "leave",
        ClientFrame::Open { .. } => "open",
        ClientFrame::Close { .. } => "close",
        ClientFrame::ForceRelease { .. } => "force_release",
        ClientFrame::Visibility { .. } => "visibility",
        ClientFrame::Draft { .. } => "draft",
        ClientFrame::Ping => "ping",
    }
}

/// A text frame on the visitor socket (`/ws/visitor`, docs/protocol.md
/// §9.6), as its pump hands it to `VisitorIncoming::parse`; the same
/// properties as [`frames`]:
///
/// - Parsing is deterministic and never panics.
/// - Invalid JSON has no `ref`; otherwise `ref` is the frame's own `ref` if
///   that is a string or a number, and the `error` answer echoes it.
/// - A frame that parses had a string `type` naming that visitor frame; no
///   agent frame parses here but the shared `ping`.
/// - A `message` that parses carries its `body` and `client_id` as sent.
pub fn visitor_frames(data: &[u8]) {
    let parsed = parsed_frame(
        data,
        |t| {
            let i = VisitorIncoming::parse(t);
            (i.reference, i.frame)
        },
        visitor_frame_type,
    );
    if let Some((_, Some((value, VisitorFrame::Message { body, client_id })))) = &parsed {
        // Decoded as sent; the socket checks them (bad ones get an error).
        assert_eq!(
            value.get("body").and_then(Value::as_str),
            Some(body.as_str())
        );
        assert_eq!(
            value.get("client_id").and_then(Value::as_str),
            Some(client_id.as_str())
        );
    }
}

fn visitor_frame_type(frame: &VisitorFrame) -> &'static str {
    match frame {
        VisitorFrame::Hello { .. } => "hello",
        VisitorFrame::Message { .. } => "message",
        VisitorFrame::Typing { .. } => "typing",
        VisitorFrame::Read { .. } => "read",
        VisitorFrame::Contact { .. } => "contact",
        VisitorFrame::Visibility { .. } => "visibility",
        VisitorFrame::Ping => "ping",
    }
}

/// A REST request body, decoded into every body type the way `web::Json`
/// does (`serde_json::from_slice`), then checked the way its handler checks
/// it before anything reaches an actor.
///
/// - Nothing panics; a body any type accepts is valid JSON, and an object
///   has no key outside that type's fields.
/// - Every value the checks accept is within docs/protocol.md §3.5 "Input
///   limits" (and the settings ranges), and every value within them is accepted.
pub fn rest_bodies(data: &[u8]) {
    let value = serde_json::from_slice::<Value>(data).ok();
    let accepted = |fields: &[&str]| {
        let value = value.as_ref().expect("a body that decodes is JSON");
        if let Some(object) = value.as_object() {
            for key in object.keys() {
                assert!(
                    fields.contains(&key.as_str()),
                    "unknown field {key:?} accepted"
                );
            }
        }
        value.as_object()
    };

    if let Ok(b) = serde_json::from_slice::<LoginRequest>(data) {
        accepted(&["login", "password"]);
        let _ = (b.login, b.password);
    }
    if let Ok(b) = serde_json::from_slice::<CreateAgentRequest>(data) {
        accepted(&["handle", "name", "email", "role", "password", "inboxes"]);
        let _ = Role::parse(&b.role);
        check_handle(&b.handle);
        check_email(&b.email);
    }
    if let Ok(b) = serde_json::from_slice::<PatchAgentRequest>(data) {
        accepted(&["name", "role", "password", "inboxes", "disabled"]);
        let _ = b.role.as_deref().map(Role::parse);
    }
    if let Ok(b) = serde_json::from_slice::<CreateInboxRequest>(data) {
        accepted(&["name"]);
        let _ = b.name;
    }
    if let Ok(b) = serde_json::from_slice::<PatchSettingsRequest>(data) {
        let fields = [
            "ticket_sharing_enabled",
            "sign_replies",
            "hard_lock_auto_unlock_s",
            "hidden_release_s",
            "reconnect_grace_s",
        ];
        if let Some(object) = accepted(&fields) {
            assert_eq!(
                b.hard_lock_auto_unlock_s.is_some(),
                object.contains_key("hard_lock_auto_unlock_s")
            );
        }
        if let Some(Some(seconds)) = b.hard_lock_auto_unlock_s {
            check_duration(seconds, 1);
        }
        for seconds in [b.hidden_release_s, b.reconnect_grace_s]
            .into_iter()
            .flatten()
        {
            check_duration(seconds, 0);
        }
    }
    if let Ok(b) = serde_json::from_slice::<CreateTicketRequest>(data) {
        accepted(&["inbox", "subject", "customer", "body"]);
        check_subject(&b.subject);
        check_customer(&b.customer.name, &b.customer.contact);
        check_body(&b.body);
    }
    if let Ok(b) = serde_json::from_slice::<PatchTicketRequest>(data) {
        accepted(&["subject", "tags", "fields"]);
        if let Some(subject) = &b.subject {
            check_subject(subject);
        }
        if let Some(tags) = &b.tags {
            check_tags(tags);
        }
        if let Some(fields) = &b.fields {
            check_fields(fields);
        }
    }
    if let Ok(b) = serde_json::from_slice::<PostMessageRequest>(data) {
        accepted(&[
            "kind",
            "body",
            "send_at",
            "after",
            "force",
            "cancel_if_replied",
        ]);
        let kind = MessageKind::parse(&b.kind);
        if let Some(send_at) = &b.send_at {
            check_time(send_at);
        }
        if let Some(after) = &b.after
            && let Ok(id) = after.parse::<MessageId>()
        {
            assert_eq!(id.to_string().parse::<MessageId>().ok(), Some(id));
        }
        check_body(&b.body);
        if kind == Some(MessageKind::Note) {
            check_mentions(&b.body);
        }
    }
    if let Ok(b) = serde_json::from_slice::<AssignRequest>(data)
        && let Some(object) = accepted(&["agent"])
    {
        assert_eq!(
            b.agent.is_some(),
            object.contains_key("agent"),
            "absent and null are told apart"
        );
    }
    if serde_json::from_slice::<TransferRequest>(data).is_ok() {
        accepted(&["agent", "inbox"]);
    }
    if serde_json::from_slice::<FollowerRequest>(data).is_ok() {
        accepted(&["agent"]);
    }
}

/// A fetched mail's bytes, as the IMAP worker hands them to
/// `mail::parse::parse` (with small limits, so inputs reach them).
///
/// - Parsing never panics and is deterministic (but for fresh attachment ids).
/// - `message_id` is non-empty and normalized; so are the ids of
///   `In-Reply-To` and `References`.
/// - `text` is at most `TEXT_BYTES` plus the cut marker; folds lie within
///   its lines, non-empty, ordered and disjoint.
/// - Kept attachment bytes are within the per-file and per-mail limits, and
///   a file has bytes exactly when it was not dropped, as many as its size.
pub fn mail(data: &[u8]) {
    let limits = Limits {
        attachment_bytes: 512,
        attachments_bytes: 1024,
    };
    let Ok(mail) = mail_parse::parse(data, &limits) else {
        return;
    };
    let normalized = |id: &String| normalize_message_id(id).as_ref() == Some(id);
    assert!(normalized(&mail.message_id), "{:?}", mail.message_id);
    assert!(
        mail.in_reply_to
            .iter()
            .chain(&mail.references)
            .all(normalized)
    );
    assert!(mail.text.len() <= TEXT_BYTES + "\n[…]".len());
    let lines = mail.text.split('\n').count();
    let mut next_free = 0;
    for fold in &mail.folds {
        assert!(
            next_free <= fold.start && fold.start < fold.end && fold.end <= lines,
            "{:?} of {lines} lines",
            mail.folds
        );
        next_free = fold.end;
    }
    let mut kept = 0;
    for file in &mail.attachments {
        match &file.bytes {
            Some(bytes) => {
                assert!(file.meta.dropped.is_none());
                assert_eq!(bytes.len() as u64, file.meta.size);
                assert!(file.meta.size <= limits.attachment_bytes);
                kept += file.meta.size;
            }
            None => assert!(file.meta.dropped.is_some()),
        }
        assert!(!file.meta.name.is_empty() && file.meta.name.chars().count() <= 200);
        assert!(!file.meta.name.contains(['/', '\\']));
        assert!(!file.meta.name.chars().any(char::is_control));
    }
    assert!(kept <= limits.attachments_bytes);
    let again = mail_parse::parse(data, &limits).expect("parsed once");
    assert_eq!(
        (&again.message_id, &again.text, &again.folds, &again.subject),
        (&mail.message_id, &mail.text, &mail.folds, &mail.subject)
    );
}

/// Text the server parses outside JSON: the search box (`parse_query`),
/// `@mentions` in notes, RFC 3339 times (`send_at`) and list cursors.
///
/// - `#N` and `N` find ticket N (N > 0), and nothing else reads as a number.
/// - Every mention is a valid handle written as `@handle` in the text, and
///   the mentions are exactly those the rule in `domain::mention` describes.
/// - An accepted time is shown (`to_rfc3339`) as a time that reads back the same.
/// - Cursors round-trip; an accepted cursor is within the key limit.
pub fn queries(data: &[u8]) {
    if let Some(bytes) = data.first_chunk::<8>() {
        let n = u64::from_le_bytes(*bytes);
        let expected = (n > 0).then_some(n);
        assert_eq!(parse_query(&format!("#{n}")).number, expected);
        assert_eq!(parse_query(&format!(" {n} ")).number, expected);
        let cursor = Cursor {
            snapshot: n,
            key: data[8..]
                .iter()
                .take(cursor::MAX_KEY_BYTES)
                .copied()
                .collect(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let query = parse_query(text);
    assert_eq!(query, parse_query(text));
    if let Some(n) = query.number {
        let trimmed = text.trim();
        assert!(n > 0);
        assert_eq!(
            trimmed.strip_prefix('#').unwrap_or(trimmed).parse::<u64>(),
            Ok(n)
        );
    }

    check_mentions(text);
    check_time(text);

    if let Some(cursor) = Cursor::decode(text) {
        assert!(cursor.key.len() <= cursor::MAX_KEY_BYTES);
        assert_eq!(Cursor::decode(&cursor.encode()).as_ref(), Some(&cursor));
    }
}

fn check_handle(raw: &str) {
    if let Some(handle) = normalize_handle(raw) {
        assert!((1..=32).contains(&handle.len()), "{handle:?}");
        assert!(
            handle
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')),
            "{handle:?}"
        );
        assert_eq!(normalize_handle(&handle).as_ref(), Some(&handle));
    }
}

fn check_email(raw: &str) {
    if let Some(email) = normalize_email(raw) {
        let (local, domain) = email.split_once('@').expect("an e-mail has an @");
        assert!(
            !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
            "{email:?}"
        );
        assert!(
            email.len() <= 254 && !email.chars().any(char::is_whitespace),
            "{email:?}"
        );
        assert_eq!(normalize_email(&email).as_ref(), Some(&email));
    }
}

/// `seconds` is accepted exactly when it is within the documented range.
fn check_duration(seconds: f64, min_ms: u64) {
    let min_s = min_ms as f64 / 1000.0;
    let max_s = MAX_DURATION_MS as f64 / 1000.0;
    match duration_ms(seconds, min_ms) {
        Some(ms) => {
            assert!(
                (min_s..=max_s).contains(&seconds),
                "{seconds} s accepted as {ms} ms"
            );
            assert!(
                (min_ms..=MAX_DURATION_MS).contains(&ms),
                "{seconds} s accepted as {ms} ms"
            );
            assert!(
                (ms as f64 - seconds * 1000.0).abs() <= 0.5,
                "{seconds} s accepted as {ms} ms"
            );
        }
        None => assert!(!(min_s..=max_s).contains(&seconds), "{seconds} s refused"),
    }
}

fn chars_within(text: &str, range: std::ops::RangeInclusive<usize>) -> bool {
    range.contains(&text.chars().count())
}

fn check_subject(raw: &str) {
    match validate_subject(raw) {
        Ok(subject) => {
            assert_eq!(subject, raw.trim());
            assert!(
                chars_within(&subject, 1..=limits::SUBJECT_CHARS),
                "{subject:?}"
            );
        }
        Err(_) => assert!(
            !chars_within(raw.trim(), 1..=limits::SUBJECT_CHARS),
            "{raw:?} refused"
        ),
    }
}

fn check_customer(name: &str, contact: &str) {
    let within = |s: &str| chars_within(s.trim(), 1..=limits::NAME_CHARS);
    match validate_customer(name, contact) {
        Ok(customer) => {
            assert_eq!(
                (customer.name.as_str(), customer.contact.as_str()),
                (name.trim(), contact.trim())
            );
            assert!(within(name) && within(contact), "{customer:?}");
        }
        Err(_) => assert!(
            !(within(name) && within(contact)),
            "{name:?} {contact:?} refused"
        ),
    }
}

fn check_body(body: &str) {
    let within = !body.trim().is_empty() && body.len() <= limits::BODY_BYTES;
    assert_eq!(validate_body(body).is_ok(), within, "{body:?}");
}

/// Tags: trimmed, 1–64 characters, duplicates dropped ignoring case (first
/// spelling kept), at most 50 after de-duplication.
fn check_tags(tags: &[String]) {
    let mut expected: Vec<&str> = Vec::new();
    let mut valid = true;
    for tag in tags {
        let tag = tag.trim();
        valid &= chars_within(tag, 1..=limits::TAG_CHARS);
        if !expected
            .iter()
            .any(|t| t.to_lowercase() == tag.to_lowercase())
        {
            expected.push(tag);
        }
    }
    valid &= expected.len() <= limits::TAGS;
    match normalize_tags(tags) {
        Ok(out) => {
            assert!(valid, "{tags:?} accepted");
            assert_eq!(out, expected);
        }
        Err(_) => assert!(!valid, "{tags:?} refused"),
    }
}

/// Fields: at most 100 keys, keys 1–64 characters without surrounding
/// whitespace, values at most 2000 characters; applying a patch twice is
/// applying it once.
fn check_fields(patch: &BTreeMap<String, Option<String>>) {
    let none = BTreeMap::new();
    let key_ok = |k: &String| k.trim() == k && chars_within(k, 1..=limits::FIELD_KEY_CHARS);
    let value_ok = |v: &Option<String>| {
        v.as_ref()
            .is_none_or(|v| v.chars().count() <= limits::FIELD_VALUE_CHARS)
    };
    let set: BTreeMap<String, String> = patch
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    let valid = patch.iter().all(|(k, v)| key_ok(k) && value_ok(v)) && set.len() <= limits::FIELDS;
    match patch_fields(&none, patch) {
        Ok(out) => {
            assert!(valid, "{patch:?} accepted");
            assert_eq!(out, set);
            assert_eq!(patch_fields(&out, patch).as_ref(), Ok(&out));
        }
        Err(_) => assert!(!valid, "{patch:?} refused"),
    }
}

/// An accepted time is shown (`to_rfc3339`, as on the wire) as the same instant.
fn check_time(text: &str) {
    if let Some(t) = Timestamp::parse_rfc3339(text) {
        let shown = t.to_rfc3339();
        assert_eq!(
            Timestamp::parse_rfc3339(&shown),
            Some(t),
            "{text:?} read as {t:?}, shown as {shown:?}"
        );
    }
}

/// Mentions are valid handles, each written as `@handle` in the text, found
/// exactly where the rule of `domain::mention` says (checked against a
/// direct, slower reading of that rule).
fn check_mentions(body: &str) {
    let handles = mentioned_handles(body);
    let lower = body.to_ascii_lowercase();
    for handle in &handles {
        assert_eq!(
            normalize_handle(handle).as_ref(),
            Some(handle),
            "not a handle"
        );
        assert!(
            !handle.ends_with('-') && lower.contains(&format!("@{handle}")),
            "{handle:?}"
        );
    }
    let chars: Vec<char> = body.chars().collect();
    let mut expected: Vec<String> = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || "._-@".contains(chars[i - 1]));
        if *c != '@' || after_word {
            continue;
        }
        let run: String = chars[i + 1..]
            .iter()
            .take_while(|d| d.is_ascii_alphanumeric() || **d == '_' || **d == '-')
            .collect();
        let handle = run.trim_end_matches('-').to_ascii_lowercase();
        if (1..=32).contains(&handle.len()) && !expected.contains(&handle) {
            expected.push(handle);
        }
    }
    assert_eq!(handles, expected);
}
