//! Every sentence verteiler says to a person — SMTP replies, notification mails, SMS
//! confirmations, pages — in one catalogue per language, with the one loader that fills them
//! in and the one way figures are written.
//!
//! The catalogue is `texts/i18n/<lang>/*.toml`, one file per area (`engine`, `smtp`, `store`,
//! `portal`), each flat `key = "text"`. Dotted keys are quoted (`"audience.unknown" = …`) so
//! they stay flat. The files are compiled in, so this crate does no IO and the pure engine
//! can use it. A test keeps the languages in step: the same keys, and per key the same
//! placeholders.
//!
//! Placeholders: `{name}` is a value; `{name:one/other}` picks the word that agrees with the
//! count `name`. This is deliberately not Fluent: German and English need only "one" and
//! "other", which this syntax covers in a form a translator reads at a glance, and figures are
//! formatted here per language ([`format_count`]) rather than by a second locale library. Should
//! a language with more plural forms arrive, the files can move to Fluent with the same keys.

mod catalogue;
mod lang;

pub use catalogue::{fill, lookup, render, text, with_prefix, Arg};
pub use lang::{format_bytes, format_count, format_euros, Lang, Rounding};
