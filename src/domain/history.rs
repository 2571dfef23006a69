//! The audit trail of a ticket: one entry per decision, with who made it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AgentId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    Created,
    Assigned,
    Unassigned,
    Accepted,
    Returned,
    StatusChanged,
    Transferred,
    Locked,
    Unlocked,
    LockExpired,
    ClaimForced,
    Shared,
    Unshared,
    FollowerAdded,
    FollowerRemoved,
    FieldsChanged,
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub actor: Option<AgentId>,
    pub action: HistoryAction,
    /// Ids of the agents, inboxes and statuses involved, e.g. `{"from": "pending", "to": "resolved"}`.
    #[serde(default)]
    pub detail: Map<String, Value>,
}

impl HistoryEntry {
    pub fn new(actor: Option<AgentId>, action: HistoryAction, at: Timestamp) -> Self {
        HistoryEntry {
            at,
            actor,
            action,
            detail: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}
