//! The bundled agent web console: static files from `src/console/`, embedded
//! in the binary at build time and served at `/` (the page) and
//! `/console/{file}` (its scripts and styles).
//!
//! Invariant: only the files listed in [`FILES`] are ever served, so a
//! request path can never reach the file system. `console.dir` (for console
//! development) reads the same names from a directory at request time instead
//! of the embedded copies, so editing the console needs no rebuild.
//!
//! The embedded files go out compressed when the browser accepts it, with
//! ETags (see `http::assets`); `console.dir`'s go out uncompressed, with
//! ETags. Every answer, `304`s included, has the same security headers.

use super::openapi as doc;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use super::assets::{Asset, Embedded};
use crate::core::Core;
use crate::error::Error;

/// Every file of the console: name, then content type and embedded bytes.
static FILES: [(&str, Embedded); 14] = [
    (
        "index.html",
        Embedded::new(
            "text/html; charset=utf-8",
            include_bytes!("../console/index.html"),
        ),
    ),
    (
        "style.css",
        Embedded::new(
            "text/css; charset=utf-8",
            include_bytes!("../console/style.css"),
        ),
    ),
    (
        "tandem-client.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/tandem-client.js"),
        ),
    ),
    (
        "app.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/app.js"),
        ),
    ),
    (
        "api.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/api.js"),
        ),
    ),
    (
        "dom.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/dom.js"),
        ),
    ),
    (
        "presence.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/presence.js"),
        ),
    ),
    (
        "list.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/list.js"),
        ),
    ),
    (
        "ticket.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/ticket.js"),
        ),
    ),
    (
        "composer.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/composer.js"),
        ),
    ),
    (
        "actions.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/actions.js"),
        ),
    ),
    (
        "notify.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/notify.js"),
        ),
    ),
    (
        "settings.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/settings.js"),
        ),
    ),
    (
        "email.js",
        Embedded::new(
            "text/javascript; charset=utf-8",
            include_bytes!("../console/email.js"),
        ),
    ),
];

/// Scripts, styles, sockets and API calls only from this server; never framed.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// `GET /`: the console page.
#[utoipa::path(get, path = "/", tag = "console",
    security(()),
    responses(
        (status = 200, description = "The web console's page", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (`If-None-Match` named its ETag)"),
        doc::NotFound,
    )
)]
pub async fn index(core: web::Data<Core>, req: HttpRequest) -> Result<HttpResponse, Error> {
    serve(&core, &req, "index.html")
}

/// `GET /console/{file}`.
#[utoipa::path(get, path = "/console/{file}", tag = "console",
    security(()),
    params(("file" = String, Path, description = "A file of the console, e.g. `app.js`", example = "app.js")),
    responses(
        (status = 200, description = "One of the console's scripts, styles or pages", content_type = "text/javascript", body = String),
        (status = 304, description = "Not modified (`If-None-Match` named its ETag)"),
        doc::NotFound,
    )
)]
pub async fn file(
    core: web::Data<Core>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Error> {
    serve(&core, &req, &name)
}

fn serve(core: &Core, req: &HttpRequest, name: &str) -> Result<HttpResponse, Error> {
    let (name, embedded) = FILES
        .iter()
        .find(|(file, _)| *file == name)
        .ok_or(Error::NotFound)?;
    let mut response = match &core.config.console_dir {
        Some(dir) => {
            let body = std::fs::read(dir.join(name)).map_err(|_| Error::NotFound)?;
            Asset::plain(embedded.content_type(), Bytes::from(body)).respond(req)
        }
        None => embedded.asset().respond(req),
    };
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
