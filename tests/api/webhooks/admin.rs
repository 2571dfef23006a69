//! `/api/webhooks`: admins only, the shapes of §9.8.1, validation.

use serde_json::json;

use super::{create_webhook, setup};
use crate::support::TestServer;

#[actix_web::test]
async fn admins_create_list_change_rotate_and_delete() {
    let (server, admin, inbox) = setup().await;
    let created = admin
        .post(
            "/api/webhooks",
            json!({"url": "https://crm.example.com/hook", "events": ["ticket.created", "note.created"], "description": "CRM"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let hook = created.body;
    let id = hook["id"].as_str().unwrap().to_owned();
    assert_eq!(hook["url"], "https://crm.example.com/hook");
    assert_eq!(hook["events"], json!(["ticket.created", "note.created"]));
    assert_eq!(hook["description"], "CRM");
    assert_eq!(hook["enabled"], true);
    assert!(hook["created_at"].is_string());
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);

    let list = admin.get("/api/webhooks").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["webhooks"][0]["id"], id.as_str());
    assert!(
        list.body["webhooks"][0].get("secret").is_none(),
        "never listed"
    );
    let path = format!("/api/webhooks/{id}");
    assert!(admin.get(&path).await.body.get("secret").is_none());

    let patched = admin
        .patch(
            &path,
            json!({"events": ["ticket.deleted"], "enabled": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["events"], json!(["ticket.deleted"]));
    assert_eq!(patched.body["enabled"], false);

    let rotated = admin.post(format!("{path}/rotate_secret"), json!({})).await;
    assert_eq!(rotated.status, 200);
    let new_secret = rotated.body["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);

    let agent = server.agent(&admin, "sam", "agent", &[&inbox]).await;
    assert_eq!(agent.get("/api/webhooks").await.status, 403);
    assert_eq!(agent.get(&path).await.status, 403);
    let by_agent = agent
        .post(
            "/api/webhooks",
            json!({"url": "https://x.example/", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(by_agent.status, 403);
    assert_eq!(agent.delete(&path).await.status, 403);

    assert_eq!(admin.delete(&path).await.status, 204);
    assert_eq!(admin.get(&path).await.status, 404);
    assert_eq!(admin.get(format!("{path}/deliveries")).await.status, 404);
}

#[actix_web::test]
async fn bad_urls_unknown_events_and_private_addresses_are_refused() {
    // The default config: private destinations are refused.
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for (url, events) in [
        ("ftp://example.com/", json!(["ticket.created"])),
        ("not a url", json!(["ticket.created"])),
        ("https://example.com/", json!([])),
        ("https://example.com/", json!(["ticket.exploded"])),
        ("http://127.0.0.1:8080/hook", json!(["ticket.created"])),
        ("http://169.254.169.254/latest", json!(["ticket.created"])),
        ("http://[::1]/hook", json!(["ticket.created"])),
    ] {
        let resp = admin
            .post("/api/webhooks", json!({"url": url, "events": events}))
            .await;
        assert_eq!(
            (resp.status, resp.code()),
            (400, "bad_request"),
            "{url} {events}: {}",
            resp.body
        );
    }
    let ok = create_webhook(&admin, "https://example.com/hook", &["ticket.created"]).await;
    let path = format!("/api/webhooks/{}", ok["id"].as_str().unwrap());
    let private = admin.patch(&path, json!({"url": "http://10.0.0.1/"})).await;
    assert_eq!(private.status, 400, "{}", private.body);
}
