//! The bundled agent web console: static files from `src/console/`, embedded
//! in the binary at build time and served at `/` (the page) and
//! `/console/{file}` (its scripts and styles).
//!
//! Invariant: only the files listed in [`FILES`] are ever served, so a
//! request path can never reach the file system. `console.dir` (for console
//! development) reads the same names from a directory at request time instead
//! of the embedded copies, so editing the console needs no rebuild.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use bytes::Bytes;

use crate::core::Core;
use crate::error::Error;

/// Every file of the console: name, content type, embedded bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../console/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../console/style.css"),
    ),
    (
        "tandem-client.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/tandem-client.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/api.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/dom.js"),
    ),
    (
        "presence.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/presence.js"),
    ),
    (
        "list.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/list.js"),
    ),
    (
        "ticket.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/ticket.js"),
    ),
    (
        "composer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/composer.js"),
    ),
    (
        "actions.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/actions.js"),
    ),
    (
        "notify.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/notify.js"),
    ),
    (
        "settings.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/settings.js"),
    ),
];

/// Scripts, styles, sockets and API calls only from this server; never framed.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// `GET /`: the console page.
pub async fn index(core: web::Data<Core>) -> Result<HttpResponse, Error> {
    serve(&core, "index.html")
}

/// `GET /console/{file}`.
pub async fn file(core: web::Data<Core>, name: web::Path<String>) -> Result<HttpResponse, Error> {
    serve(&core, &name)
}

fn serve(core: &Core, name: &str) -> Result<HttpResponse, Error> {
    let (name, content_type, embedded) = FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or(Error::NotFound)?;
    let body = match &core.config.console_dir {
        Some(dir) => Bytes::from(std::fs::read(dir.join(name)).map_err(|_| Error::NotFound)?),
        None => Bytes::from_static(embedded),
    };
    let mut response = HttpResponse::Ok().content_type(*content_type).body(body);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
