//! `kill -9` (docs/protocol.md §9.7 "What is guaranteed"): the real binary is
//! killed while it imports mail and while it sends replies, and restarted on
//! the same data directory. Every mail is imported exactly once; every reply
//! is sent, at most once more than it should be.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::crash::server::start_server;
use crate::process::Process;

/// Small batches, so a kill lands between cursor writes.
const CONFIG: &str = "[mail]\nbatch = 5\ntimeout_s = 5\nreconnect_min_s = 0.05\nreconnect_max_s = 0.2\nretry_min_s = 0.05\nretry_max_s = 0.2\n";

async fn admin_of(process: &Process) -> Api {
    let mut api = process.api();
    let resp = api
        .post(
            "/api/login",
            json!({"login": "admin", "password": crate::crash::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    api.token = Some(resp.body["token"].as_str().unwrap().to_owned());
    api.id = resp.body["agent"]["id"].as_str().unwrap().to_owned();
    api
}

struct Crashing {
    dir: tempfile::TempDir,
    dovecot: Dovecot,
    sink: SmtpSink,
    process: Process,
    admin: Api,
    inbox: String,
}

impl Crashing {
    async fn start() -> Option<Crashing> {
        let dovecot = Dovecot::start(USERS).await?;
        let sink = SmtpSink::start(&dovecot).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("tandem.toml"), CONFIG).unwrap();
        let process = start_server(
            &dir.path().join("data"),
            &dir.path().join("tandem.toml"),
            true,
        );
        let admin = admin_of(&process).await;
        let inbox = admin.create_inbox("Support").await;
        let body = channel_body(&dovecot, &sink, &inbox, json!({}));
        assert_eq!(admin.post("/api/channels", body).await.status, 201);
        Some(Crashing {
            dir,
            dovecot,
            sink,
            process,
            admin,
            inbox,
        })
    }

    async fn restart(&mut self) {
        self.process.kill();
        let (data, config) = (
            self.dir.path().join("data"),
            self.dir.path().join("tandem.toml"),
        );
        self.process = start_server(&data, &config, false);
        self.admin = admin_of(&self.process).await;
    }

    async fn tickets(&self) -> Vec<Value> {
        tickets(&self.admin, &self.inbox).await
    }
}

#[actix_rt::test]
async fn a_kill_while_importing_loses_and_duplicates_no_mail() {
    let Some(mut c) = Crashing::start().await else {
        return;
    };
    const MAILS: usize = 60;
    for i in 0..MAILS {
        let mail = Compose::from(USERS[1 + i % 4], &format!("Crash mail {i}"), "x");
        c.dovecot.append("support", "INBOX", &mail.raw()).await;
    }
    // Kill three times while the import runs, at growing progress.
    for progress in [5, 20, 40] {
        eventually(|| async { (c.tickets().await.len() >= progress).then_some(()) }).await;
        c.restart().await;
    }
    let all = eventually(|| async {
        let all = c.tickets().await;
        (all.len() >= MAILS).then_some(all)
    })
    .await;
    let mut subjects: Vec<_> = all
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), MAILS, "every mail once");
    assert_eq!(all.len(), MAILS, "no mail twice");
    for t in &all {
        let detail = c
            .admin
            .get(format!("/api/tickets/{}", t["id"].as_str().unwrap()))
            .await;
        assert_eq!(
            detail.body["messages"].as_array().unwrap().len(),
            1,
            "{}",
            t["subject"]
        );
    }
}

#[actix_rt::test]
async fn a_kill_while_sending_sends_every_reply_at_most_once_more() {
    let Some(mut c) = Crashing::start().await else {
        return;
    };
    c.dovecot
        .append(
            "support",
            "INBOX",
            &Compose::from("ada", "Many replies", "x").raw(),
        )
        .await;
    let ticket = eventually(|| async { c.tickets().await.first().cloned() }).await;
    let ticket = ticket["id"].as_str().unwrap().to_owned();
    const REPLIES: usize = 20;
    let mut ids = Vec::new();
    for i in 0..REPLIES {
        let reply = c
            .admin
            .post(
                format!("/api/tickets/{ticket}/messages"),
                json!({"kind": "reply", "body": format!("Reply {i}")}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        ids.push(
            reply.body["email"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    c.sink.wait_accepted(1, MAIL_WAIT).await;
    c.restart().await;
    let path = format!("/api/tickets/{ticket}");
    eventually(|| async {
        let detail = c.admin.get(&path).await.body;
        let messages = detail["messages"].as_array()?.clone();
        messages
            .iter()
            .filter(|m| m["kind"] == "reply")
            .all(|m| m["delivery"]["state"] == "sent")
            .then_some(())
    })
    .await;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for accepted in c.sink.accepted() {
        let id = bare(&header(&accepted.raw, "Message-ID").unwrap());
        *copies.entry(id).or_default() += 1;
    }
    for id in &ids {
        let n = copies.get(id).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "{id} went out {n} times");
    }
    let twice = copies.values().filter(|n| **n == 2).count();
    assert!(
        twice <= 1,
        "only the reply in flight at the kill may go out twice ({twice})"
    );
}
