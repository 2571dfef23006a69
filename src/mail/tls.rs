//! The TLS client both mail protocols use: rustls with the system's trusted
//! roots (`/etc/ssl/certs` on Debian), loaded once.

use std::sync::{Arc, OnceLock};

/// The client configuration, built on first use.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "a system certificate could not be loaded");
            }
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("no trusted root certificates found: TLS mail servers will fail");
            }
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(crate::tls::provider()))
                    .with_safe_default_protocol_versions()
                    .expect("the provider supports the default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}
