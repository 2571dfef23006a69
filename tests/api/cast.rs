//! The seven callers the authorization tables (`roles`, `authz_ws`) check
//! every REST endpoint and every WebSocket frame against, and the ticket each
//! of their calls gets: fresh, in the members' inbox, shared with `sharee`.

use serde_json::json;

use crate::support::*;

/// Column names of the tables, in this order.
pub const CALLERS: [&str; 7] = [
    "admin",
    "member",
    "non-member",
    "shared",
    "light",
    "disabled",
    "anonymous",
];

pub struct Cast {
    pub admin: Api,
    /// The members' inbox (Support) and another one (Sales).
    pub inbox: String,
    pub other: String,
    pub member: Api,
    pub outsider: Api,
    /// An agent of Sales each table ticket is shared with.
    pub sharee: Api,
    pub light: Api,
    /// A Support member that was disabled after logging in: its old token.
    pub disabled: Api,
}

impl Cast {
    /// Creates the inboxes and agents on `server`, with ticket sharing on.
    pub async fn assemble(server: &TestServer) -> Cast {
        let admin = server.admin().await;
        let inbox = admin.create_inbox("Support").await;
        let other = admin.create_inbox("Sales").await;
        let member = server.agent(&admin, "member", "agent", &[&inbox]).await;
        let outsider = server.agent(&admin, "outsider", "agent", &[&other]).await;
        let sharee = server.agent(&admin, "sharee", "agent", &[&other]).await;
        let light = server.agent(&admin, "light", "light", &[&inbox]).await;
        let disabled = server.agent(&admin, "disabled", "agent", &[&inbox]).await;
        let resp = admin
            .patch(
                format!("/api/agents/{}", disabled.id),
                json!({"disabled": true}),
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let resp = admin
            .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        Cast {
            admin,
            inbox,
            other,
            member,
            outsider,
            sharee,
            light,
            disabled,
        }
    }

    /// A fresh ticket in Support, shared with `sharee`; its id.
    pub async fn shared_ticket(&self, subject: &str) -> String {
        let ticket = self.admin.create_ticket(&self.inbox, subject).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let shared = self
            .admin
            .post(
                format!("/api/tickets/{ticket}/shares"),
                json!({"agent": self.sharee.id}),
            )
            .await;
        assert_eq!(shared.status, 200, "{}", shared.body);
        ticket
    }
}
