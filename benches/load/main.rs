//! Load benchmarks (issue #9): the real server against thousands of real
//! WebSocket clients, and a minimal actix broadcast server (the baseline)
//! driven by the same generator with the same parameters.
//!
//! `cargo bench --bench load -- <scenario> [--agents N] [--inboxes M] [--seconds S] [--url URL] [--json] [--runs R]`
//! (`webhooks` also takes `[--rate N] [--webhooks W]`)
//!
//! Scenarios: `rush`, `accept_race`, `contention`, `writes`, `storm`, `capacity`,
//! `chat` (issue #16: visitors writing to agents over `/ws/visitor`),
//! `webhooks` (issue #18: notes fanned out to webhook receivers in this process).
//! Without `--url` the server runs in a child process of this bench (same
//! binary, `App::build` on a fresh data directory seeded directly), so its CPU
//! time and RSS can be read from `/proc/<pid>` apart from the generator's.

mod accept_race;
mod baseline;
mod capacity;
mod chat;
mod cli;
mod contention;
mod generator;
#[path = "../support/proc.rs"]
mod proc_stats;
mod report;
mod rush;
mod seed;
mod server;
mod storm;
mod webhooks;
mod writes;

/// The allocator `tandem serve` runs with (see `src/main.rs`); the baseline
/// server, a child process of this binary too, gets it as well.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(server::CHILD_FLAG) {
        server::child_main(&args[2..]);
        return;
    }
    let options = cli::parse();
    let runs: Vec<report::Run> = (0..options.runs)
        .map(|i| {
            eprintln!(
                "run {}/{} of {}",
                i + 1,
                options.runs,
                options.scenario.name()
            );
            let run = match options.scenario {
                cli::Scenario::Rush => rush::run(&options),
                cli::Scenario::AcceptRace => accept_race::run(&options),
                cli::Scenario::Contention => contention::run(&options),
                cli::Scenario::Writes => writes::run(&options),
                cli::Scenario::Storm => storm::run(&options),
                cli::Scenario::Capacity => capacity::run(&options),
                cli::Scenario::Chat => chat::run(&options),
                cli::Scenario::Webhooks => webhooks::run(&options),
            };
            eprintln!("{}", run.one_line());
            run
        })
        .collect();
    report::print(&options, &runs);
}
