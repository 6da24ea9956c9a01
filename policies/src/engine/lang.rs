//! The engine's side of its sentences: values only the engine knows how to write (byte sizes
//! rounded the safe way, role functions and names read as alternatives) turned into text, then
//! filled in by the one loader in `verteiler_texts`, where the languages and number formats
//! live too.

pub use verteiler_texts::{format_bytes, format_count, format_euros, Lang, Rounding};

use crate::domain::RoleFunction;
use verteiler_texts::Arg as Value;

/// A value to put into a sentence.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Count(u64),
    Bytes(u64, Rounding),
    /// An amount of euro cents.
    Euros(u64),
    Text(&'a str),
    Functions(&'a [RoleFunction]),
    /// Names read as prose: "A, B or C".
    Names(&'a [String]),
}

/// Fills `{name}` and `{name:one/other}` placeholders of a template (see
/// [`verteiler_texts::fill`]).
pub(crate) fn render(template: &str, lang: Lang, args: &[(&str, Arg<'_>)]) -> String {
    let written: Vec<Option<String>> = args
        .iter()
        .map(|(_, arg)| match *arg {
            Arg::Bytes(n, rounding) => Some(format_bytes(n, rounding, lang)),
            Arg::Euros(cents) => Some(format_euros(cents, lang)),
            Arg::Functions(functions) => Some(super::texts::function_list(functions, lang)),
            Arg::Names(names) => Some(super::texts::name_list(names, lang)),
            Arg::Count(_) | Arg::Text(_) => None,
        })
        .collect();
    let values: Vec<(&str, Value<'_>)> = args
        .iter()
        .zip(&written)
        .map(|((name, arg), written)| {
            let value = match (arg, written) {
                (_, Some(text)) => Value::Text(text),
                (Arg::Count(n), None) => Value::Count(*n),
                (Arg::Text(text), None) => Value::Text(text),
                (_, None) => unreachable!("every other value was written above"),
            };
            (*name, value)
        })
        .collect();
    verteiler_texts::fill(template, lang, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_values_are_written_before_they_are_filled_in() {
        let args = [
            ("size", Arg::Bytes(10_000_001, Rounding::Up)),
            (
                "who",
                Arg::Functions(&[RoleFunction::Chair, RoleFunction::Board]),
            ),
            ("n", Arg::Count(2_000)),
            ("n2", Arg::Count(1)),
        ];
        let text = render(
            "{size}, {who}, {n} {n:Anhang/Anhänge}, {n2:Anhang/Anhänge}",
            Lang::De,
            &args,
        );
        assert_eq!(
            text,
            "10,1 MB, Vorsitz oder Vorstand, 2.000 Anhänge, Anhang"
        );
    }
}
