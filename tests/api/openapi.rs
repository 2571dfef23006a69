//! `GET /api/openapi.json` (docs/protocol.md §6.11): the document describes
//! exactly the routes the app registers (`tandem::http::route_table`, the
//! list `routes` is built from), each described route answers, and the
//! document is valid OpenAPI 3.1 by an independent validator (Python's
//! `openapi-spec-validator`).
//!
//! Without `openapi-spec-validator` the validation is skipped with a loud
//! message, unless `CI` is set: then it fails (`.ci/run` installs it).

use std::collections::BTreeSet;
use std::process::Command;

use awc::http::Method;
use serde_json::Value;

use crate::process::Process;
use crate::support::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The (method, path) of every operation in `document`.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut found = BTreeSet::new();
    for (path, item) in paths {
        for (key, _) in item.as_object().expect("a path item") {
            assert!(METHODS.contains(&key.as_str()), "{path}: unexpected {key}");
            found.insert((key.to_uppercase(), path.clone()));
        }
    }
    found
}

async fn document(api: &Api) -> Value {
    let resp = api.get("/api/openapi.json").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.body
}

#[actix_web::test]
async fn the_document_describes_every_route_of_the_app_and_nothing_else() {
    let server = TestServer::start().await;
    let document = document(&server.anonymous()).await;
    assert_eq!(document["openapi"], "3.1.0");
    let app: BTreeSet<(String, String)> = tandem::http::route_table()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    let documented = operations(&document);
    let undocumented: Vec<_> = app.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without a description: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&app).collect();
    assert!(
        unrouted.is_empty(),
        "described routes the app lacks: {unrouted:?}"
    );
    // The table is not empty by accident: it has what docs/protocol.md names.
    for route in [
        ("POST", "/api/login"),
        ("GET", "/ws"),
        ("POST", "/api/tickets/{id}/{step}"),
    ] {
        assert!(
            app.contains(&(route.0.to_owned(), route.1.to_owned())),
            "{route:?}"
        );
    }
}

/// A value for a path parameter that the route matches (a fresh UUID for ids).
fn fill(path: &str) -> String {
    path.replace("{file}", "app.js")
        .replace("{step}", "accept")
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every described operation answers without a token with one of its
/// described statuses: 401 where it needs a token (so it was routed to its
/// handler: an unknown route is `404 not_found`), and never a 404 elsewhere.
/// On a `--demo` server, where `/demo/shop` exists too.
#[actix_web::test]
async fn every_described_route_answers_with_a_described_status() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let process = Process::start(
        &["--demo", "--bind", "127.0.0.1:0", "--data-dir", data],
        &[],
    );
    let api = process.api();
    let document = document(&api).await;
    let default_security = &document["security"];
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        let public = operation["security"] == serde_json::json!([{}]);
        // An API channel's integration endpoints take the channel's key.
        let keyed = operation["security"] == serde_json::json!([{"api_key": []}]);
        assert!(
            public
                || keyed
                || (operation.get("security").is_none()
                    && default_security[0]["bearer"].is_array()),
            "{method} {path}: neither public, keyed nor bearer"
        );
        let url = fill(&path);
        let resp = api
            .try_send(Method::from_bytes(method.as_bytes()).unwrap(), &url, None)
            .await
            .unwrap();
        let described = operation["responses"]
            .as_object()
            .unwrap()
            .contains_key(&resp.status.to_string());
        assert!(
            described,
            "{method} {url} answered an undescribed {}: {}",
            resp.status, resp.body
        );
        if public {
            assert_ne!(resp.status, 404, "{method} {url}: {}", resp.body);
        } else {
            assert_eq!(resp.status, 401, "{method} {url}: {}", resp.body);
        }
    }
}

#[actix_web::test]
async fn the_document_is_valid_openapi_3_1() {
    let server = TestServer::start().await;
    let document = document(&server.anonymous()).await;
    let has_validator = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_validator {
        let message = "the OpenAPI test needs Python's openapi-spec-validator: \
                       python3 -m pip install openapi-spec-validator";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n\n!!!!! SKIPPED: {message} !!!!!\n");
        return;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document.to_string()).unwrap();
    let script = "import json, sys\n\
                  from openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
                  validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(file.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "not valid OpenAPI 3.1:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
