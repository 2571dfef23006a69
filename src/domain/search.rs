//! Search terms: how text is cut into indexed words, and how a query is read.
//!
//! Words are runs of letters and digits (any script), lower-cased, 2 to 40
//! characters long. A ticket's words are weighted by where they occur:
//! subject ×5, customer name and contact ×3, message bodies ×1; a ticket's
//! relevance for a query is the sum of its weights for the query's words.

use std::collections::BTreeMap;

pub const SUBJECT_WEIGHT: u32 = 5;
pub const CUSTOMER_WEIGHT: u32 = 3;
pub const BODY_WEIGHT: u32 = 1;

/// The words of `text`, each with how often it occurs.
pub fn words(text: &str) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let len = word.chars().count();
        if (2..=40).contains(&len) {
            *counts.entry(word.to_lowercase()).or_insert(0) += 1;
        }
    }
    counts
}

/// What a search box query asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    /// `#22` or `22`: ticket number 22.
    pub number: Option<u64>,
    /// The words every result must contain.
    pub words: Vec<String>,
}

pub fn parse_query(q: &str) -> Query {
    let trimmed = q.trim();
    let number = trimmed
        .strip_prefix('#')
        .unwrap_or(trimmed)
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0);
    Query {
        number,
        words: words(trimmed).into_keys().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_runs_of_letters_and_digits() {
        let w = words("Invoice #4411: VAT wrong, vat WRONG! a b Müller carla@example.com");
        assert_eq!(w.get("vat"), Some(&2));
        assert_eq!(w.get("wrong"), Some(&2));
        assert_eq!(w.get("4411"), Some(&1));
        assert_eq!(w.get("müller"), Some(&1));
        assert_eq!(w.get("example"), Some(&1));
        assert_eq!(w.get("a"), None, "single characters are not words");
    }

    #[test]
    fn queries_read_numbers_and_words() {
        assert_eq!(
            parse_query("#22"),
            Query {
                number: Some(22),
                words: vec!["22".into()]
            }
        );
        assert_eq!(
            parse_query(" 7 "),
            Query {
                number: Some(7),
                words: vec![]
            }
        );
        assert_eq!(
            parse_query("Printer FIRE"),
            Query {
                number: None,
                words: vec!["fire".into(), "printer".into()]
            }
        );
        assert_eq!(parse_query("#0").number, None);
    }
}
