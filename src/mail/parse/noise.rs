//! Mails no person wrote: auto-replies and list mail (RFC 3834
//! `Auto-Submitted`, `Precedence`), and delivery reports (RFC 3464), of which
//! a failed one is a [`Bounce`] naming the mail that failed.
//!
//! Every delivery report is noise (`delivery-status`) unless its headers
//! already say why it is; so is a mail from a mailer daemon or postmaster
//! without a report we can read.

use mail_parser::{Message, MessageParser, MimeHeaders};

use super::{Bounce, Noise, message_ids, nested};
use crate::domain::email::{Mailbox, error_text};

/// The noise of a mail and its bounce, if it is one.
pub(super) fn classify(
    message: &Message<'_>,
    from: Option<&Mailbox>,
) -> (Option<Noise>, Option<Bounce>) {
    let report = delivery_report(message);
    let from_daemon = from.is_some_and(|f| {
        let local = f.address.split('@').next().unwrap_or_default();
        local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
    });
    let noise = header_noise(message).or_else(|| {
        (report.is_some() || from_daemon).then(|| Noise::AutoSubmitted("delivery-status".into()))
    });
    (noise, report.flatten())
}

/// `Auto-Submitted` other than `no`, or `Precedence` bulk, junk or list.
fn header_noise(message: &Message<'_>) -> Option<Noise> {
    let value = |name: &str| {
        let raw = message.header_raw(name)?;
        let token = raw
            .split(|c: char| c == ';' || c.is_whitespace())
            .find(|t| !t.is_empty())?;
        Some(token.to_ascii_lowercase())
    };
    if let Some(value) = value("Auto-Submitted").filter(|v| v != "no") {
        return Some(Noise::AutoSubmitted(value));
    }
    value("Precedence")
        .filter(|v| matches!(v.as_str(), "bulk" | "junk" | "list"))
        .map(Noise::Precedence)
}

/// `None` if the mail is not a delivery report; `Some(None)` if it is one
/// without a failed recipient (delayed, delivered, relayed), or one whose
/// status part is missing; `Some(Some(bounce))` if delivery failed.
fn delivery_report(message: &Message<'_>) -> Option<Option<Bounce>> {
    let is_report = message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !is_report {
        return None;
    }
    let status = message.parts.iter().find(|part| {
        is_type(
            part,
            &["message/delivery-status", "message/global-delivery-status"],
        )
    })?;
    let Some(failed) = recipients(&String::from_utf8_lossy(status.contents()))
        .into_iter()
        .find(|r| r.action.eq_ignore_ascii_case("failed"))
    else {
        return Some(None);
    };
    Some(Some(Bounce {
        message_ids: original_ids(message),
        reason: failed.reason(),
    }))
}

fn is_type(part: &mail_parser::MessagePart<'_>, types: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        let full = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default());
        types.iter().any(|t| full.eq_ignore_ascii_case(t))
    })
}

/// The Message-ID of the mail a report is about: from the returned mail or
/// its headers, else from the report's own `In-Reply-To`/`References`.
fn original_ids(message: &Message<'_>) -> Vec<String> {
    let returned = message.parts.iter().find_map(|part| {
        if let Some(original) = nested(part) {
            return original.message_id().and_then(super::message_id);
        }
        if is_type(part, &["text/rfc822-headers", "message/global-headers"]) {
            let headers = MessageParser::default().parse_headers(part.contents())?;
            return headers.message_id().and_then(super::message_id);
        }
        None
    });
    if let Some(id) = returned {
        return vec![id];
    }
    let mut ids = message_ids(message.in_reply_to());
    for id in message_ids(message.references()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// One per-recipient block of a `message/delivery-status` body.
#[derive(Default)]
struct Recipient {
    action: String,
    status: String,
    diagnostic: String,
}

impl Recipient {
    /// `Status` and the text of `Diagnostic-Code` (its `smtp;` type left
    /// out), the status only once.
    fn reason(&self) -> String {
        let diagnostic = match self.diagnostic.split_once(';') {
            Some((kind, text)) if !kind.trim().contains(' ') => text.trim(),
            _ => self.diagnostic.trim(),
        };
        let status = self.status.trim();
        let reason = if diagnostic.contains(status) {
            diagnostic.to_owned()
        } else {
            format!("{status} {diagnostic}")
        };
        if reason.trim().is_empty() {
            "delivery failed".to_owned()
        } else {
            error_text(&reason)
        }
    }
}

/// The recipient blocks of a delivery-status body (RFC 3464 §2.1: header-like
/// fields in blocks separated by blank lines; the first block is about the
/// message, the others each about one recipient).
fn recipients(body: &str) -> Vec<Recipient> {
    let mut blocks = Vec::new();
    let mut block: Vec<String> = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            blocks.push(std::mem::take(&mut block));
        } else if line.starts_with([' ', '\t'])
            && let Some(last) = block.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
        } else {
            block.push(line.trim().to_owned());
        }
    }
    blocks.push(block);
    blocks
        .into_iter()
        .filter_map(|fields| {
            let mut recipient = Recipient::default();
            for field in fields {
                let Some((name, value)) = field.split_once(':') else {
                    continue;
                };
                let value = value.trim().to_owned();
                match name.trim().to_ascii_lowercase().as_str() {
                    "action" => recipient.action = value,
                    "status" => recipient.status = value,
                    "diagnostic-code" => recipient.diagnostic = value,
                    _ => {}
                }
            }
            (!recipient.action.is_empty()).then_some(recipient)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_blocks_with_folded_fields() {
        let body = "Reporting-MTA: dns; mx.shop.example\r\nArrival-Date: Mon\r\n\r\n\
            Final-Recipient: rfc822; bob@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n\
            Final-Recipient: rfc822; eve@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 <eve@example.org>: Recipient address\r\n    rejected: User unknown\r\n";
        let found = recipients(body);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].action, "delayed");
        assert_eq!(
            found[1].reason(),
            "550 5.1.1 <eve@example.org>: Recipient address rejected: User unknown"
        );
    }

    #[test]
    fn reasons_name_the_status_once() {
        let recipient = |status: &str, diagnostic: &str| Recipient {
            action: "failed".into(),
            status: status.into(),
            diagnostic: diagnostic.into(),
        };
        assert_eq!(
            recipient("5.1.1", "X-Postfix; user unknown").reason(),
            "5.1.1 user unknown"
        );
        assert_eq!(recipient("5.0.0", "").reason(), "5.0.0");
        assert_eq!(recipient("", "").reason(), "delivery failed");
    }
}
