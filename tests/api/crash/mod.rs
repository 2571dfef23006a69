//! Crash safety (issue #10, point 1): the real binary under a concurrent
//! write load, killed with SIGKILL at random moments and restarted on the
//! same data directory, again and again.
//!
//! Each cycle: verify everything the model knows, run a write load from
//! several tasks for a random 50–400 ms, SIGKILL the server while requests
//! are in flight, check the crashed redb file, restart.
//!
//! The model holds every write the server acknowledged (answered 2xx), and
//! the writes that were in flight at the kill ("unknown": no answer). After a
//! restart:
//! - every acknowledged write is there, whole;
//! - an unknown write is either absent or there as a whole: a ticket with its
//!   number, subject, customer and first message; a note or scheduled reply
//!   with its full body; an assignment, lock, unlock, share or unshare with
//!   its history entry, its effect on the ticket and its notification; and
//!   nothing else appears;
//! - ticket numbers are 1..=N, unique and without gaps, and new tickets
//!   continue at N+1;
//! - hard locks keep their `expires_at`, and a lock whose time came (while
//!   the server ran, or while it was down) is released by its timer, with its
//!   `lock_expired` entry and notification;
//! - scheduled replies keep their `send_at`, and the ones whose time came are
//!   sent, once;
//! - drafts have no durable acknowledgement (docs §7.5.6: saved about once a
//!   second, "at most about a second of typing is lost"), so a draft seen
//!   after a restart must be a text that was typed for that ticket and kind,
//!   never an older one than a draft seen after an earlier restart; and one
//!   whose last change came [`DRAFT_PERSIST_BOUND`] before the kill must be
//!   there. Since drafts are saved only once a second, the drafter types from
//!   right after the restart (once the persisted drafts were read) until the
//!   kill, and every fifth cycle waits [`QUIET`] before the other writes
//!   start, so that some drafts are old enough to count.
//!
//! To keep the model exact, every ticket belongs to one worker task, which
//! writes to it one request at a time: so at most one write per ticket is
//! unknown at a kill, and each verification resolves it (the model then
//! equals what the server shows).
//!
//! The seed is printed; `TANDEM_CRASH_SEED=<seed>` replays the same choices
//! (the timing of a loaded machine still varies).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::rt::time::sleep;
use awc::http::Method;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::process::Process;
use crate::support::Api;

mod load;
mod model;
pub(crate) mod server;

use load::*;
use model::*;
use server::*;

/// Kills (and restarts) per run; each is preceded and followed by a full verification.
const CYCLES: usize = 25;
/// Tasks writing to their own tickets; one more creates tickets, one more types drafts.
const WORKERS: usize = 6;
/// How long a cycle's load runs before the kill, in ms.
const LOAD_MS: std::ops::RangeInclusive<u64> = 50..=400;
/// How long the server stays down, in ms (so some timers come due meanwhile).
const DOWN_MS: std::ops::RangeInclusive<u64> = 0..=300;
/// `hard_lock_auto_unlock_s` during the run: locks expire a cycle or two later.
const LOCK_TTL_MS: i64 = 2000;
/// How far ahead replies are scheduled, in ms: some go out before the kill,
/// most while the server is down or in a later cycle.
const SEND_AHEAD_MS: std::ops::Range<i64> = 300..2500;
/// How long a timer that came due may take to fire after a restart.
const TIMER_GRACE: Duration = Duration::from_secs(5);
/// A draft unchanged for this long before the kill must have been saved
/// (saved once a second, plus a second for a slow machine).
const DRAFT_PERSIST_BOUND: i64 = 2000;
/// Every fifth cycle, the drafter types alone this long before the load.
const QUIET: Duration = Duration::from_millis(2500);
pub(crate) const ADMIN_PASSWORD: &str = "secret";
/// The server's config: two worker threads (the machine is small) and a
/// short shutdown for the final SIGTERM.
const CONFIG: &str = "[server]\nworkers = 2\nshutdown_timeout_s = 1\n";

#[actix_web::test]
async fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let seed = std::env::var("TANDEM_CRASH_SEED")
        .ok()
        .map(|s| s.parse().expect("TANDEM_CRASH_SEED is a u64"))
        .unwrap_or_else(rand::random::<u64>);
    println!("crash test seed {seed} (replay with TANDEM_CRASH_SEED={seed})");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, CONFIG).unwrap();

    let mut process = start_server(&data, &config, true);
    let mut model = Model::setup(&process.base(), &mut rng).await;
    let mut times = Times {
        killed_at: None,
        restarted_at: now_ms(),
    };
    for cycle in 1..=CYCLES {
        // Drafts first: nothing has been typed since the restart yet.
        model.check_drafts(&process.base()).await;
        let killed = Rc::new(Cell::new(false));
        let drafter = model.start_drafter(&process.base(), cycle, &mut rng, &killed);
        model.verify(&process.base(), &times).await;
        if cycle % 5 == 0 {
            sleep(QUIET).await;
        }
        let killed_at = model
            .load_then_kill(&mut process, cycle, &mut rng, &killed)
            .await;
        model.typed(
            drafter
                .await
                .expect("the drafter failed (its panic is above)"),
            killed_at,
        );
        check_redb_file(&data, dir.path());
        sleep(Duration::from_millis(rng.random_range(DOWN_MS))).await;
        process = start_server(&data, &config, false);
        times = Times {
            killed_at: Some(killed_at),
            restarted_at: now_ms(),
        };
        model.stats.cycles = cycle;
    }
    model.check_drafts(&process.base()).await;
    model.verify(&process.base(), &times).await;
    let status = process.terminate_keep();
    process
        .all_output()
        .iter()
        .for_each(|line| assert_clean(line));
    assert!(
        status.success(),
        "a clean shutdown after all that: {status:?}"
    );
    check_redb_file(&data, dir.path());
    model.stats.print(started.elapsed());
}

// ---------------------------------------------------------------------------
// Small helpers

async fn login(anon: &Api, login: &str, password: &str) -> Agent {
    let answer = anon
        .post("/api/login", json!({"login": login, "password": password}))
        .await;
    assert_eq!(answer.status, 200, "login {login}: {}", answer.body);
    Agent {
        id: answer.body["agent"]["id"].as_str().unwrap().into(),
        token: answer.body["token"].as_str().unwrap().into(),
    }
}

async fn get_ok(api: &Api, path: &str) -> Value {
    let answer = api.get(path).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.body
}

/// Every ticket of `inbox`, through all pages.
async fn list_tickets(api: &Api, inbox: &str) -> Vec<Value> {
    let mut tickets = Vec::new();
    let mut path = format!("/api/inboxes/{inbox}/tickets?view=all&limit=200");
    loop {
        let page = get_ok(api, &path).await;
        tickets.extend(page["tickets"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/inboxes/{inbox}/tickets?view=all&limit=200&cursor={cursor}")
            }
            None => return tickets,
        }
    }
}

/// A body that starts with a unique tag and has a random length, so a cut or
/// mixed-up body cannot pass for the one that was sent.
fn text(rng: &mut StdRng, tag: &str) -> String {
    let words = rng.random_range(3..400);
    let mut text = tag.to_owned();
    for i in 0..words {
        text.push_str(&format!(" w{i}"));
    }
    text
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn parse_ms(time: &str) -> i64 {
    let parsed = OffsetDateTime::parse(time, &Rfc3339).unwrap_or_else(|e| panic!("{time:?}: {e}"));
    (parsed.unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}
