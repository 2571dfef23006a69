//! A bench run's results, shared by the load and mail benches: named
//! figures with units, targets on some of them, notes; `fmt` and `median`
//! for the reports each bench prints its own way.

#[derive(Clone, Copy, Debug)]
pub enum Cmp {
    AtMost,
    AtLeast,
}

impl Cmp {
    /// The comparison's sign, and whether `value` meets `bound`.
    pub fn check(self, value: f64, bound: f64) -> (&'static str, bool) {
        match self {
            Cmp::AtMost => ("<=", value <= bound),
            Cmp::AtLeast => (">=", value >= bound),
        }
    }
}

#[derive(Default)]
pub struct Run {
    /// (name, value, unit), in display order.
    pub figures: Vec<(String, f64, &'static str)>,
    /// (figure name, comparison, bound).
    pub targets: Vec<(String, Cmp, f64)>,
    pub notes: Vec<String>,
}

impl Run {
    pub fn new() -> Run {
        Run::default()
    }

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
            .join(" ")
    }
}

pub fn fmt(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
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
