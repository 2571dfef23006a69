//! The decisions against a reference model written from docs/protocol.md
//! (§3.4 status, §4 roles and access, §6.7 work on tickets, §6.8 collision
//! rules), over random sequences of REST steps by a small cast, with a
//! random claim holder at each step; plus examples of single rules.
//!
//! This is the rule-level half of `tests/api/lifecycle.rs`: there the same
//! kind of model drives the real server end to end (frames, presence,
//! persistence); here thousands of sequences run in a second.

use proptest::prelude::*;

use super::fixture::World;
use super::*;
use crate::domain::agent::AgentRef;
use crate::domain::mention::{SkipReason, Skipped};
use crate::domain::message::{MessageKind, MessageState};
use crate::domain::ticket::{Status, Ticket};
use crate::domain::{InboxId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    /// `ana`: Support.
    A,
    /// `ben`: Support and Billing.
    B,
    /// `lia`: light, Support.
    L,
    /// `bill`: Billing only.
    O,
}

const CAST: [Who; 5] = [Who::Admin, Who::A, Who::B, Who::L, Who::O];

impl Who {
    fn handle(self) -> &'static str {
        match self {
            Who::Admin => "admin",
            Who::A => "ana",
            Who::B => "ben",
            Who::L => "lia",
            Who::O => "bill",
        }
    }

    fn member_of(self, support: bool) -> bool {
        match self {
            Who::Admin => false,
            Who::A | Who::L => support,
            Who::B => true,
            Who::O => !support,
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    Accept,
    Return,
    Assign(Option<Who>),
    Transfer {
        support: Option<bool>,
        agent: Option<Who>,
    },
    Resolve,
    Reopen,
    Archive,
    Delete,
    Lock,
    Unlock,
    Share(Who),
    Unshare(Who),
}

/// What a step answers: done, or the refusal's code and holder.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Done,
    NotFound,
    Forbidden,
    Invalid,
    Locked(Who),
    Claimed(Who),
    Conflict,
}

/// The ticket as the model sees it.
#[derive(Clone, Debug, PartialEq)]
struct Model {
    deleted: bool,
    support: bool,
    status: Status,
    assignee: Option<Who>,
    lock: Option<Who>,
    shared_with: Vec<Who>,
    history: usize,
}

impl Model {
    fn sees_in(&self, who: Who, support: bool) -> bool {
        !self.deleted
            && (who == Who::Admin
                || who.member_of(support)
                || (who != Who::L && self.shared_with.contains(&who)))
    }

    fn gate(&self, by: Who) -> Option<Answer> {
        if !self.sees_in(by, self.support) {
            Some(Answer::NotFound)
        } else if by == Who::L {
            Some(Answer::Forbidden)
        } else {
            None
        }
    }

    fn lock_rule(&self, by: Who) -> Option<Answer> {
        self.lock
            .filter(|h| *h != by && by != Who::Admin)
            .map(Answer::Locked)
    }

    fn collision(&self, by: Who, claim: Option<Who>) -> Option<Answer> {
        self.lock_rule(by)
            .or_else(|| claim.filter(|h| *h != by).map(Answer::Claimed))
    }

    fn assignable_in(&self, who: Who, support: bool) -> bool {
        who != Who::L && self.sees_in(who, support)
    }

    fn apply(&mut self, by: Who, step: &Step, claim: Option<Who>) -> Answer {
        use Status::*;
        let gate = || self.gate(by);
        match step {
            Step::Accept => {
                if let Some(no) = gate() {
                    return no;
                }
                if self.status != Pending || self.assignee.is_some() {
                    return Answer::Conflict;
                }
                if let Some(no) = self.collision(by, claim) {
                    return no;
                }
                self.assignee = Some(by);
                self.status = WorkingOn;
            }
            Step::Assign(to) => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                if to.is_some_and(|t| !self.assignable_in(t, self.support)) {
                    return Answer::Conflict;
                }
                let status = if to.is_some() { WorkingOn } else { Pending };
                if *to == self.assignee && status == self.status {
                    return Answer::Done; // records nothing
                }
                self.assignee = *to;
                self.status = status;
            }
            Step::Return => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                if self.status == Pending && self.assignee.is_none() {
                    return Answer::Conflict;
                }
                self.status = Pending;
                self.assignee = None;
            }
            Step::Transfer { support, agent } => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                if support.is_none() && agent.is_none() {
                    return Answer::Invalid;
                }
                let target = support.unwrap_or(self.support);
                if agent.is_some_and(|a| !self.assignable_in(a, target)) {
                    return Answer::Conflict;
                }
                let assignee = agent.or(self.assignee.filter(|a| self.assignable_in(*a, target)));
                if target == self.support && assignee == self.assignee {
                    return Answer::Conflict;
                }
                if agent.is_some() {
                    self.status = WorkingOn;
                } else if self.assignee.is_some() && assignee.is_none() {
                    self.status = Pending;
                }
                self.support = target;
                self.assignee = assignee;
            }
            Step::Resolve | Step::Reopen | Step::Archive => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                let (allowed, to) = match step {
                    Step::Resolve => (matches!(self.status, Pending | WorkingOn), Resolved),
                    Step::Reopen => (
                        matches!(self.status, Resolved | Archived),
                        if self.assignee.is_some() {
                            WorkingOn
                        } else {
                            Pending
                        },
                    ),
                    _ => (self.status != Archived, Archived),
                };
                if !allowed {
                    return Answer::Conflict;
                }
                self.status = to;
            }
            Step::Delete => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                self.deleted = true;
                self.lock = None;
            }
            Step::Lock => {
                if let Some(no) = gate().or_else(|| self.collision(by, claim)) {
                    return no;
                }
                self.lock = Some(by);
            }
            Step::Unlock => {
                // The role comes first (403), before the lock's state (409).
                if let Some(no) = gate() {
                    return no;
                }
                let Some(holder) = self.lock else {
                    return Answer::Conflict;
                };
                if holder != by && by != Who::Admin {
                    return Answer::Forbidden;
                }
                self.lock = None;
            }
            Step::Share(with) | Step::Unshare(with) => {
                if let Some(no) = gate().or_else(|| self.lock_rule(by)) {
                    return no;
                }
                if let Step::Unshare(_) = step {
                    if !self.shared_with.contains(with) {
                        return Answer::NotFound;
                    }
                    self.shared_with.retain(|a| a != with);
                } else if *with == Who::L {
                    return Answer::Conflict;
                } else if self.shared_with.contains(with) {
                    return Answer::Done; // records nothing
                } else {
                    self.shared_with.push(*with);
                }
            }
        }
        self.history += 1;
        Answer::Done
    }
}

struct Case {
    world: World,
    ticket: Ticket,
    /// History entries recorded so far.
    history: usize,
}

impl Case {
    fn new() -> Case {
        let mut world = World::new();
        world.settings.ticket_sharing_enabled = true;
        let ticket = world.ticket();
        Case {
            world,
            ticket,
            history: 0,
        }
    }

    fn id(&self, who: Who) -> AgentId {
        self.world.by(who.handle()).id
    }

    fn who(&self, id: AgentId) -> Who {
        *CAST
            .iter()
            .find(|w| self.id(**w) == id)
            .expect("one of the cast")
    }

    fn inbox(&self, support: bool) -> InboxId {
        if support {
            self.world.support()
        } else {
            self.world.billing()
        }
    }

    /// Decides `step` by `by` with `claim` holding the ticket; commits what is decided.
    fn run(&mut self, by: Who, step: &Step, claim: Option<Who>) -> Answer {
        self.world.claim = claim.map(|c| self.id(c));
        self.world.now = Timestamp(self.world.now.millis() + 1);
        let agent = self.world.by(by.handle());
        let facts = self.world.facts();
        let t = Some(&self.ticket);
        let decided = match step {
            Step::Accept => mutate(t, &agent, &Op::Accept, &facts).map(|m| m.change),
            Step::Return => mutate(t, &agent, &Op::Return, &facts).map(|m| m.change),
            Step::Assign(to) => {
                let op = Op::Assign(to.map(|w| self.id(w)));
                mutate(t, &agent, &op, &facts).map(|m| m.change)
            }
            Step::Transfer { support, agent: to } => {
                let op = Op::Transfer {
                    agent: to.map(|w| self.id(w)),
                    inbox: support.map(|s| self.inbox(s)),
                };
                mutate(t, &agent, &op, &facts).map(|m| m.change)
            }
            Step::Resolve => mutate(t, &agent, &Op::Resolve, &facts).map(|m| m.change),
            Step::Reopen => mutate(t, &agent, &Op::Reopen, &facts).map(|m| m.change),
            Step::Archive => mutate(t, &agent, &Op::Archive, &facts).map(|m| m.change),
            Step::Delete => mutate(t, &agent, &Op::Delete, &facts).map(|m| m.change),
            Step::Lock => lock(t, &agent, &facts),
            Step::Unlock => unlock(t, &agent, facts.now).map(|(c, _)| c),
            Step::Share(with) => share(t, &agent, self.id(*with), &facts),
            Step::Unshare(with) => unshare(t, &agent, self.id(*with), Vec::new(), &facts),
        };
        match decided {
            Ok(change) => {
                assert!(change.history.len() <= 1, "one decision, one history entry");
                self.history += change.history.len();
                self.ticket = change.after;
                Answer::Done
            }
            Err(refusal) => match refusal {
                Refusal::NotFound => Answer::NotFound,
                Refusal::Forbidden(_) => Answer::Forbidden,
                Refusal::Invalid(_) => Answer::Invalid,
                Refusal::Locked { holder } => Answer::Locked(self.who(holder.id)),
                Refusal::Claimed { holder } => Answer::Claimed(self.who(holder.id)),
                Refusal::Conflict(_) => Answer::Conflict,
                other => panic!("unexpected refusal {other:?}"),
            },
        }
    }

    /// The ticket as the model would describe it.
    fn seen(&self) -> Model {
        Model {
            deleted: self.ticket.deleted,
            support: self.ticket.inbox == self.world.support(),
            status: self.ticket.status,
            assignee: self.ticket.assignee.map(|a| self.who(a)),
            lock: self.ticket.lock.map(|l| self.who(l.agent)),
            shared_with: self
                .ticket
                .shared_with
                .iter()
                .map(|a| self.who(*a))
                .collect(),
            history: self.history,
        }
    }
}

fn who() -> impl Strategy<Value = Who> {
    prop::sample::select(CAST.to_vec())
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Accept),
        2 => Just(Step::Return),
        4 => prop::option::weighted(0.8, who()).prop_map(Step::Assign),
        3 => (prop::option::weighted(0.7, any::<bool>()), prop::option::weighted(0.5, who()))
            .prop_map(|(support, agent)| Step::Transfer { support, agent }),
        2 => Just(Step::Resolve),
        2 => Just(Step::Reopen),
        1 => Just(Step::Archive),
        1 => Just(Step::Delete),
        3 => Just(Step::Lock),
        2 => Just(Step::Unlock),
        2 => who().prop_map(Step::Share),
        2 => who().prop_map(Step::Unshare),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decisions_match_the_reference_model(
        steps in prop::collection::vec((who(), step(), prop::option::weighted(0.3, who())), 1..40)
    ) {
        let mut case = Case::new();
        let mut model = case.seen();
        for (i, (by, step, claim)) in steps.iter().enumerate() {
            let before = case.ticket.clone();
            let expected = model.apply(*by, step, *claim);
            let answer = case.run(*by, step, *claim);
            prop_assert_eq!(&answer, &expected, "step {}: {:?} by {:?} (claim {:?})", i, step, by, claim);
            if answer != Answer::Done {
                prop_assert_eq!(&case.ticket, &before, "a refusal changes nothing");
            }
            prop_assert_eq!(case.seen(), model.clone(), "after step {}", i);
            // The status rule: an unresolved ticket is working_on exactly when assigned.
            if matches!(case.ticket.status, Status::Pending | Status::WorkingOn) {
                prop_assert_eq!(case.ticket.status == Status::WorkingOn, case.ticket.assignee.is_some());
            }
        }
    }
}

fn post_of(kind: MessageKind, body: &str) -> Post {
    Post {
        kind,
        body: body.into(),
        send_at: None,
        cancel_if_replied: false,
        after: None,
        force: false,
    }
}

#[test]
fn the_accept_race_loser_learns_who_won() {
    let world = World::new();
    let ticket = world.ticket();
    let (ana, ben) = (world.by("ana"), world.by("ben"));
    let won = mutate(Some(&ticket), &ana, &Op::Accept, &world.facts()).unwrap();
    let lost = mutate(Some(&won.change.after), &ben, &Op::Accept, &world.facts()).unwrap_err();
    assert_eq!(
        crate::error::Error::from(lost).to_string(),
        "already accepted by ANA",
        "the loser is told the winner's name"
    );
}

#[test]
fn moving_an_unassigned_resolved_ticket_keeps_it_resolved() {
    let world = World::new();
    let mut ticket = world.ticket();
    ticket.status = Status::Resolved;
    let op = Op::Transfer {
        agent: None,
        inbox: Some(world.billing()),
    };
    let moved = mutate(Some(&ticket), &world.by("admin"), &op, &world.facts()).unwrap();
    assert_eq!(moved.change.after.status, Status::Resolved);
    assert_eq!(moved.change.after.inbox, world.billing());
}

#[test]
fn a_new_assignee_is_told_unless_it_assigned_itself() {
    let world = World::new();
    let ticket = world.ticket();
    let (ana, ben) = (world.by("ana"), world.by("ben"));
    let to_ben = mutate(
        Some(&ticket),
        &ana,
        &Op::Assign(Some(ben.id)),
        &world.facts(),
    )
    .unwrap();
    let told: Vec<_> = to_ben
        .change
        .notifications
        .iter()
        .map(|n| n.agent)
        .collect();
    assert_eq!(told, vec![ben.id]);
    let to_self = mutate(
        Some(&ticket),
        &ana,
        &Op::Assign(Some(ana.id)),
        &world.facts(),
    )
    .unwrap();
    assert!(to_self.change.notifications.is_empty());
}

#[test]
fn mentions_add_followers_or_say_why_not() {
    let world = World::new();
    let ticket = world.ticket();
    let body = "ask @ben and @bill and @nobody";
    let posted = post(
        Some(&ticket),
        &world.by("ana"),
        post_of(MessageKind::Note, body),
        None,
        &world.facts(),
    )
    .unwrap();
    let ben = world.by("ben").id;
    assert_eq!(posted.change.after.followers, vec![ben]);
    assert_eq!(posted.message.mentions, vec![ben]);
    assert_eq!(
        posted.skipped_mentions,
        vec![Skipped {
            handle: "bill".into(),
            reason: SkipReason::NoAccess
        }]
    );
    let from_light = post(
        Some(&ticket),
        &world.by("lia"),
        post_of(MessageKind::Note, "@ben look"),
        None,
        &world.facts(),
    )
    .unwrap();
    assert!(from_light.change.after.followers.is_empty());
    assert_eq!(
        from_light.skipped_mentions[0].reason,
        SkipReason::AuthorCannotAddFollowers
    );
}

#[test]
fn a_stale_reply_is_refused_with_what_is_newer_and_its_names() {
    let world = World::new();
    let ticket = world.ticket();
    let (ana, ben) = (world.by("ana"), world.by("ben"));
    let seen = post(
        Some(&ticket),
        &ana,
        post_of(MessageKind::Reply, "hi"),
        None,
        &world.facts(),
    )
    .unwrap();
    let newer = post(
        Some(&seen.change.after),
        &ben,
        post_of(MessageKind::Reply, "hello"),
        None,
        &world.facts(),
    )
    .unwrap();
    let messages = [seen.message.clone(), newer.message.clone()];
    let guarded = Post {
        after: Some(seen.message.id),
        ..post_of(MessageKind::Reply, "again")
    };
    let refused = post(
        Some(&newer.change.after),
        &ana,
        guarded.clone(),
        Some(&messages),
        &world.facts(),
    )
    .unwrap_err();
    let Refusal::Stale {
        newer: unseen,
        names,
    } = refused
    else {
        panic!("expected stale, got {refused:?}");
    };
    assert_eq!(unseen, vec![newer.message.clone()]);
    assert_eq!(names, vec![AgentRef::of(&ben)]);
    let forced = Post {
        force: true,
        ..guarded
    };
    assert!(
        post(
            Some(&newer.change.after),
            &ana,
            forced,
            Some(&messages),
            &world.facts()
        )
        .is_ok()
    );
    let on_a_note = Post {
        after: Some(seen.message.id),
        ..post_of(MessageKind::Note, "n")
    };
    assert!(matches!(
        post(
            Some(&ticket),
            &ana,
            on_a_note,
            Some(&messages),
            &world.facts()
        ),
        Err(Refusal::Invalid(_))
    ));
}

#[test]
fn a_due_reply_whose_author_lost_access_is_dropped_and_its_author_told_if_it_still_sees() {
    let world = World::new();
    let ticket = world.ticket();
    let ana = world.by("ana");
    let mut scheduled = post(
        Some(&ticket),
        &ana,
        Post {
            send_at: Some(Timestamp(world.now.millis() + 60_000)),
            ..post_of(MessageKind::Reply, "later")
        },
        None,
        &world.facts(),
    )
    .unwrap()
    .message;
    assert_eq!(scheduled.state, MessageState::Scheduled);
    // Sent when due, signed.
    let (change, fired) = fire(&ticket, scheduled.clone(), None, &world.facts());
    let Scheduled::Sent(sent) = fired else {
        panic!("expected the reply to be sent");
    };
    assert_eq!(sent.signature.as_deref(), Some("ANA"));
    assert_eq!(change.messages, vec![*sent]);
    // Its author moved to Billing only: dropped, and not told (it no longer sees the ticket).
    let mut moved = ticket.clone();
    moved.inbox = world.billing();
    scheduled.author = Some(ana.id);
    let (change, fired) = fire(&moved, scheduled.clone(), None, &world.facts());
    assert!(matches!(fired, Scheduled::Dropped(id) if id == scheduled.id));
    assert!(change.notifications.is_empty());
    assert_eq!(change.removed_messages, vec![scheduled]);
}

#[test]
fn an_expired_lock_goes_only_if_it_is_still_the_same_lock() {
    let world = World::new();
    let ticket = world.ticket();
    let locked = lock(Some(&ticket), &world.by("ana"), &world.facts())
        .unwrap()
        .after;
    let since = locked.lock.unwrap().since;
    assert!(expire_lock(Some(&locked), Timestamp(since.millis() - 1), &world.facts()).is_none());
    let (change, gone) = expire_lock(Some(&locked), since, &world.facts()).unwrap();
    assert_eq!(gone.agent, world.by("ana").id);
    assert_eq!(change.after.lock, None);
    assert_eq!(change.notifications.len(), 1, "its holder is told");
}

#[test]
fn an_edit_that_changes_nothing_records_nothing() {
    let world = World::new();
    let ticket = world.ticket();
    let same = Edit {
        subject: Some(format!("  {}  ", ticket.subject)),
        ..Edit::default()
    };
    let change = edit(Some(&ticket), &world.by("ana"), &same, &world.facts()).unwrap();
    assert!(change.history.is_empty());
    assert_eq!(change.after, ticket);
}
