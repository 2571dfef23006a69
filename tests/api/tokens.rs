//! Token lifetime: tokens expire, and logout, a password change or
//! disabling the agent revoke them — for REST at once, and for sockets that
//! were opened with them (closed 4401). Sockets per client address are capped.

use serde_json::json;
use tokio_tungstenite::tungstenite;

use crate::support::*;

#[actix_web::test]
async fn tokens_expire_for_rest_and_for_their_sockets() {
    let server = TestServer::start_with("[auth]\ntoken_ttl_s = 1.5\n").await;
    let admin = server.admin().await;
    let login = admin
        .post(
            "/api/login",
            json!({"login": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    let expires_at = login.body["expires_at"]
        .as_str()
        .expect("login says when the token expires");
    assert!(expires_at.ends_with('Z'), "{expires_at}");

    let (mut ws, _) = Ws::hello(&server, &admin).await;
    assert_eq!(admin.get("/api/me").await.status, 200);
    // The socket is closed when its token expires, without any frame from the client.
    assert_eq!(ws.closed().await, 4401);
    assert_eq!(
        admin.get("/api/me").await.status,
        401,
        "an expired token authenticates nobody"
    );
    let mut late = Ws::connect(&server).await;
    late.send(json!({"type": "hello", "token": admin.token}))
        .await;
    assert_eq!(late.closed().await, 4401);
    // A new login works, and purges the expired token from the store.
    assert_eq!(server.admin().await.get("/api/me").await.status, 200);
}

#[actix_web::test]
async fn logout_closes_the_sockets_opened_with_that_token_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let bianca = server.agent(&admin, "bianca", "agent", &[]).await;
    let other_login = server.login("bianca", "pw").await;
    let (mut revoked, _) = Ws::hello(&server, &bianca).await;
    let (mut kept, _) = Ws::hello(&server, &other_login).await;

    assert_eq!(bianca.post("/api/logout", json!(null)).await.status, 204);
    assert_eq!(revoked.closed().await, 4401);
    kept.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(
        kept.recv().await["type"],
        "pong",
        "the other token's socket stays"
    );
    assert_eq!(bianca.get("/api/me").await.status, 401);
    assert_eq!(other_login.get("/api/me").await.status, 200);
}

#[actix_web::test]
async fn a_new_password_revokes_every_other_token_and_socket() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let bianca = server.agent(&admin, "bianca", "agent", &[]).await;
    let (mut bianca_ws, _) = Ws::hello(&server, &bianca).await;
    let second_admin = server.admin().await;
    let (mut second_admin_ws, _) = Ws::hello(&server, &second_admin).await;
    let (mut admin_ws, _) = Ws::hello(&server, &admin).await;

    let resp = admin
        .patch(
            &format!("/api/agents/{}", bianca.id),
            json!({"password": "new"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(bianca_ws.closed().await, 4401);
    assert_eq!(bianca.get("/api/me").await.status, 401);
    assert_eq!(
        server
            .login("bianca", "new")
            .await
            .get("/api/me")
            .await
            .status,
        200
    );

    // Changing your own password keeps the token (and socket) you changed it with.
    let resp = admin
        .patch(
            &format!("/api/agents/{}", admin.id),
            json!({"password": "changed"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(second_admin_ws.closed().await, 4401);
    assert_eq!(second_admin.get("/api/me").await.status, 401);
    assert_eq!(admin.get("/api/me").await.status, 200);
    admin_ws.send(json!({"type": "ping"})).await;
    assert_eq!(admin_ws.recv().await["type"], "pong");
}

#[actix_web::test]
async fn sockets_per_client_address_are_capped() {
    let server = TestServer::start_with("max_sockets_per_address = 3\n").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Ws::connect(&server).await);
    }
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 429),
        other => panic!("expected 429, got {:?}", other.map(|(_, r)| r.status())),
    }
    // A closed socket gives its place back.
    let mut first = open.remove(0);
    first.socket.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        match tokio_tungstenite::connect_async(server.ws_url()).await {
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() < deadline => tokio::task::yield_now().await,
            Err(e) => panic!("the place was not given back: {e}"),
        }
    }
}
