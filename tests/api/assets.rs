//! The console's files and `/widget.js` (protocol.md §6.10): compressed with
//! brotli or gzip when the browser accepts it, the same bytes once decoded,
//! with a strong ETag per coding, `Vary: Accept-Encoding`, and `304` to a
//! matching `If-None-Match`.

use std::io::Read;

use awc::http::header::HeaderMap;

use crate::support::*;

/// What the tests look at in an answer.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// The body with its `Content-Encoding` undone.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            "" => out.clone_from(&self.body),
            "gzip" => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("valid gzip");
            }
            "br" => {
                brotli::Decompressor::new(&self.body[..], 4096)
                    .read_to_end(&mut out)
                    .expect("valid brotli");
            }
            other => panic!("unexpected coding {other}"),
        }
        out
    }
}

async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = awc::Client::default().get(server.url(path));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = request.send().await.expect("answered");
    let body = response.body().await.expect("body").to_vec();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body,
    }
}

const PATHS: [&str; 5] = [
    "/",
    "/console/app.js",
    "/console/style.css",
    "/console/tandem-client.js",
    "/widget.js",
];

#[actix_rt::test]
async fn files_are_sent_compressed_when_accepted_and_decode_to_the_same_bytes() {
    let server = TestServer::start().await;
    for path in PATHS {
        let plain = get(&server, path, &[]).await;
        assert_eq!(plain.status, 200, "{path}");
        assert_eq!(plain.header("content-encoding"), "", "{path}");
        assert_eq!(plain.header("vary"), "Accept-Encoding", "{path}");
        let tag = plain.header("etag").to_owned();
        assert!(
            tag.len() == 34 && tag.starts_with('"') && tag.ends_with('"'),
            "{path}: a strong ETag of 32 hex digits: {tag}"
        );

        // A browser's header, then each coding alone, then refusals.
        for (accept, coding) in [
            ("gzip, deflate, br, zstd", "br"),
            ("br", "br"),
            ("gzip", "gzip"),
            ("br;q=0, gzip", "gzip"),
            ("gzip;q=0.5, br;q=0.8", "br"),
            ("identity", ""),
            ("br;q=0, gzip;q=0", ""),
            ("deflate", ""),
        ] {
            let answer = get(&server, path, &[("accept-encoding", accept)]).await;
            assert_eq!(answer.status, 200, "{path} {accept}");
            assert_eq!(answer.header("content-encoding"), coding, "{path} {accept}");
            assert_eq!(answer.header("vary"), "Accept-Encoding", "{path} {accept}");
            assert_eq!(
                answer.header("content-type"),
                plain.header("content-type"),
                "{path} {accept}"
            );
            assert_eq!(answer.decoded(), plain.body, "{path} {accept}");
            let expected_tag = match coding {
                "" => tag.clone(),
                coding => format!("{}-{coding}\"", tag.trim_end_matches('"')),
            };
            assert_eq!(answer.header("etag"), expected_tag, "{path} {accept}");
            if !coding.is_empty() {
                assert!(
                    answer.body.len() < plain.body.len(),
                    "{path} {accept}: {} >= {}",
                    answer.body.len(),
                    plain.body.len()
                );
            }
        }
    }
}

#[actix_rt::test]
async fn a_matching_if_none_match_gets_304_with_the_same_headers() {
    let server = TestServer::start().await;
    for path in PATHS {
        for accept in ["", "gzip", "br"] {
            let first = get(&server, path, &[("accept-encoding", accept)]).await;
            let tag = first.header("etag").to_owned();
            for if_none_match in [
                tag.clone(),
                format!("W/{tag}"),
                format!("\"other\", {tag}"),
                "*".to_owned(),
            ] {
                let again = get(
                    &server,
                    path,
                    &[
                        ("accept-encoding", accept),
                        ("if-none-match", &if_none_match),
                    ],
                )
                .await;
                assert_eq!(again.status, 304, "{path} {accept} {if_none_match}");
                assert!(again.body.is_empty(), "{path}");
                assert_eq!(again.header("etag"), tag, "{path} {accept}");
                assert_eq!(again.header("vary"), "Accept-Encoding", "{path}");
                assert_eq!(
                    again.header("cache-control"),
                    first.header("cache-control"),
                    "{path}"
                );
                assert_eq!(
                    again.header("content-security-policy"),
                    first.header("content-security-policy"),
                    "{path}"
                );
            }
            // Another coding's tag, or a stale one, names other bytes: 200.
            let other = if accept == "br" { "gzip" } else { "br" };
            let stale = get(
                &server,
                path,
                &[("accept-encoding", other), ("if-none-match", &tag)],
            )
            .await;
            assert_eq!(stale.status, 200, "{path} {accept} → {other}");
            let stale = get(&server, path, &[("if-none-match", "\"0123\"")]).await;
            assert_eq!(stale.status, 200, "{path}");
        }
    }
    let widget = get(&server, "/widget.js", &[]).await;
    assert_eq!(widget.header("cache-control"), "public, max-age=300");
    let console = get(&server, "/console/app.js", &[]).await;
    assert_eq!(console.header("cache-control"), "no-cache");
}

#[actix_rt::test]
async fn console_dir_files_have_etags_but_go_out_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.js");
    std::fs::write(&app, "export const edited = 1;".repeat(100)).unwrap();
    let config = format!("[console]\ndir = {:?}\n", dir.path().to_str().unwrap());
    let server = TestServer::start_with(&config).await;
    let first = get(
        &server,
        "/console/app.js",
        &[("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!((first.status, first.header("content-encoding")), (200, ""));
    let tag = first.header("etag").to_owned();
    let again = get(&server, "/console/app.js", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, 304);
    // An edit is a new tag, at once.
    std::fs::write(&app, "export const edited = 2;").unwrap();
    let edited = get(&server, "/console/app.js", &[("if-none-match", &tag)]).await;
    assert_eq!(edited.status, 200);
    assert_ne!(edited.header("etag"), tag);
    assert_eq!(edited.body, b"export const edited = 2;");
}
