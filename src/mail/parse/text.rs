//! A mail's body as text: its text/plain parts, else its HTML parts made
//! readable ([`super::html`]); charsets are decoded by mail-parser. Line
//! breaks become `\n`, the whole is trimmed and cut to [`TEXT_BYTES`].

use mail_parser::{Message, PartType};

use super::folds::folds;
use super::html;
use crate::domain::email::Fold;

/// Bytes of a mail's text kept; longer texts are cut and end in [`CUT`].
pub const TEXT_BYTES: usize = 262_144;

/// What ends a cut text.
const CUT: &str = "\n[…]";

/// The text of `message` and its folds.
pub(super) fn body(message: &Message<'_>) -> (String, Vec<Fold>) {
    let text = kept(&normalized(&raw_text(message)));
    let folds = folds(&text);
    (text, folds)
}

/// The body parts as one text: text/plain preferred, HTML when no plain part
/// says anything (some clients send an empty text/plain alternative).
fn raw_text(message: &Message<'_>) -> String {
    let joined = |ids: &[u32], plain_only: bool| {
        let mut out = String::new();
        for part in ids.iter().filter_map(|id| message.parts.get(*id as usize)) {
            let text = match &part.body {
                PartType::Text(text) => text.to_string(),
                PartType::Html(source) if !plain_only => html::to_text(source),
                _ => continue,
            };
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&text);
        }
        out
    };
    let plain = joined(&message.text_body, true);
    if plain.trim().is_empty() {
        let from_text_body = joined(&message.text_body, false);
        if from_text_body.trim().is_empty() {
            return joined(&message.html_body, false);
        }
        return from_text_body;
    }
    plain
}

/// Line breaks as `\n` (CRLF and lone CR), trailing spaces of lines kept
/// (a signature's `-- ` needs its space), the whole trimmed.
fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

/// `text` cut to [`TEXT_BYTES`] on a character boundary, marked when cut.
fn kept(text: &str) -> String {
    if text.len() <= TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT}", text[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_newlines() {
        assert_eq!(normalized("  a\r\nb\rc\n\n"), "a\nb\nc");
        assert_eq!(normalized("-- \r\nAda"), "-- \nAda");
    }

    #[test]
    fn long_texts_are_cut_on_a_char_boundary() {
        let text = "é".repeat(TEXT_BYTES); // 2 bytes each
        let cut = kept(&text);
        assert!(cut.ends_with(CUT));
        assert!(cut.len() <= TEXT_BYTES + CUT.len());
        let short = "é".repeat(10);
        assert_eq!(kept(&short), short);
        let odd = format!("a{}", "é".repeat(TEXT_BYTES / 2));
        assert_eq!(kept(&odd).len(), TEXT_BYTES - 1 + CUT.len());
    }
}
