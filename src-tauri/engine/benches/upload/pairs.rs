//! Section 2's pairs: Ferry and its minimal client run `reps` times, alternating which goes
//! first, and each side's figure is its median. A single run could be off by 3× either way:
//! whoever ran first after a phase that freed gigabytes of page cache paid for it
//! (docs/perf/providers.md). Every repetition is printed, so the spread stays visible.

use std::io::Write;

pub struct Pair {
    /// MiB/s of each repetition.
    pub ferry: Vec<f64>,
    pub minimal: Vec<f64>,
}

/// Runs the pair `reps` times (Ferry first in even repetitions), each closure returning the
/// seconds of one upload of `mib` MiB, and notes every figure under `label`.
pub fn alternate(label: &str, mib: u64, reps: usize, mut ferry: impl FnMut() -> f64, mut minimal: impl FnMut() -> f64) -> Pair {
    let mut pair = Pair { ferry: Vec::new(), minimal: Vec::new() };
    let mut figures = Vec::new();
    for rep in 0..reps {
        let ferry_first = rep.is_multiple_of(2);
        let (f, m) = if ferry_first {
            let f = ferry();
            (f, minimal())
        } else {
            let m = minimal();
            (ferry(), m)
        };
        let (f, m) = (mib as f64 / f, mib as f64 / m);
        pair.ferry.push(f);
        pair.minimal.push(m);
        figures.push(if ferry_first { format!("{f:.0}*/{m:.0}") } else { format!("{f:.0}/{m:.0}*") });
    }
    note(&format!("{label}, MiB/s Ferry/minimal a repetition (* ran first): {}", figures.join(" · ")));
    pair
}

impl Pair {
    pub fn ferry_median(&self) -> f64 {
        median(&self.ferry)
    }

    pub fn minimal_median(&self) -> f64 {
        median(&self.minimal)
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// A line printed now and, when FERRY_BENCH_NOTES is set, appended there (`scripts/bench.sh`
/// prints those lines above the table).
pub fn note(line: &str) {
    println!("  ({line})");
    if let Some(path) = std::env::var_os("FERRY_BENCH_NOTES") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(f, "{line}").unwrap();
    }
}
