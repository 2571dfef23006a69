//! The shared state of one running server: configuration, store, directory,
//! metrics, and the registry of live actors. Handlers and actors hold an
//! `Arc<Core>`; nothing here blocks.

use std::sync::Arc;

use crate::accounts::Directory;
use crate::actors::registry::Registry;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

pub struct Core {
    pub config: Config,
    pub store: Arc<Store>,
    pub directory: Directory,
    pub metrics: Arc<Metrics>,
    pub registry: Registry,
    /// Set once at start-up, right after the core exists.
    pub scheduler: std::sync::OnceLock<actix::Addr<crate::actors::scheduler::Scheduler>>,
}

impl Core {
    /// Tells the scheduler a reply is due at `at`.
    pub fn scheduled(&self, at: crate::domain::Timestamp) {
        if let Some(scheduler) = self.scheduler.get() {
            scheduler.do_send(crate::actors::scheduler::Scheduled { at });
        }
    }
}
