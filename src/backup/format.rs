//! The backup file: one header line, the database, one trailer line.
//!
//! ```text
//! tandem-backup 1 schema=3 tandem=0.1.0 created=2026-05-01T12:00:00.000Z\n
//! <the redb database file tandem.redb, byte for byte>
//! tandem-backup-end size=00000000000001048576 sha256=<64 hex digits>\n
//! ```
//!
//! - The header starts with `tandem-backup` and the format version (`1`); a
//!   reader refuses another version. The rest of the header is for people
//!   (`head -1 FILE`); the restore reads the schema from the database itself.
//! - The trailer is the last [`TRAILER_LEN`] bytes: the database's length in
//!   bytes (20 decimal digits) and the SHA-256 of everything before the
//!   trailer (header and database), in lower-case hex.
//!
//! Invariant: a file cut short, extended, or changed anywhere fails
//! [`verify`] (the trailer goes missing, its size no longer matches, or the
//! checksum differs), so a verified file holds exactly the database written.

use std::io::{self, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use crate::domain::Timestamp;

/// The first word of every backup file.
pub const MAGIC: &str = "tandem-backup";
/// The format this binary writes and reads.
pub const FORMAT: u32 = 1;
const TRAILER_START: &str = "tandem-backup-end size=";
/// `tandem-backup-end size=<20 digits> sha256=<64 hex>\n`.
pub const TRAILER_LEN: u64 = (TRAILER_START.len() + 20 + " sha256=".len() + 64 + 1) as u64;
/// Headers are short; a first line longer than this is not a header.
const MAX_HEADER_LEN: usize = 512;

/// Why a file is not a sound backup.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("it is not a Tandem backup (it does not start with `{MAGIC}`)")]
    NotABackup,
    #[error(
        "it is a backup of format {0}; this binary reads format {FORMAT} (use the Tandem that wrote it)"
    )]
    UnknownFormat(String),
    #[error("it is incomplete or damaged: {0}")]
    Damaged(&'static str),
    #[error("it is damaged: its SHA-256 is {found}, its trailer says {expected}")]
    Checksum { expected: String, found: String },
    #[error("cannot read it")]
    Io(#[from] io::Error),
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The whole file's length.
    pub bytes: u64,
    /// The checksum in the trailer.
    pub sha256: String,
}

/// A backup file that [`verify`] accepted.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header line, without its newline.
    pub header: String,
    /// Where the database starts in the file, and its length.
    pub database_offset: u64,
    pub database_len: u64,
    pub sha256: String,
}

impl Verified {
    /// The whole file's length.
    pub fn file_len(&self) -> u64 {
        self.database_offset + self.database_len + TRAILER_LEN
    }
}

/// The header line of a backup of a database under `schema`, taken at `created`.
pub fn header(schema: u32, created: Timestamp) -> String {
    format!(
        "{MAGIC} {FORMAT} schema={schema} tandem={} created={}\n",
        env!("CARGO_PKG_VERSION"),
        created.to_rfc3339()
    )
}

/// The length of a backup file with `header` and a database of `database_len` bytes.
pub fn file_len(header: &str, database_len: u64) -> u64 {
    header.len() as u64 + database_len + TRAILER_LEN
}

/// Writes `header`, the `database_len` bytes of `database`, then the trailer.
pub fn write(
    header: &str,
    database: impl Read,
    database_len: u64,
    out: impl Write,
) -> io::Result<Written> {
    let mut out = Hashing {
        out,
        hasher: Sha256::new(),
    };
    out.write_all(header.as_bytes())?;
    let copied = io::copy(&mut database.take(database_len), &mut out)?;
    if copied != database_len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the database snapshot is shorter than it was",
        ));
    }
    let sha256 = hex::encode(out.hasher.finalize_reset());
    let trailer = format!("{TRAILER_START}{database_len:020} sha256={sha256}\n");
    debug_assert_eq!(trailer.len() as u64, TRAILER_LEN);
    out.out.write_all(trailer.as_bytes())?;
    out.out.flush()?;
    Ok(Written {
        bytes: file_len(header, database_len),
        sha256,
    })
}

/// Checks `file` is a whole, unchanged backup of a format this binary reads.
pub fn verify(mut file: impl Read + Seek) -> Result<Verified, FormatError> {
    let total = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    let mut start = Vec::with_capacity(MAX_HEADER_LEN);
    (&mut file)
        .take(MAX_HEADER_LEN as u64)
        .read_to_end(&mut start)?;
    let header = match start.iter().position(|&b| b == b'\n') {
        Some(end) => String::from_utf8_lossy(&start[..end]).into_owned(),
        None if start.starts_with(MAGIC.as_bytes()) => {
            return Err(FormatError::Damaged("its header line does not end"));
        }
        None => return Err(FormatError::NotABackup),
    };
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(FormatError::NotABackup);
    }
    match words.next() {
        Some(version) if version == FORMAT.to_string() => {}
        version => return Err(FormatError::UnknownFormat(version.unwrap_or("").to_owned())),
    }
    let database_offset = header.len() as u64 + 1;
    if total < database_offset + TRAILER_LEN {
        return Err(FormatError::Damaged("it ends before its trailer"));
    }
    file.seek(SeekFrom::Start(total - TRAILER_LEN))?;
    let mut trailer = vec![0u8; TRAILER_LEN as usize];
    file.read_exact(&mut trailer)?;
    let (database_len, expected) = parse_trailer(&trailer).ok_or(FormatError::Damaged(
        "it has no trailer (was it cut short?)",
    ))?;
    if database_offset + database_len + TRAILER_LEN != total {
        return Err(FormatError::Damaged(
            "its length does not match its trailer (cut short or extended)",
        ));
    }
    file.seek(SeekFrom::Start(0))?;
    let mut hashing = Hashing {
        out: io::sink(),
        hasher: Sha256::new(),
    };
    io::copy(&mut (&mut file).take(total - TRAILER_LEN), &mut hashing)?;
    let found = hex::encode(hashing.hasher.finalize());
    if found != expected {
        return Err(FormatError::Checksum { expected, found });
    }
    Ok(Verified {
        header,
        database_offset,
        database_len,
        sha256: found,
    })
}

/// The size and checksum of a trailer.
fn parse_trailer(trailer: &[u8]) -> Option<(u64, String)> {
    let text = std::str::from_utf8(trailer).ok()?;
    let rest = text.strip_prefix(TRAILER_START)?.strip_suffix('\n')?;
    let (size, sha256) = rest.split_once(" sha256=")?;
    let hex_digits = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if size.len() != 20 || !size.bytes().all(|b| b.is_ascii_digit()) || !hex_digits(sha256) {
        return None;
    }
    Some((size.parse().ok()?, sha256.to_ascii_lowercase()))
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    out: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn backup(database: &[u8]) -> Vec<u8> {
        let header = header(3, Timestamp(1_700_000_000_000));
        let mut out = Vec::new();
        let written = write(&header, database, database.len() as u64, &mut out).unwrap();
        assert_eq!(written.bytes, out.len() as u64);
        assert_eq!(file_len(&header, database.len() as u64), written.bytes);
        out
    }

    #[test]
    fn a_written_backup_verifies_and_locates_its_database() {
        let database = b"redb bytes\nwith newlines\n".repeat(1000);
        let file = backup(&database);
        assert!(file.starts_with(b"tandem-backup 1 schema=3 tandem="));
        let verified = verify(Cursor::new(&file)).unwrap();
        assert_eq!(verified.file_len(), file.len() as u64);
        let start = verified.database_offset as usize;
        assert_eq!(
            &file[start..start + verified.database_len as usize],
            &database[..]
        );
        assert!(
            verified
                .header
                .ends_with("created=2023-11-14T22:13:20.000Z")
        );
        let trailer = String::from_utf8(file[file.len() - TRAILER_LEN as usize..].to_vec());
        assert_eq!(
            trailer.unwrap(),
            format!(
                "tandem-backup-end size=00000000000000025000 sha256={}\n",
                verified.sha256
            )
        );
    }

    #[test]
    fn any_changed_byte_or_length_is_refused() {
        let file = backup(&[7u8; 4096]);
        for at in [0, 20, 100, 3000, file.len() - 70, file.len() - 2] {
            let mut bad = file.clone();
            bad[at] ^= 0x01;
            assert!(verify(Cursor::new(&bad)).is_err(), "byte {at} flipped");
        }
        let checksum = {
            let mut bad = file.clone();
            bad[200] ^= 0x01;
            verify(Cursor::new(&bad)).unwrap_err()
        };
        assert!(
            matches!(checksum, FormatError::Checksum { .. }),
            "{checksum}"
        );
        let cut = verify(Cursor::new(&file[..file.len() - 1000])).unwrap_err();
        assert!(matches!(cut, FormatError::Damaged(_)), "{cut}");
        let mut longer = file.clone();
        longer.insert(300, 0);
        assert!(verify(Cursor::new(&longer)).is_err());
        let other = verify(Cursor::new(b"SQLite format 3\0".as_slice())).unwrap_err();
        assert!(matches!(other, FormatError::NotABackup), "{other}");
        let future = verify(Cursor::new(b"tandem-backup 2 schema=9\n".as_slice())).unwrap_err();
        assert!(matches!(future, FormatError::UnknownFormat(v) if v == "2"));
    }
}
