//! The scheduler: fires scheduled replies when they are due.
//!
//! The schedule lives in the store (`SCHEDULE`, ordered by due time), so the
//! scheduler holds only one timer and the replies it has handed to ticket
//! actors but not yet seen settled. A reply leaves the schedule in the same
//! write that sends (or drops) it, so after a crash a reply is either sent or
//! still scheduled, and is fired exactly once: overdue replies go out right
//! after start-up.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

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
}

impl Scheduler {
    pub fn new(core: Arc<Core>) -> Scheduler {
        Scheduler { core, in_flight: HashSet::new(), timer: None, next_wake: None }
    }

    /// Hands every due reply to its ticket, then sleeps until the next one.
    fn scan(&mut self, ctx: &mut Context<Self>) {
        let now = Timestamp::now();
        let found =
            self.core.store.read().and_then(|tx| {
                Ok((reads::due(&tx, now, BATCH + self.in_flight.len())?, reads::next_due(&tx)?))
            });
        let (due, next) = match found {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "cannot read the schedule");
                return self.sleep_until(Timestamp(now.millis() + 1000), ctx);
            }
        };
        let fresh: Vec<_> =
            due.into_iter().filter(|(_, m)| !self.in_flight.contains(m)).take(BATCH).collect();
        for (ticket, message) in fresh {
            self.in_flight.insert(message);
            let core = self.core.clone();
            let me = ctx.address();
            actix::spawn(async move {
                if let Err(error) = core.ask_ticket(ticket, Fire { message }).await {
                    tracing::error!(%ticket, %error, "scheduled reply not fired");
                }
                me.do_send(Settled { message });
            });
        }
        // With replies in flight, the next scan comes when they settle.
        if self.in_flight.is_empty()
            && let Some(next) = next
        {
            self.sleep_until(next, ctx);
        }
    }

    fn sleep_until(&mut self, at: Timestamp, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        let wait =
            Duration::from_millis((at.millis() - Timestamp::now().millis()).max(0) as u64).min(MAX_SLEEP);
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
        if self.in_flight.is_empty() {
            self.scan(ctx);
        }
    }
}
