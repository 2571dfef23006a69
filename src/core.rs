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
}
