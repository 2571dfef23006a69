//! The subcommands besides `serve` (docs/protocol.md §8.6). Each runs to
//! completion, reports on stdout, and returns its failure for `main` to print
//! (exit code 1).
//!
//! - [`backup`]: `tandem backup`, a client of `GET /api/admin/backup`;
//! - [`restore`]: `tandem restore`, around `backup::restore`;
//! - [`admin`]: `tandem admin …`, on a data directory no server holds;
//! - [`check`]: `tandem check`, integrity and a summary of a data directory
//!   no server holds.
//!
//! Invariant: the offline commands open the data directory the way the
//! server does (redb's file lock), so they refuse one a server holds with a
//! clear message, and a server cannot start while they run.

pub mod admin;
pub mod backup;

use std::path::Path;

use crate::backup::restore::{RestoreError, restore as restore_into};
use crate::store::Store;
use crate::store::check::{CheckError, Report, inspect};
use crate::store::tables::SCHEMA_VERSION;

/// `tandem restore --from FILE --data-dir DIR [--force]`.
pub fn restore(from: &Path, data_dir: &Path, force: bool) -> Result<(), RestoreError> {
    let restored = restore_into(from, data_dir, force)?;
    println!(
        "restored {} into {}",
        from.display(),
        Store::file_in(data_dir).display()
    );
    println!("backup: {}", restored.backup.header);
    println!("sha256: {} (verified)", restored.backup.sha256);
    print_report(&restored.report);
    Ok(())
}

/// `tandem check`: prints the report; `false` when something is wrong.
pub fn check(data_dir: &Path) -> Result<bool, CheckError> {
    let file = Store::file_in(data_dir);
    let report = inspect(&file)?;
    println!("database: {}", file.display());
    print_report(&report);
    Ok(report.intact && report.schema.is_some_and(|v| v <= SCHEMA_VERSION))
}

fn print_report(report: &Report) {
    println!("size: {} bytes", report.bytes);
    println!(
        "integrity: {}",
        if report.intact {
            "ok"
        } else {
            "FAILED (redb repaired what it could; consider restoring a backup)"
        }
    );
    let schema = match report.schema {
        Some(v) if v == SCHEMA_VERSION => format!("{v} (current)"),
        Some(v) if v < SCHEMA_VERSION => {
            format!("{v} (older: the server upgrades it to {SCHEMA_VERSION} when it starts)")
        }
        Some(v) => {
            format!("{v} (NEWER than this binary knows, {SCHEMA_VERSION}: upgrade the binary)")
        }
        None => "none (not a Tandem database)".to_owned(),
    };
    println!("schema: {schema}");
    for (table, count) in &report.counts {
        println!("{table}: {count}");
    }
}
