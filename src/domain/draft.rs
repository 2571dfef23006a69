//! Live drafts: what an agent is typing on a ticket, per kind.

use serde::{Deserialize, Serialize};

use super::{AgentId, Timestamp};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    Reply,
    Note,
}

impl DraftKind {
    pub fn tag(self) -> u8 {
        match self {
            DraftKind::Reply => 1,
            DraftKind::Note => 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub agent: AgentId,
    pub kind: DraftKind,
    pub body: String,
    pub updated_at: Timestamp,
}

impl Draft {
    /// A draft written before the ticket's newest customer message answers an
    /// older state of the conversation.
    pub fn is_outdated(&self, last_customer_message: Option<Timestamp>) -> bool {
        last_customer_message.is_some_and(|at| self.updated_at < at)
    }
}
