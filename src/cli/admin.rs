//! `tandem admin …`: account repairs on a data directory no server holds
//! (a server holding it makes them fail with "already in use").
//!
//! - `reset-password HANDLE`: a new password (from `TANDEM_PASSWORD`, or
//!   generated and printed once), and every token of the agent revoked;
//! - `create-admin HANDLE`: a new admin, its password likewise;
//! - `list-agents`: every agent, as a table.
//!
//! Invariant: changes go through the same [`Directory`] as the server's
//! requests, so they get the same checks (handles, e-mails, passwords) and
//! the same effects (a password change revokes the agent's tokens).

use std::path::Path;
use std::sync::Arc;

use crate::accounts::{AccountError, AgentPatch, Directory, NewAgent, password};
use crate::config::Config;
use crate::domain::Role;
use crate::metrics::Metrics;
use crate::store::{OpenError, Store, StoreError, reads};

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot read the data")]
    Read(#[from] StoreError),
    #[error("there is no agent with the handle `{0}`")]
    NoSuchAgent(String),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// `tandem admin reset-password HANDLE`.
pub async fn reset_password(config: &Config, handle: &str) -> Result<(), AdminError> {
    let store = open(&config.data_dir, config)?;
    let directory = Directory::load(store.clone(), config.token_ttl)?;
    let agent = directory
        .agent_by_handle(handle)
        .ok_or_else(|| AdminError::NoSuchAgent(handle.to_owned()))?;
    let (password, generated) = new_password();
    let patch = AgentPatch {
        password: Some(password.clone()),
        ..AgentPatch::default()
    };
    let result = directory.update_agent(agent.id, patch, None).await;
    store.shutdown();
    result?;
    announce(&agent.handle, &password, generated);
    println!("Every token of `{}` was revoked.", agent.handle);
    if agent.disabled {
        println!("`{}` is disabled; an admin must enable it.", agent.handle);
    }
    Ok(())
}

/// `tandem admin create-admin HANDLE [--name NAME] [--email EMAIL]`.
pub async fn create_admin(
    config: &Config,
    handle: &str,
    name: Option<String>,
    email: Option<String>,
) -> Result<(), AdminError> {
    let store = open(&config.data_dir, config)?;
    let directory = Directory::load(store.clone(), config.token_ttl)?;
    let (password, generated) = new_password();
    let new = NewAgent {
        handle: handle.to_owned(),
        name: name.unwrap_or_else(|| crate::bootstrap::capitalized(handle)),
        email: email.unwrap_or_else(|| format!("{handle}@example.com")),
        role: Role::Admin,
        password: password.clone(),
        inboxes: Vec::new(),
    };
    let result = directory.create_agent(new).await;
    store.shutdown();
    let agent = result?;
    println!("Created admin `{}` <{}>.", agent.handle, agent.email);
    announce(&agent.handle, &password, generated);
    Ok(())
}

/// `tandem admin list-agents`: handle, name, e-mail, role, status, inboxes.
pub fn list_agents(config: &Config) -> Result<(), AdminError> {
    let store = open(&config.data_dir, config)?;
    let read = store.read().and_then(|tx| {
        let mut agents = reads::agents(&tx)?;
        agents.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok((agents, reads::inboxes(&tx)?))
    });
    store.shutdown();
    let (agents, inboxes) = read?;
    let inbox_name = |id| {
        inboxes
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_string(), |i| i.name.clone())
    };
    let mut rows =
        vec![["HANDLE", "NAME", "E-MAIL", "ROLE", "STATUS", "INBOXES"].map(String::from)];
    for agent in &agents {
        let role = match agent.role {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Light => "light",
        };
        let status = if agent.disabled { "disabled" } else { "active" };
        let inboxes: Vec<String> = agent.inboxes.iter().map(|&id| inbox_name(id)).collect();
        rows.push([
            agent.handle.clone(),
            agent.name.clone(),
            agent.email.clone(),
            role.to_owned(),
            status.to_owned(),
            inboxes.join(", "),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

fn open(data_dir: &Path, config: &Config) -> Result<Arc<Store>, OpenError> {
    let metrics = Arc::new(Metrics::default());
    Ok(Arc::new(Store::open_existing(
        data_dir,
        config.store_max_batch,
        metrics,
    )?))
}

/// `TANDEM_PASSWORD` if set, else a generated one (`true`).
fn new_password() -> (String, bool) {
    match std::env::var("TANDEM_PASSWORD") {
        Ok(password) if !password.is_empty() => (password, false),
        _ => (password::generate(), true),
    }
}

/// A generated password is printed once, here; a given one never.
fn announce(handle: &str, password: &str, generated: bool) {
    if generated {
        println!("Password of `{handle}`: {password}");
    } else {
        println!("Password of `{handle}` set from TANDEM_PASSWORD.");
    }
}

/// Left-aligned columns two spaces apart.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let rows = [
            ["HANDLE", "ROLE"].map(String::from),
            ["bianca", "agent"].map(String::from),
            ["al", "admin"].map(String::from),
        ];
        assert_eq!(
            super::table(&rows),
            "HANDLE  ROLE\nbianca  agent\nal      admin\n"
        );
    }
}
