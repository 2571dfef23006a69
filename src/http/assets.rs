//! Static files sent compressed and revalidated: the console's files and
//! `/widget.js`. An [`Embedded`] file is compressed once, at its first
//! request (gzip and brotli, each kept only when smaller than the file);
//! [`Asset::respond`] picks the coding from `Accept-Encoding` and answers
//! `304 Not Modified` to a matching `If-None-Match`.
//!
//! Invariants:
//! - A strong `ETag` names exact bytes, so each coding has its own:
//!   `"<hash>"` (identity), `"<hash>-gzip"` and `"<hash>-br"`, where `<hash>`
//!   is the first 16 bytes of the uncompressed file's SHA-256 in hex.
//! - Every answer, `200` or `304`, carries `Vary: Accept-Encoding` and the
//!   `ETag` of the representation chosen for this request.
//! - A coding is sent only when the client lists it (or `*`) with a
//!   non-zero `q`. Among those the highest `q` wins, ties going to
//!   brotli, then gzip, then identity; identity is the fallback whatever
//!   the client says.

use std::io::Write;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// A content coding the server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// Its `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }

    /// The names a client may list it under.
    fn names(self) -> &'static [&'static str] {
        match self {
            Encoding::Identity => &["identity"],
            Encoding::Gzip => &["gzip", "x-gzip"],
            Encoding::Brotli => &["br"],
        }
    }

    /// The server's preference among codings the client likes equally.
    fn rank(self) -> u8 {
        match self {
            Encoding::Identity => 0,
            Encoding::Gzip => 1,
            Encoding::Brotli => 2,
        }
    }
}

/// One stored representation of a file.
struct Variant {
    encoding: Encoding,
    body: Bytes,
    etag: HeaderValue,
}

/// A file ready to serve: its content type and representations (identity first).
pub struct Asset {
    content_type: &'static str,
    variants: Vec<Variant>,
}

impl Asset {
    /// `body` with its gzip and brotli forms, each kept only when smaller.
    pub fn compressed(content_type: &'static str, body: Bytes) -> Asset {
        let hash = hash(&body);
        let mut asset = Asset::with_identity(content_type, body.clone(), &hash);
        for (encoding, compressed) in [
            (Encoding::Brotli, brotli(&body)),
            (Encoding::Gzip, gzip(&body)),
        ] {
            if compressed.len() < body.len() {
                asset.variants.push(Variant {
                    encoding,
                    body: Bytes::from(compressed),
                    etag: etag(&hash, encoding),
                });
            }
        }
        asset
    }

    /// `body` alone, uncompressed (files read at each request: `console.dir`).
    pub fn plain(content_type: &'static str, body: Bytes) -> Asset {
        let hash = hash(&body);
        Asset::with_identity(content_type, body, &hash)
    }

    fn with_identity(content_type: &'static str, body: Bytes, hash: &str) -> Asset {
        Asset {
            content_type,
            variants: vec![Variant {
                encoding: Encoding::Identity,
                etag: etag(hash, Encoding::Identity),
                body,
            }],
        }
    }

    /// The answer to `req`: `200` with the negotiated representation, or
    /// `304` when `If-None-Match` names it. The caller adds its own headers
    /// (`Cache-Control`, security headers) to either.
    pub fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let headers = req.headers();
        let accept = headers
            .get_all(header::ACCEPT_ENCODING)
            .map(|v| v.to_str().unwrap_or(""));
        let encoding = negotiate(accept, self.variants.iter().map(|v| v.encoding));
        let variant = self
            .variants
            .iter()
            .find(|v| v.encoding == encoding)
            .unwrap_or(&self.variants[0]);
        let if_none_match = headers
            .get_all(header::IF_NONE_MATCH)
            .map(|v| v.to_str().unwrap_or(""));
        let etag = variant.etag.to_str().expect("ETags are ASCII");
        let mut response = if none_match_fails(if_none_match, etag) {
            HttpResponse::NotModified().finish()
        } else {
            let mut ok = HttpResponse::Ok();
            ok.content_type(self.content_type);
            if encoding != Encoding::Identity {
                ok.insert_header((header::CONTENT_ENCODING, encoding.token()));
            }
            ok.body(variant.body.clone())
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, variant.etag.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        response
    }
}

/// An embedded file, turned into an [`Asset`] at its first request.
pub struct Embedded {
    content_type: &'static str,
    bytes: &'static [u8],
    asset: OnceLock<Asset>,
}

impl Embedded {
    pub const fn new(content_type: &'static str, bytes: &'static [u8]) -> Embedded {
        Embedded {
            content_type,
            bytes,
            asset: OnceLock::new(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    pub fn asset(&self) -> &Asset {
        self.asset
            .get_or_init(|| Asset::compressed(self.content_type, Bytes::from_static(self.bytes)))
    }
}

/// The first 16 bytes of the SHA-256 of `body`, in hex.
fn hash(body: &[u8]) -> String {
    hex::encode(&Sha256::digest(body)[..16])
}

fn etag(hash: &str, encoding: Encoding) -> HeaderValue {
    let text = match encoding {
        Encoding::Identity => format!("\"{hash}\""),
        other => format!("\"{hash}-{}\"", other.token()),
    };
    HeaderValue::try_from(text).expect("hex is a valid header value")
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn brotli(body: &[u8]) -> Vec<u8> {
    // Quality 11 (the best), a 4 MiB window: done once per file.
    let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    writer.write_all(body).expect("writing to memory");
    writer.into_inner()
}

/// The coding to send, of those `available` (identity always is), given the
/// request's `Accept-Encoding` values (see the module's invariants).
pub fn negotiate<'a>(
    accept: impl IntoIterator<Item = &'a str>,
    available: impl IntoIterator<Item = Encoding>,
) -> Encoding {
    let listed: Vec<(&str, u16)> = accept
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(coding_and_q)
        .collect();
    let q_of = |names: &[&str]| {
        listed
            .iter()
            .find(|(coding, _)| names.iter().any(|n| coding.eq_ignore_ascii_case(n)))
            .map(|(_, q)| *q)
    };
    let star = q_of(&["*"]);
    available
        .into_iter()
        .map(|encoding| {
            let q = q_of(encoding.names()).or(star);
            // Unlisted identity is acceptable, but last.
            let q = match encoding {
                Encoding::Identity => q.unwrap_or(1),
                _ => q.unwrap_or(0),
            };
            (q, encoding.rank(), encoding)
        })
        .filter(|(q, _, _)| *q > 0)
        .max_by_key(|(q, rank, _)| (*q, *rank))
        .map_or(Encoding::Identity, |(_, _, encoding)| encoding)
}

/// `gzip;q=0.8` → `("gzip", 800)`; `q` in thousandths, 1000 when absent.
/// `None` for an empty coding or a malformed `q`.
fn coding_and_q(entry: &str) -> Option<(&str, u16)> {
    let mut parts = entry.split(';').map(str::trim);
    let coding = parts.next().filter(|c| !c.is_empty())?;
    let mut q = 1000;
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            q = qvalue(value.trim())?;
        }
    }
    Some((coding, q))
}

/// A `qvalue` (`0`, `0.5`, `1.000`) in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let fraction = fraction
        .bytes()
        .zip([100, 10, 1])
        .map(|(digit, scale)| u16::from(digit - b'0') * scale)
        .sum::<u16>();
    Some(whole + fraction).filter(|q| *q <= 1000)
}

/// Whether `If-None-Match` (its values) names `etag` or is `*`: the
/// client's copy is current. Tags compare weakly (`W/"x"` names `"x"`), as
/// RFC 9110 has it for this header.
fn none_match_fails<'a>(values: impl IntoIterator<Item = &'a str>, etag: &str) -> bool {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    const ALL: [Encoding; 3] = [Identity, Gzip, Brotli];

    fn pick(accept: &[&str]) -> Encoding {
        negotiate(accept.iter().copied(), ALL)
    }

    #[test]
    fn codings_are_picked_by_q_then_brotli_gzip_identity() {
        assert_eq!(pick(&[]), Identity, "no header");
        assert_eq!(pick(&[""]), Identity, "an empty header");
        assert_eq!(pick(&["gzip, deflate, br, zstd"]), Brotli);
        assert_eq!(pick(&["gzip, deflate"]), Gzip);
        assert_eq!(pick(&["x-gzip"]), Gzip);
        assert_eq!(pick(&["GZIP", "BR"]), Brotli, "several headers, any case");
        assert_eq!(pick(&["br;q=0.5, gzip"]), Gzip);
        assert_eq!(pick(&["br;q=0, gzip;q=0"]), Identity);
        assert_eq!(pick(&["br ; q=0 , gzip ; Q=0.001"]), Gzip);
        assert_eq!(pick(&["gzip;q=0.5, identity"]), Identity);
        assert_eq!(pick(&["*"]), Brotli);
        assert_eq!(pick(&["*;q=0.2, br;q=0"]), Gzip);
        assert_eq!(pick(&["identity;q=0"]), Identity, "the fallback");
        assert_eq!(pick(&["deflate, zstd"]), Identity);
        // Malformed q: the entry is ignored.
        assert_eq!(pick(&["br;q=2, gzip"]), Gzip);
        assert_eq!(pick(&["br;q=0.0001"]), Identity);
        assert_eq!(pick(&["br;q=high"]), Identity);
        // Only what the file has.
        assert_eq!(negotiate(["br, gzip"], [Identity, Gzip]), Gzip);
        assert_eq!(negotiate(["br"], [Identity]), Identity);
    }

    #[test]
    fn qvalues_are_thousandths() {
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("0.123"), Some(123));
        assert_eq!(qvalue("0"), Some(0));
        for bad in ["1.5", "1.001", "2", "0.1234", ".5", "", "0.x", "-0"] {
            assert_eq!(qvalue(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_none_match_names_the_tag_weakly_or_with_a_star() {
        let tag = "\"abc-br\"";
        assert!(none_match_fails(["\"abc-br\""], tag));
        assert!(none_match_fails(["\"x\", \"abc-br\""], tag));
        assert!(none_match_fails(["\"x\"", "W/\"abc-br\""], tag));
        assert!(none_match_fails(["*"], tag));
        assert!(!none_match_fails(["\"abc\""], tag), "another coding's tag");
        assert!(!none_match_fails(["abc-br"], tag), "unquoted");
        assert!(!none_match_fails([] as [&str; 0], tag));
    }

    #[test]
    fn each_coding_has_its_own_strong_etag_and_smaller_bytes() {
        let text = "console.log('hello, hello, hello, hello');\n".repeat(50);
        let asset = Asset::compressed("text/javascript", Bytes::from(text.clone()));
        let tags: Vec<&str> = asset
            .variants
            .iter()
            .map(|v| v.etag.to_str().unwrap())
            .collect();
        let hash = hex::encode(&Sha256::digest(text.as_bytes())[..16]);
        assert_eq!(
            tags,
            [
                format!("\"{hash}\""),
                format!("\"{hash}-br\""),
                format!("\"{hash}-gzip\"")
            ]
        );
        assert!(
            asset.variants[1..]
                .iter()
                .all(|v| v.body.len() < text.len())
        );
        // A file that does not shrink is only sent as it is.
        let tiny = Asset::compressed("text/plain", Bytes::from_static(b"x"));
        assert_eq!(tiny.variants.len(), 1);
    }
}
