//! Accounts: bootstrap admin, login/logout, roles, admin endpoints, settings.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn bootstrap_admin_logs_in_and_sees_itself() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let me = admin.get("/api/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["handle"], "admin");
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["id"], admin.id.as_str());
}

#[actix_web::test]
async fn login_accepts_handle_or_email_case_insensitively() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server.agent(&admin, "bianca", "agent", &[]).await;
    let by_email = server.login("Bianca@Example.com", "pw").await;
    let me = by_email.get("/api/me").await;
    assert_eq!(me.body["handle"], "bianca");
    let by_handle = server.login("BIANCA", "pw").await;
    assert_eq!(by_handle.get("/api/me").await.body["handle"], "bianca");
}

#[actix_web::test]
async fn bad_password_and_unknown_login_are_unauthorized() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let wrong = anon
        .post("/api/login", json!({"login": "admin", "password": "nope"}))
        .await;
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized"));
    let nobody = anon
        .post("/api/login", json!({"login": "ghost", "password": "x"}))
        .await;
    assert_eq!((nobody.status, nobody.code()), (401, "unauthorized"));
    let malformed = anon.post("/api/login", json!({"login": "admin"})).await;
    assert_eq!((malformed.status, malformed.code()), (400, "bad_request"));
}

#[actix_web::test]
async fn ten_failed_logins_block_the_login_for_a_minute() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    for _ in 0..10 {
        let resp = anon
            .post("/api/login", json!({"login": "admin", "password": "wrong"}))
            .await;
        assert_eq!(resp.status, 401);
    }
    let blocked = anon
        .post(
            "/api/login",
            json!({"login": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!((blocked.status, blocked.code()), (429, "rate_limited"));
}

#[actix_web::test]
async fn logout_revokes_the_token_only() {
    let server = TestServer::start().await;
    let first = server.admin().await;
    let second = server.admin().await;
    assert_eq!(first.post("/api/logout", json!({})).await.status, 204);
    assert_eq!(first.get("/api/me").await.status, 401);
    assert_eq!(second.get("/api/me").await.status, 200);
}

#[actix_web::test]
async fn missing_or_garbage_tokens_are_unauthorized() {
    let server = TestServer::start().await;
    let resp = server.anonymous().get("/api/me").await;
    assert_eq!((resp.status, resp.code()), (401, "unauthorized"));
    let mut fake = server.anonymous();
    fake.token = Some("deadbeef".into());
    assert_eq!(fake.get("/api/inboxes").await.status, 401);
}

#[actix_web::test]
async fn disabling_an_agent_ends_its_tokens_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let bianca = server.agent(&admin, "bianca", "agent", &[]).await;
    assert_eq!(bianca.get("/api/me").await.status, 200);
    let resp = admin
        .patch(
            &format!("/api/agents/{}", bianca.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body["disabled"], true);
    assert_eq!(bianca.get("/api/me").await.status, 401);
    let again = server
        .anonymous()
        .post("/api/login", json!({"login": "bianca", "password": "pw"}))
        .await;
    assert_eq!(again.status, 401, "a disabled agent cannot log in");
    // Re-enabling does not revive old tokens.
    admin
        .patch(
            &format!("/api/agents/{}", bianca.id),
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(bianca.get("/api/me").await.status, 401);
    assert_eq!(
        server
            .login("bianca", "pw")
            .await
            .get("/api/me")
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn admin_endpoints_are_for_admins_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let agent = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    let light = server.agent(&admin, "lena", "light", &[&inbox]).await;
    for caller in [&agent, &light] {
        assert_eq!(caller.get("/api/agents").await.status, 403);
        let create = json!({"handle": "x", "name": "X", "email": "x@example.com", "role": "agent", "password": "pw"});
        assert_eq!(caller.post("/api/agents", create).await.code(), "forbidden");
        assert_eq!(
            caller
                .patch(
                    &format!("/api/agents/{}", caller.id),
                    json!({"role": "admin"})
                )
                .await
                .status,
            403
        );
        assert_eq!(
            caller
                .post("/api/inboxes", json!({"name": "Mine"}))
                .await
                .status,
            403
        );
        assert_eq!(
            caller
                .patch("/api/settings", json!({"sign_replies": false}))
                .await
                .status,
            403
        );
        assert_eq!(
            caller.get("/api/settings").await.status,
            200,
            "any agent may read settings"
        );
    }
    let agents = admin.get("/api/agents").await;
    assert_eq!(agents.body.as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn agent_creation_validates_and_refuses_duplicates() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ok = json!({"handle": "Hanna", "name": "Hanna", "email": "hanna@example.com", "role": "agent", "password": "pw"});
    let created = admin.post("/api/agents", ok.clone()).await;
    assert_eq!(created.status, 200);
    assert_eq!(
        created.body["handle"], "hanna",
        "handles are stored lower-case"
    );
    let duplicate = admin.post("/api/agents", ok).await;
    assert_eq!((duplicate.status, duplicate.code()), (409, "conflict"));
    assert_eq!(
        duplicate.body["error"]["message"],
        "the handle hanna is taken"
    );
    let same_email = json!({"handle": "h2", "name": "H", "email": "HANNA@example.com", "role": "agent", "password": "pw"});
    let taken = admin.post("/api/agents", same_email).await;
    assert_eq!(taken.status, 409);
    assert_eq!(
        taken.body["error"]["message"],
        "the e-mail hanna@example.com is taken"
    );
    for bad in [
        json!({"handle": "has space", "name": "X", "email": "x@example.com", "role": "agent", "password": "pw"}),
        json!({"handle": "x", "name": "X", "email": "not-an-email", "role": "agent", "password": "pw"}),
        json!({"handle": "x", "name": "X", "email": "x@example.com", "role": "boss", "password": "pw"}),
        json!({"handle": "x", "name": "", "email": "x@example.com", "role": "agent", "password": "pw"}),
        json!({"handle": "x", "name": "X", "email": "x@example.com", "role": "agent", "password": ""}),
        json!({"handle": "x", "name": "X", "email": "x@example.com", "role": "agent", "password": "pw", "inboxes": ["01a1fcb1-fa68-7345-849d-4f02be394110"]}),
        json!({"handle": "x", "name": "X", "email": "x@example.com", "role": "agent", "password": "pw", "extra": 1}),
    ] {
        let resp = admin.post("/api/agents", bad.clone()).await;
        assert_eq!((resp.status, resp.code()), (400, "bad_request"), "{bad}");
    }
    assert_eq!(
        admin
            .get("/api/agents")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2,
        "bad requests changed nothing"
    );
}

#[actix_web::test]
async fn agents_can_be_renamed_moved_and_given_new_passwords() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let sales = admin.create_inbox("Sales").await;
    let sam = server.agent(&admin, "sam", "agent", &[&support]).await;
    let resp = admin
        .patch(
            &format!("/api/agents/{}", sam.id),
            json!({"name": "Samuel", "inboxes": [sales], "password": "new"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["name"], "Samuel");
    assert_eq!(resp.body["inboxes"], json!([sales]));
    let sam = server.login("sam", "new").await;
    let inboxes = sam.get("/api/inboxes").await;
    assert_eq!(inboxes.body, json!([{"id": sales, "name": "Sales"}]));
    let unknown = admin
        .patch(
            "/api/agents/01a1fcb1-fa68-7345-849d-4f02be394110",
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[actix_web::test]
async fn every_agent_sees_its_active_colleagues_without_private_details() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let lena = server.agent(&admin, "lena", "light", &[&support]).await;
    let sam = server.agent(&admin, "sam", "agent", &[]).await;
    admin
        .patch(
            &format!("/api/agents/{}", sam.id),
            json!({"disabled": true}),
        )
        .await;
    let colleagues = lena.get("/api/colleagues").await;
    assert_eq!(colleagues.status, 200);
    assert_eq!(
        colleagues.body,
        json!([
            {"id": admin.id, "handle": "admin", "name": "Admin", "role": "admin"},
            {"id": lena.id, "handle": "lena", "name": "Lena", "role": "light"},
        ]),
        "active agents only, without e-mail or inboxes"
    );
    assert_eq!(server.anonymous().get("/api/colleagues").await.status, 401);
}

#[actix_web::test]
async fn inbox_list_shows_memberships_and_everything_to_admins() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    admin.create_inbox("Sales").await;
    let lena = server.agent(&admin, "lena", "light", &[&support]).await;
    assert_eq!(
        lena.get("/api/inboxes").await.body,
        json!([{"id": support, "name": "Support"}])
    );
    assert_eq!(
        admin
            .get("/api/inboxes")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        admin
            .post("/api/inboxes", json!({"name": "  "}))
            .await
            .status,
        400
    );
}

#[actix_web::test]
async fn settings_have_defaults_and_admins_change_them() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let defaults = admin.get("/api/settings").await;
    assert_eq!(
        defaults.body,
        json!({"ticket_sharing_enabled": false, "sign_replies": true, "hard_lock_auto_unlock_s": 1800,
               "hidden_release_s": 30, "reconnect_grace_s": 10})
    );
    let changed = admin
        .patch(
            "/api/settings",
            json!({"ticket_sharing_enabled": true, "hard_lock_auto_unlock_s": null, "hidden_release_s": 0.5}),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["ticket_sharing_enabled"], true);
    assert_eq!(changed.body["hard_lock_auto_unlock_s"], json!(null));
    assert_eq!(changed.body["hidden_release_s"], json!(0.5));
    assert_eq!(
        changed.body["reconnect_grace_s"], 10,
        "untouched keys keep their value"
    );
    let bad = admin
        .patch("/api/settings", json!({"hidden_release_s": -1}))
        .await;
    assert_eq!(bad.status, 400);
    let unknown = admin.patch("/api/settings", json!({"colour": "red"})).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        admin.get("/api/settings").await.body,
        changed.body,
        "bad requests changed nothing"
    );
}
