//! Durability: acknowledged writes survive a restart; the data directory is
//! exclusive to one server; a newer schema is refused.

use serde_json::json;

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
