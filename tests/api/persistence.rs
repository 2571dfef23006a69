//! Durability: acknowledged writes survive a restart; the data directory is
//! exclusive to one server; a newer schema is refused, an older one upgraded.

use redb::ReadableTable;
use serde_json::{Value, json};

use crate::support::*;

#[actix_web::test]
async fn acknowledged_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    let ticket = admin.create_ticket(&inbox, "Persist me").await;
    let id = ticket["id"].as_str().unwrap().to_owned();
    let note = bianca
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"kind": "note", "body": "remember"}),
        )
        .await;
    assert_eq!(note.status, 200);
    bianca
        .patch(&format!("/api/tickets/{id}"), json!({"tags": ["kept"]}))
        .await;
    admin
        .patch("/api/settings", json!({"sign_replies": false}))
        .await;
    server.stop();

    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let (admin, bianca) = (admin.on(&server), bianca.on(&server));
    let detail = bianca.get(&format!("/api/tickets/{id}")).await;
    assert_eq!(detail.status, 200, "tokens survive too");
    assert_eq!(detail.body["messages"][1]["body"], "remember");
    assert_eq!(detail.body["tags"], json!(["kept"]));
    assert_eq!(
        bianca.get("/api/settings").await.body["sign_replies"],
        false
    );
    let next = admin.create_ticket(&inbox, "After restart").await;
    assert_eq!(next["number"], 2, "numbers continue without reuse");
    let history = bianca.get(&format!("/api/tickets/{id}/history")).await;
    assert_eq!(history.body.as_array().unwrap().len(), 2);
    drop(server);
}

#[actix_web::test]
async fn a_data_directory_in_use_is_refused_clearly() {
    let server = TestServer::start().await;
    let second = TestServer::start_in(&server.dir, "").await;
    let error = second.err().expect("second server must not start");
    assert!(error.contains("already in use"), "{error}");
    // The first server is unharmed.
    assert_eq!(server.admin().await.get("/api/me").await.status, 200);
}

#[actix_web::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(tandem::store::Store::file_in(dir.path())).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(tandem::store::tables::META)
            .unwrap()
            .insert("schema_version", b"99".as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    let error = TestServer::start_in(dir.path(), "")
        .await
        .err()
        .expect("refused");
    assert!(error.contains("newer Tandem"), "{error}");
}

#[actix_web::test]
async fn data_written_before_the_search_index_existed_is_indexed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let ticket = admin.create_ticket(&inbox, "Zebra crossing").await;
    assert_eq!(ticket["number"], 1);
    server.stop();
    {
        // Make the file look like one from before the index: no postings, no marker.
        let db = redb::Database::create(tandem::store::Store::file_in(dir.path())).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(tandem::store::tables::SEARCH).unwrap();
        tx.open_table(tandem::store::tables::META)
            .unwrap()
            .remove("search_index")
            .unwrap();
        tx.commit().unwrap();
    }
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let found = admin.on(&server).get("/api/search?q=zebra").await;
    assert_eq!(found.body["tickets"][0]["number"], 1, "{}", found.body);
}

#[actix_web::test]
async fn notifications_stored_with_their_text_under_schema_1_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    let sam = server.agent(&admin, "sam", "agent", &[]).await;
    let bianca_id = bianca.get("/api/me").await.body["id"].clone();
    let sam_id = sam.get("/api/me").await.body["id"].clone();
    let sharing = admin
        .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
        .await;
    assert_eq!(sharing.status, 200);
    let ticket = admin.create_ticket(&inbox, "Printer \"on fire\"").await;
    let path = |rest: &str| format!("/api/tickets/{}{rest}", ticket["id"].as_str().unwrap());
    for (rest, body) in [
        ("/assign", json!({"agent": bianca_id})),
        ("/messages", json!({"kind": "note", "body": "@bianca look"})),
        (
            "/messages",
            json!({"kind": "customer", "body": "Still broken"}),
        ),
        ("/shares", json!({"agent": sam_id})),
    ] {
        let resp = admin.post(path(rest), body).await;
        assert_eq!(resp.status, 200, "{rest}: {}", resp.body);
    }
    let unshared = admin
        .delete(path(&format!("/shares/{}", sam_id.as_str().unwrap())))
        .await;
    assert_eq!(unshared.status, 204);
    let before = [
        bianca.get("/api/me/notifications").await.body,
        sam.get("/api/me/notifications").await.body,
    ];
    let kinds: Vec<&str> = before
        .iter()
        .flat_map(|list| list.as_array().unwrap())
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["update", "mention", "assigned", "unshared", "shared"]
    );
    server.stop();
    {
        // Write the records as schema 1 did: the text instead of its parameters.
        let texts: std::collections::HashMap<String, Value> = before
            .iter()
            .flat_map(|list| list.as_array().unwrap())
            .map(|n| (n["id"].as_str().unwrap().to_owned(), n["text"].clone()))
            .collect();
        let db = redb::Database::create(tandem::store::Store::file_in(dir.path())).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(tandem::store::tables::NOTIFICATIONS).unwrap();
            let rows: Vec<((u128, u128), Vec<u8>)> = table
                .iter()
                .unwrap()
                .map(|row| {
                    let (key, value) = row.unwrap();
                    (key.value(), value.value().to_vec())
                })
                .collect();
            for (key, bytes) in rows {
                let mut record: serde_json::Map<String, Value> =
                    serde_json::from_slice(&bytes).unwrap();
                for parameter in ["by_name", "author_name", "message", "reason"] {
                    record.remove(parameter);
                }
                let id = record["id"].as_str().unwrap().to_owned();
                record.insert("text".into(), texts[&id].clone());
                let bytes = serde_json::to_vec(&record).unwrap();
                table.insert(key, bytes.as_slice()).unwrap();
            }
            tx.open_table(tandem::store::tables::META)
                .unwrap()
                .insert("schema_version", b"1".as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let after = [
        bianca.on(&server).get("/api/me/notifications").await.body,
        sam.on(&server).get("/api/me/notifications").await.body,
    ];
    assert_eq!(after, before);
}
