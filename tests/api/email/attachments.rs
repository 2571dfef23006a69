//! Attachments (docs/protocol.md §9.7 "Attachments"): kept with their
//! message within the limits, listed, and served only to agents who may see
//! the ticket, never as something that runs in the console's origin.

use super::*;

/// A mail from Ada with a text file, a PNG, an HTML file and a file over the
/// per-file limit (the test config keeps 64 KiB per file).
fn mail_with_files(big: usize) -> Vec<u8> {
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let big = "A".repeat(big);
    format!(
        "From: Ada <{ada}>\r\nTo: {support}\r\nSubject: Files\r\nMessage-ID: <files@client.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n\
--M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n\
--M\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nline one\r\nline two\r\n\
--M\r\nContent-Type: image/png; name=\"dot.png\"\r\nContent-Disposition: attachment; filename=\"dot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n\
--M\r\nContent-Type: text/html; name=\"page.html\"\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n\r\n<script>alert(1)</script>\r\n\
--M\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\r\n{big}\r\n\
--M--\r\n",
        ada = address("ada"),
        support = address("support"),
    )
    .into_bytes()
}

const LIMITS: &str = "[mail]\ntimeout_s = 5\nreconnect_min_s = 0.05\nreconnect_max_s = 0.2\nretry_min_s = 0.05\nretry_max_s = 0.2\nmax_attempts = 3\nattachment_max_bytes = 65536\n";

#[actix_rt::test]
async fn attachments_are_kept_listed_and_served_to_who_may_see_the_ticket() {
    let setup = Scenario::setup()
        .config(LIMITS)
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("sam", &["Sales"]);
    let Some(m) = Mail::start_with(setup, serde_json::json!({})).await else {
        return;
    };
    m.receive(&mail_with_files(100_000)).await;
    let ticket = m.wait_ticket("Files").await;
    let id = ticket["id"].as_str().unwrap();
    let message = m.wait_messages(id, 1).await[0].clone();
    assert_eq!(message["body"], "See attached.");
    let files = message["attachments"].as_array().unwrap();
    let names: Vec<_> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["notes.txt", "dot.png", "page.html", "big.bin"]);
    let big = &files[3];
    assert_eq!(big["dropped"], "too large");
    assert!(big["size"].as_u64().unwrap() >= 100_000);

    let url = |file: &serde_json::Value| {
        format!(
            "/api/tickets/{id}/attachments/{}",
            file["id"].as_str().unwrap()
        )
    };
    let bianca = m.agent("bianca");
    let (status, headers, bytes) = m.fetch(bianca, &url(&files[0])).await;
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(bytes)
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end(),
        "line one\nline two"
    );
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(headers["content-disposition"].starts_with("attachment"));
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (status, headers, bytes) = m.fetch(bianca, &url(&files[1])).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["content-disposition"].starts_with("inline"));
    assert_eq!(&bytes[1..4], b"PNG");

    // HTML never renders in the console's origin.
    let (_, headers, _) = m.fetch(bianca, &url(&files[2])).await;
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(headers["content-security-policy"].contains("sandbox"));

    // Dropped files have no bytes; agents of another inbox see nothing.
    assert_eq!(m.fetch(bianca, &url(big)).await.0, 404);
    assert_eq!(m.fetch(m.agent("sam"), &url(&files[0])).await.0, 404);
    assert_eq!(m.fetch(&m.server.anonymous(), &url(&files[0])).await.0, 401);
    let other = format!("/api/tickets/{id}/attachments/{}", uuid::Uuid::now_v7());
    assert_eq!(m.fetch(bianca, &other).await.0, 404);
}
