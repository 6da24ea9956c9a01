//! Checking leaves one by one, so that every bad key is found, then assembling the good ones.

use std::collections::BTreeMap;

use super::errors::{ConfigError, Origin};
use super::layers::{insert_at, tree_for, Leaf};
use super::{validate, Config};

/// Outcome of deserialising a (partial) tree into [`Config`].
enum Probe {
    /// Fits; carries the paths that no field took (unknown keys).
    Fits(Box<Config>, Vec<Vec<String>>),
    /// A value has the wrong type or is out of the type's range.
    Invalid(String),
}

fn probe(tree: toml::Table) -> Probe {
    let mut unknown = Vec::new();
    let result: Result<Config, toml::de::Error> =
        serde_ignored::deserialize(toml::Value::Table(tree), |path| {
            unknown.push(path_segments(&path))
        });
    match result {
        Ok(config) => Probe::Fits(Box::new(config), unknown),
        Err(e) => Probe::Invalid(plain_type_names(e.message().trim())),
    }
}

/// serde says "expected u32"; operators read "expected a whole number from 0 to 4294967295".
fn plain_type_names(message: &str) -> String {
    let names = [
        (
            "expected u16",
            format!("expected a whole number from 0 to {}", u16::MAX),
        ),
        (
            "expected u32",
            format!("expected a whole number from 0 to {}", u32::MAX),
        ),
        (
            "expected u64",
            format!("expected a whole number from 0 to {}", u64::MAX),
        ),
        ("expected f64", "expected a number".to_string()),
    ];
    names
        .iter()
        .find_map(|(serde, plain)| {
            message
                .strip_suffix(serde)
                .map(|start| format!("{start}{plain}"))
        })
        .unwrap_or_else(|| message.to_string())
}

fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    match path {
        serde_ignored::Path::Root => Vec::new(),
        serde_ignored::Path::Seq { parent, index } => {
            let mut s = path_segments(parent);
            s.push(index.to_string());
            s
        }
        serde_ignored::Path::Map { parent, key } => {
            let mut s = path_segments(parent);
            s.push(key.clone());
            s
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => path_segments(parent),
    }
}

/// Checks each leaf alone (so every problem is found), then deserialises the good ones
/// together and validates the result. Bad leaves fall back to their defaults.
pub(super) fn assemble(
    leaves: Vec<Leaf>,
    errors: &mut Vec<ConfigError>,
) -> (Config, BTreeMap<String, Origin>) {
    let mut leaf_errors = Vec::new();
    let mut reported: Vec<Vec<String>> = Vec::new();
    let mut accepted = toml::Table::new();
    let mut origins = BTreeMap::new();
    for leaf in leaves {
        if reported.iter().any(|p| leaf.path.starts_with(p)) {
            continue;
        }
        match check_leaf(&leaf) {
            Ok(value) => {
                insert_at(&mut accepted, &leaf.path, value);
                origins.insert(leaf.path.join("."), leaf.origin);
            }
            Err(LeafProblem::Unknown(paths)) => {
                for path in paths {
                    if !reported.iter().any(|p| path.starts_with(p)) {
                        leaf_errors.push(ConfigError::UnknownKey {
                            key: path.join("."),
                            origin: leaf.origin.clone(),
                        });
                        reported.push(path);
                    }
                }
            }
            Err(LeafProblem::Invalid(message)) => {
                let (path, message) =
                    blame_shortest_prefix(&leaf.path).unwrap_or((leaf.path.clone(), message));
                leaf_errors.push(ConfigError::InvalidValue {
                    key: path.join("."),
                    origin: leaf.origin,
                    message,
                });
                reported.push(path);
            }
        }
    }
    // File problems in line order, then environment problems in variable order.
    leaf_errors.sort_by_key(|e| match e {
        ConfigError::UnknownKey { origin, .. } | ConfigError::InvalidValue { origin, .. } => {
            match origin {
                Origin::File { line, .. } => (0, line.unwrap_or(0)),
                Origin::Env { .. } | Origin::Default => (1, 0),
            }
        }
        _ => (2, 0),
    });
    errors.append(&mut leaf_errors);
    let config = match probe(accepted) {
        Probe::Fits(config, unknown) if unknown.is_empty() => *config,
        Probe::Fits(_, unknown) => {
            errors.push(ConfigError::Internal(format!(
                "unexpected keys {unknown:?}"
            )));
            Config::default()
        }
        Probe::Invalid(message) => {
            errors.push(ConfigError::Internal(message));
            Config::default()
        }
    };
    let origin_of = |key: &str| origins.get(key).cloned().unwrap_or(Origin::Default);
    errors.extend(validate::validate(&config, &origin_of));
    (config, origins)
}

enum LeafProblem {
    Unknown(Vec<Vec<String>>),
    Invalid(String),
}

/// The value to use for a leaf. Environment values parsed as number or boolean are retried
/// as the original text, so string keys accept number-like values.
fn check_leaf(leaf: &Leaf) -> Result<toml::Value, LeafProblem> {
    let typed = match probe(tree_for(&leaf.path, leaf.value.clone())) {
        Probe::Fits(_, unknown) if unknown.is_empty() => return Ok(leaf.value.clone()),
        Probe::Fits(_, unknown) => return Err(LeafProblem::Unknown(unknown)),
        Probe::Invalid(message) => message,
    };
    let Some(raw) = &leaf.raw else {
        return Err(LeafProblem::Invalid(typed));
    };
    let text = toml::Value::String(raw.clone());
    match probe(tree_for(&leaf.path, text.clone())) {
        Probe::Fits(_, unknown) if unknown.is_empty() => Ok(text),
        Probe::Fits(_, unknown) => Err(LeafProblem::Unknown(unknown)),
        // Prefer the message that talks about the value over one that only says "not a string".
        Probe::Invalid(as_text) if typed.starts_with("invalid type") => {
            Err(LeafProblem::Invalid(as_text))
        }
        Probe::Invalid(_) => Err(LeafProblem::Invalid(typed)),
    }
}

/// For `smtp.listen.port = 1` the culprit is `smtp.listen` (a table where an address belongs):
/// the shortest proper prefix that fails even as an empty table, with its message.
fn blame_shortest_prefix(path: &[String]) -> Option<(Vec<String>, String)> {
    (1..path.len()).find_map(|len| {
        let prefix = &path[..len];
        match probe(tree_for(prefix, toml::Value::Table(toml::Table::new()))) {
            Probe::Invalid(message) => Some((prefix.to_vec(), message)),
            Probe::Fits(..) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(dotted: &str, value: toml::Value, raw: Option<&str>) -> Leaf {
        Leaf {
            path: dotted.split('.').map(String::from).collect(),
            value,
            raw: raw.map(String::from),
            origin: Origin::Env {
                var: "VERTEILER_X".into(),
            },
        }
    }

    fn problems(leaves: Vec<Leaf>) -> Vec<String> {
        let mut errors = Vec::new();
        assemble(leaves, &mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_table_where_a_value_belongs_blames_the_key() {
        let errors = problems(vec![
            leaf("smtp.listen.port", toml::Value::Integer(25), Some("25")),
            leaf("smtp.listen.host", "h".into(), None),
        ]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("invalid value for smtp.listen from VERTEILER_X:"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_unknown_empty_section_is_reported() {
        let errors = problems(vec![leaf("bogus", toml::Table::new().into(), None)]);
        assert_eq!(errors, [r#"unknown key "bogus" from VERTEILER_X"#]);
    }

    #[test]
    fn number_looking_text_is_kept_for_string_keys_only() {
        let port = leaf("delivery.relay.port", toml::Value::Integer(25), Some("25"));
        assert_eq!(check_leaf(&port).ok(), Some(toml::Value::Integer(25)));
        let host = leaf("smtp.hostname", toml::Value::Integer(25), Some("25"));
        assert_eq!(
            check_leaf(&host).ok(),
            Some(toml::Value::String("25".into()))
        );
    }

    #[test]
    fn type_names_are_spelled_out() {
        let errors = problems(vec![leaf("delivery.relay.port", "x".into(), None)]);
        assert_eq!(
            errors,
            [
                r#"invalid value for delivery.relay.port from VERTEILER_X: invalid type: string "x", expected a whole number from 0 to 65535"#
            ]
        );
        let errors = problems(vec![leaf(
            "delivery.relay.port",
            toml::Value::Integer(70000),
            Some("70000"),
        )]);
        assert!(
            errors[0].ends_with(
                "invalid value: integer `70000`, expected a whole number from 0 to 65535"
            ),
            "{errors:?}"
        );
    }
}
