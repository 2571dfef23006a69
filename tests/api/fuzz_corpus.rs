//! Replays the committed fuzz seed corpus (`tests/fuzz/corpus/<target>/`)
//! through the same checks the libFuzzer targets run, so CI, which cannot run
//! libFuzzer, still fails if any of those inputs panics or breaks a property.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::catch_unwind;
use std::path::Path;

use tandem::protocol::frames::Incoming;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{} holds only {} inputs",
        dir.display(),
        inputs.len()
    );
    let failed: Vec<_> = inputs
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("corpus file");
            catch_unwind(|| check(&data)).is_err()
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail (see the panics above): {failed:#?}"
    );
}

#[test]
fn frames() {
    replay("frames", checks::frames);
}

#[test]
fn visitor_frames() {
    replay("visitor_frames", checks::visitor_frames);
}

#[test]
fn rest_bodies() {
    replay("rest_bodies", checks::rest_bodies);
}

#[test]
fn queries() {
    replay("queries", checks::queries);
}

#[test]
fn mail() {
    replay("mail", checks::mail);
}

/// serde_json stops at 128 levels, so 100 000 levels are refused, not a stack
/// overflow. (Generated here rather than committed: a 100 KB seed would make
/// libFuzzer mutate inputs of that size.)
#[test]
fn deeply_nested_json_is_refused() {
    let deep = 100_000;
    let inputs = [
        "[".repeat(deep),
        format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
        "{\"a\":".repeat(deep),
        format!(
            r#"{{"type":"ping","ref":{}1{}}}"#,
            "[".repeat(deep),
            "]".repeat(deep)
        ),
        format!(
            r#"{{"subject":"s","tags":{}"t"{}}}"#,
            "[".repeat(deep),
            "]".repeat(deep)
        ),
    ];
    for input in inputs {
        let error = Incoming::parse(&input).frame.expect_err("refused");
        assert!(error.contains("recursion limit exceeded"), "{error}");
        checks::frames(input.as_bytes());
        checks::visitor_frames(input.as_bytes());
        checks::rest_bodies(input.as_bytes());
        checks::queries(input.as_bytes());
        checks::mail(input.as_bytes());
    }
}

/// Inputs at and over the limits that are too big for the seed corpus.
#[test]
fn large_bodies_at_the_limit() {
    let limit = tandem::domain::ticket::limits::BODY_BYTES;
    for len in [limit, limit + 1] {
        let body =
            serde_json::json!({"kind": "note", "body": format!("@hanna {}", "x".repeat(len - 7))});
        checks::rest_bodies(body.to_string().as_bytes());
    }
}

/// Mails too big for the seed corpus: a text over the kept length whose
/// every line opens a quote, a signature or an attribution, and multiparts
/// nested ten thousand deep.
#[test]
fn large_mails() {
    let body = "> quoted\n-- \nOn x wrote:\n\n".repeat(40_000);
    let mail = format!("From: a@b\r\n\r\n{body}");
    assert!(mail.len() > tandem::mail::parse::TEXT_BYTES);
    checks::mail(mail.as_bytes());
    let depth = 10_000;
    let mut nested = String::from("From: a@b\r\n");
    for level in 0..depth {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    checks::mail(nested.as_bytes());
}
