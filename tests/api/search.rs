//! Search: ticket numbers, words in subject, customer and messages; ranked;
//! only what the caller may see; fresh as soon as a write is acknowledged.

use serde_json::{Value, json};

use crate::support::*;

async fn create(
    admin: &Api,
    inbox: &str,
    subject: &str,
    name: &str,
    contact: &str,
    body: &str,
) -> Value {
    let resp = admin
        .post("/api/tickets", json!({"inbox": inbox, "subject": subject, "customer": {"name": name, "contact": contact}, "body": body}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.body
}

#[actix_web::test]
async fn search_finds_numbers_and_words_people_type() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let sales = admin.create_inbox("Sales").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&support]).await;
    let lena = server.agent(&admin, "lena", "light", &[&support]).await;
    create(
        &admin,
        &support,
        "Printer on fire",
        "Maya Lindqvist",
        "maya@lindqvist.example",
        "It smokes",
    )
    .await; // 1
    create(
        &admin,
        &support,
        "Invoice question",
        "Oskar Brandt",
        "oskar@brandt.example",
        "The printer invoice is wrong",
    )
    .await; // 2
    create(
        &admin,
        &sales,
        "Printer quote",
        "Raj Patel",
        "raj@bigcorp.example",
        "40 printers please",
    )
    .await; // 3
    let q = |api: &Api, query: &str| {
        let (api, path) = (
            api.clone(),
            format!(
                "/api/search?q={}",
                query.replace('#', "%23").replace(' ', "%20")
            ),
        );
        async move { api.get(path).await }
    };
    assert_eq!(numbers(&q(&bianca, "#2").await.body), [2]);
    assert_eq!(numbers(&q(&bianca, "2").await.body), [2]);
    assert_eq!(
        numbers(&q(&bianca, "#3").await.body),
        Vec::<u64>::new(),
        "ticket 3 is in Sales: never shown"
    );
    assert_eq!(numbers(&q(&admin, "#3").await.body), [3]);
    assert_eq!(
        numbers(&q(&bianca, "PRINTER").await.body),
        [1, 2],
        "a subject match ranks above a body match"
    );
    assert_eq!(
        numbers(&q(&admin, "printer").await.body),
        [3, 1, 2],
        "equal relevance: newest ticket first"
    );
    assert_eq!(
        numbers(&q(&bianca, "lindqvist").await.body),
        [1],
        "customer name and contact"
    );
    assert_eq!(
        numbers(&q(&bianca, "brandt example").await.body),
        [2],
        "every word must match"
    );
    assert_eq!(numbers(&q(&bianca, "printer smokes").await.body), [1]);
    assert_eq!(
        numbers(&q(&lena, "invoice").await.body),
        [2],
        "light agents search what they see"
    );
    assert_eq!(
        numbers(&q(&bianca, "nothing-like-this").await.body),
        Vec::<u64>::new()
    );
    assert_eq!(
        numbers(
            &admin
                .get(format!("/api/search?q=printer&inbox={sales}"))
                .await
                .body
        ),
        [3]
    );
    assert_eq!(
        bianca
            .get(format!("/api/search?q=printer&inbox={sales}"))
            .await
            .status,
        404
    );
    assert_eq!(
        bianca.get("/api/search?q=printer&limit=0").await.status,
        400
    );
    assert_eq!(bianca.get("/api/search").await.status, 400);
}

#[actix_web::test]
async fn new_messages_are_searchable_once_acknowledged_and_deleted_tickets_vanish() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    let t = create(
        &admin,
        &inbox,
        "Login loop",
        "Tom",
        "tom@example.com",
        "I cannot log in",
    )
    .await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(
        numbers(&bianca.get("/api/search?q=zebra").await.body),
        Vec::<u64>::new()
    );
    let note = bianca
        .post(
            format!("/api/tickets/{id}/messages"),
            json!({"kind": "note", "body": "Zebra-striped cookie issue"}),
        )
        .await;
    assert_eq!(note.status, 200);
    assert_eq!(
        numbers(&bianca.get("/api/search?q=zebra").await.body),
        [1],
        "searchable as soon as the write is acknowledged"
    );
    bianca
        .patch(
            format!("/api/tickets/{id}"),
            json!({"subject": "Cookie loop"}),
        )
        .await;
    assert_eq!(
        numbers(&bianca.get("/api/search?q=login").await.body),
        Vec::<u64>::new(),
        "the old subject is forgotten"
    );
    assert_eq!(
        numbers(&bianca.get("/api/search?q=cannot").await.body),
        [1],
        "the first message still matches"
    );
    assert_eq!(
        numbers(&bianca.get("/api/search?q=cookie%20loop").await.body),
        [1]
    );
    bianca.delete(format!("/api/tickets/{id}")).await;
    assert_eq!(
        numbers(&bianca.get("/api/search?q=zebra").await.body),
        Vec::<u64>::new()
    );
    assert_eq!(
        numbers(&bianca.get("/api/search?q=%231").await.body),
        Vec::<u64>::new()
    );
}
