//! `tandem restore`: a backup file becomes the database of a data directory.
//!
//! Order: verify the file (format and checksum) → write its database next to
//! the target (`tandem.redb.restoring`) and sync it → check it (redb's
//! integrity check, a schema version this binary knows) → rename it to
//! `tandem.redb`.
//!
//! Invariants:
//! - Nothing in the directory changes unless every check passed: a refused
//!   backup leaves no file behind, and `tandem.redb` is replaced by one rename.
//! - A directory with anything in it is refused without `force`; with
//!   `force`, only `tandem.redb` is replaced (other files stay), and never
//!   while a server holds it.
//! - An older schema is restored as it is; the server upgrades it when it
//!   starts on it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::format::{self, FormatError, Verified};
use crate::store::Store;
use crate::store::check::{self, CheckError, Report};
use crate::store::tables::SCHEMA_VERSION;

/// Why a backup was not restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot restore {path}: {source}")]
    Backup { path: PathBuf, source: FormatError },
    #[error("the data directory {0} is not empty; pass --force to replace its database")]
    NotEmpty(PathBuf),
    #[error(
        "the data directory {0} is in use by a running Tandem; stop it before restoring into it"
    )]
    InUse(PathBuf),
    #[error("the database in the backup is damaged (redb's integrity check failed)")]
    Damaged,
    #[error("the backup holds no Tandem database (no schema version)")]
    NotTandem,
    #[error(
        "the backup was written by a newer Tandem (schema {found}; this binary knows up to {supported}); restore it with a newer binary"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("cannot check the restored database")]
    Check(#[from] CheckError),
    #[error("cannot write {path}")]
    Io { path: PathBuf, source: io::Error },
}

/// What was restored.
#[derive(Debug)]
pub struct Restored {
    pub backup: Verified,
    pub report: Report,
}

/// Restores the backup file `from` into the data directory `dir`.
pub fn restore(from: &Path, dir: &Path, force: bool) -> Result<Restored, RestoreError> {
    let backup_error = |source| RestoreError::Backup {
        path: from.to_owned(),
        source,
    };
    let mut file = File::open(from).map_err(|e| backup_error(e.into()))?;
    let backup = format::verify(&mut file).map_err(backup_error)?;
    prepare(dir, force)?;
    let target = Store::file_in(dir);
    let restoring = Restoring(target.with_extension("redb.restoring"));
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| RestoreError::Io { path, source }
    };
    write_database(&mut file, &backup, &restoring.0).map_err(io_error(&restoring.0))?;
    let report = check::inspect(&restoring.0)?;
    if !report.intact {
        return Err(RestoreError::Damaged);
    }
    match report.schema {
        None => return Err(RestoreError::NotTandem),
        Some(found) if found > SCHEMA_VERSION => {
            return Err(RestoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(_) => {}
    }
    std::fs::rename(&restoring.0, &target).map_err(io_error(&target))?;
    super::sync_dir(dir).map_err(io_error(dir))?;
    Ok(Restored { backup, report })
}

/// Creates `dir` if needed; refuses it when it is not empty (without
/// `force`) or when a server holds its database.
fn prepare(dir: &Path, force: bool) -> Result<(), RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let empty = std::fs::read_dir(dir).map_err(io_error)?.next().is_none();
    if empty {
        return Ok(());
    }
    if !force {
        return Err(RestoreError::NotEmpty(dir.to_owned()));
    }
    if check::in_use(&Store::file_in(dir)) {
        return Err(RestoreError::InUse(dir.to_owned()));
    }
    Ok(())
}

/// Copies the database out of the verified backup into `path`, synced.
fn write_database(file: &mut File, backup: &Verified, path: &Path) -> io::Result<()> {
    file.seek(SeekFrom::Start(backup.database_offset))?;
    let mut out = File::create(path)?;
    let copied = io::copy(&mut file.take(backup.database_len), &mut out)?;
    if copied != backup.database_len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the backup file changed while it was restored",
        ));
    }
    out.sync_all()
}

/// The database being restored, removed unless it was renamed into place.
struct Restoring(PathBuf);

impl Drop for Restoring {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
