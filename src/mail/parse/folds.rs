//! Where a mail's text repeats the earlier conversation or carries the
//! sender's signature, as line ranges ([`Fold`]) the console shows folded.
//!
//! - Quote: a block of `>` lines (blank lines inside it included); with the
//!   attribution before it (`On … wrote:`, `Am … schrieb:`, `Le … a écrit :`,
//!   possibly wrapped over two lines); and from Outlook's
//!   `-----Original Message-----` or `From:`/`Sent:` header block (and the
//!   `____` rule above it) to the end of the text, since Outlook quotes
//!   without `>`.
//! - Signature: from a `-- ` line to the next quote or the end.
//!
//! One pass over the lines, each looked at a bounded number of times:
//! linear in the text. Folds are ordered, disjoint and within the lines.

use crate::domain::email::{Fold, FoldKind};

/// Lines after an attribution's start that may still hold its end or the
/// first quoted line (wrapped attribution, blank lines).
const ATTRIBUTION_LOOKAHEAD: usize = 3;

/// Lines of an Outlook header block between `From:` and `Sent:`/`Date:`.
const OUTLOOK_HEADER_LINES: usize = 4;

/// The folds of `text`'s lines (split at `\n`).
pub fn folds(text: &str) -> Vec<Fold> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut folds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(start) = quote_start(&lines, i) {
            let end = match start {
                QuoteStart::ToTheEnd => lines.len(),
                QuoteStart::Block(first_quoted) => quote_block_end(&lines, first_quoted),
            };
            folds.push(Fold {
                kind: FoldKind::Quote,
                start: i,
                end,
            });
            i = end;
        } else if is_signature_delimiter(lines[i]) {
            let end = (i + 1..lines.len())
                .find(|&j| quote_start(&lines, j).is_some())
                .unwrap_or(lines.len());
            folds.push(Fold {
                kind: FoldKind::Signature,
                start: i,
                end,
            });
            i = end;
        } else {
            i += 1;
        }
    }
    folds
}

enum QuoteStart {
    /// Everything from here on is quoted (Outlook).
    ToTheEnd,
    /// A `>` block begins at this line.
    Block(usize),
}

/// Whether a quote starts at line `i`, and how far it goes.
fn quote_start(lines: &[&str], i: usize) -> Option<QuoteStart> {
    if is_quoted(lines[i]) {
        return Some(QuoteStart::Block(i));
    }
    if starts_outlook_header(lines, i) {
        return Some(QuoteStart::ToTheEnd);
    }
    let ends_at = attribution_end(lines, i)?;
    let first_quoted = (ends_at + 1..lines.len().min(ends_at + 1 + ATTRIBUTION_LOOKAHEAD))
        .find(|&j| !lines[j].trim().is_empty())
        .filter(|&j| is_quoted(lines[j]))?;
    Some(QuoteStart::Block(first_quoted))
}

/// The end (exclusive) of the `>` block starting at `first`: quoted lines and
/// blank lines between them; trailing blank lines are not part of it.
fn quote_block_end(lines: &[&str], first: usize) -> usize {
    let mut end = first + 1;
    let mut j = first + 1;
    while j < lines.len() {
        if is_quoted(lines[j]) {
            end = j + 1;
        } else if !lines[j].trim().is_empty() {
            break;
        }
        j += 1;
    }
    end
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// `-- ` (RFC 3676 §4.3), or `--` as clients that trim lines leave it.
fn is_signature_delimiter(line: &str) -> bool {
    line == "-- " || line == "--"
}

/// The line an attribution starting at `i` ends on, if one does: a line
/// opening like `On `, `Am `, `Le ` that ends with `:` (there or on the
/// next line, Gmail wraps it) after `wrote`, `schrieb`, `a écrit`…
/// (`Am 4. März um 10:12 schrieb Ada:` names the writer last).
fn attribution_end(lines: &[&str], i: usize) -> Option<usize> {
    const OPENINGS: [&str; 4] = ["On ", "Am ", "Le ", "El "];
    const VERBS: [&str; 4] = [" wrote", " schrieb", " a écrit", " escribió"];
    let first = lines[i].trim_start();
    if !OPENINGS.iter().any(|o| first.starts_with(o)) {
        return None;
    }
    let mut said = false;
    (i..lines.len().min(i + 2)).find(|&j| {
        let line = lines[j].trim_end();
        said |= VERBS.iter().any(|v| line.contains(v));
        said && line.ends_with(':')
    })
}

/// Whether Outlook's quoted header block starts at line `i`: the
/// `-----Original Message-----` line, a `From:` line followed closely by
/// `Sent:` or `Date:` (`Von:`/`Gesendet:` in German), or the `____` rule
/// Outlook puts right above such a `From:`.
fn starts_outlook_header(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if line.starts_with("-----") && line.to_ascii_lowercase().contains("original message") {
        return true;
    }
    if line.len() >= 10 && line.bytes().all(|b| b == b'_') {
        return i + 1 < lines.len() && is_outlook_from(lines, i + 1);
    }
    is_outlook_from(lines, i)
}

fn is_outlook_from(lines: &[&str], i: usize) -> bool {
    let has = |line: &str, names: &[&str]| {
        let line = line.trim_start().trim_start_matches('*');
        names.iter().any(|n| line.starts_with(n))
    };
    has(lines[i], &["From:", "Von:", "De :", "De:"])
        && (i + 1..lines.len().min(i + 1 + OUTLOOK_HEADER_LINES))
            .any(|j| has(lines[j], &["Sent:", "Date:", "Gesendet:", "Envoyé :"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(kind: FoldKind, start: usize, end: usize) -> Fold {
        Fold { kind, start, end }
    }

    #[test]
    fn gmail_attribution_and_quote() {
        let text = "Thanks, that works.\n\nOn Tue, Mar 4, 2025 at 10:12 AM Ada <ada@example.com> wrote:\n\n> Try again.\n>\n> Ada\n";
        assert_eq!(folds(text), vec![fold(FoldKind::Quote, 2, 7)]);
    }

    #[test]
    fn wrapped_attribution() {
        let text = "Yes.\nOn Tue, Mar 4, 2025 at 10:12 AM Support Team <\nsupport@shop.example> wrote:\n> Hi";
        assert_eq!(folds(text), vec![fold(FoldKind::Quote, 1, 4)]);
    }

    #[test]
    fn attribution_without_quote_is_text() {
        let text = "On Monday I wrote:\nthe letter.";
        assert_eq!(folds(text), vec![]);
    }

    #[test]
    fn german_attribution() {
        let text = "Danke.\n\nAm 04.03.2025 um 10:12 schrieb Ada:\n> Hallo";
        assert_eq!(folds(text), vec![fold(FoldKind::Quote, 2, 4)]);
    }

    #[test]
    fn interleaved_quotes_and_answers() {
        let text = "> Is it on?\nYes.\n> And the light?\n\n> Green?\nOff.";
        assert_eq!(
            folds(text),
            vec![fold(FoldKind::Quote, 0, 1), fold(FoldKind::Quote, 2, 5)]
        );
    }

    #[test]
    fn signature_to_the_end_or_to_the_quote() {
        let text = "Hi\n-- \nAda Lovelace\nEngines Ltd";
        assert_eq!(folds(text), vec![fold(FoldKind::Signature, 1, 4)]);
        let text = "Hi\n--\nAda\n\nOn Mon, Bob wrote:\n> old";
        assert_eq!(
            folds(text),
            vec![fold(FoldKind::Signature, 1, 4), fold(FoldKind::Quote, 4, 6)]
        );
    }

    #[test]
    fn outlook_header_block_to_the_end() {
        let text =
            "Fine.\n\n-----Original Message-----\nFrom: Ada\nSent: Monday\nSubject: x\n\nold text";
        assert_eq!(folds(text), vec![fold(FoldKind::Quote, 2, 8)]);
        let text = "Fine.\n\n________________________________\nFrom: Ada <a@b>\nSent: Monday\nold";
        assert_eq!(folds(text), vec![fold(FoldKind::Quote, 2, 6)]);
        let text = "From: the start of a sentence\nwith no header after it";
        assert_eq!(folds(text), vec![]);
    }

    #[test]
    fn huge_inputs_stay_linear() {
        // Every line opens an attribution and a signature is open: each line
        // is still looked at a bounded number of times.
        let text = "-- \n".to_owned() + &"On x\n".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(folds(&text), vec![fold(FoldKind::Signature, 0, 200_002)]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
