//! First-start accounts: the bootstrap admin (`TANDEM_BOOTSTRAP_ADMIN` or a
//! generated password printed once) and the `--demo` data set (with a chat
//! channel on Support, embedded by the demo shop at `/demo/shop`).
//!
//! Both only act on a data directory that has no agents yet, so restarting
//! with the same flags never duplicates anything.

use std::sync::Arc;

use crate::accounts::NewAgent;
use crate::actors::ticket::Create;
use crate::channels::NewChannel;
use crate::core::Core;
use crate::domain::channel::ChannelKind;
use crate::domain::ticket::Customer;
use crate::domain::{Role, TicketId};
use crate::error::Error;

/// What to create on an empty data directory.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// `--demo`: inboxes, agents and tickets to try Tandem with.
    pub demo: bool,
    /// `TANDEM_BOOTSTRAP_ADMIN` as `handle:password`.
    pub admin: Option<String>,
}

pub async fn run(core: &Arc<Core>, bootstrap: &Bootstrap) -> Result<(), Error> {
    if core.directory.agent_count() > 0 {
        if bootstrap.demo {
            serve_demo_shop(core);
        }
        return Ok(());
    }
    if let Some(spec) = &bootstrap.admin {
        let (handle, password) = spec
            .split_once(':')
            .filter(|(h, p)| !h.is_empty() && !p.is_empty())
            .ok_or_else(|| Error::bad_request("TANDEM_BOOTSTRAP_ADMIN must be handle:password"))?;
        create(
            core,
            handle,
            &capitalized(handle),
            Role::Admin,
            password,
            vec![],
        )
        .await?;
        tracing::info!(handle, "created the bootstrap admin");
    }
    if bootstrap.demo {
        return demo(core).await;
    }
    if bootstrap.admin.is_none() {
        let password = crate::accounts::password::generate();
        create(core, "admin", "Admin", Role::Admin, &password, vec![]).await?;
        // Printed once, on stdout, so an operator can log in; never stored in clear.
        println!("Created admin account `admin` with password: {password}");
        tracing::warn!(
            "created admin `admin` with a generated password (printed above); change it"
        );
    }
    Ok(())
}

/// The default name of an agent made from its handle (`boss` → `Boss`).
pub(crate) fn capitalized(handle: &str) -> String {
    let mut chars = handle.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn create(
    core: &Arc<Core>,
    handle: &str,
    name: &str,
    role: Role,
    password: &str,
    inboxes: Vec<crate::domain::InboxId>,
) -> Result<Arc<crate::domain::Agent>, Error> {
    let new = NewAgent {
        handle: handle.to_owned(),
        name: name.to_owned(),
        email: format!("{handle}@example.com"),
        role,
        password: password.to_owned(),
        inboxes,
    };
    Ok(core.directory.create_agent(new).await?)
}

const SUPPORT_TICKETS: [(&str, &str, &str); 12] = [
    (
        "Cannot log in after password reset",
        "Maya Lindqvist",
        "maya@lindqvist.example",
    ),
    (
        "Invoice shows the wrong VAT number",
        "Oskar Brandt",
        "oskar@brandt-bau.example",
    ),
    (
        "App crashes when I upload a photo",
        "Priya Raman",
        "priya.raman@example.net",
    ),
    (
        "Two-factor codes never arrive",
        "Tom Becker",
        "tom.becker@example.org",
    ),
    (
        "Export to CSV is missing columns",
        "Lucia Ferri",
        "lucia@ferri-studio.example",
    ),
    (
        "Please delete my old account",
        "Jonas Weber",
        "jonas.weber@example.com",
    ),
    (
        "Order #4411 arrived damaged",
        "Aiko Tanaka",
        "aiko.tanaka@example.jp",
    ),
    (
        "Dark mode makes buttons unreadable",
        "Samuel Okafor",
        "samuel@okafor.example",
    ),
    (
        "Calendar sync stopped yesterday",
        "Greta Nilsen",
        "greta.nilsen@example.no",
    ),
    (
        "How do I change the account owner?",
        "Marco Rossi",
        "marco@rossi-imports.example",
    ),
    (
        "Notifications arrive twice",
        "Elena Petrova",
        "elena.petrova@example.com",
    ),
    (
        "Refund for duplicate charge",
        "David Cohen",
        "david.cohen@example.com",
    ),
];

const SALES_TICKETS: [(&str, &str, &str); 12] = [
    (
        "Quote for 40 seats",
        "Hannah Schmidt",
        "h.schmidt@nordwerk.example",
    ),
    (
        "Do you offer an education discount?",
        "Leo Martin",
        "leo.martin@uni.example",
    ),
    (
        "Annual vs monthly billing",
        "Fatima Zahra",
        "fatima@zahra-consult.example",
    ),
    (
        "Trial extension request",
        "Nils Eriksson",
        "nils@eriksson.example",
    ),
    (
        "Can we pay by bank transfer?",
        "Chloe Dubois",
        "chloe.dubois@example.fr",
    ),
    (
        "Enterprise SSO pricing",
        "Raj Patel",
        "raj.patel@bigcorp.example",
    ),
    (
        "Upgrade from Basic to Pro",
        "Sofia Costa",
        "sofia@costa-design.example",
    ),
    (
        "Volume pricing for resellers",
        "Ben Carter",
        "ben@carter-it.example",
    ),
    (
        "Need a W-9 form",
        "Olivia Brown",
        "olivia.brown@example.com",
    ),
    (
        "Nonprofit pricing",
        "Kwame Mensah",
        "kwame@helpinghands.example",
    ),
    (
        "Demo call next week?",
        "Isabel Garcia",
        "isabel.garcia@example.es",
    ),
    (
        "Contract renewal terms",
        "Peter Novak",
        "peter.novak@example.cz",
    ),
];

/// The demo data of docs/protocol.md "Running": inboxes Support and Sales, admin
/// `ada`, agents `bianca` and `hanna` (both inboxes), `sam` (Sales), light
/// agent `lena` (Support), all with password `demo`, and a dozen tickets per inbox.
async fn demo(core: &Arc<Core>) -> Result<(), Error> {
    let support = core.directory.create_inbox("Support").await?;
    let sales = core.directory.create_inbox("Sales").await?;
    let both = vec![support.id, sales.id];
    let ada = create(core, "ada", "Ada", Role::Admin, "demo", both.clone()).await?;
    create(core, "bianca", "Bianca", Role::Agent, "demo", both.clone()).await?;
    create(core, "hanna", "Hanna", Role::Agent, "demo", both).await?;
    create(core, "sam", "Sam", Role::Agent, "demo", vec![sales.id]).await?;
    create(core, "lena", "Lena", Role::Light, "demo", vec![support.id]).await?;
    for (inbox, tickets) in [(support.id, &SUPPORT_TICKETS), (sales.id, &SALES_TICKETS)] {
        for (subject, name, contact) in tickets {
            let create = Create {
                by: ada.clone(),
                inbox,
                subject: (*subject).to_owned(),
                customer: Customer {
                    name: (*name).to_owned(),
                    contact: (*contact).to_owned(),
                },
                body: format!("Hello,\n\n{subject}. Can you help?\n\nThanks,\n{name}"),
            };
            core.ask_ticket(TicketId::new(), create).await?;
        }
    }
    let chat = NewChannel {
        kind: ChannelKind::Chat,
        inbox: support.id,
        name: "Website chat".to_owned(),
        allowed_origins: Vec::new(),
        greeting: Some("Hi! Ask us anything, we usually answer within minutes.".to_owned()),
        offline_message: Some(
            "Nobody is online right now. Leave your e-mail and we will answer there.".to_owned(),
        ),
        require_identity: false,
        account: Default::default(),
        callback_url: None,
    };
    core.channels.create(chat, true).await?;
    serve_demo_shop(core);
    tracing::info!(
        "demo data created: log in as ada, bianca, hanna, sam or lena with password `demo`; \
         chat as a customer at /demo/shop"
    );
    Ok(())
}

/// Serves `/demo/shop` with the demo's chat channel (the first enabled one).
fn serve_demo_shop(core: &Core) {
    if let Some(channel) = core.channels.all().into_iter().find(|c| c.enabled) {
        let _ = core.demo_channel.set(channel.key.clone());
    }
}
