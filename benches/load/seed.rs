//! The helpdesk a scenario runs on: inboxes, agents with tokens, and pending
//! tickets. For a child server they are written straight into its fresh data
//! directory (one argon2 hash shared by all agents, tokens stored as digests,
//! so thousands of agents cost no logins); for `--url` they are created over
//! REST as the admin.

use std::sync::Arc;

use serde_json::json;
use tandem::domain::agent::{Agent, Role, TokenRecord};
use tandem::domain::ticket::{Customer, Ticket};
use tandem::domain::{AgentId, Inbox, InboxId, TicketId, Timestamp};
use tandem::metrics::Metrics;
use tandem::store::{Store, writes};

use crate::generator::rest;

pub struct SeedAgent {
    pub id: String,
    pub token: String,
    /// Index into [`World::inboxes`].
    pub inbox: usize,
}

pub struct World {
    pub admin_token: String,
    pub inboxes: Vec<String>,
    pub agents: Vec<SeedAgent>,
    /// Pending, unassigned tickets of each inbox.
    pub tickets: Vec<Vec<String>>,
}

/// What to create: `agents` spread round-robin over `inboxes` (each a member
/// of its own inbox only), and `tickets_per_inbox` tickets in each.
#[derive(Clone, Copy)]
pub struct Plan {
    pub agents: usize,
    pub inboxes: usize,
    pub tickets_per_inbox: usize,
}

/// Seeds a fresh data directory (no server running on it yet).
pub fn into_dir(dir: &std::path::Path, plan: Plan) -> World {
    let store = Store::open(dir, 256, Arc::new(Metrics::default())).expect("store");
    let hash = tandem::accounts::password::hash("pw");
    let now = Timestamp::now();
    let inboxes: Vec<Inbox> = (0..plan.inboxes)
        .map(|i| Inbox {
            id: InboxId::new(),
            name: format!("Inbox {i}"),
            created_at: now,
        })
        .collect();
    let mut token_rows = Vec::new();
    let mut agent_rows = Vec::new();
    let mut token_for = |agent: &Agent| {
        let token = tandem::accounts::token::generate();
        let digest = tandem::accounts::token::digest(&token);
        token_rows.push((
            digest,
            TokenRecord {
                agent: agent.id,
                created_at: now,
                expires_at: None,
            },
        ));
        token
    };
    let admin = Agent {
        id: AgentId::new(),
        handle: "admin".into(),
        name: "Admin".into(),
        email: "admin@example.com".into(),
        role: Role::Admin,
        inboxes: inboxes.iter().map(|i| i.id).collect(),
        disabled: false,
        password_hash: hash.clone(),
        created_at: now,
    };
    let admin_token = token_for(&admin);
    agent_rows.push(admin);
    let mut agents = Vec::new();
    for a in 0..plan.agents {
        let inbox = a % plan.inboxes;
        let agent = Agent {
            id: AgentId::new(),
            handle: format!("a{a}"),
            name: format!("Agent {a}"),
            email: format!("a{a}@example.com"),
            role: Role::Agent,
            inboxes: vec![inboxes[inbox].id],
            disabled: false,
            password_hash: hash.clone(),
            created_at: now,
        };
        let token = token_for(&agent);
        agents.push(SeedAgent {
            id: agent.id.to_string(),
            token,
            inbox,
        });
        agent_rows.push(agent);
    }
    let mut tickets = vec![Vec::new(); plan.inboxes];
    let mut ticket_rows = Vec::new();
    for (i, inbox) in inboxes.iter().enumerate() {
        for t in 0..plan.tickets_per_inbox {
            let id = TicketId::new();
            tickets[i].push(id.to_string());
            ticket_rows.push((id, inbox.id, format!("Load ticket {i}-{t}")));
        }
    }
    let inbox_rows = inboxes.clone();
    actix_rt::System::new().block_on(async {
        store
            .write(move |tx| {
                for inbox in &inbox_rows {
                    writes::put_inbox(tx, inbox)?;
                }
                for agent in &agent_rows {
                    writes::put_agent(tx, agent)?;
                }
                for (digest, record) in &token_rows {
                    writes::put_token(tx, digest, record)?;
                }
                Ok(())
            })
            .await
            .expect("seed agents");
        for chunk in ticket_rows.chunks(1000) {
            let chunk = chunk.to_vec();
            store
                .write(move |tx| {
                    for (id, inbox, subject) in chunk {
                        let number = writes::allocate_ticket_number(tx)?;
                        let customer = Customer {
                            name: "Customer".into(),
                            contact: "c@example.com".into(),
                        };
                        let ticket = Ticket::new(id, number, inbox, subject, customer, now);
                        writes::put_ticket(tx, None, &ticket)?;
                    }
                    Ok(())
                })
                .await
                .expect("seed tickets");
        }
    });
    store.shutdown();
    World {
        admin_token,
        inboxes: inboxes.iter().map(|i| i.id.to_string()).collect(),
        agents,
        tickets,
    }
}

/// Seeds an external server over REST (slow: one argon2 hash per agent).
pub fn over_rest(base: &str, admin: &str, plan: Plan) -> World {
    let base = base.to_owned();
    let (login, password) = admin.split_once(':').expect("--admin login:password");
    let (login, password) = (login.to_owned(), password.to_owned());
    actix_rt::System::new().block_on(async move {
        let (_, body) = rest(&base, None, "POST", "/api/login", json!({"login": login, "password": password})).await;
        let admin_token = body["token"].as_str().expect("admin login").to_owned();
        let tag = std::process::id();
        let mut inboxes = Vec::new();
        for i in 0..plan.inboxes {
            let (_, b) =
                rest(&base, Some(&admin_token), "POST", "/api/inboxes", json!({"name": format!("Load {tag} {i}")})).await;
            inboxes.push(b["id"].as_str().expect("inbox").to_owned());
        }
        let mut agents = Vec::new();
        for chunk in (0..plan.agents).collect::<Vec<_>>().chunks(16) {
            let futures = chunk.iter().map(|&a| {
                let (base, admin_token, inbox_id) = (base.clone(), admin_token.clone(), inboxes[a % plan.inboxes].clone());
                async move {
                    let handle = format!("l{tag}x{a}");
                    let body = json!({"handle": handle, "name": handle, "email": format!("{handle}@example.com"), "role": "agent", "password": "load-pw-1", "inboxes": [inbox_id]});
                    let (_, agent) = rest(&base, Some(&admin_token), "POST", "/api/agents", body).await;
                    let (_, login) =
                        rest(&base, None, "POST", "/api/login", json!({"login": handle, "password": "load-pw-1"})).await;
                    SeedAgent {
                        id: agent["id"].as_str().expect("agent").to_owned(),
                        token: login["token"].as_str().expect("token").to_owned(),
                        inbox: a % plan.inboxes,
                    }
                }
            });
            agents.extend(futures_util::future::join_all(futures).await);
        }
        let mut tickets = vec![Vec::new(); plan.inboxes];
        for (i, inbox) in inboxes.iter().enumerate() {
            for chunk in (0..plan.tickets_per_inbox).collect::<Vec<_>>().chunks(64) {
                let futures = chunk.iter().map(|t| {
                    let body = json!({"inbox": inbox, "subject": format!("Load ticket {i}-{t}"), "customer": {"name": "C", "contact": "c@example.com"}, "body": "hello"});
                    let (base, admin_token) = (base.clone(), admin_token.clone());
                    async move { rest(&base, Some(&admin_token), "POST", "/api/tickets", body).await.1["id"].as_str().expect("ticket").to_owned() }
                });
                tickets[i].extend(futures_util::future::join_all(futures).await);
            }
        }
        World { admin_token, inboxes, agents, tickets }
    })
}

/// A seeded server: a fresh child (with `config`, see
/// [`crate::server::bench_config`]; empty: the bench defaults) or the `--url` one.
pub fn target(
    options: &crate::cli::Options,
    plan: Plan,
    config: &str,
) -> (crate::server::Target, World) {
    match &options.url {
        Some(url) => {
            let world = over_rest(url, &options.admin, plan);
            (crate::server::Target::external(url, options.pid), world)
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let world = into_dir(dir.path(), plan);
            let config = if config.is_empty() {
                crate::server::bench_config("", "")
            } else {
                config.to_owned()
            };
            let mut target = crate::server::Target::tandem(dir.path(), &config);
            target.dir = Some(dir);
            (target, world)
        }
    }
}
