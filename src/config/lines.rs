//! Line numbers of the keys in a TOML file, so messages can say `verteiler.toml:12`.
//!
//! toml 0.8 reports positions through its `Spanned` protocol. `toml::Spanned` itself fails on
//! implicit tables (`[delivery.relay]` without `[delivery]`), which have no position, so this
//! file speaks the protocol with a visitor that accepts both answers. If the protocol ever
//! changes, positions are simply missing: messages then name the file without a line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

// The names toml's deserializer recognises as a request for a position (serde_spanned 0.6).
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const START_FIELD: &str = "$__serde_spanned_private_start";
const END_FIELD: &str = "$__serde_spanned_private_end";
const VALUE_FIELD: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[START_FIELD, END_FIELD, VALUE_FIELD];

/// The 1-based line that contains byte offset `byte` of `text`.
pub(super) fn line_of(text: &str, byte: usize) -> usize {
    let end = byte.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of every value in a TOML document, by path. Empty if the document does not parse.
pub(super) fn key_lines(text: &str) -> HashMap<Vec<String>, usize> {
    let mut lines = HashMap::new();
    if let Ok(Located {
        node: Node::Table(table),
        ..
    }) = toml::from_str::<Located>(text)
    {
        collect(text, &mut Vec::new(), &table, &mut lines);
    }
    lines
}

fn collect(
    text: &str,
    prefix: &mut Vec<String>,
    table: &BTreeMap<String, Located>,
    out: &mut HashMap<Vec<String>, usize>,
) {
    for (key, located) in table {
        prefix.push(key.clone());
        if let Some(start) = located.start {
            out.insert(prefix.clone(), line_of(text, start));
        }
        if let Node::Table(child) = &located.node {
            collect(text, prefix, child, out);
        }
        prefix.pop();
    }
}

/// A value's position (when toml knows it) and its shape; contents are not kept.
struct Located {
    start: Option<usize>,
    node: Node,
}

enum Node {
    Table(BTreeMap<String, Located>),
    Other,
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, LocatedVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LocatedVisitor)
            .map(|located| located.node)
    }
}

struct LocatedVisitor;

const UNLOCATED: Located = Located {
    start: None,
    node: Node::Other,
};

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Located, E> {
        Ok(UNLOCATED)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Located, E> {
        Ok(UNLOCATED)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Located, E> {
        Ok(UNLOCATED)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Located, E> {
        Ok(UNLOCATED)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Located, E> {
        Ok(UNLOCATED)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(UNLOCATED)
    }

    /// Either the position protocol (start, end, value) or, for a table without a position,
    /// the table's own keys.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let mut start = None;
        let mut node = None;
        let mut table = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                START_FIELD => start = Some(map.next_value::<usize>()?),
                END_FIELD => {
                    map.next_value::<IgnoredAny>()?;
                }
                VALUE_FIELD => node = Some(map.next_value::<Node>()?),
                _ => {
                    let value = map.next_value::<Located>()?;
                    table.insert(key, value);
                }
            }
        }
        Ok(Located {
            start,
            node: node.unwrap_or(Node::Table(table)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(lines: &HashMap<Vec<String>, usize>, dotted: &str) -> Option<usize> {
        let path: Vec<String> = dotted.split('.').map(String::from).collect();
        lines.get(&path).copied()
    }

    #[test]
    fn lines_of_plain_nested_dotted_and_inline_keys() {
        let text = "top = 1\n\n[smtp]\nhostname = \"mx\"\n\n[delivery.relay]\nhost = \"relay\"\n\
                    port = 25\n[sms]\nprovider.kind = \"x\"\nx = { y = 1 }\n";
        let lines = key_lines(text);
        assert_eq!(line(&lines, "top"), Some(1));
        assert_eq!(line(&lines, "smtp.hostname"), Some(4));
        assert_eq!(line(&lines, "delivery.relay.host"), Some(7));
        assert_eq!(line(&lines, "delivery.relay.port"), Some(8));
        assert_eq!(line(&lines, "sms.provider.kind"), Some(10));
        assert_eq!(line(&lines, "sms.x.y"), Some(11));
    }

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
