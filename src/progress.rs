//! Progress of long commands on standard error: a bar on a terminal, plain lines otherwise.
//!
//! A 400,000-row import takes half a minute. On a terminal a bar shows it moving; under cron
//! or in a log there is no terminal to redraw, so a line is written at every tenth and at
//! least every five seconds ("import members: checking 120,000 of 400,000 rows (30 %)").
//! Results stay on standard output, so `verteiler … > report.txt` holds no progress.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use verteiler_policies::{format_count, Lang};
use verteiler_store::progress::{phase, Progress, Step};

/// Phase of `audience resolve`: recipients streamed.
pub const RESOLVE: &str = "resolve";

/// A plain line at least this often while a phase runs.
const LINE_EVERY: Duration = Duration::from_secs(5);
/// Phases with fewer items get a line at their end only: a units file of 150 rows is read in
/// a blink, and ten lines for it would only fill the cron mail.
const LINES_FOR_TENTHS: u64 = 1_000;

/// The progress of one command, shown until it is dropped or finished.
pub struct CliProgress {
    label: String,
    view: Arc<Mutex<View>>,
}

enum View {
    Bar(ProgressBar),
    Lines(Lines),
}

impl CliProgress {
    /// A bar when standard error is a terminal, plain lines when it is not.
    pub fn start(label: &str) -> CliProgress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style(false));
            bar.set_prefix(label.to_string());
            CliProgress::with(label, View::Bar(bar))
        } else {
            CliProgress::with(label, View::Lines(Lines::default()))
        }
    }

    fn with(label: &str, view: View) -> CliProgress {
        CliProgress {
            label: label.to_string(),
            view: Arc::new(Mutex::new(view)),
        }
    }

    /// The sink the store's long operations report to.
    pub fn progress(&self) -> Progress {
        let view = self.view.clone();
        let label = self.label.clone();
        Progress::new(move |step| {
            let mut view = view.lock().unwrap_or_else(PoisonError::into_inner);
            match &mut *view {
                View::Bar(bar) => draw(bar, step),
                View::Lines(lines) => {
                    if let Some(line) = lines.next_line(step, Instant::now()) {
                        // A closed stderr must not end an import half-way: the line is lost.
                        let _ = writeln!(std::io::stderr().lock(), "{label}: {line}");
                    }
                }
            }
        })
    }

    /// Removes the bar, so the results printed next stand alone.
    pub fn finish(&self) {
        if let View::Bar(bar) = &*self.view.lock().unwrap_or_else(PoisonError::into_inner) {
            bar.finish_and_clear();
        }
    }
}

impl Drop for CliProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn draw(bar: &ProgressBar, step: Step) {
    let (verb, unit) = describe(step.phase);
    let message = format!("{verb} {unit}");
    if bar.message() != message {
        bar.set_style(style(step.total.is_some()));
        bar.set_message(message);
        bar.reset_eta();
        bar.reset_elapsed();
    }
    match step.total {
        Some(total) => bar.set_length(total.max(step.done)),
        None => bar.unset_length(),
    }
    bar.set_position(step.done);
}

/// A bar against a known total, a spinner with the count otherwise.
fn style(with_total: bool) -> ProgressStyle {
    let template = if with_total {
        "{prefix}: {msg} [{wide_bar}] {human_pos}/{human_len} ({percent} %) {eta}"
    } else {
        "{prefix}: {msg} {spinner} {human_pos}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// What a phase does and what it counts, for people.
fn describe(phase: &str) -> (&str, &str) {
    match phase {
        phase::CHECK_ROWS => ("checking", "rows"),
        phase::WRITE_ROWS => ("writing", "rows"),
        phase::LOAD_MEMBERS => ("reading", "stored members"),
        RESOLVE => ("resolving", "recipients"),
        other => (other, "items"),
    }
}

/// When a plain line is due: at each further tenth, at the end of a phase, and after
/// [`LINE_EVERY`] without one.
#[derive(Default)]
struct Lines {
    phase: Option<&'static str>,
    tenths: u64,
    complete: bool,
    last: Option<Instant>,
}

impl Lines {
    fn next_line(&mut self, step: Step, now: Instant) -> Option<String> {
        if self.phase != Some(step.phase) {
            *self = Lines {
                phase: Some(step.phase),
                last: Some(now),
                ..Lines::default()
            };
        }
        let percent = step.percent();
        let complete = step.total == Some(step.done);
        let tenths = percent.map_or(0, |p| p / 10);
        let many = step.total.is_some_and(|t| t >= LINES_FOR_TENTHS);
        // Nothing done is nothing to tell (an empty directory read, a phase just begun).
        let due = step.done > 0
            && ((complete && !self.complete)
                || (many && !complete && tenths > self.tenths)
                || self.last.is_none_or(|t| now - t >= LINE_EVERY));
        self.tenths = self.tenths.max(tenths);
        self.complete |= complete;
        if !due {
            return None;
        }
        self.last = Some(now);
        let (verb, unit) = describe(step.phase);
        let done = format_count(step.done, Lang::En);
        Some(match (step.total, percent) {
            (Some(total), Some(percent)) => format!(
                "{verb} {done} of {} {unit} ({percent} %)",
                format_count(total, Lang::En)
            ),
            _ => format!("{verb} {done} {unit}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(phase: &'static str, done: u64, total: Option<u64>) -> Step {
        Step { phase, done, total }
    }

    #[test]
    fn a_plain_line_comes_at_each_tenth_and_at_the_end_of_a_phase() {
        let mut lines = Lines::default();
        let t0 = Instant::now();
        let mut printed = Vec::new();
        for done in (0..=400_000).step_by(2_000) {
            printed.extend(lines.next_line(step(phase::CHECK_ROWS, done, Some(400_000)), t0));
        }
        assert_eq!(printed.len(), 10, "{printed:?}");
        assert_eq!(printed[2], "checking 120,000 of 400,000 rows (30 %)");
        assert_eq!(printed[9], "checking 400,000 of 400,000 rows (100 %)");
        // The next phase starts its own tenths.
        let next = lines.next_line(step(phase::WRITE_ROWS, 40_000, Some(400_000)), t0);
        assert_eq!(
            next.as_deref(),
            Some("writing 40,000 of 400,000 rows (10 %)")
        );
    }

    #[test]
    fn a_slow_phase_gets_a_line_every_five_seconds_and_one_without_a_total() {
        let mut lines = Lines::default();
        let t0 = Instant::now();
        assert_eq!(lines.next_line(step(RESOLVE, 0, None), t0), None);
        assert_eq!(
            lines.next_line(step(RESOLVE, 10, None), t0 + Duration::from_secs(1)),
            None
        );
        assert_eq!(
            lines
                .next_line(step(RESOLVE, 12_000, None), t0 + Duration::from_secs(5))
                .as_deref(),
            Some("resolving 12,000 recipients")
        );
        assert_eq!(
            lines
                .next_line(
                    step(RESOLVE, 12_000, Some(12_000)),
                    t0 + Duration::from_secs(6)
                )
                .as_deref(),
            Some("resolving 12,000 of 12,000 recipients (100 %)")
        );
        assert_eq!(
            lines.next_line(
                step(RESOLVE, 12_000, Some(12_000)),
                t0 + Duration::from_secs(7)
            ),
            None,
            "the end of a phase is told once"
        );
    }

    #[test]
    fn a_short_phase_gets_one_line_at_its_end_and_nothing_done_gets_none() {
        let mut lines = Lines::default();
        let t0 = Instant::now();
        let printed: Vec<String> = (0..=151)
            .filter_map(|done| lines.next_line(step(phase::CHECK_ROWS, done, Some(151)), t0))
            .collect();
        assert_eq!(printed, ["checking 151 of 151 rows (100 %)"]);
        let empty = lines.next_line(step(phase::LOAD_MEMBERS, 0, Some(0)), t0);
        assert_eq!(empty, None);
    }
}
