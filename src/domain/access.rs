//! Who may do what: the rules of docs/protocol.md "Roles and access", in one place.
//!
//! - `admin`: everything, in every inbox.
//! - `agent`: full work on tickets of its inboxes and on tickets shared with it.
//! - `light`: views tickets of its inboxes and adds internal notes, nothing else.
//! - Creating tickets and posting customer messages is for admins.
//!
//! No access at all is [`Denied::NotFound`] (a ticket's existence never leaks);
//! visible but not allowed is [`Denied::Forbidden`]. Every handler asks here.

use super::{Agent, AgentId, InboxId, Role};

/// What a caller wants to do to a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketAction {
    View,
    /// Mark read/unread for oneself.
    MarkRead,
    AddNote,
    Reply,
    PostCustomerMessage,
    /// Subject, tags and custom fields.
    Edit,
    Assign,
    Accept,
    /// Resolve, reopen, return.
    ChangeStatus,
    Archive,
    Delete,
    Transfer,
    Lock,
    Share,
    ManageFollowers,
    /// Hold a claim over WebSocket (light agents only view).
    Claim,
}

impl TicketAction {
    pub const ALL: [TicketAction; 16] = {
        use TicketAction::*;
        [
            View,
            MarkRead,
            AddNote,
            Reply,
            PostCustomerMessage,
            Edit,
            Assign,
            Accept,
            ChangeStatus,
            Archive,
            Delete,
            Transfer,
            Lock,
            Share,
            ManageFollowers,
            Claim,
        ]
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The caller may not know the ticket (or inbox) exists.
    NotFound,
    /// The caller sees it but may not do this.
    Forbidden,
}

/// The facts about a ticket that access depends on.
#[derive(Clone, Copy, Debug)]
pub struct TicketScope<'a> {
    pub inbox: InboxId,
    pub shared_with: &'a [AgentId],
}

/// Whether `agent` may see the inbox (list it, subscribe to it).
pub fn can_view_inbox(agent: &Agent, inbox: InboxId) -> bool {
    agent.role == Role::Admin || agent.is_member(inbox)
}

/// Whether `agent` may do `action` on the ticket described by `scope`.
pub fn check_ticket(
    agent: &Agent,
    scope: TicketScope<'_>,
    action: TicketAction,
) -> Result<(), Denied> {
    use TicketAction::*;
    let member = agent.is_member(scope.inbox);
    let shared = scope.shared_with.contains(&agent.id);
    match agent.role {
        Role::Admin => Ok(()),
        Role::Agent if member || shared => match action {
            PostCustomerMessage => Err(Denied::Forbidden),
            _ => Ok(()),
        },
        Role::Light if member => match action {
            View | MarkRead | AddNote => Ok(()),
            _ => Err(Denied::Forbidden),
        },
        Role::Agent | Role::Light => Err(Denied::NotFound),
    }
}

/// Whether `agent` can be given a ticket of `scope` (assigned, accepted, transferred to):
/// an active non-light agent who can see it.
pub fn can_be_assigned(agent: &Agent, scope: TicketScope<'_>) -> bool {
    !agent.disabled
        && agent.role != Role::Light
        && check_ticket(agent, scope, TicketAction::View).is_ok()
}

/// Creating tickets directly (admins and integrations using an admin token).
pub fn can_create_ticket(agent: &Agent) -> bool {
    agent.role == Role::Admin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    fn agent(role: Role, inboxes: &[InboxId]) -> Agent {
        Agent {
            id: AgentId::new(),
            handle: "x".into(),
            name: "X".into(),
            email: "x@example.com".into(),
            role,
            inboxes: inboxes.to_vec(),
            disabled: false,
            password_hash: String::new(),
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn table_of_roles() {
        use TicketAction::*;
        let inbox = InboxId::new();
        let other = InboxId::new();
        let scope = TicketScope {
            inbox,
            shared_with: &[],
        };
        let admin = agent(Role::Admin, &[]);
        let member = agent(Role::Agent, &[inbox]);
        let outsider = agent(Role::Agent, &[other]);
        let light = agent(Role::Light, &[inbox]);
        let light_outsider = agent(Role::Light, &[other]);

        for action in TicketAction::ALL {
            assert_eq!(
                check_ticket(&admin, scope, action),
                Ok(()),
                "admin {action:?}"
            );
            assert_eq!(
                check_ticket(&outsider, scope, action),
                Err(Denied::NotFound),
                "outsider {action:?}"
            );
            assert_eq!(
                check_ticket(&light_outsider, scope, action),
                Err(Denied::NotFound)
            );
            let member_expect = if action == PostCustomerMessage {
                Err(Denied::Forbidden)
            } else {
                Ok(())
            };
            assert_eq!(
                check_ticket(&member, scope, action),
                member_expect,
                "member {action:?}"
            );
            let light_expect = if matches!(action, View | MarkRead | AddNote) {
                Ok(())
            } else {
                Err(Denied::Forbidden)
            };
            assert_eq!(
                check_ticket(&light, scope, action),
                light_expect,
                "light {action:?}"
            );
        }
    }

    #[test]
    fn sharing_gives_full_work_on_that_ticket_only() {
        let inbox = InboxId::new();
        let outsider = agent(Role::Agent, &[]);
        let shared = [outsider.id];
        let scope = TicketScope {
            inbox,
            shared_with: &shared,
        };
        assert_eq!(check_ticket(&outsider, scope, TicketAction::Reply), Ok(()));
        assert_eq!(
            check_ticket(&outsider, scope, TicketAction::Transfer),
            Ok(())
        );
        assert!(!can_view_inbox(&outsider, inbox));
        let unshared = TicketScope {
            inbox,
            shared_with: &[],
        };
        assert_eq!(
            check_ticket(&outsider, unshared, TicketAction::View),
            Err(Denied::NotFound)
        );
    }

    #[test]
    fn light_and_disabled_agents_cannot_be_assigned() {
        let inbox = InboxId::new();
        let scope = TicketScope {
            inbox,
            shared_with: &[],
        };
        assert!(!can_be_assigned(&agent(Role::Light, &[inbox]), scope));
        assert!(!can_be_assigned(&agent(Role::Agent, &[]), scope));
        let mut member = agent(Role::Agent, &[inbox]);
        assert!(can_be_assigned(&member, scope));
        member.disabled = true;
        assert!(!can_be_assigned(&member, scope));
    }
}
