//! `@handle` mentions in message bodies.
//!
//! A mention is `@` followed by handle characters (`a-z 0-9 _ -`), where the
//! `@` does not follow a letter, digit, `.`, `_`, `-` or another `@` — so
//! `x@y.com` is an e-mail address, not a mention. Trailing punctuation ends
//! the handle (`@hanna,` `@hanna.`), handles are matched case-insensitively,
//! and each handle counts once, in order of first appearance.

use serde::Serialize;

/// A mention that added nobody, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub handle: String,
    pub reason: SkipReason,
}

/// Why a mention added nobody (its serde names are the wire's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The note's author may not add followers (a light agent).
    AuthorCannotAddFollowers,
    /// The mentioned agent cannot see the ticket.
    NoAccess,
}

/// The lower-cased handles mentioned in `body`, without duplicates.
pub fn mentioned_handles(body: &str) -> Vec<String> {
    let mut handles: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut previous: Option<char> = None;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let starts_mention = c == '@'
            && !previous.is_some_and(|p| p.is_alphanumeric() || matches!(p, '.' | '_' | '-' | '@'));
        previous = Some(c);
        if !starts_mention {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = chars.peek() {
            if !is_handle_char(d) {
                break;
            }
            end = j + d.len_utf8();
            previous = Some(d);
            chars.next();
        }
        // A handle never ends in `-` (a dash after a name is punctuation: "@hanna- please").
        let handle = body[start..end].trim_end_matches('-').to_ascii_lowercase();
        if (1..=32).contains(&handle.len()) && seen.insert(handle.clone()) {
            handles.push(handle);
        }
    }
    handles
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

#[cfg(test)]
mod tests {
    use super::mentioned_handles;

    #[test]
    fn finds_handles_people_write() {
        assert_eq!(mentioned_handles("@hanna can you look?"), ["hanna"]);
        assert_eq!(
            mentioned_handles("thanks @hanna, and @Sam."),
            ["hanna", "sam"]
        );
        assert_eq!(mentioned_handles("(@bianca) @bianca! @BIANCA?"), ["bianca"]);
        assert_eq!(
            mentioned_handles("ask @lena_m; @x-ray: ok"),
            ["lena_m", "x-ray"]
        );
        assert_eq!(mentioned_handles("@hanna- please"), ["hanna"]);
        assert_eq!(mentioned_handles("end @sam"), ["sam"]);
    }

    #[test]
    fn ignores_emails_and_lone_at_signs() {
        assert!(mentioned_handles("mail x@y.com or a.b@example.org").is_empty());
        assert!(mentioned_handles("meet @ 5, @@hanna, email@hanna").is_empty());
        assert!(mentioned_handles("").is_empty());
        assert_eq!(
            mentioned_handles("café@hanna @sam"),
            ["sam"],
            "any letter before @ makes an address"
        );
    }
}
