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

/// The members' inbox Support and another one, Sales; `member`, `light` and
/// `disabled` (disabled after logging in: its client keeps the old token) of
/// Support; `outsider` and `sharee` (whom each table ticket is shared with)
/// of Sales; ticket sharing on.
pub async fn cast() -> Scenario {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("member", &["Support"])
        .agent("outsider", &["Sales"])
        .agent("sharee", &["Sales"])
        .light("light", &["Support"])
        .agent("disabled", &["Support"])
        .disable("disabled")
        .settings(json!({"ticket_sharing_enabled": true}))
        .start()
        .await
}

/// A fresh ticket in Support, shared with `sharee`; its id.
pub async fn shared_ticket(cast: &Scenario, subject: &str) -> String {
    let ticket = cast.new_ticket(subject).await;
    let shared = cast
        .admin
        .post(
            format!("/api/tickets/{ticket}/shares"),
            json!({"agent": cast.agent("sharee").id}),
        )
        .await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    ticket
}
