//! A mail's files: every part that is not its body text (inline images,
//! attached files, forwarded mails as `.eml`), with safe names and types,
//! kept within [`Limits`] in the order the mail has them.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::{IncomingAttachment, Limits, nested};
use crate::domain::AttachmentId;
use crate::domain::email::Attachment;

/// Characters of a file name kept.
const NAME_CHARS: usize = 200;

/// Characters of an extension kept when a long name is cut.
const EXTENSION_CHARS: usize = 16;

/// Why bytes were not kept.
const TOO_LARGE: &str = "too large";

/// The attachments of `message` (not of mails nested in it: those are one
/// `.eml` file each).
pub(super) fn collect(message: &Message<'_>, limits: &Limits) -> Vec<IncomingAttachment> {
    let mut kept_bytes = 0u64;
    message
        .attachments
        .iter()
        .filter_map(|id| message.parts.get(*id as usize))
        .map(|part| {
            let bytes = contents(message, part);
            let size = bytes.len() as u64;
            let fits = size <= limits.attachment_bytes
                && kept_bytes.saturating_add(size) <= limits.attachments_bytes;
            if fits {
                kept_bytes += size;
            }
            IncomingAttachment {
                meta: Attachment {
                    id: AttachmentId::new(),
                    name: name(part),
                    content_type: content_type(part),
                    size,
                    inline: is_inline(part),
                    dropped: (!fits).then(|| TOO_LARGE.to_owned()),
                },
                bytes: fits.then(|| bytes.to_vec()),
            }
        })
        .collect()
}

/// A part's decoded bytes; a nested mail's as it came (an `.eml` file).
fn contents<'a>(message: &'a Message<'a>, part: &'a MessagePart<'a>) -> &'a [u8] {
    match &part.body {
        // mail-parser parses a nested mail in place, in the outer mail's
        // bytes, unless it had to decode it first (base64 or
        // quoted-printable), in which case it keeps the decoded bytes.
        PartType::Message(_) if part.encoding == mail_parser::Encoding::None => message
            .raw_message
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default(),
        PartType::Message(inner) => &inner.raw_message,
        _ => part.contents(),
    }
}

/// An image shown inside an HTML body: it has a Content-ID and is not
/// marked as an attachment.
fn is_inline(part: &MessagePart<'_>) -> bool {
    part.content_id().is_some_and(|id| !id.trim().is_empty())
        && !part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
}

/// `type/subtype` in lower case if the part says one that is well formed,
/// else `application/octet-stream` (a forwarded mail is `message/rfc822`).
fn content_type(part: &MessagePart<'_>) -> String {
    if nested(part).is_some() {
        return "message/rfc822".to_owned();
    }
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 127
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    part.content_type()
        .and_then(|ct| Some((ct.ctype(), ct.subtype()?)))
        .filter(|(t, s)| token(t) && token(s))
        .map(|(t, s)| format!("{t}/{s}").to_ascii_lowercase())
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// The part's file name made safe ([`safe_name`]); a forwarded mail is named
/// after its subject, with `.eml`.
fn name(part: &MessagePart<'_>) -> String {
    if let Some(name) = part.attachment_name() {
        return safe_name(name);
    }
    match nested(part) {
        Some(inner) => safe_name(&format!("{}.eml", inner.subject().unwrap_or("message"))),
        None => safe_name(""),
    }
}

/// A name to show and download a file as: its last path segment, without
/// control characters, trimmed, at most [`NAME_CHARS`] (keeping a short
/// extension), `attachment` when nothing usable is left.
fn safe_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().all(|c| c == '.') {
        return "attachment".to_owned();
    }
    if clean.chars().count() <= NAME_CHARS {
        return clean.to_owned();
    }
    let extension = clean
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= EXTENSION_CHARS)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let stem: String = clean
        .chars()
        .take(NAME_CHARS - extension.chars().count())
        .collect();
    format!("{}{extension}", stem.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe() {
        assert_eq!(safe_name("C:\\Users\\ada\\report.pdf"), "report.pdf");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a\u{0}b\r\n.txt "), "ab.txt");
        assert_eq!(safe_name(".."), "attachment");
        assert_eq!(safe_name("dir/"), "attachment");
        assert_eq!(safe_name(""), "attachment");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = safe_name(&long);
        assert_eq!(cut.chars().count(), NAME_CHARS);
        assert!(cut.ends_with("x.pdf"));
    }
}
