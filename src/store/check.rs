//! Offline inspection of a database file that no process holds: redb's
//! integrity check, the schema version, and how many records the main tables
//! hold. Used by `tandem check` and by `tandem restore` on the file it restores.
//!
//! Invariant: nothing is written but what redb's own integrity check repairs;
//! in particular an older schema is reported, not upgraded (the server does
//! that when it starts).

use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use std::path::{Path, PathBuf};

use super::tables::*;
use super::{StoreError, codec};

/// Why a database could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("there is no database at {0}")]
    Missing(PathBuf),
    #[error("the database {0} is in use by another Tandem process (stop it first)")]
    InUse(PathBuf),
    #[error("cannot open the database {path}")]
    Open {
        path: PathBuf,
        source: redb::DatabaseError,
    },
    #[error("cannot read the database {path}")]
    Read { path: PathBuf, source: StoreError },
}

/// What [`inspect`] found.
#[derive(Debug)]
pub struct Report {
    /// `false`: redb's integrity check failed (and redb repaired what it could).
    pub intact: bool,
    /// The schema version recorded in the file, if any.
    pub schema: Option<u32>,
    /// The size of the file in bytes.
    pub bytes: u64,
    /// Records per main table: agents, inboxes, tickets, messages, channels.
    pub counts: Vec<(&'static str, u64)>,
}

/// Opens `file` exclusively, checks its integrity and reads its summary.
pub fn inspect(file: &Path) -> Result<Report, CheckError> {
    if !file.is_file() {
        return Err(CheckError::Missing(file.to_owned()));
    }
    let mut db = Database::open(file).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => CheckError::InUse(file.to_owned()),
        source => CheckError::Open {
            path: file.to_owned(),
            source,
        },
    })?;
    let intact = db.check_integrity().map_err(|source| CheckError::Open {
        path: file.to_owned(),
        source,
    })?;
    let (schema, counts) = summary(&db).map_err(|source| CheckError::Read {
        path: file.to_owned(),
        source,
    })?;
    drop(db);
    let bytes = std::fs::metadata(file).map_or(0, |m| m.len());
    Ok(Report {
        intact,
        schema,
        bytes,
        counts,
    })
}

/// Whether another process holds the database `file` (a missing or
/// unreadable file is not held). Cheap: it opens the file, nothing more.
pub fn in_use(file: &Path) -> bool {
    let mut builder = Database::builder();
    // A file that needs a repair is not held by a live process.
    builder.set_repair_callback(|session| session.abort());
    matches!(
        builder.open(file),
        Err(redb::DatabaseError::DatabaseAlreadyOpen)
    )
}

type Summary = (Option<u32>, Vec<(&'static str, u64)>);

fn summary(db: &Database) -> Result<Summary, StoreError> {
    let tx = db.begin_read()?;
    let schema = match tx.open_table(META) {
        Ok(meta) => match meta.get(SCHEMA_VERSION_KEY)? {
            Some(v) => Some(codec::decode::<u32>(v.value())?),
            None => None,
        },
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let counts = vec![
        ("agents", len(&tx, AGENTS)?),
        ("inboxes", len(&tx, INBOXES)?),
        ("tickets", len(&tx, TICKETS)?),
        ("messages", len(&tx, MESSAGES)?),
        ("channels", len(&tx, CHANNELS)?),
    ];
    Ok((schema, counts))
}

/// The rows of `table`; 0 when it does not exist (an older schema, or not a
/// Tandem database at all).
fn len<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &redb::ReadTransaction,
    table: redb::TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    match tx.open_table(table) {
        Ok(table) => Ok(table.len()?),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}
