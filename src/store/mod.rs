//! Durable storage: one redb file in the data directory.
//!
//! Owns: the tables ([`tables`]), the record codec ([`codec`]), the list
//! index ([`index`]), the paging snapshots of lists ([`snapshots`]), typed
//! reads ([`reads`]) and writes ([`writes`]), the webhook tables
//! ([`webhooks`]), the `upgrade` of older schemas,
//! the group-commit `writer` thread, the [`copy`] of the whole database that
//! backups carry, and the offline [`check`] of a database file.
//!
//! Invariants:
//! - Every write goes through the writer thread and is acknowledged only after
//!   its transaction committed with `Durability::Immediate`.
//! - Reads use their own read transactions and never wait for the writer.
//! - The data directory is used by one process at a time (redb's file lock);
//!   a second process gets [`OpenError::AlreadyOpen`].
//! - The schema version on disk is checked at open; a newer one is refused,
//!   an older one is brought up to date (`upgrade`) in the same transaction.
//! - Opening fails with an [`OpenError`] (the operator's to fix); once open,
//!   reads and writes fail with a [`StoreError`]. redb's errors are kept as
//!   their sources.

pub mod check;
pub mod codec;
pub mod copy;
pub mod index;
pub mod reads;
pub mod snapshots;
pub mod tables;
mod upgrade;
pub mod webhooks;
mod writer;
pub mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use crate::metrics::Metrics;
use tables::*;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the data directory {0} is already in use by another Tandem process (stop it, or pass another --data-dir)"
    )]
    AlreadyOpen(PathBuf),
    #[error(
        "there is no Tandem database in {0} (no tandem.redb); check --data-dir, or start the server once"
    )]
    Missing(PathBuf),
    #[error(
        "the data directory was written by a newer Tandem (schema {found}; this binary knows up to {supported}); upgrade the binary"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("cannot use the data directory {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}")]
    Database {
        path: PathBuf,
        source: redb::DatabaseError,
    },
    /// Creating the tables or indexing the data failed.
    #[error("cannot prepare the database")]
    Prepare(#[from] StoreError),
}

/// Why a read or write of the open store failed. `Clone`: a failed group
/// commit fails every write in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage error")]
    Storage(#[source] Arc<redb::Error>),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("write batch aborted because a write in it failed")]
    Aborted,
    #[error("the store is shut down")]
    Closed,
}

/// redb's errors become [`StoreError::Storage`] (and, at open, [`OpenError::Prepare`]).
macro_rules! storage_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(Arc::new(e.into()))
            }
        }

        impl From<$t> for OpenError {
            fn from(e: $t) -> Self {
                OpenError::Prepare(e.into())
            }
        }
    )*};
}
storage_errors!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

/// The database handle and its writer. Cheap to share behind an `Arc`.
pub struct Store {
    /// `None` once shut down: the file is closed (and its lock released) at a
    /// known moment, however many `Arc<Store>` are still around.
    db: std::sync::RwLock<Option<Arc<Database>>>,
    writer: writer::Writer,
    /// Read transactions kept across the pages of a list.
    pub snapshots: snapshots::Snapshots,
}

impl Store {
    /// The database file inside a data directory.
    pub fn file_in(data_dir: &Path) -> PathBuf {
        data_dir.join("tandem.redb")
    }

    /// Opens (creating if needed) the store in `data_dir`, creates every table,
    /// checks the schema version and starts the writer thread.
    pub fn open(
        data_dir: &Path,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Store, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OpenError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let file = Store::file_in(data_dir);
        let db = Database::create(&file).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenError::AlreadyOpen(data_dir.to_owned()),
            source => OpenError::Database {
                path: file.clone(),
                source,
            },
        })?;
        init_schema(&db)?;
        let db = Arc::new(db);
        let writer = writer::Writer::start(db.clone(), max_batch, metrics);
        Ok(Store {
            db: std::sync::RwLock::new(Some(db)),
            writer,
            snapshots: Default::default(),
        })
    }

    /// Like [`Store::open`], for a data directory that must already hold a
    /// database (the offline admin commands create none).
    pub fn open_existing(
        data_dir: &Path,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Store, OpenError> {
        if !Store::file_in(data_dir).is_file() {
            return Err(OpenError::Missing(data_dir.to_owned()));
        }
        Store::open(data_dir, max_batch, metrics)
    }

    /// A consistent snapshot for reading; never blocks on the writer.
    pub fn read(&self) -> Result<ReadTransaction, StoreError> {
        let db = self.db.read().expect("store lock poisoned");
        Ok(db.as_ref().ok_or(StoreError::Closed)?.begin_read()?)
    }

    /// Applies `apply` in the next group commit and resolves after the commit.
    pub async fn write<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer.submit(apply, move |result| {
            let _ = tx.send(result);
        });
        rx.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Like [`Store::write`], but calls `done` on the writer thread right after
    /// the commit, in submission order. `done` must be quick (send a message).
    pub fn submit<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
        done: impl FnOnce(Result<T, StoreError>) + Send + 'static,
    ) {
        self.writer.submit(apply, done);
    }

    /// Commits every queued write, stops the writer and closes the file.
    /// Later reads and writes fail with `Closed`.
    pub fn shutdown(&self) {
        self.writer.shutdown();
        self.snapshots.clear();
        self.db.write().expect("store lock poisoned").take();
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.writer.shutdown();
    }
}

fn init_schema(db: &Database) -> Result<(), OpenError> {
    let tx = db.begin_write()?;
    {
        let mut meta = tx.open_table(META)?;
        let found = match meta.get(SCHEMA_VERSION_KEY)? {
            Some(v) => Some(codec::decode::<u32>(v.value())?),
            None => None,
        };
        match found {
            Some(found) if found > SCHEMA_VERSION => {
                return Err(OpenError::NewerSchema {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(found) if found < SCHEMA_VERSION => {
                upgrade::run(&tx, found)?;
                meta.insert(
                    SCHEMA_VERSION_KEY,
                    codec::encode(&SCHEMA_VERSION).as_slice(),
                )?;
            }
            Some(_) => {}
            None => {
                meta.insert(
                    SCHEMA_VERSION_KEY,
                    codec::encode(&SCHEMA_VERSION).as_slice(),
                )?;
            }
        }
    }
    // Data written before the search index existed gets indexed once.
    let indexed = tx.open_table(META)?.get(SEARCH_INDEX_KEY)?.is_some();
    if !indexed {
        let count = writes::rebuild_search_index(&tx)?;
        if count > 0 {
            tracing::info!(tickets = count, "built the search index");
        }
        tx.open_table(META)?
            .insert(SEARCH_INDEX_KEY, codec::encode(&1u32).as_slice())?;
    }
    // Last: the rebuild above drops the search table.
    each_table(&mut CreateTable(&tx))?;
    tx.commit()?;
    Ok(())
}

/// Creates each table that does not exist yet.
struct CreateTable<'a>(&'a WriteTransaction);

impl TableVisitor for CreateTable<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        table: redb::TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        self.0.open_table(table)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::{Customer, Ticket, View};
    use crate::domain::{AgentId, InboxId, TicketId, Timestamp};

    fn ticket(inbox: InboxId, number: u64, updated: i64) -> Ticket {
        Ticket::new(
            TicketId::new(),
            number,
            inbox,
            format!("t{number}"),
            Customer {
                name: "c".into(),
                contact: "c@x".into(),
            },
            Timestamp(updated),
        )
    }

    #[actix_web::test]
    async fn an_api_channel_keeps_its_callback_and_conversations_in_step_until_deleted() {
        use crate::domain::api_channel::{ApiConversation, ApiSettings};
        use crate::domain::channel::{Channel, ChannelKind};
        use crate::domain::{ChannelId, WebhookId};

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let inbox = InboxId::new();
        let mut channel = Channel::new(ChannelKind::Api, inbox, "SMS".into(), Timestamp(1));
        channel.api = Some(ApiSettings::new(Some("https://x.example.test/in".into())).0);
        let mut t = ticket(inbox, 1, 1);
        t.api = Some(ApiConversation {
            channel: channel.id,
            channel_name: channel.name.clone(),
            external_id: "c".into(),
        });
        let (stored, opened) = (channel.clone(), t.clone());
        store
            .write(move |tx| {
                writes::put_channel(tx, &stored)?;
                writes::put_ticket(tx, None, &opened)
            })
            .await
            .unwrap();
        let callback = WebhookId::from_u128(channel.id.as_u128());
        let read = |id: ChannelId| {
            let tx = store.read().unwrap();
            let hook = webhooks::webhook(&tx, callback).unwrap();
            (hook, reads::api_conversation(&tx, id, "c").unwrap())
        };
        let (hook, conversation) = read(channel.id);
        assert_eq!(
            hook.map(|h| (h.enabled, h.channel)),
            Some((true, Some(channel.id)))
        );
        assert_eq!(conversation, Some(t.id));

        // Disabled with its channel; gone with its callback_url.
        channel.enabled = false;
        let stored = channel.clone();
        store
            .write(move |tx| writes::put_channel(tx, &stored))
            .await
            .unwrap();
        assert_eq!(read(channel.id).0.map(|h| h.enabled), Some(false));
        channel.api.as_mut().unwrap().callback_url = None;
        let stored = channel.clone();
        store
            .write(move |tx| writes::put_channel(tx, &stored))
            .await
            .unwrap();
        assert!(read(channel.id).0.is_none());

        // A deleted channel leaves neither its callback nor its conversations.
        channel.api.as_mut().unwrap().callback_url = Some("https://x.example.test/in".into());
        let (stored, id) = (channel.clone(), channel.id);
        store
            .write(move |tx| {
                writes::put_channel(tx, &stored)?;
                writes::delete_channel(tx, id)
            })
            .await
            .unwrap();
        assert_eq!(read(channel.id), (None, None));
    }

    #[actix_web::test]
    async fn view_pages_are_newest_first_and_follow_moves() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let inbox = InboxId::new();
        let tickets: Vec<Ticket> = (1..=5)
            .map(|n| ticket(inbox, n, 1_000 + n as i64))
            .collect();
        let all = tickets.clone();
        store
            .write(move |tx| all.iter().try_for_each(|t| writes::put_ticket(tx, None, t)))
            .await
            .unwrap();
        let tx = store.read().unwrap();
        let (page, next) = reads::view_page(&tx, inbox, View::All, None, 3).unwrap();
        assert_eq!(
            page.iter().map(|t| t.number).collect::<Vec<_>>(),
            vec![5, 4, 3]
        );
        let (rest, end) = reads::view_page(&tx, inbox, View::All, next.as_deref(), 3).unwrap();
        assert_eq!(
            rest.iter().map(|t| t.number).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert!(end.is_none());
        drop(tx);

        let mut moved = tickets[0].clone();
        moved.set_assignee(Some(AgentId::new()));
        moved.updated_at = Timestamp(2_000);
        let old = tickets[0].clone();
        let new = moved.clone();
        store
            .write(move |tx| writes::put_ticket(tx, Some(&old), &new))
            .await
            .unwrap();
        let tx = store.read().unwrap();
        let (pending, _) = reads::view_page(&tx, inbox, View::Pending, None, 10).unwrap();
        assert_eq!(pending.len(), 4);
        let (working, _) = reads::view_page(&tx, inbox, View::WorkingOn, None, 10).unwrap();
        assert_eq!(
            working.iter().map(|t| t.number).collect::<Vec<_>>(),
            vec![1]
        );
        let (mine, _) =
            reads::view_page(&tx, inbox, View::Mine(moved.assignee.unwrap()), None, 10).unwrap();
        assert_eq!(mine.len(), 1);
    }

    #[actix_web::test]
    async fn same_millisecond_ties_list_the_newer_ticket_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let inbox = InboxId::new();
        let tickets: Vec<Ticket> = (1..=4).map(|n| ticket(inbox, n, 5_000)).collect();
        store
            .write(move |tx| {
                tickets
                    .iter()
                    .try_for_each(|t| writes::put_ticket(tx, None, t))
            })
            .await
            .unwrap();
        let (page, _) =
            reads::view_page(&store.read().unwrap(), inbox, View::All, None, 10).unwrap();
        assert_eq!(
            page.iter().map(|t| t.number).collect::<Vec<_>>(),
            vec![4, 3, 2, 1]
        );
    }
}
