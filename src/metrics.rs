//! Prometheus metrics (`GET /metrics`). One [`Metrics`] per server, shared by
//! every part that counts something; rendering happens only on scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    pub sessions: Gauge,
    pub sockets: Gauge,
    pub subscriptions: Gauge,
    pub claims: Gauge,
    pub ticket_actors: Gauge,
    pub inbox_actors: Gauge,
    pub visitor_actors: Gauge,
    pub visitor_sockets: Gauge,
    pub events_sent: Counter,
    pub slow_sessions_dropped: Counter,
    pub scheduled_sent: Counter,
    pub scheduled_dropped: Counter,
    pub store_commits: Counter,
    pub store_writes: Counter,
    pub store_batch_size: Histogram,
    pub store_commit_seconds: Histogram,
    pub backups: Counter,
    pub backup_failures: Counter,
    pub last_backup_timestamp_seconds: Gauge,
    /// Per e-mail channel (label `channel`, its id).
    pub mail_connected: Family<Labels, Gauge>,
    pub mail_imported: Family<Labels, Counter>,
    /// Labels `channel` and `reason`.
    pub mail_ignored: Family<Labels, Counter>,
    pub mail_errors: Family<Labels, Counter>,
    pub outbox_queued: Gauge,
    pub outbox_sent: Counter,
    pub outbox_retries: Counter,
    pub outbox_failed: Counter,
    pub webhooks_queued: Gauge,
    pub webhooks_delivered: Counter,
    pub webhooks_retries: Counter,
    pub webhooks_given_up: Counter,
}

/// Label pairs of a metric family.
pub type Labels = Vec<(&'static str, String)>;

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tandem");
        let m = Metrics {
            sessions: Gauge::default(),
            sockets: Gauge::default(),
            subscriptions: Gauge::default(),
            claims: Gauge::default(),
            ticket_actors: Gauge::default(),
            inbox_actors: Gauge::default(),
            visitor_actors: Gauge::default(),
            visitor_sockets: Gauge::default(),
            events_sent: Counter::default(),
            slow_sessions_dropped: Counter::default(),
            scheduled_sent: Counter::default(),
            scheduled_dropped: Counter::default(),
            store_commits: Counter::default(),
            store_writes: Counter::default(),
            store_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            store_commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            backups: Counter::default(),
            backup_failures: Counter::default(),
            last_backup_timestamp_seconds: Gauge::default(),
            mail_connected: Family::default(),
            mail_imported: Family::default(),
            mail_ignored: Family::default(),
            mail_errors: Family::default(),
            outbox_queued: Gauge::default(),
            outbox_sent: Counter::default(),
            outbox_retries: Counter::default(),
            outbox_failed: Counter::default(),
            webhooks_queued: Gauge::default(),
            webhooks_delivered: Counter::default(),
            webhooks_retries: Counter::default(),
            webhooks_given_up: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sessions",
            "Live agent sessions (tabs), including those in reconnect grace",
            m.sessions.clone(),
        );
        registry.register("sockets", "Open WebSocket connections", m.sockets.clone());
        registry.register(
            "subscriptions",
            "Inbox subscriptions of live sessions",
            m.subscriptions.clone(),
        );
        registry.register("claims", "Tickets currently claimed", m.claims.clone());
        registry.register(
            "ticket_actors",
            "Live ticket actors",
            m.ticket_actors.clone(),
        );
        registry.register("inbox_actors", "Live inbox actors", m.inbox_actors.clone());
        registry.register(
            "visitor_actors",
            "Live chat visitor actors (visitors with a socket)",
            m.visitor_actors.clone(),
        );
        registry.register(
            "visitor_sockets",
            "Open chat visitor WebSocket connections",
            m.visitor_sockets.clone(),
        );
        registry.register(
            "events_sent",
            "Frames handed to sockets",
            m.events_sent.clone(),
        );
        registry.register(
            "slow_sessions_dropped",
            "Sockets closed because their outbound backlog passed its limit",
            m.slow_sessions_dropped.clone(),
        );
        registry.register(
            "scheduled_sent",
            "Scheduled replies sent",
            m.scheduled_sent.clone(),
        );
        registry.register(
            "scheduled_dropped",
            "Scheduled replies dropped at send time (no access, or overtaken)",
            m.scheduled_dropped.clone(),
        );
        registry.register(
            "store_commits",
            "redb write transactions committed",
            m.store_commits.clone(),
        );
        registry.register(
            "store_writes",
            "Write requests acknowledged by the writer",
            m.store_writes.clone(),
        );
        registry.register(
            "store_batch_size",
            "Write requests per group commit",
            m.store_batch_size.clone(),
        );
        registry.register(
            "store_commit_seconds",
            "Latency of one group commit (apply + fsync)",
            m.store_commit_seconds.clone(),
        );
        registry.register("backups", "Scheduled backups written", m.backups.clone());
        registry.register(
            "backup_failures",
            "Scheduled backups that failed",
            m.backup_failures.clone(),
        );
        registry.register(
            "last_backup_timestamp_seconds",
            "Unix time of the last scheduled backup written (0: none since start)",
            m.last_backup_timestamp_seconds.clone(),
        );
        registry.register(
            "mail_connected",
            "1 while an e-mail channel's IMAP connection is up",
            m.mail_connected.clone(),
        );
        registry.register(
            "mail_imported",
            "Mails imported as customer messages",
            m.mail_imported.clone(),
        );
        registry.register(
            "mail_ignored",
            "Mails fetched but not imported, by reason (duplicate, auto_submitted, precedence, own_address, bounce, unreadable)",
            m.mail_ignored.clone(),
        );
        registry.register(
            "mail_errors",
            "IMAP connections or fetches that failed",
            m.mail_errors.clone(),
        );
        registry.register(
            "outbox_queued",
            "Replies waiting to be sent by mail",
            m.outbox_queued.clone(),
        );
        registry.register("outbox_sent", "Replies sent by mail", m.outbox_sent.clone());
        registry.register(
            "outbox_retries",
            "SMTP attempts that failed and will be retried",
            m.outbox_retries.clone(),
        );
        registry.register(
            "outbox_failed",
            "Replies that could not be delivered (permanent error, too many attempts, or a bounce)",
            m.outbox_failed.clone(),
        );
        registry.register(
            "webhooks_queued",
            "Webhook deliveries waiting in the outbox",
            m.webhooks_queued.clone(),
        );
        registry.register(
            "webhooks_delivered",
            "Webhook deliveries a receiver accepted (2xx)",
            m.webhooks_delivered.clone(),
        );
        registry.register(
            "webhooks_retries",
            "Webhook attempts that failed and will be retried",
            m.webhooks_retries.clone(),
        );
        registry.register(
            "webhooks_given_up",
            "Webhook deliveries dropped: a 410, or failing past the horizon",
            m.webhooks_given_up.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
