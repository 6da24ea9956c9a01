//! How far a long operation is, for whoever shows it.
//!
//! Importing a whole directory or resolving the whole organisation takes half a minute; a
//! person waiting should see that it moves. The store only reports steps; the command line
//! draws a bar or prints lines, the portal shows a page. Nothing here knows about terminals.

use std::fmt;
use std::sync::Arc;

/// Phases the store reports (the renderers name them for people).
pub mod phase {
    /// Reading and checking the rows of an export (nothing is written yet).
    pub const CHECK_ROWS: &str = "check_rows";
    /// Writing the rows of a checked export.
    pub const WRITE_ROWS: &str = "write_rows";
    /// Reading the members already stored, to plan a member import.
    pub const LOAD_MEMBERS: &str = "load_members";
}

/// One report: in `phase`, `done` of `total` items (`None`: the total is not known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub phase: &'static str,
    pub done: u64,
    pub total: Option<u64>,
}

impl Step {
    /// Whole percent done, when the total is known; never above 100.
    pub fn percent(&self) -> Option<u64> {
        let total = self.total?;
        // Nothing to do is all done.
        Some(
            (self.done.min(total) * 100)
                .checked_div(total)
                .unwrap_or(100),
        )
    }
}

/// Where progress goes. The default goes nowhere, so callers that show none need not care.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(Step) + Send + Sync>>);

impl Progress {
    pub fn new(report: impl Fn(Step) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(report)))
    }

    /// Progress nobody sees.
    pub fn none() -> Progress {
        Progress(None)
    }

    pub fn report(&self, phase: &'static str, done: u64, total: Option<u64>) {
        if let Some(report) = &self.0 {
            report(Step { phase, done, total });
        }
    }

    /// Counts the items of one phase and reports the count now and then.
    pub fn counter(&self, phase: &'static str, total: Option<u64>) -> Counter {
        // About 200 reports per phase: enough for a smooth bar, few enough to cost nothing.
        let every = total.map_or(1_000, |t| (t / 200).max(1));
        self.report(phase, 0, total);
        Counter {
            progress: self.clone(),
            phase,
            total,
            done: 0,
            every,
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(reported)"
        } else {
            "Progress(none)"
        })
    }
}

/// The items of one phase; see [`Progress::counter`].
pub struct Counter {
    progress: Progress,
    phase: &'static str,
    total: Option<u64>,
    done: u64,
    every: u64,
}

impl Counter {
    pub fn add(&mut self, n: u64) {
        let before = self.done / self.every;
        self.done += n;
        if self.done / self.every != before {
            self.progress.report(self.phase, self.done, self.total);
        }
    }

    /// The phase is over: reports the final count as the whole, so a total that was only an
    /// estimate still ends at 100 %.
    pub fn finish(&mut self) {
        self.total = Some(self.done);
        self.progress.report(self.phase, self.done, self.total);
    }

    pub fn done(&self) -> u64 {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_counter_reports_about_every_half_percent_and_ends_at_the_whole() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = Progress::new(move |s| sink.lock().unwrap().push(s));
        let mut counter = progress.counter(phase::CHECK_ROWS, Some(1_000));
        for _ in 0..990 {
            counter.add(1);
        }
        counter.finish();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].done, 0, "the phase is announced at once");
        assert_eq!(seen.len(), 1 + 198 + 1, "every fifth row, and the end");
        let last = seen.last().unwrap();
        assert_eq!(
            (last.done, last.total, last.percent()),
            (990, Some(990), Some(100))
        );
        assert_eq!(seen[100].percent(), Some(50));
    }

    #[test]
    fn the_default_progress_goes_nowhere() {
        let mut counter = Progress::default().counter(phase::WRITE_ROWS, None);
        counter.add(5);
        counter.finish();
        assert_eq!(counter.done(), 5);
    }
}
