//! Results: each run is a list of named figures and targets; the report is
//! the median of each figure over the runs, each run's value beside it, and
//! the command line that produced it.

#[derive(Clone, Copy, Debug)]
pub enum Cmp {
    AtLeast,
}

#[derive(Default)]
pub struct Run {
    /// (name, value, unit), in display order.
    figures: Vec<(String, f64, &'static str)>,
    /// (figure name, comparison, bound).
    targets: Vec<(String, Cmp, f64)>,
}

impl Run {
    pub fn add(&mut self, name: &str, value: f64, unit: &'static str) {
        self.figures.push((name.to_owned(), value, unit));
    }

    pub fn target(&mut self, name: &str, cmp: Cmp, bound: f64) {
        self.targets.push((name.to_owned(), cmp, bound));
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| *v)
    }

    pub fn one_line(&self) -> String {
        self.figures
            .iter()
            .map(|(n, v, u)| format!("{n}={}{u}", fmt(*v)))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

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
        let (sign, met) = match cmp {
            Cmp::AtLeast => (">=", m >= *bound),
        };
        println!(
            "| {name} | {} | {sign} {} | {} |",
            fmt(m),
            fmt(*bound),
            if met { "yes" } else { "NO" }
        );
    }
}
