//! The live status of each e-mail channel's import (connected, last fetch,
//! last error), shown to admins in the channel object and in `/metrics`.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Serialize;

use crate::domain::{ChannelId, Timestamp};
use crate::metrics::{Labels, Metrics};

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ChannelStatus {
    /// The IMAP connection is up (logged in, folder selected).
    pub connected: bool,
    /// Waiting with IDLE (else polling every `poll_s`).
    pub idle: bool,
    pub last_fetch_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Mails imported since the server started.
    pub imported: u64,
}

#[derive(Default)]
pub struct Statuses(RwLock<HashMap<ChannelId, ChannelStatus>>);

pub fn labels(channel: ChannelId) -> Labels {
    vec![("channel", channel.to_string())]
}

impl Statuses {
    pub fn get(&self, channel: ChannelId) -> ChannelStatus {
        self.0
            .read()
            .expect("mail status lock")
            .get(&channel)
            .cloned()
            .unwrap_or_default()
    }

    fn update(&self, channel: ChannelId, change: impl FnOnce(&mut ChannelStatus)) {
        change(
            self.0
                .write()
                .expect("mail status lock")
                .entry(channel)
                .or_default(),
        );
    }

    pub fn connected(&self, metrics: &Metrics, channel: ChannelId, idle: bool) {
        metrics
            .mail_connected
            .get_or_create(&labels(channel))
            .set(1);
        self.update(channel, |s| {
            s.connected = true;
            s.idle = idle;
        });
    }

    pub fn fetched(&self, channel: ChannelId, imported: u64) {
        self.update(channel, |s| {
            s.last_fetch_at = Some(Timestamp::now().to_rfc3339());
            s.imported += imported;
        });
    }

    pub fn failed(&self, metrics: &Metrics, channel: ChannelId, error: &str) {
        metrics
            .mail_connected
            .get_or_create(&labels(channel))
            .set(0);
        metrics.mail_errors.get_or_create(&labels(channel)).inc();
        self.update(channel, |s| {
            s.connected = false;
            s.idle = false;
            s.last_error = Some(error.to_owned());
            s.last_error_at = Some(Timestamp::now().to_rfc3339());
        });
    }

    pub fn stopped(&self, metrics: &Metrics, channel: ChannelId) {
        metrics
            .mail_connected
            .get_or_create(&labels(channel))
            .set(0);
        self.update(channel, |s| {
            s.connected = false;
            s.idle = false;
        });
    }

    pub fn forget(&self, metrics: &Metrics, channel: ChannelId) {
        metrics.mail_connected.remove(&labels(channel));
        self.0.write().expect("mail status lock").remove(&channel);
    }
}
