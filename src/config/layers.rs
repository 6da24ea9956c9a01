//! The file and environment layers, flattened into leaves that each remember their origin.
//!
//! A leaf is one value at a dotted path (`smtp.listen`). Keeping leaves flat lets the loader
//! check each one on its own, so one bad value never hides another.

use std::collections::HashMap;
use std::path::Path;

use super::errors::{ConfigError, Origin};
use super::lines::{key_lines, line_of};
use super::{ENV_CONFIG_FILE, ENV_PREFIX};

/// Variables with this prefix belong to the test harness, not to the configuration.
const ENV_TEST_PREFIX: &str = "VERTEILER_TEST_";

/// One value at one dotted path, with where it came from.
#[derive(Debug, Clone)]
pub(super) struct Leaf {
    pub path: Vec<String>,
    pub value: toml::Value,
    /// For environment values parsed as number or boolean: the original text, used instead
    /// when the key wants a string (`VERTEILER_DELIVERY__RELAY__PASSWORD=123456`).
    pub raw: Option<String>,
    pub origin: Origin,
}

/// All leaves in layer order; a later layer replaces what it overlaps.
#[derive(Debug, Default)]
pub(super) struct Layers {
    leaves: Vec<Leaf>,
}

impl Layers {
    pub fn into_leaves(self) -> Vec<Leaf> {
        self.leaves
    }

    /// Adds a leaf, dropping earlier leaves at, under or above its path.
    fn override_with(&mut self, leaf: Leaf) {
        self.leaves
            .retain(|old| !old.path.starts_with(&leaf.path) && !leaf.path.starts_with(&old.path));
        self.leaves.push(leaf);
    }

    /// Adds every value of a TOML document. On a syntax error nothing is added.
    pub fn add_file(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        let lines = key_lines(text);
        let mut leaves = Vec::new();
        flatten(&mut Vec::new(), &toml::Value::Table(table), &mut leaves);
        for (key, value) in leaves {
            let line = lines.get(&key).copied();
            self.override_with(Leaf {
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line,
                },
                path: key,
                value,
                raw: None,
            });
        }
        Ok(())
    }

    /// Adds every `VERTEILER_SECTION__KEY` variable, except `VERTEILER_CONFIG` and
    /// `VERTEILER_TEST_*`. Returns the variables that could not be used.
    pub fn add_env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Vec<ConfigError> {
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| is_config_var(name))
            .collect();
        vars.sort();
        let mut errors = Vec::new();
        let mut set_by: HashMap<Vec<String>, String> = HashMap::new();
        for (var, raw) in vars {
            let path = match env_key(&var) {
                Ok(path) => path,
                Err(reason) => {
                    errors.push(ConfigError::BadEnvName { var, reason });
                    continue;
                }
            };
            if let Some(first) = set_by.get(&path) {
                errors.push(ConfigError::DuplicateEnv {
                    key: path.join("."),
                    first: first.clone(),
                    second: var,
                });
                continue;
            }
            set_by.insert(path.clone(), var.clone());
            let (value, raw) = match parse_scalar(&raw) {
                Some(value) => (value, Some(raw)),
                None => (toml::Value::String(raw), None),
            };
            self.override_with(Leaf {
                path,
                value,
                raw,
                origin: Origin::Env { var },
            });
        }
        errors
    }
}

fn is_config_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with(ENV_PREFIX) && upper != ENV_CONFIG_FILE && !upper.starts_with(ENV_TEST_PREFIX)
}

/// `VERTEILER_DELIVERY__RELAY__HOST` → `["delivery", "relay", "host"]`.
fn env_key(var: &str) -> Result<Vec<String>, String> {
    let rest = &var[ENV_PREFIX.len()..];
    if rest.is_empty() {
        return Err("no key after the prefix".into());
    }
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if path.iter().any(String::is_empty) {
        return Err("empty key between `__` separators".into());
    }
    Ok(path)
}

/// An integer, float or boolean as TOML writes it; anything else stays a string.
fn parse_scalar(raw: &str) -> Option<toml::Value> {
    if raw.contains(['\n', '\r']) {
        return None;
    }
    let mut table: toml::Table = toml::from_str(&format!("v = {raw}")).ok()?;
    match table.remove("v")? {
        v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_))
            if table.is_empty() =>
        {
            Some(v)
        }
        _ => None,
    }
}

/// Leaves of a TOML value: every non-table value, and every empty table.
fn flatten(
    prefix: &mut Vec<String>,
    value: &toml::Value,
    out: &mut Vec<(Vec<String>, toml::Value)>,
) {
    match value {
        toml::Value::Table(table) if !table.is_empty() => {
            for (key, child) in table {
                prefix.push(key.clone());
                flatten(prefix, child, out);
                prefix.pop();
            }
        }
        _ => out.push((prefix.clone(), value.clone())),
    }
}

/// Builds the nested tables that hold `value` at `path`.
pub(super) fn tree_for(path: &[String], value: toml::Value) -> toml::Table {
    let mut table = toml::Table::new();
    insert_at(&mut table, path, value);
    table
}

/// Puts `value` at `path`, creating tables on the way (replacing non-tables in the way).
pub(super) fn insert_at(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let child = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !child.is_table() {
                *child = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(child) = child {
                insert_at(child, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn paths(layers: &Layers) -> Vec<String> {
        layers.leaves.iter().map(|l| l.path.join(".")).collect()
    }

    #[test]
    fn file_leaves_carry_their_line() {
        let mut layers = Layers::default();
        let text = "[smtp]\nhostname = \"mx\"\n\n[delivery.relay]\nhost = \"relay\"\n";
        layers.add_file(Path::new("v.toml"), text).unwrap();
        let lines: Vec<_> = layers
            .leaves
            .iter()
            .map(|l| (l.path.join("."), l.origin.to_string()))
            .collect();
        assert!(lines.contains(&("smtp.hostname".into(), "in v.toml:2".into())));
        assert!(lines.contains(&("delivery.relay.host".into(), "in v.toml:5".into())));
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let mut layers = Layers::default();
        let e = layers
            .add_file(Path::new("v.toml"), "[smtp]\nlisten = \n")
            .unwrap_err();
        assert!(
            e.to_string().starts_with("TOML syntax error in v.toml:2: "),
            "{e}"
        );
    }

    #[test]
    fn env_names_nest_and_ignore_case_and_skip_non_config_vars() {
        let mut layers = Layers::default();
        let errors = layers.add_env(env(&[
            ("VERTEILER_DELIVERY__RELAY__HOST", "relay.example.org"),
            ("verteiler_smtp__max_recipients", "5"),
            ("VERTEILER_CONFIG", "/etc/verteiler.toml"),
            ("VERTEILER_TEST_DATABASE_URL", "postgres://x"),
            ("PATH", "/bin"),
        ]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            paths(&layers),
            ["delivery.relay.host", "smtp.max_recipients"]
        );
    }

    #[test]
    fn env_values_keep_their_text_when_parsed_as_scalars() {
        let mut layers = Layers::default();
        layers.add_env(env(&[
            ("VERTEILER_A__B", "12"),
            ("VERTEILER_A__C", "0012"),
            ("VERTEILER_A__D", "x y"),
        ]));
        let b = &layers.leaves[0];
        assert_eq!(b.value, toml::Value::Integer(12));
        assert_eq!(b.raw.as_deref(), Some("12"));
        for leaf in &layers.leaves[1..] {
            assert!(leaf.value.is_str(), "{leaf:?}");
            assert_eq!(leaf.raw, None);
        }
    }

    #[test]
    fn bad_env_names_and_duplicates_are_reported() {
        let mut layers = Layers::default();
        let errors = layers.add_env(env(&[
            ("VERTEILER_", "x"),
            ("VERTEILER_SMTP____LISTEN", "x"),
            ("VERTEILER_SMTP__HOSTNAME", "a"),
            ("verteiler_smtp__hostname", "b"),
        ]));
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[2].contains("smtp.hostname is set by both"));
    }

    #[test]
    fn later_layer_replaces_overlapping_paths() {
        let mut layers = Layers::default();
        layers
            .add_file(Path::new("v.toml"), "[delivery]\nrelay = 5\nworkers = 2\n")
            .unwrap();
        layers.add_env(env(&[("VERTEILER_DELIVERY__RELAY__HOST", "h")]));
        assert_eq!(paths(&layers), ["delivery.workers", "delivery.relay.host"]);
    }

    #[test]
    fn tree_for_nests_tables() {
        let path = ["a".to_string(), "b".to_string()];
        let t = tree_for(&path, toml::Value::Integer(1));
        assert_eq!(t["a"]["b"].as_integer(), Some(1));
    }
}
