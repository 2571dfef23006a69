//! Command line of the mail bench; the defaults are issue #17's figures.

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(about = "Tandem e-mail benchmarks (issue #17)")]
pub struct Options {
    /// Mails imported (and tickets created over REST for the baseline).
    #[arg(long, default_value_t = 10_000)]
    pub mails: usize,
    /// E-mail tickets the replies go to, each its own concurrent client.
    #[arg(long, default_value_t = 100)]
    pub tickets: usize,
    /// Replies (and notes, for the baseline) per ticket, one after the other.
    #[arg(long, default_value_t = 10)]
    pub replies: usize,
    /// `mail.batch` of the server (mails fetched and imported together);
    /// default: the server's default.
    #[arg(long)]
    pub batch: Option<usize>,
    /// The SMTP sink delivers every reply into the customer's mailbox with
    /// `dovecot-lda` (a process per mail) instead of only recording it.
    #[arg(long)]
    pub deliver: bool,
    /// Independent runs; the report shows the median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

pub fn parse() -> Options {
    // `cargo bench` passes `--bench` to harness-less benches; drop it.
    let mut options = Options::parse_from(std::env::args().filter(|a| a != "--bench"));
    options.runs = options.runs.max(1);
    options
}
