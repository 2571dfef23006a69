//! The scheduler: fires scheduled replies when they are due.
//!
//! The schedule lives in the store (`SCHEDULE`, ordered by due time), so the
//! scheduler holds only one timer and the replies it has handed to ticket
//! actors but not yet seen settled. A reply leaves the schedule in the same
//! write that sends (or drops) it, so after a crash a reply is either sent or
//! still scheduled, and is fired exactly once: overdue replies go out right
//! after start-up.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::ticket::Fire;
use crate::core::Core;
use crate::domain::{MessageId, Timestamp};
use crate::store::reads;

/// How many due replies one scan hands out at most.
const BATCH: usize = 1000;
/// The longest the scheduler sleeps without looking (a safety net).
const MAX_SLEEP: Duration = Duration::from_secs(60);

pub struct Scheduler {
    core: Arc<Core>,
    in_flight: HashSet<MessageId>,
    /// Replies whose firing failed, with when to try again (no hot retry loop).
    backoff: HashMap<MessageId, Instant>,
    timer: Option<SpawnHandle>,
    next_wake: Option<Timestamp>,
}

/// A reply was scheduled for `at`: wake up in time for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Scheduled {
    pub at: Timestamp,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Settled {
    message: MessageId,
    failed: bool,
}

/// How long a reply whose firing failed waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

impl Scheduler {
    pub fn new(core: Arc<Core>) -> Scheduler {
        Scheduler {
            core,
            in_flight: HashSet::new(),
            backoff: HashMap::new(),
            timer: None,
            next_wake: None,
        }
    }

    /// Hands every due reply to its ticket, then sleeps until the next one.
    fn scan(&mut self, ctx: &mut Context<Self>) {
        let now = Timestamp::now();
        let found = self.core.store.read().and_then(|tx| {
            Ok((
                reads::due(&tx, now, BATCH + self.in_flight.len() + self.backoff.len())?,
                reads::next_due(&tx)?,
            ))
        });
        let (due, next) = match found {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "cannot read the schedule"
                );
                return self.sleep_until(Timestamp(now.millis() + 1000), ctx);
            }
        };
        let instant = Instant::now();
        self.backoff.retain(|_, until| *until > instant);
        let fresh: Vec<_> = due
            .into_iter()
            .filter(|(_, m)| !self.in_flight.contains(m) && !self.backoff.contains_key(m))
            .take(BATCH)
            .collect();
        for (ticket, message) in fresh {
            self.in_flight.insert(message);
            let core = self.core.clone();
            let me = ctx.address();
            actix::spawn(async move {
                let failed = match core.ask_ticket(ticket, Fire { message }).await {
                    Ok(()) => false,
                    Err(error) => {
                        tracing::error!(%ticket, error = &error as &dyn std::error::Error, "scheduled reply not fired; retrying later");
                        true
                    }
                };
                me.do_send(Settled { message, failed });
            });
        }
        // With replies in flight, the next scan comes when they settle. Replies
        // backing off are still due: for them, wake after their pause.
        if self.in_flight.is_empty() {
            let retry = (!self.backoff.is_empty())
                .then(|| Timestamp(now.millis() + RETRY_AFTER.as_millis() as i64));
            let next = next
                .filter(|n| *n > now || self.backoff.is_empty())
                .into_iter()
                .chain(retry)
                .min();
            if let Some(next) = next {
                self.sleep_until(next, ctx);
            }
        }
    }

    fn sleep_until(&mut self, at: Timestamp, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        let wait = Duration::from_millis((at.millis() - Timestamp::now().millis()).max(0) as u64)
            .min(MAX_SLEEP);
        self.next_wake = Some(at);
        self.timer = Some(ctx.run_later(wait, |act, ctx| {
            act.timer = None;
            act.next_wake = None;
            act.scan(ctx);
        }));
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.scan(ctx);
    }
}

impl Handler<Scheduled> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: Scheduled, ctx: &mut Context<Self>) {
        let sooner = self.next_wake.is_none_or(|next| msg.at < next);
        if self.in_flight.is_empty() && sooner {
            self.sleep_until(msg.at, ctx);
        }
    }
}

impl Handler<Settled> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: Settled, ctx: &mut Context<Self>) {
        self.in_flight.remove(&msg.message);
        if msg.failed {
            self.backoff
                .insert(msg.message, Instant::now() + RETRY_AFTER);
        }
        if self.in_flight.is_empty() {
            self.scan(ctx);
        }
    }
}
