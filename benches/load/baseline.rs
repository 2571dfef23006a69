//! The baseline: a minimal actix-web + actix-ws broadcast server, the ceiling
//! of Tandem's stack. No domain logic: a client's first text frame
//! `{"type":"join","room":R}` joins room R (answered `{"type":"joined"}`);
//! every later text frame is broadcast as is to every member of the room,
//! the sender included. Like Tandem it pings every 10 s and sets
//! `TCP_NODELAY` on accepted sockets. For REST, `POST
//! /api/tickets/{id}/messages` parses the JSON body and answers `201` with a
//! message of the size Tandem answers, storing nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use actix_ws::Message;
use futures_util::StreamExt;

type Rooms = Arc<Mutex<HashMap<String, Vec<(u64, actix_ws::Session)>>>>;

pub fn serve(announce: impl FnOnce(std::net::SocketAddr)) {
    let rooms: Rooms = Arc::default();
    actix_rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(rooms.clone()))
                .route("/ws", web::get().to(upgrade))
                .route("/api/tickets/{id}/messages", web::post().to(post_message))
        })
        .tcp_nodelay(true) // as Tandem does
        .backlog(4096)
        .max_connections(100_000)
        .bind("127.0.0.1:0")
        .expect("bind");
        announce(server.addrs()[0]);
        server.run().await.unwrap();
    });
}

/// A note "posted": parsed, answered like Tandem's (same fields, similar
/// size), not stored.
async fn post_message(
    ticket: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    HttpResponse::Created().json(serde_json::json!({
        "id": format!("01a1fdc3-0000-7000-8000-{n:012}"),
        "ticket": ticket.as_str(),
        "kind": body["kind"],
        "author": {"id": "01a1fdc3-02b4-7243-bc6d-48b0f9baab3d", "name": "Agent 1"},
        "body": body["body"],
        "mentions": [],
        "created_at": "2026-11-21T10:59:38.718Z",
        "state": "sent",
        "send_at": null,
        "signature": null,
        "skipped_mentions": [],
    }))
}

async fn upgrade(
    rooms: web::Data<Rooms>,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(connection(rooms.get_ref().clone(), session, stream));
    Ok(response)
}

async fn connection(
    rooms: Rooms,
    mut session: actix_ws::Session,
    mut stream: actix_ws::MessageStream,
) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut room: Option<String> = None;
    let mut ping = actix_rt::time::interval(Duration::from_secs(10));
    ping.tick().await;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if session.ping(b"").await.is_err() { break; }
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match &room {
                    None => {
                        let name = text.split("\"room\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_owned();
                        rooms.lock().unwrap().entry(name.clone()).or_default().push((id, session.clone()));
                        room = Some(name);
                        if session.text("{\"type\":\"joined\"}").await.is_err() { break; }
                    }
                    Some(name) => {
                        let members: Vec<actix_ws::Session> =
                            rooms.lock().unwrap().get(name).map(|m| m.iter().map(|(_, s)| s.clone()).collect()).unwrap_or_default();
                        for mut member in members {
                            let _ = member.text(text.clone()).await;
                        }
                    }
                },
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() { break; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    }
    if let Some(name) = room
        && let Some(members) = rooms.lock().unwrap().get_mut(&name)
    {
        members.retain(|(m, _)| *m != id);
    }
    let _ = session.close(None).await;
}
