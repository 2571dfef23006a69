//! Optional TLS (`[server] tls_cert`, `tls_key`): the PEM files become a
//! rustls server configuration at start-up, with the aws-lc-rs provider
//! (post-quantum hybrid key exchange preferred) and rustls' safe default
//! protocol versions (TLS 1.2 and 1.3).
//!
//! Invariant: the server listens with TLS only when the certificate file
//! holds at least one certificate, the key file a private key, and that key
//! belongs to the first certificate. Anything else is a start-up error that
//! names the file (the server never falls back to plain HTTP).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsFiles;

/// Why TLS could not be set up. Shown to the operator with its sources.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {path}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid PEM in the TLS {what} {path}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        source: pem::Error,
    },
    #[error("no certificate in the TLS certificate file {0} (a PEM \"CERTIFICATE\" block)")]
    NoCertificate(PathBuf),
    #[error("no private key in the TLS key file {0} (a PEM \"PRIVATE KEY\" block)")]
    NoKey(PathBuf),
    /// The key is not the certificate's, or not a kind rustls can use.
    #[error("the TLS key {key} cannot be used with the certificate {cert}")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// Reads and checks both files (see the module's invariant).
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    const CERT: &str = "certificate";
    let text = read(CERT, &files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| pem_error(CERT, &files.cert, source))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    }
    const KEY: &str = "key";
    let text = read(KEY, &files.key)?;
    let key = match PrivateKeyDer::from_pem_slice(&text) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey(files.key.clone())),
        Err(source) => return Err(pem_error(KEY, &files.key, source)),
    };
    ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .expect("the provider supports the default protocol versions")
        .with_no_client_auth()
        // Checks that the key is the first certificate's.
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::Unusable {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })
}

/// The cryptography of every TLS connection (also for tests' clients).
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn pem_error(what: &'static str, path: &Path, source: pem::Error) -> TlsError {
    TlsError::Pem {
        what,
        path: path.to_owned(),
        source,
    }
}
