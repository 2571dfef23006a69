//! The web console's files: served from the binary with a strict
//! Content-Security-Policy, and nothing else reachable through their route.

use crate::support::*;

async fn fetch(server: &TestServer, path: &str) -> (u16, String, String, String) {
    let mut resp = awc::Client::default()
        .get(server.url(path))
        .send()
        .await
        .expect("request sent");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, csp) = (header("content-type"), header("content-security-policy"));
    let body = resp.body().await.expect("body");
    (
        resp.status().as_u16(),
        content_type,
        csp,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_rt::test]
async fn the_console_is_served_at_the_root_with_a_strict_policy() {
    let server = TestServer::start().await;
    let (status, content_type, csp, body) = fetch(&server, "/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        body.contains("/console/app.js"),
        "the page loads the app module"
    );
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    for (path, kind) in [
        ("/console/app.js", "text/javascript"),
        ("/console/style.css", "text/css"),
    ] {
        let (status, content_type, _, body) = fetch(&server, path).await;
        assert_eq!(
            (status, content_type.starts_with(kind)),
            (200, true),
            "{path}: {content_type}"
        );
        assert!(!body.is_empty(), "{path} is empty");
    }
    let (status, _, _, body) = fetch(&server, "/console/tandem-client.js").await;
    assert_eq!(status, 200);
    assert!(body.contains("export"), "the client is an ES module");
}

#[actix_rt::test]
async fn only_the_consoles_own_files_are_reachable() {
    let server = TestServer::start().await;
    for path in [
        "/console/Cargo.toml",
        "/console/..%2FCargo.toml",
        "/console/../Cargo.toml",
        "/console/",
    ] {
        assert_eq!(fetch(&server, path).await.0, 404, "{path}");
    }
}

#[actix_rt::test]
async fn console_dir_serves_the_same_files_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "export const edited = true;").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not a console file").unwrap();
    let config = format!("[console]\ndir = {:?}\n", dir.path().to_str().unwrap());
    let server = TestServer::start_with(&config).await;
    let (status, _, _, body) = fetch(&server, "/console/app.js").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "export const edited = true;")
    );
    // Only the console's own names, and a name missing from the directory is 404.
    assert_eq!(fetch(&server, "/console/secret.txt").await.0, 404);
    assert_eq!(fetch(&server, "/console/style.css").await.0, 404);
}
