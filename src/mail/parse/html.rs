//! HTML made readable: mail-parser's `html_to_text` (tags dropped, entities
//! decoded, `<br>` and `</p>` as line breaks) after one linear pass of ours
//! that breaks lines at the other block elements too and turns
//! `<blockquote>` into `> ` lines, so quotes of HTML-only mails fold like
//! plain ones.

use mail_parser::decoders::html::html_to_text;

/// Elements that start or end a line, besides `br` and `p`.
const BLOCKS: [&str; 17] = [
    "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre",
    "address", "dd", "dt",
];

/// `> ` prefixes stop growing beyond this depth (bounded output).
const MAX_QUOTE_DEPTH: usize = 8;

/// The readable text of an HTML body.
pub(super) fn to_text(source: &str) -> String {
    let mut out = String::with_capacity(source.len() / 2);
    for (depth, segment) in segments(source) {
        let text = html_to_text(&segment);
        let prefix = "> ".repeat(depth.min(MAX_QUOTE_DEPTH));
        for line in text.lines() {
            let line = line.trim_end();
            if !out.is_empty() {
                out.push('\n');
            }
            if !line.is_empty() {
                out.push_str(&prefix);
            }
            out.push_str(line.trim_start());
        }
    }
    squeeze_blank_lines(&out)
}

/// `source` split at `<blockquote>` and `</blockquote>` into pieces with
/// their quote depth; block elements' tags get a `<br>` so they end lines.
fn segments(source: &str) -> Vec<(usize, String)> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    // Whether text was written since the last line break: a block's edge
    // breaks the line only then (`</div><div>` is one break, not two).
    let mut open_line = false;
    let mut rest = source;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        open_line |= !text.trim().is_empty();
        current.push_str(text);
        let tag = &rest[open..];
        let end = tag.find('>').map_or(tag.len(), |e| e + 1);
        let (closing, name) = tag_name(&tag[1..end]);
        let is = |element: &str| name.eq_ignore_ascii_case(element);
        if is("blockquote") {
            pieces.push((depth, std::mem::take(&mut current)));
            depth = if closing {
                depth.saturating_sub(1)
            } else {
                depth + 1
            };
            open_line = false;
        } else {
            // html_to_text breaks at `<br>` and `</p>` itself.
            if is("br") || (closing && is("p")) {
                open_line = false;
            } else if open_line && (BLOCKS.iter().any(|b| is(b)) || is("p")) {
                current.push_str("<br>");
                open_line = false;
            }
            current.push_str(&tag[..end]);
        }
        rest = &tag[end..];
    }
    current.push_str(rest);
    pieces.push((depth, current));
    pieces
}

/// Whether a tag's inside (after `<`) closes, and its element name.
fn tag_name(inside: &str) -> (bool, &str) {
    let trimmed = inside.trim_start();
    let (closing, name) = match trimmed.strip_prefix('/') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed),
    };
    let len = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    (closing, &name[..len])
}

/// At most one blank line in a row (block elements nest).
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let blank = line.trim().is_empty();
        blank_run = if blank { blank_run + 1 } else { 0 };
        if blank_run > 1 {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(if blank { "" } else { line });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_break_lines_and_entities_decode() {
        let html = "<html><head><style>p{}</style></head><body>\
            <div>Hello&nbsp;Ada,</div><div><br></div><div>the &lt;b&gt; tag &amp; co.</div>\
            <ul><li>one</li><li>two</li></ul></body></html>";
        assert_eq!(
            to_text(html),
            "Hello\u{a0}Ada,\n\nthe <b> tag & co.\none\ntwo"
        );
    }

    #[test]
    fn blockquotes_become_quoted_lines() {
        let html = "<div>Thanks!</div><div class=\"gmail_quote\">On Mon, Ada wrote:<br>\
            <blockquote type=\"cite\"><div>Is it broken?</div>\
            <BLOCKQUOTE><p>Yes</p></BLOCKQUOTE></blockquote></div><div>bye</div>";
        assert_eq!(
            to_text(html),
            "Thanks!\nOn Mon, Ada wrote:\n> Is it broken?\n> > Yes\nbye"
        );
    }

    #[test]
    fn unclosed_tags_and_stray_brackets_are_text_or_dropped() {
        assert_eq!(to_text("a < b"), "a");
        assert_eq!(to_text("</blockquote></blockquote>x"), "x");
        assert_eq!(to_text("<blockquote"), "");
    }
}
