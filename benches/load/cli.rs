//! Command line: the scenario and its options. Defaults reproduce the
//! targets of issue #9 for each scenario; every option can be overridden.

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Rush,
    AcceptRace,
    Contention,
    Writes,
    Storm,
    Capacity,
    Chat,
    Webhooks,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Rush => "rush",
            Scenario::AcceptRace => "accept_race",
            Scenario::Contention => "contention",
            Scenario::Writes => "writes",
            Scenario::Storm => "storm",
            Scenario::Capacity => "capacity",
            Scenario::Chat => "chat",
            Scenario::Webhooks => "webhooks",
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "Tandem load benchmarks (issue #9)")]
struct Args {
    /// rush, accept-race (or accept_race), contention, writes, storm, capacity, chat, webhooks
    scenario: String,
    /// Agents (sessions / REST clients); default per scenario.
    #[arg(long)]
    agents: Option<usize>,
    /// Inboxes the agents are spread over; default per scenario.
    #[arg(long)]
    inboxes: Option<usize>,
    /// Measured seconds; default per scenario (`--duration-s` is the same).
    #[arg(long, visible_alias = "duration-s")]
    seconds: Option<f64>,
    /// An external server (http://host:port) instead of a child process; it
    /// needs an admin `--admin login:password` and is seeded over REST.
    #[arg(long)]
    url: Option<String>,
    #[arg(long, default_value = "admin:pw")]
    admin: String,
    /// PID of the external server, for CPU and RSS from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Independent runs; the table shows the median.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Milliseconds between one agent's actions (rush: ticket switch; contention: any action).
    #[arg(long)]
    interval_ms: Option<f64>,
    /// chat: seconds between one visitor's messages (jittered by ±10%); default 10.
    #[arg(long)]
    interval_s: Option<f64>,
    /// chat: visitor sockets; default 5000.
    #[arg(long)]
    visitors: Option<usize>,
    /// webhooks: notes posted per second in all (each one event); default 5000.
    #[arg(long)]
    rate: Option<f64>,
    /// webhooks: receivers, each a webhook subscribed to every note; default 3.
    #[arg(long)]
    webhooks: Option<usize>,
    /// accept_race: rounds; default 1000.
    #[arg(long)]
    rounds: Option<usize>,
    /// contention: tickets hammered; default 50.
    #[arg(long)]
    tickets: Option<usize>,
    /// Skip the baseline server (faster; no ratio).
    #[arg(long)]
    no_baseline: bool,
    /// contention: pad the baseline's broadcast frames to about this many
    /// bytes (0: unpadded, about 30), to compare with frames of Tandem's size.
    #[arg(long, default_value_t = 0)]
    baseline_frame_bytes: usize,
    /// Spread client sockets over this many 127.0.0.x source addresses (0: automatic).
    #[arg(long, default_value_t = 0)]
    source_addresses: usize,
    /// Generator threads (each its own single-threaded runtime, sockets split
    /// between them); rush only.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// rush: also find the highest delivered frames/s with p99 <= 20 ms, for
    /// Tandem and the baseline, by running at 1/2, 1, 1.25, 1.5 and 2 times
    /// the switch rate (intervals ×2 … ×0.5).
    #[arg(long)]
    sweep: bool,
    /// storm: `silent` (peers stop answering, found by the heartbeat) or `reset` (TCP RST).
    #[arg(long, default_value = "silent")]
    drop: String,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub scenario: Scenario,
    pub agents: usize,
    pub inboxes: usize,
    pub seconds: f64,
    pub url: Option<String>,
    pub admin: String,
    pub pid: Option<u32>,
    pub json: bool,
    pub runs: usize,
    pub interval_ms: f64,
    pub rounds: usize,
    pub tickets: usize,
    pub baseline: bool,
    /// contention: the baseline's broadcast frames padded to about this many bytes (0: unpadded).
    pub baseline_frame_bytes: usize,
    pub source_addresses: usize,
    pub drop_reset: bool,
    pub threads: usize,
    pub sweep: bool,
    /// chat: visitor sockets.
    pub visitors: usize,
    /// webhooks: notes posted per second in all.
    pub rate: f64,
    /// webhooks: receivers (webhooks).
    pub webhooks: usize,
}

pub fn parse() -> Options {
    // `cargo bench` passes `--bench` to harness-less benches; drop it.
    let args = std::env::args().filter(|a| a != "--bench");
    let a = Args::parse_from(args);
    let scenario = match a.scenario.replace('-', "_").as_str() {
        "rush" => Scenario::Rush,
        "accept_race" => Scenario::AcceptRace,
        "contention" => Scenario::Contention,
        "writes" => Scenario::Writes,
        "storm" => Scenario::Storm,
        "capacity" => Scenario::Capacity,
        "chat" => Scenario::Chat,
        "webhooks" => Scenario::Webhooks,
        other => {
            eprintln!(
                "unknown scenario {other:?}: rush, accept_race, contention, writes, storm, capacity, chat, webhooks"
            );
            std::process::exit(2);
        }
    };
    // (agents, inboxes, seconds, interval ms) reproducing the targets.
    let (agents, inboxes, seconds, interval) = match scenario {
        Scenario::Rush => (2000, 40, 30.0, 2000.0),
        Scenario::AcceptRace => (100, 1, 60.0, 0.0),
        Scenario::Contention => (500, 1, 10.0, 10.0),
        Scenario::Writes => (64, 1, 10.0, 0.0),
        Scenario::Storm => (5000, 50, 30.0, 0.0),
        Scenario::Capacity => (10_000, 100, 60.0, 0.0),
        Scenario::Chat => (50, 1, 60.0, 10_000.0),
        Scenario::Webhooks => (250, 1, 10.0, 0.0),
    };
    Options {
        scenario,
        agents: a.agents.unwrap_or(agents),
        inboxes: a.inboxes.unwrap_or(inboxes).max(1),
        seconds: a.seconds.unwrap_or(seconds),
        url: a.url.map(|u| u.trim_end_matches('/').to_owned()),
        admin: a.admin,
        pid: a.pid,
        json: a.json,
        runs: a.runs.max(1),
        interval_ms: a
            .interval_s
            .map(|s| s * 1000.0)
            .or(a.interval_ms)
            .unwrap_or(interval),
        rounds: a.rounds.unwrap_or(1000),
        tickets: a.tickets.unwrap_or(50),
        baseline: !a.no_baseline,
        baseline_frame_bytes: a.baseline_frame_bytes,
        source_addresses: a.source_addresses,
        drop_reset: a.drop == "reset",
        threads: a.threads.max(1),
        sweep: a.sweep,
        visitors: a.visitors.unwrap_or(5000),
        rate: a.rate.unwrap_or(5000.0).max(1.0),
        webhooks: a.webhooks.unwrap_or(3).max(1),
    }
}
