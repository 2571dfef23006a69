//! Results: each run is a list of named figures (Tandem's, the baseline's
//! and their ratios) and targets; the report is the median of each figure
//! over the runs, as a table or as JSON (`--json`).

use serde_json::json;

use crate::cli::Options;

pub use figures::{Cmp, Run, fmt, median};

#[path = "../support/figures.rs"]
mod figures;

pub fn print(options: &Options, runs: &[Run]) {
    let first = &runs[0];
    let rows: Vec<(String, f64, &str, Vec<f64>)> = first
        .figures
        .iter()
        .map(|(name, _, unit)| {
            let values: Vec<f64> = runs
                .iter()
                .map(|r| r.get(name).unwrap_or(f64::NAN))
                .collect();
            (name.clone(), median(values.clone()), *unit, values)
        })
        .collect();
    let verdicts: Vec<(String, String, f64, bool)> = first
        .targets
        .iter()
        .map(|(name, cmp, bound)| {
            let value = rows.iter().find(|r| &r.0 == name).map_or(f64::NAN, |r| r.1);
            let (sign, met) = cmp.check(value, *bound);
            (name.clone(), format!("{sign} {}", fmt(*bound)), value, met)
        })
        .collect();
    let mut notes: Vec<&String> = Vec::new();
    for note in runs.iter().flat_map(|r| r.notes.iter()) {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    if options.json {
        let out = json!({
            "scenario": options.scenario.name(),
            "agents": options.agents, "inboxes": options.inboxes, "seconds": options.seconds,
            "runs": runs.len(), "url": options.url,
            "visitors": (options.scenario == crate::cli::Scenario::Chat).then_some(options.visitors),
            "rate": (options.scenario == crate::cli::Scenario::Webhooks).then_some(options.rate),
            "webhooks": (options.scenario == crate::cli::Scenario::Webhooks).then_some(options.webhooks),
            "figures": rows.iter().map(|(n, m, u, v)| json!({"name": n, "median": m, "unit": u, "runs": v})).collect::<Vec<_>>(),
            "targets": verdicts.iter().map(|(n, b, v, met)| json!({"figure": n, "target": b, "median": v, "met": met})).collect::<Vec<_>>(),
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
        return;
    }
    println!(
        "\n{} — {}agents {}, inboxes {}, seconds {}, {} run(s){}",
        options.scenario.name(),
        if options.scenario == crate::cli::Scenario::Chat {
            format!(
                "visitors {}, interval {} s, ",
                options.visitors,
                options.interval_ms / 1000.0
            )
        } else if options.scenario == crate::cli::Scenario::Webhooks {
            format!("rate {}/s, webhooks {}, ", options.rate, options.webhooks)
        } else {
            String::new()
        },
        options.agents,
        options.inboxes,
        options.seconds,
        runs.len(),
        options
            .url
            .as_ref()
            .map(|u| format!(", server {u}"))
            .unwrap_or_default()
    );
    println!("| figure | median | unit | runs |\n|---|---|---|---|");
    for (name, m, unit, values) in &rows {
        let each: Vec<String> = values.iter().map(|v| fmt(*v)).collect();
        println!("| {name} | {} | {unit} | {} |", fmt(*m), each.join(" / "));
    }
    if !verdicts.is_empty() {
        println!("\n| target | median | bound | met |\n|---|---|---|---|");
        for (name, bound, value, met) in &verdicts {
            println!(
                "| {name} | {} | {bound} | {} |",
                fmt(*value),
                if *met { "yes" } else { "NO" }
            );
        }
    }
    for note in notes {
        println!("note: {note}");
    }
}
