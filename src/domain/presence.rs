//! The claim and viewer state machine of one ticket (pure; the ticket actor
//! drives it and publishes what it returns).
//!
//! A *tab* (session) that has the ticket open is a viewer; a tab may also
//! *hold* the claim. The claim belongs to an agent: it exists exactly while at
//! least one tab of that agent holds it, so a second tab of the same agent
//! shares it and the claim is released only when the last holding tab lets go.
//!
//! Invariants (checked by `check` in tests and by the property test):
//! - at most one agent holds the claim, and `claim` is set iff some tab holds it;
//! - every holding tab belongs to the claim's agent;
//! - every change names the agent it is about; releases carry their reason;
//! - an operation on a tab that is not there (a stale release) changes nothing,
//!   so it can never release someone else's claim.

use std::collections::BTreeMap;

use super::{AgentId, SessionId, Timestamp};

/// Why a claim ended. Its serde names are the wire's `reason`
/// (docs/protocol.md "Release reasons"); presence is never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    Closed,
    Switched,
    Left,
    InboxChanged,
    Hidden,
    Disconnected,
    Forced,
    Revoked,
    Moved,
    Expired,
}

impl ReleaseReason {
    /// Whether the former holder is told with `claim_lost` (it did not ask for it).
    pub fn is_taken(self) -> bool {
        matches!(
            self,
            ReleaseReason::Forced
                | ReleaseReason::Revoked
                | ReleaseReason::Moved
                | ReleaseReason::Expired
        )
    }
}

/// One change of the claim or of a viewer, about `agent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Claimed {
        agent: AgentId,
    },
    Released {
        agent: AgentId,
        reason: ReleaseReason,
        by: Option<AgentId>,
    },
    ViewerJoined {
        agent: AgentId,
    },
    ViewerLeft {
        agent: AgentId,
    },
    ViewerHidden {
        agent: AgentId,
    },
    ViewerShown {
        agent: AgentId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub agent: AgentId,
    pub since: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tab {
    agent: AgentId,
    holding: bool,
    hidden: bool,
}

/// Who has the ticket open and who holds its claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    claim: Option<Claim>,
    tabs: BTreeMap<SessionId, Tab>,
    /// Order in which agents started viewing (for a stable viewer list).
    order: Vec<AgentId>,
}

/// A tab opening the ticket (see [`Presence::open`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opening {
    pub session: SessionId,
    pub agent: AgentId,
    /// The agent may hold claims (light agents only view).
    pub can_claim: bool,
    /// Take the claim over from another agent.
    pub take_over: bool,
    /// The tab is hidden as it opens.
    pub hidden: bool,
}

impl Opening {
    /// A visible tab of an agent who may claim, not taking over.
    pub fn new(session: SessionId, agent: AgentId) -> Opening {
        Opening {
            session,
            agent,
            can_claim: true,
            take_over: false,
            hidden: false,
        }
    }
}

/// A viewer as shown in presence: an agent with the ticket open in any tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub agent: AgentId,
    /// Every tab of this agent on this ticket is hidden.
    pub hidden: bool,
}

impl Presence {
    pub fn claim(&self) -> Option<Claim> {
        self.claim
    }

    pub fn is_empty(&self) -> bool {
        self.tabs.is_empty()
    }

    /// Viewers in the order they arrived, the holder included.
    pub fn viewers(&self) -> Vec<Viewer> {
        self.order
            .iter()
            .map(|&agent| Viewer {
                agent,
                hidden: self.agent_hidden(agent),
            })
            .collect()
    }

    /// The sessions of `agent` that have the ticket open.
    pub fn sessions_of(&self, agent: AgentId) -> impl Iterator<Item = SessionId> + '_ {
        self.tabs
            .iter()
            .filter(move |(_, t)| t.agent == agent)
            .map(|(s, _)| *s)
    }

    fn is_viewer(&self, agent: AgentId) -> bool {
        self.tabs.values().any(|t| t.agent == agent)
    }

    fn agent_hidden(&self, agent: AgentId) -> bool {
        self.tabs
            .values()
            .filter(|t| t.agent == agent)
            .all(|t| t.hidden)
    }

    /// A tab opens the ticket. It claims it if free (and `can_claim`), shares
    /// it if its agent holds it, takes it over if `take_over`, and otherwise
    /// just views. Returns whether the tab now holds the claim.
    pub fn open(&mut self, opening: Opening, now: Timestamp) -> (bool, Vec<Event>) {
        let Opening {
            session,
            agent,
            can_claim,
            take_over,
            hidden,
        } = opening;
        let mut changes = Vec::new();
        if let Some(tab) = self.tabs.get(&session).copied()
            && tab.agent != agent
        {
            // A session belongs to one agent; treat a mismatch as a fresh tab.
            changes.extend(self.close(session, ReleaseReason::Switched));
        }
        let was_viewer = self.is_viewer(agent);
        let was_hidden = was_viewer && self.agent_hidden(agent);
        let tab = self.tabs.entry(session).or_insert(Tab {
            agent,
            holding: false,
            hidden,
        });
        tab.hidden = hidden;
        if !was_viewer {
            self.order.push(agent);
            changes.push(Event::ViewerJoined { agent });
        } else if was_hidden && !hidden {
            changes.push(Event::ViewerShown { agent });
        } else if !was_hidden && self.agent_hidden(agent) {
            changes.push(Event::ViewerHidden { agent });
        }
        if can_claim {
            match self.claim {
                Some(claim) if claim.agent == agent => self.hold(session),
                Some(_) if take_over => {
                    changes.extend(self.release_claim(ReleaseReason::Forced, Some(agent)));
                    self.claim = Some(Claim { agent, since: now });
                    self.hold(session);
                    changes.push(Event::Claimed { agent });
                }
                Some(_) => {}
                None => {
                    self.claim = Some(Claim { agent, since: now });
                    self.hold(session);
                    changes.push(Event::Claimed { agent });
                }
            }
        }
        let holding = self.tabs[&session].holding;
        (holding, changes)
    }

    fn hold(&mut self, session: SessionId) {
        if let Some(tab) = self.tabs.get_mut(&session) {
            tab.holding = true;
        }
    }

    /// A tab closes the ticket (or its session ends): it stops viewing, and
    /// if it was the last holding tab of the claim's agent, the claim goes.
    pub fn close(&mut self, session: SessionId, reason: ReleaseReason) -> Vec<Event> {
        let Some(tab) = self.tabs.remove(&session) else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        if tab.holding {
            changes.extend(self.release_if_unheld(tab.agent, reason));
        }
        if self.is_viewer(tab.agent) {
            if !tab.hidden && self.agent_hidden(tab.agent) {
                changes.push(Event::ViewerHidden { agent: tab.agent });
            }
        } else {
            self.order.retain(|a| *a != tab.agent);
            changes.push(Event::ViewerLeft { agent: tab.agent });
        }
        changes
    }

    /// A tab stops holding the claim but keeps viewing (its tab was hidden too long).
    pub fn release_tab(&mut self, session: SessionId, reason: ReleaseReason) -> Vec<Event> {
        match self.tabs.get_mut(&session) {
            Some(tab) if tab.holding => {
                tab.holding = false;
                let agent = tab.agent;
                self.release_if_unheld(agent, reason)
            }
            _ => Vec::new(),
        }
    }

    fn release_if_unheld(&mut self, agent: AgentId, reason: ReleaseReason) -> Vec<Event> {
        let still_held = self.tabs.values().any(|t| t.agent == agent && t.holding);
        match self.claim {
            Some(claim) if claim.agent == agent && !still_held => {
                self.claim = None;
                vec![Event::Released {
                    agent,
                    reason,
                    by: None,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Releases the claim, whoever holds it; the holder's tabs keep viewing.
    pub fn release_claim(&mut self, reason: ReleaseReason, by: Option<AgentId>) -> Vec<Event> {
        let Some(claim) = self.claim.take() else {
            return Vec::new();
        };
        for tab in self.tabs.values_mut() {
            tab.holding = false;
        }
        vec![Event::Released {
            agent: claim.agent,
            reason,
            by,
        }]
    }

    /// Gives the claim to `agent` if it is free and `agent` has the ticket open
    /// (accepting a ticket you are viewing makes it yours to work on).
    /// Only visible tabs take it: a hidden tab does not claim behind its timer's back.
    pub fn claim_for(&mut self, agent: AgentId, now: Timestamp) -> Vec<Event> {
        let visible = self.tabs.values().any(|t| t.agent == agent && !t.hidden);
        if self.claim.is_some() || !visible {
            return Vec::new();
        }
        self.claim = Some(Claim { agent, since: now });
        for tab in self
            .tabs
            .values_mut()
            .filter(|t| t.agent == agent && !t.hidden)
        {
            tab.holding = true;
        }
        vec![Event::Claimed { agent }]
    }

    /// Every tab goes (the ticket was deleted): claim released with `reason`, every viewer leaves.
    pub fn clear(&mut self, reason: ReleaseReason, by: Option<AgentId>) -> Vec<Event> {
        let mut changes = self.release_claim(reason, by);
        changes.extend(
            self.order
                .drain(..)
                .map(|agent| Event::ViewerLeft { agent }),
        );
        self.tabs.clear();
        changes
    }

    /// Every tab of `agent` goes (it lost access): its claim is released with `reason`.
    pub fn remove_agent(
        &mut self,
        agent: AgentId,
        reason: ReleaseReason,
        by: Option<AgentId>,
    ) -> Vec<Event> {
        let mut changes = Vec::new();
        if self.claim.is_some_and(|c| c.agent == agent) {
            changes.extend(self.release_claim(reason, by));
        }
        let before = self.tabs.len();
        self.tabs.retain(|_, t| t.agent != agent);
        if self.tabs.len() != before {
            self.order.retain(|a| *a != agent);
            changes.push(Event::ViewerLeft { agent });
        }
        changes
    }

    /// A tab is hidden or shown; the agent's viewer is hidden when all its tabs are.
    pub fn set_hidden(&mut self, session: SessionId, hidden: bool) -> Vec<Event> {
        let Some(tab) = self.tabs.get(&session).copied() else {
            return Vec::new();
        };
        let was = self.agent_hidden(tab.agent);
        if let Some(t) = self.tabs.get_mut(&session) {
            t.hidden = hidden;
        }
        let now = self.agent_hidden(tab.agent);
        match (was, now) {
            (false, true) => vec![Event::ViewerHidden { agent: tab.agent }],
            (true, false) => vec![Event::ViewerShown { agent: tab.agent }],
            _ => Vec::new(),
        }
    }

    /// Panics if an invariant does not hold (used by tests).
    pub fn check(&self) {
        let holders: Vec<AgentId> = self
            .tabs
            .values()
            .filter(|t| t.holding)
            .map(|t| t.agent)
            .collect();
        match self.claim {
            Some(claim) => {
                assert!(!holders.is_empty(), "a claim without a holding tab");
                assert!(
                    holders.iter().all(|a| *a == claim.agent),
                    "a holding tab of another agent"
                );
            }
            None => assert!(holders.is_empty(), "a holding tab without a claim"),
        }
        let mut viewers: Vec<AgentId> = self.tabs.values().map(|t| t.agent).collect();
        viewers.sort();
        viewers.dedup();
        let mut order = self.order.clone();
        order.sort();
        assert_eq!(order, viewers, "viewer order out of step with tabs");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (AgentId, AgentId, SessionId, SessionId, SessionId) {
        (
            AgentId::new(),
            AgentId::new(),
            SessionId::new(),
            SessionId::new(),
            SessionId::new(),
        )
    }

    #[test]
    fn first_opener_claims_second_views_take_over_forces() {
        let (a, b, sa, sb, _) = ids();
        let mut p = Presence::default();
        let (claimed, changes) = p.open(Opening::new(sa, a), Timestamp(1));
        assert!(claimed);
        assert_eq!(
            changes,
            vec![
                Event::ViewerJoined { agent: a },
                Event::Claimed { agent: a }
            ]
        );
        let (claimed, changes) = p.open(Opening::new(sb, b), Timestamp(2));
        assert!(!claimed);
        assert_eq!(changes, vec![Event::ViewerJoined { agent: b }]);
        let (claimed, changes) = p.open(
            Opening {
                take_over: true,
                ..Opening::new(sb, b)
            },
            Timestamp(3),
        );
        assert!(claimed);
        assert_eq!(
            changes,
            vec![
                Event::Released {
                    agent: a,
                    reason: ReleaseReason::Forced,
                    by: Some(b)
                },
                Event::Claimed { agent: b }
            ]
        );
        assert_eq!(p.claim().unwrap().agent, b);
        // A's tab still views; its later close releases nothing of B's.
        assert_eq!(
            p.close(sa, ReleaseReason::Closed),
            vec![Event::ViewerLeft { agent: a }]
        );
        assert_eq!(p.claim().unwrap().agent, b);
        p.check();
    }

    #[test]
    fn tabs_of_one_agent_share_the_claim() {
        let (a, _, s1, s2, _) = ids();
        let mut p = Presence::default();
        p.open(Opening::new(s1, a), Timestamp(1));
        let (claimed, changes) = p.open(Opening::new(s2, a), Timestamp(2));
        assert!(claimed);
        assert!(changes.is_empty(), "{changes:?}");
        assert!(p.close(s1, ReleaseReason::Closed).is_empty());
        assert_eq!(p.claim().unwrap().agent, a);
        assert_eq!(
            p.close(s2, ReleaseReason::Disconnected),
            vec![
                Event::Released {
                    agent: a,
                    reason: ReleaseReason::Disconnected,
                    by: None
                },
                Event::ViewerLeft { agent: a }
            ]
        );
        assert!(p.is_empty());
    }

    #[test]
    fn hiding_dims_the_viewer_and_a_hidden_release_keeps_viewing() {
        let (a, _, s1, s2, _) = ids();
        let mut p = Presence::default();
        p.open(Opening::new(s1, a), Timestamp(1));
        p.open(Opening::new(s2, a), Timestamp(1));
        assert!(p.set_hidden(s1, true).is_empty(), "another tab is visible");
        assert_eq!(
            p.set_hidden(s2, true),
            vec![Event::ViewerHidden { agent: a }]
        );
        assert!(p.release_tab(s1, ReleaseReason::Hidden).is_empty());
        assert_eq!(
            p.release_tab(s2, ReleaseReason::Hidden),
            vec![Event::Released {
                agent: a,
                reason: ReleaseReason::Hidden,
                by: None
            }]
        );
        assert_eq!(
            p.viewers(),
            vec![Viewer {
                agent: a,
                hidden: true
            }]
        );
        assert_eq!(
            p.set_hidden(s2, false),
            vec![Event::ViewerShown { agent: a }]
        );
        // Opening again re-claims the free ticket.
        let (claimed, _) = p.open(Opening::new(s2, a), Timestamp(9));
        assert!(claimed);
        p.check();
    }

    #[test]
    fn light_agents_only_view_and_stale_releases_do_nothing() {
        let (a, light, sa, sl, ghost) = ids();
        let mut p = Presence::default();
        let (claimed, _) = p.open(
            Opening {
                can_claim: false,
                take_over: true,
                ..Opening::new(sl, light)
            },
            Timestamp(1),
        );
        assert!(!claimed);
        assert!(p.claim().is_none());
        p.open(Opening::new(sa, a), Timestamp(2));
        assert!(p.close(ghost, ReleaseReason::Closed).is_empty());
        assert!(p.release_tab(sl, ReleaseReason::Hidden).is_empty());
        assert_eq!(p.claim().unwrap().agent, a);
        p.check();
    }

    /// The property test: random operations against a deliberately naive
    /// reference model (a list of tabs and an owner).
    mod model {
        use proptest::prelude::*;

        use super::super::*;

        const AGENTS: usize = 3; // agent 2 is a light agent
        const SESSIONS: usize = 5;

        #[derive(Clone, Debug)]
        enum Op {
            Open {
                session: usize,
                agent: usize,
                take_over: bool,
            },
            Close {
                session: usize,
            },
            Disconnect {
                session: usize,
            },
            Hide {
                session: usize,
                hidden: bool,
            },
            HiddenExpiry {
                session: usize,
            },
            ForceRelease {
                by: usize,
            },
            Moved,
            Expired,
            Revoke {
                agent: usize,
            },
            Resume,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => (0..SESSIONS, 0..AGENTS, any::<bool>()).prop_map(|(session, agent, take_over)| Op::Open { session, agent, take_over }),
                2 => (0..SESSIONS).prop_map(|session| Op::Close { session }),
                1 => (0..SESSIONS).prop_map(|session| Op::Disconnect { session }),
                2 => (0..SESSIONS, any::<bool>()).prop_map(|(session, hidden)| Op::Hide { session, hidden }),
                1 => (0..SESSIONS).prop_map(|session| Op::HiddenExpiry { session }),
                1 => (0..AGENTS).prop_map(|by| Op::ForceRelease { by }),
                1 => Just(Op::Moved),
                1 => Just(Op::Expired),
                1 => (0..AGENTS).prop_map(|agent| Op::Revoke { agent }),
                1 => Just(Op::Resume),
            ]
        }

        /// The reference: (session, agent, holding, hidden) rows and the owner.
        #[derive(Default)]
        struct Model {
            tabs: Vec<(usize, usize, bool, bool)>,
            owner: Option<usize>,
        }

        impl Model {
            fn release_if_last(
                &mut self,
                agent: usize,
                reason: ReleaseReason,
                out: &mut Vec<(usize, ReleaseReason)>,
            ) {
                if self.owner == Some(agent) && !self.tabs.iter().any(|t| t.1 == agent && t.2) {
                    self.owner = None;
                    out.push((agent, reason));
                }
            }

            fn drop_claim(&mut self, reason: ReleaseReason, out: &mut Vec<(usize, ReleaseReason)>) {
                if let Some(owner) = self.owner.take() {
                    self.tabs.iter_mut().for_each(|t| t.2 = false);
                    out.push((owner, reason));
                }
            }

            /// Applies `op`; returns the releases it must cause.
            fn apply(&mut self, op: &Op) -> Vec<(usize, ReleaseReason)> {
                let mut out = Vec::new();
                match *op {
                    Op::Open {
                        session,
                        agent,
                        take_over,
                    } => {
                        if let Some(i) = self
                            .tabs
                            .iter()
                            .position(|t| t.0 == session && t.1 != agent)
                        {
                            let (_, other, holding, _) = self.tabs.remove(i);
                            if holding {
                                self.release_if_last(other, ReleaseReason::Switched, &mut out);
                            }
                        }
                        if !self.tabs.iter().any(|t| t.0 == session) {
                            self.tabs.push((session, agent, false, false));
                        }
                        self.tabs
                            .iter_mut()
                            .filter(|t| t.0 == session)
                            .for_each(|t| t.3 = false);
                        let can_claim = agent != 2;
                        if can_claim {
                            let claim = match self.owner {
                                None => true,
                                Some(o) if o == agent => true,
                                Some(_) if take_over => {
                                    self.drop_claim(ReleaseReason::Forced, &mut out);
                                    true
                                }
                                Some(_) => false,
                            };
                            if claim {
                                self.owner = Some(agent);
                                self.tabs
                                    .iter_mut()
                                    .filter(|t| t.0 == session)
                                    .for_each(|t| t.2 = true);
                            }
                        }
                    }
                    Op::Close { session } | Op::Disconnect { session } => {
                        let reason = if matches!(op, Op::Close { .. }) {
                            ReleaseReason::Closed
                        } else {
                            ReleaseReason::Disconnected
                        };
                        if let Some(i) = self.tabs.iter().position(|t| t.0 == session) {
                            let (_, agent, holding, _) = self.tabs.remove(i);
                            if holding {
                                self.release_if_last(agent, reason, &mut out);
                            }
                        }
                    }
                    Op::Hide { session, hidden } => {
                        self.tabs
                            .iter_mut()
                            .filter(|t| t.0 == session)
                            .for_each(|t| t.3 = hidden);
                    }
                    Op::HiddenExpiry { session } => {
                        if let Some(t) = self.tabs.iter_mut().find(|t| t.0 == session && t.2) {
                            t.2 = false;
                            let agent = t.1;
                            self.release_if_last(agent, ReleaseReason::Hidden, &mut out);
                        }
                    }
                    Op::ForceRelease { .. } => self.drop_claim(ReleaseReason::Forced, &mut out),
                    Op::Moved => self.drop_claim(ReleaseReason::Moved, &mut out),
                    Op::Expired => self.drop_claim(ReleaseReason::Expired, &mut out),
                    Op::Revoke { agent } => {
                        if self.owner == Some(agent) {
                            self.drop_claim(ReleaseReason::Revoked, &mut out);
                        }
                        self.tabs.retain(|t| t.1 != agent);
                    }
                    Op::Resume => {}
                }
                out
            }
        }

        proptest! {
            // Failing seeds are kept beside this file (`presence.proptest-regressions`).
            #![proptest_config(ProptestConfig {
                cases: 512,
                failure_persistence: Some(Box::new(
                    proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
                )),
                ..ProptestConfig::default()
            })]

            #[test]
            fn presence_matches_the_reference_model(ops in proptest::collection::vec(op(), 1..60)) {
                let agents: Vec<AgentId> = (0..AGENTS).map(|_| AgentId::new()).collect();
                let sessions: Vec<SessionId> = (0..SESSIONS).map(|_| SessionId::new()).collect();
                let mut presence = Presence::default();
                let mut model = Model::default();
                for (step, op) in ops.iter().enumerate() {
                    let now = Timestamp(step as i64);
                    let changes = match *op {
                        Op::Open { session, agent, take_over } => {
                            presence.open(Opening { can_claim: agent != 2, take_over, ..Opening::new(sessions[session], agents[agent]) }, now).1
                        }
                        Op::Close { session } => presence.close(sessions[session], ReleaseReason::Closed),
                        Op::Disconnect { session } => presence.close(sessions[session], ReleaseReason::Disconnected),
                        Op::Hide { session, hidden } => presence.set_hidden(sessions[session], hidden),
                        Op::HiddenExpiry { session } => presence.release_tab(sessions[session], ReleaseReason::Hidden),
                        Op::ForceRelease { by } => presence.release_claim(ReleaseReason::Forced, Some(agents[by])),
                        Op::Moved => presence.release_claim(ReleaseReason::Moved, None),
                        Op::Expired => presence.release_claim(ReleaseReason::Expired, None),
                        Op::Revoke { agent } => presence.remove_agent(agents[agent], ReleaseReason::Revoked, None),
                        Op::Resume => Vec::new(),
                    };
                    let expected: Vec<(AgentId, ReleaseReason)> =
                        model.apply(op).into_iter().map(|(a, r)| (agents[a], r)).collect();
                    let released: Vec<(AgentId, ReleaseReason)> = changes
                        .iter()
                        .filter_map(|c| match c {
                            Event::Released { agent, reason, .. } => Some((*agent, *reason)),
                            _ => None,
                        })
                        .collect();
                    presence.check();
                    prop_assert_eq!(released, expected, "step {} {:?}", step, op);
                    prop_assert_eq!(presence.claim().map(|c| c.agent), model.owner.map(|a| agents[a]), "step {} {:?}", step, op);
                    let mut viewers: Vec<AgentId> = presence.viewers().iter().map(|v| v.agent).collect();
                    viewers.sort();
                    let mut expected_viewers: Vec<AgentId> = model.tabs.iter().map(|t| agents[t.1]).collect();
                    expected_viewers.sort();
                    expected_viewers.dedup();
                    prop_assert_eq!(viewers, expected_viewers);
                    for v in presence.viewers() {
                        let hidden = model.tabs.iter().filter(|t| agents[t.1] == v.agent).all(|t| t.3);
                        prop_assert_eq!(v.hidden, hidden);
                    }
                }
            }
        }
    }
}
