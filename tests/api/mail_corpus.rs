//! The MIME corpus (`tests/fixtures/mail/`): each `NAME.eml`, a real-world
//! shape of mail, parsed by `tandem::mail::parse::parse`, gives what
//! `NAME.json` says (see tests/fixtures/README.md for its keys).

use std::path::Path;

use serde_json::{Value, json};
use tandem::domain::email::Mailbox;
use tandem::mail::parse::{Incoming, Limits, Noise, parse};

/// The limits the corpus is parsed with (small, so an oversized file stays
/// small in the repository).
const LIMITS: Limits = Limits {
    attachment_bytes: 4096,
    attachments_bytes: 8192,
};

/// Keys of a `.json` compared as they are.
const EXACT: [&str; 12] = [
    "message_id",
    "in_reply_to",
    "references",
    "from",
    "to",
    "cc",
    "subject",
    "text",
    "folds",
    "attachments",
    "noise",
    "bounce",
];

#[test]
fn every_mail_parses_as_its_json_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.expect("fixture entry").path();
            (path.extension()? == "eml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 17,
        "only {} mails in the corpus",
        names.len()
    );

    let mut failures = Vec::new();
    for name in &names {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).expect("the mail");
        let expected: Value = std::fs::read_to_string(dir.join(format!("{name}.json")))
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
            .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        let actual = match parse(&raw, &LIMITS) {
            Ok(incoming) => as_json(&incoming),
            Err(e) => {
                failures.push(format!("{name}: not parsed: {e}"));
                continue;
            }
        };
        let differences = differences(&expected, &actual);
        if !differences.is_empty() {
            failures.push(format!(
                "{name}:\n  {}\n  parsed as: {}",
                differences.join("\n  "),
                serde_json::to_string_pretty(&actual).expect("json")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What differs between a `.json` and the parsed mail: every key of
/// [`EXACT`] must be there and equal; `text_starts_with` and
/// `text_contains` (a list) check a long text in part instead of `text`.
fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(expected) = expected.as_object() else {
        return vec!["the .json is not an object".into()];
    };
    let text = actual["text"].as_str().unwrap_or_default();
    for key in EXACT {
        match expected.get(key) {
            Some(value) if *value != actual[key] => {
                found.push(format!("{key}: expected {value}, got {}", actual[key]));
            }
            Some(_) => {}
            None if key == "text" && expected.contains_key("text_starts_with") => {}
            None => found.push(format!("{key}: missing from the .json")),
        }
    }
    if let Some(prefix) = expected.get("text_starts_with")
        && !prefix.as_str().is_some_and(|p| text.starts_with(p))
    {
        found.push(format!("text does not start with {prefix}"));
    }
    for part in expected
        .get("text_contains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !part.as_str().is_some_and(|p| text.contains(p)) {
            found.push(format!("text does not contain {part}"));
        }
    }
    for key in expected.keys() {
        let known = EXACT.contains(&key.as_str())
            || ["text_starts_with", "text_contains", "about"].contains(&key.as_str());
        if !known {
            found.push(format!("unknown key {key:?} in the .json"));
        }
    }
    found
}

/// The parsed mail as the corpus states it (attachment ids and bytes left out).
fn as_json(mail: &Incoming) -> Value {
    let mailbox = |m: &Mailbox| json!({"name": m.name, "address": m.address});
    json!({
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": mail.references,
        "from": mail.from.as_ref().map(mailbox),
        "to": mail.to.iter().map(mailbox).collect::<Vec<_>>(),
        "cc": mail.cc.iter().map(mailbox).collect::<Vec<_>>(),
        "subject": mail.subject,
        "text": mail.text,
        "folds": mail.folds,
        "attachments": mail.attachments.iter().map(|a| {
            assert_eq!(a.bytes.is_none(), a.meta.dropped.is_some());
            assert!(a.bytes.as_ref().is_none_or(|b| b.len() as u64 == a.meta.size));
            json!({
                "name": a.meta.name,
                "content_type": a.meta.content_type,
                "size": a.meta.size,
                "inline": a.meta.inline,
                "dropped": a.meta.dropped,
            })
        }).collect::<Vec<_>>(),
        "noise": mail.noise.as_ref().map(|n| match n {
            Noise::AutoSubmitted(v) => json!({"auto_submitted": v}),
            Noise::Precedence(v) => json!({"precedence": v}),
        }),
        "bounce": mail.bounce.as_ref().map(|b| json!({
            "message_ids": b.message_ids,
            "reason": b.reason,
        })),
    })
}
