//! `GET /api/admin/backup` (admins): a backup file of the whole database,
//! streamed. The snapshot is taken first, in one read transaction off the
//! async threads (`backup::snapshot`), so a failure there is a plain error
//! response; then the file (`backup::format`) is streamed with its length
//! known up front.

use super::openapi as doc;
use std::io::{self, Write};

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::auth::Caller;
use crate::backup::snapshot::Snapshot;
use crate::core::Core;
use crate::error::Error;

/// Chunks in flight between the thread reading the snapshot and the socket.
const CHUNKS_IN_FLIGHT: usize = 4;
const CHUNK_BYTES: usize = 64 * 1024;

#[utoipa::path(get, path = "/api/admin/backup", tag = "administration",
    responses(
        (status = 200, description = "A backup file of the whole database (docs/protocol.md §8.6)", content_type = "application/octet-stream", body = Vec<u8>),
        doc::Unauthorized, doc::Forbidden, doc::Internal, doc::Unavailable,
    )
)]
pub async fn backup(core: web::Data<Core>, caller: Caller) -> Result<HttpResponse, Error> {
    caller.require_admin()?;
    let (store, data_dir) = (core.store.clone(), core.config.data_dir.clone());
    let snapshot = tokio::task::spawn_blocking(move || Snapshot::take(&store, &data_dir))
        .await
        .expect("the snapshot task panicked")?;
    let len = snapshot.file_len();
    let disposition = format!("attachment; filename=\"{}\"", snapshot.file_name());
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let out = io::BufWriter::with_capacity(CHUNK_BYTES, Chunks(sender.clone()));
        match snapshot.write_to(out) {
            Ok(written) => {
                tracing::info!(bytes = written.bytes, sha256 = %written.sha256, "backup sent")
            }
            Err(error) => {
                tracing::warn!(%error, "backup not sent whole");
                // Ends the response in error rather than short.
                let _ = sender.blocking_send(Err(error));
            }
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("the file name is ASCII"),
        ))
        .no_chunking(len)
        .streaming(body))
}

/// Hands each write to the response as one chunk; fails once the client is gone.
struct Chunks(mpsc::Sender<io::Result<Bytes>>);

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
