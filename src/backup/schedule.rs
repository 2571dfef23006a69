//! Scheduled backups (`[backup]`): a task on the server's runtime that, every
//! `every_s` after the previous backup ended, takes a [`Snapshot`] and writes
//! it as a backup file into `dir`, then removes the oldest beyond `keep`.
//!
//! Invariants:
//! - A backup file appears under its name only once it is complete and
//!   synced (it is written as `.NAME.partial`, then renamed), so `keep` never
//!   counts a partial file, and a crash mid-backup leaves nothing that looks
//!   like a backup (its partial file is removed by the next backup).
//! - Only files named like the schedule's own (`tandem-<UTC time>.backup`)
//!   are ever removed; anything else in `dir` is left alone.
//! - Every backup is counted (`tandem_backups_total`, or
//!   `tandem_backup_failures_total` and an `error` log line).
//! - [`Schedule::stop`] waits for a backup in progress, so the store closes after it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Notify;

use super::BackupError;
use super::snapshot::Snapshot;
use crate::config::BackupConfig;
use crate::domain::Timestamp;
use crate::metrics::Metrics;
use crate::store::Store;

const PARTIAL_SUFFIX: &str = ".partial";

/// The running schedule.
pub struct Schedule {
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Schedule {
    /// Starts the schedule on the current runtime; snapshots are taken in
    /// `data_dir`, next to the database.
    pub fn start(
        config: BackupConfig,
        store: Arc<Store>,
        data_dir: PathBuf,
        metrics: Arc<Metrics>,
    ) -> Schedule {
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let task = actix_web::rt::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(config.every) => {}
                    _ = stopped.notified() => return,
                }
                let (store, data_dir, dir) = (store.clone(), data_dir.clone(), config.dir.clone());
                let keep = config.keep;
                let outcome =
                    tokio::task::spawn_blocking(move || back_up(&store, &data_dir, &dir, keep))
                        .await
                        .expect("the backup task panicked");
                match outcome {
                    Ok(file) => {
                        metrics.backups.inc();
                        metrics
                            .last_backup_timestamp_seconds
                            .set(Timestamp::now().millis() / 1000);
                        tracing::info!(file = %file.display(), "backup written");
                    }
                    Err(error) => {
                        metrics.backup_failures.inc();
                        tracing::error!(
                            error = &error as &dyn std::error::Error,
                            dir = %config.dir.display(),
                            "scheduled backup failed"
                        );
                    }
                }
            }
        });
        Schedule { stop, task }
    }

    /// Stops the schedule, after the backup in progress if there is one.
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }
}

/// Writes one backup of `store` into `dir` and removes the oldest backups
/// beyond `keep`; returns the file written.
pub fn back_up(
    store: &Store,
    data_dir: &Path,
    dir: &Path,
    keep: usize,
) -> Result<PathBuf, BackupError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    remove_partial_files(dir);
    let snapshot = Snapshot::take(store, data_dir)?;
    let name = snapshot.file_name();
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}{PARTIAL_SUFFIX}"));
    let written = File::create(&partial).and_then(|mut file| {
        snapshot.write_to(&mut file)?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Io {
            path: partial,
            source,
        });
    }
    std::fs::rename(&partial, &path).map_err(io_error(&path))?;
    super::sync_dir(dir).map_err(io_error(dir))?;
    prune(dir, keep).map_err(io_error(dir))?;
    Ok(path)
}

/// Removes the oldest of the schedule's backup files in `dir` beyond `keep`.
fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut backups: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_backup_name(name))
        .collect();
    // Names hold the UTC time at a fixed width: by name is by age.
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    for name in &backups[..excess] {
        std::fs::remove_file(dir.join(name))?;
        tracing::info!(file = %name, "removed an old backup");
    }
    Ok(())
}

/// Whether `name` is `tandem-YYYYMMDDTHHMMSS.mmmZ.backup` (see [`Snapshot::file_name`]).
fn is_backup_name(name: &str) -> bool {
    let Some(time) = name
        .strip_prefix("tandem-")
        .and_then(|rest| rest.strip_suffix(".backup"))
    else {
        return false;
    };
    let pattern = "ddddddddTdddddd.dddZ";
    time.len() == pattern.len()
        && time.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            p => c == p,
        })
}

/// Removes partial files a crash left behind in `dir`.
fn remove_partial_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let partial = name
            .to_str()
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
            .is_some_and(is_backup_name);
        if partial {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_schedules_own_names_count_as_backups() {
        assert!(is_backup_name("tandem-20260501T120000.123Z.backup"));
        for other in [
            "tandem-20260501T120000.123Z.backup.partial",
            ".tandem-20260501T120000.123Z.backup.partial",
            "tandem-2026-05-01.backup",
            "tandem-20260501T120000.123Z.backup.old",
            "tandem-20260501X120000.123Z.backup",
            "mine.backup",
            "tandem.redb",
        ] {
            assert!(!is_backup_name(other), "{other}");
        }
    }

    #[test]
    fn pruning_keeps_the_newest_and_leaves_other_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "notes.txt",
            "tandem-20260101T000000.000Z.backup",
            "tandem-20260102T000000.000Z.backup",
            "tandem-20260103T000000.000Z.backup",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        prune(dir.path(), 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [names[0], names[2], names[3]]);
    }
}
