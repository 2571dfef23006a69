//! Results: each run is a list of named figures and targets; the report is
//! the median of each figure over the runs, each run's value beside it, and
//! the command line that produced it.

pub use figures::{Cmp, Run, fmt, median};

#[allow(dead_code)] // the mail bench uses fewer of them than the load bench
#[path = "../support/figures.rs"]
mod figures;

pub fn print(runs: &[Run]) {
    let command: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    println!(
        "\nmail — {} run(s): cargo bench --bench mail -- {}",
        runs.len(),
        command[1..].join(" ")
    );
    println!("| figure | median | unit | runs |\n|---|---|---|---|");
    for (name, _, unit) in &runs[0].figures {
        let values: Vec<f64> = runs
            .iter()
            .map(|r| r.get(name).unwrap_or(f64::NAN))
            .collect();
        let each: Vec<String> = values.iter().map(|v| fmt(*v)).collect();
        let m = median(values);
        println!("| {name} | {} | {unit} | {} |", fmt(m), each.join(" / "));
    }
    println!("\n| target | median | bound | met |\n|---|---|---|---|");
    for (name, cmp, bound) in &runs[0].targets {
        let m = median(
            runs.iter()
                .map(|r| r.get(name).unwrap_or(f64::NAN))
                .collect(),
        );
        let (sign, met) = cmp.check(m, *bound);
        println!(
            "| {name} | {} | {sign} {} | {} |",
            fmt(m),
            fmt(*bound),
            if met { "yes" } else { "NO" }
        );
    }
}
