//! Backups of the whole database (docs/operating.md "Backups and restores").
//!
//! - [`snapshot`]: a consistent copy of the running server's database, taken
//!   in one read transaction while writes go on;
//! - [`format`]: the backup file (header line, the database, a trailer with
//!   its size and SHA-256) and its verification;
//! - [`restore`]: a verified backup file becomes a data directory's database;
//! - [`schedule`]: the server's scheduled backups (`[backup]`).
//!
//! `GET /api/admin/backup` (`http::backup`) streams a snapshot as a backup
//! file; `tandem backup` (`cli::backup`) downloads one.

pub mod format;
pub mod restore;
pub mod schedule;
pub mod snapshot;

use std::path::PathBuf;

use crate::store::StoreError;

/// Why a backup could not be taken or written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot read the database")]
    Store(#[from] StoreError),
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Makes the renames in `dir` durable (on Unix a directory is synced like a file).
fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
