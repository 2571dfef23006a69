//! A snapshot of the running server's database, ready to be written as a
//! backup file ([`format`](super::format)): the whole database copied in one
//! read transaction ([`store::copy`](crate::store::copy)) into a temporary
//! file in the data directory.
//!
//! Invariants:
//! - Taking a snapshot blocks its thread (call it off the async threads) but
//!   never the writer.
//! - The temporary file is removed when the snapshot is dropped; one left by
//!   a crash is removed at the next start ([`remove_leftovers`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::BackupError;
use super::format::{self, Written};
use crate::domain::Timestamp;
use crate::store::Store;
use crate::store::tables::SCHEMA_VERSION;

const TEMP_PREFIX: &str = "backup-snapshot-";
const TEMP_SUFFIX: &str = ".redb.tmp";

/// A consistent copy of the database, and the header of its backup file.
pub struct Snapshot {
    database: File,
    database_len: u64,
    header: String,
    created: Timestamp,
    _temp: TempFile,
}

impl Snapshot {
    /// Copies the whole database of `store` into a temporary file in `temp_dir`.
    pub fn take(store: &Store, temp_dir: &Path) -> Result<Snapshot, BackupError> {
        let temp = TempFile(temp_dir.join(format!(
            "{TEMP_PREFIX}{}{TEMP_SUFFIX}",
            uuid::Uuid::now_v7().simple()
        )));
        let io_error = |source| BackupError::Io {
            path: temp.0.clone(),
            source,
        };
        let file = File::create_new(&temp.0).map_err(io_error)?;
        let created = Timestamp::now();
        let tx = store.read()?;
        crate::store::copy::copy_into(&tx, file)?;
        drop(tx);
        let database = File::open(&temp.0).map_err(io_error)?;
        let database_len = database.metadata().map_err(io_error)?.len();
        Ok(Snapshot {
            database,
            database_len,
            header: format::header(SCHEMA_VERSION, created),
            created,
            _temp: temp,
        })
    }

    /// The length of the backup file [`Snapshot::write_to`] writes.
    pub fn file_len(&self) -> u64 {
        format::file_len(&self.header, self.database_len)
    }

    /// A file name for this backup: `tandem-20260501T120000.000Z.backup`,
    /// in the order taken when sorted by name.
    pub fn file_name(&self) -> String {
        let time: String = self
            .created
            .to_rfc3339()
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        format!("tandem-{time}.backup")
    }

    /// Writes the backup file to `out`.
    pub fn write_to(self, out: impl Write) -> io::Result<Written> {
        format::write(&self.header, &self.database, self.database_len, out)
    }
}

/// Removes snapshot files a crash left in `dir` (the data directory, which
/// the caller holds).
pub fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!(file = %name, "removed a backup snapshot left by a crash"),
                Err(error) => {
                    tracing::warn!(file = %name, %error, "cannot remove an old backup snapshot")
                }
            }
        }
    }
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
