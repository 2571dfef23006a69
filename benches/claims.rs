//! Micro-benchmarks (criterion) of the two things every presence change
//! costs: a decision of the pure claim state machine, and serializing the
//! `presence` frame that announces it (done once per change, whatever the
//! number of subscribers).
//!
//! `cargo bench --bench claims`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tandem::domain::presence::{Opening, Presence, ReleaseReason};
use tandem::domain::{AgentId, InboxId, SessionId, TicketId, Timestamp};
use tandem::protocol::changes::PresenceKind;
use tandem::protocol::dto::{AgentRef, ClaimDto, PresenceDto, ViewerDto};
use tandem::protocol::frames::{PresenceChange, ServerFrame};

fn claim_state_machine(c: &mut Criterion) {
    let agents: Vec<AgentId> = (0..4).map(|_| AgentId::new()).collect();
    let tabs: Vec<SessionId> = (0..4).map(|_| SessionId::new()).collect();
    let now = Timestamp::now();
    let mut group = c.benchmark_group("claim_state_machine");
    group.bench_function("open_then_close", |b| {
        let mut presence = Presence::default();
        b.iter(|| {
            let opened = presence.open(Opening::new(tabs[0], agents[0]), now);
            let closed = presence.close(tabs[0], ReleaseReason::Closed);
            black_box((opened, closed))
        })
    });
    group.bench_function("take_over_among_4_viewers", |b| {
        let mut presence = Presence::default();
        for (tab, agent) in tabs.iter().zip(&agents) {
            presence.open(Opening::new(*tab, *agent), now);
        }
        let mut next = 0;
        b.iter(|| {
            next = (next + 1) % tabs.len();
            black_box(presence.open(
                Opening {
                    take_over: true,
                    ..Opening::new(tabs[next], agents[next])
                },
                now,
            ))
        })
    });
    group.finish();
}

fn presence_frame(c: &mut Criterion) {
    let agent = |name: &str| AgentRef {
        id: AgentId::new(),
        name: name.into(),
    };
    let (bianca, hanna) = (agent("Bianca"), agent("Hanna"));
    let viewers = ["Bianca", "Hanna", "Sam"].map(|name| ViewerDto {
        id: AgentId::new(),
        name: name.into(),
        hidden: false,
    });
    let inbox = InboxId::new();
    let presence = PresenceDto {
        ticket: TicketId::new(),
        number: 1042,
        claim: Some(ClaimDto {
            agent: hanna.clone(),
            since: Timestamp::now().to_rfc3339(),
        }),
        viewers: viewers.to_vec(),
        lock: None,
    };
    let change = PresenceChange {
        kind: PresenceKind::Claimed,
        agent: hanna,
        reason: None,
        by: Some(bianca),
    };
    // What one decision pays: the presence serialized once, then spliced
    // into its frame.
    c.bench_function("presence_frame_encode", |b| {
        b.iter(|| {
            let presence = black_box(&presence).to_json();
            ServerFrame::presence(inbox, &presence, black_box(&change))
        })
    });
}

criterion_group!(benches, claim_state_machine, presence_frame);
criterion_main!(benches);
