//! The write load between two kills: workers, the ticket creator, the drafter.

use super::*;

/// Writes to its own tickets, one request at a time, until the kill.
pub(super) struct Worker {
    pub(super) me: String,
    pub(super) api: Api,
    pub(super) peers: Vec<String>,
    pub(super) outsider: String,
    pub(super) tickets: Vec<TicketModel>,
    pub(super) rng: StdRng,
    pub(super) tag: String,
    pub(super) seq: usize,
    /// Kinds of the writes acknowledged.
    pub(super) acked: Vec<&'static str>,
    /// The write in flight at the kill: (ticket id, write).
    pub(super) lost: Option<(String, Write)>,
    pub(super) killed: Rc<Cell<bool>>,
}

impl Worker {
    pub(super) async fn run(mut self) -> Worker {
        while !self.killed.get() && !self.tickets.is_empty() {
            let i = self.rng.random_range(0..self.tickets.len());
            let write = self.choose(i);
            let id = self.tickets[i].id.clone();
            let (method, path, body) = write.request(&id, &self.outsider);
            let answer = match self.api.try_send(method, &path, body).await {
                Ok(answer) => answer,
                Err(_) => {
                    self.lost = Some((id, write));
                    break;
                }
            };
            let ticket = &mut self.tickets[i];
            if (200..300).contains(&answer.status) {
                ticket.apply(
                    &write,
                    &self.me,
                    &self.outsider,
                    write.outcome(&answer.body),
                );
                self.acked.push(write.kind());
                continue;
            }
            // The one refusal the model allows: the lock expired before the unlock came.
            let expired = ticket
                .lock
                .as_ref()
                .is_some_and(|l| l.expires_ms <= now_ms());
            assert!(
                matches!(write, Write::Unlock) && answer.status == 409 && expired,
                "worker {}: {write:?} on #{} refused: {} {}",
                self.tag,
                ticket.number,
                answer.status,
                answer.body
            );
        }
        self
    }

    pub(super) fn choose(&mut self, i: usize) -> Write {
        let (assignee, lock, shared) = {
            let t = &self.tickets[i];
            (t.assignee.clone(), t.lock.clone(), t.shared)
        };
        self.seq += 1;
        let tag = format!("{}.{}", self.tag, self.seq);
        let mut roll = self.rng.random_range(0..100);
        if (50..65).contains(&roll)
            && lock
                .as_ref()
                .is_some_and(|l| l.expires_ms < now_ms() + 1000)
        {
            roll = 0; // a lock about to expire is left to its timer
        }
        match roll {
            0..30 => Write::Note(text(&mut self.rng, &format!("note {tag}"))),
            30..50 => {
                // Always a change (a no-op assign records nothing), never to oneself.
                let mut choices: Vec<Option<String>> = self
                    .peers
                    .iter()
                    .filter(|p| assignee.as_ref() != Some(p))
                    .cloned()
                    .map(Some)
                    .collect();
                if assignee.is_some() {
                    choices.push(None);
                }
                Write::Assign(choices[self.rng.random_range(0..choices.len())].clone())
            }
            50..65 if lock.is_none() => Write::Lock,
            50..65 => Write::Unlock,
            65..80 if shared => Write::Unshare,
            65..80 => Write::Share,
            _ => Write::Schedule {
                body: text(&mut self.rng, &format!("reply {tag}")),
                send_at: now_ms() + self.rng.random_range(SEND_AHEAD_MS),
            },
        }
    }
}

/// Creates tickets (as the admin) one at a time, with short pauses.
pub(super) struct Creator {
    pub(super) api: Api,
    pub(super) inbox: String,
    pub(super) rng: StdRng,
    pub(super) tag: String,
    /// Acknowledged: what was sent, the id and the number.
    pub(super) created: Vec<(NewTicket, String, u64)>,
    pub(super) lost: Option<NewTicket>,
    pub(super) killed: Rc<Cell<bool>>,
}

impl Creator {
    pub(super) async fn run(mut self) -> Creator {
        let mut seq = 0;
        while !self.killed.get() {
            seq += 1;
            let new = NewTicket::new(&format!("{}{seq}", self.tag), &mut self.rng);
            let answer = match self
                .api
                .try_send(Method::POST, "/api/tickets", Some(new.request(&self.inbox)))
                .await
            {
                Ok(answer) => answer,
                Err(_) => {
                    self.lost = Some(new);
                    break;
                }
            };
            assert_eq!(answer.status, 200, "create: {}", answer.body);
            let (id, number) = (
                answer.body["id"].as_str().unwrap().into(),
                answer.body["number"].as_u64().unwrap(),
            );
            self.created.push((new, id, number));
            sleep(Duration::from_millis(self.rng.random_range(30..120))).await;
        }
        self
    }
}

/// One draft frame sent.
pub(super) struct Typed {
    pub(super) ticket: String,
    pub(super) kind: &'static str,
    pub(super) body: String,
    /// When it was sent (ms).
    pub(super) at: i64,
}

/// Types drafts over one WebSocket until the kill; returns what it typed, in
/// order. Drafts are never acknowledged, so every text sent counts as typed.
pub(super) async fn type_drafts(
    base: String,
    token: String,
    tickets: Vec<String>,
    mut rng: StdRng,
    tag: String,
    killed: Rc<Cell<bool>>,
) -> Vec<Typed> {
    let mut typed = Vec::new();
    let url = format!("ws{}/ws", base.trim_start_matches("http"));
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
        return typed;
    };
    let hello = json!({"type": "hello", "token": token});
    if socket
        .send(WsMessage::text(hello.to_string()))
        .await
        .is_err()
    {
        return typed;
    }
    loop {
        match socket.next().await {
            Some(Ok(WsMessage::Text(frame))) if frame.contains("\"welcome\"") => break,
            Some(Ok(_)) => continue,
            _ => return typed, // killed before the welcome
        }
    }
    let mut seq = 0;
    while !killed.get() {
        seq += 1;
        let ticket = tickets[rng.random_range(0..tickets.len())].clone();
        let kind = if rng.random_bool(0.5) {
            "reply"
        } else {
            "note"
        };
        let body = text(&mut rng, &format!("draft {tag}.{seq}"));
        let frame = json!({"type": "draft", "ticket": ticket, "kind": kind, "body": body});
        let sent = socket.send(WsMessage::text(frame.to_string())).await;
        typed.push(Typed {
            ticket,
            kind,
            body,
            at: now_ms(),
        });
        if sent.is_err() {
            break;
        }
        sleep(Duration::from_millis(rng.random_range(5..25))).await;
    }
    typed
}
