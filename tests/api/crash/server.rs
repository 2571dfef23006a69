//! The server process and the redb file it leaves behind.

use super::*;

/// The real binary on port 0 over `data`, with the bootstrap admin on first start.
pub(crate) fn start_server(data: &Path, config: &Path, bootstrap: bool) -> Process {
    let admin = format!("admin:{ADMIN_PASSWORD}");
    let mut envs = vec![("RUST_LOG", "warn")];
    if bootstrap {
        envs.push(("TANDEM_BOOTSTRAP_ADMIN", admin.as_str()));
    }
    let (data, config) = (data.to_str().unwrap(), config.to_str().unwrap());
    let process = Process::start(
        &[
            "--config",
            config,
            "--data-dir",
            data,
            "--bind",
            "127.0.0.1:0",
        ],
        &envs,
    );
    process.seen.iter().for_each(|line| assert_clean(line));
    process
}

/// SIGKILL; then the server must have logged no error and no panic.
pub(super) fn kill_and_check(process: &mut Process) {
    process.kill();
    process
        .all_output()
        .iter()
        .for_each(|line| assert_clean(line));
}

pub(super) fn assert_clean(line: &str) {
    assert!(
        !line.contains("ERROR") && !line.contains("panicked"),
        "the server logged: {line}"
    );
}

/// Checks the file a SIGKILL (or, at the end, a clean shutdown) left
/// behind, as redb sees it: it opens, its integrity check passes without
/// repairs (`Ok(true)`; `Ok(false)` would mean it had to repair), and the
/// ticket numbers are consistent (every ticket has its number, 1..=N, and the
/// next number is N+1, so no number can be handed out twice). This runs on a
/// copy, so that the server itself still recovers the original at its restart.
pub(super) fn check_redb_file(data: &Path, scratch: &Path) {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
    use tandem::store::tables::{META, NEXT_TICKET_NUMBER_KEY, TICKET_NUMBERS, TICKETS};

    let copy = scratch.join("copy.redb");
    std::fs::copy(tandem::store::Store::file_in(data), &copy).expect("copy of the database file");
    {
        let mut db = redb::Database::open(&copy).expect("redb opens the file");
        assert!(
            db.check_integrity().expect("redb's integrity check runs"),
            "redb had to repair the file"
        );
        let tx = db.begin_read().unwrap();
        let numbers = tx.open_table(TICKET_NUMBERS).unwrap();
        let count = numbers.len().unwrap();
        let first = numbers.first().unwrap().map_or(1, |(k, _)| k.value());
        let last = numbers.last().unwrap().map_or(0, |(k, _)| k.value());
        assert_eq!((first, last), (1, count), "stored ticket numbers are 1..=N");
        assert_eq!(
            tx.open_table(TICKETS).unwrap().len().unwrap(),
            count,
            "every stored ticket has a number"
        );
        let next = tx
            .open_table(META)
            .unwrap()
            .get(NEXT_TICKET_NUMBER_KEY)
            .unwrap();
        let next: u64 = next.map_or(1, |v| tandem::store::codec::decode(v.value()).unwrap());
        assert_eq!(
            next,
            last + 1,
            "the next ticket number follows the last stored one"
        );
    }
    std::fs::remove_file(&copy).unwrap();
}
