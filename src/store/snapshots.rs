//! Paging snapshots: a list read through several pages sees one consistent
//! state, so tickets that change while someone pages neither skip nor repeat.
//!
//! A page that has more after it keeps its read transaction here under an id
//! (carried in the cursor). redb keeps the snapshot's pages alive meanwhile, so
//! snapshots are few and short-lived: each expires [`TTL`] after its last use,
//! and at most [`MAX_OPEN`] exist (the least recently used goes first). A
//! cursor whose snapshot expired continues on the current state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::ReadTransaction;

pub const TTL: Duration = Duration::from_secs(120);
pub const MAX_OPEN: usize = 1024;

#[derive(Default)]
pub struct Snapshots {
    open: Mutex<HashMap<u64, (Arc<ReadTransaction>, Instant)>>,
}

impl Snapshots {
    /// The live snapshot `id`, if it has not expired.
    pub fn get(&self, id: u64) -> Option<Arc<ReadTransaction>> {
        let mut open = self.open.lock().expect("snapshots lock");
        let now = Instant::now();
        open.retain(|_, (_, used)| now.duration_since(*used) < TTL);
        open.get_mut(&id).map(|(tx, used)| {
            *used = now;
            tx.clone()
        })
    }

    /// Keeps `tx` for later pages; returns its id (`id` again if it is a live
    /// snapshot; otherwise a new random one, so ids cannot be guessed or collide).
    pub fn keep(&self, tx: Arc<ReadTransaction>, id: Option<u64>) -> u64 {
        let mut open = self.open.lock().expect("snapshots lock");
        let now = Instant::now();
        open.retain(|_, (_, used)| now.duration_since(*used) < TTL);
        let id = id
            .filter(|id| open.contains_key(id))
            .unwrap_or_else(rand::random);
        if open.len() >= MAX_OPEN
            && !open.contains_key(&id)
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
        {
            open.remove(&oldest);
        }
        open.insert(id, (tx, Instant::now()));
        id
    }

    /// Drops snapshot `id` (its list was read to the end).
    pub fn release(&self, id: u64) {
        self.open.lock().expect("snapshots lock").remove(&id);
    }

    /// Drops every snapshot (at shutdown, so the file can close).
    pub fn clear(&self) {
        self.open.lock().expect("snapshots lock").clear();
    }
}
