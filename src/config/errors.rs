//! Problems found while loading the configuration, each naming its key and where it came from.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Not set anywhere: the default in code.
    Default,
    /// A TOML file, with the 1-based line of the value when known.
    File { path: PathBuf, line: Option<usize> },
    /// An environment variable, by its name as it was set.
    Env { var: String },
}

/// Renders with its preposition, ready to follow a key: `in verteiler.toml:3`,
/// `from VERTEILER_SMTP__LISTEN`, `from the built-in default`.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("from the built-in default"),
            Origin::File { path, line: None } => write!(f, "in {}", path.display()),
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "in {}:{line}", path.display()),
            Origin::Env { var } => write!(f, "from {var}"),
        }
    }
}

/// One problem with the configuration. Keys are dotted (`delivery.relay.host`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` (or `VERTEILER_CONFIG`) names a file that is not there.
    #[error("config file {} does not exist", path.display())]
    FileNotFound { path: PathBuf },
    /// The file exists but could not be read.
    #[error("cannot read config file {}: {cause}", path.display())]
    FileUnreadable {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    /// The file is not valid TOML; nothing from it was used.
    #[error("TOML syntax error in {}{}: {message}", path.display(), line_suffix(*line))]
    Syntax {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A key (or whole section) that the configuration does not have; often a typo.
    #[error("unknown key {key:?} {origin}")]
    UnknownKey { key: String, origin: Origin },
    /// A value of the wrong type or out of range; the default was used in its place.
    #[error("invalid value for {key} {origin}: {message}")]
    InvalidValue {
        key: String,
        origin: Origin,
        message: String,
    },
    /// A key that must be set because of another key's value.
    #[error("missing value for {key}: {reason}")]
    MissingValue { key: String, reason: String },
    /// A `VERTEILER_` variable whose name cannot be turned into a key.
    #[error("environment variable {var} does not name a config key: {reason}")]
    BadEnvName { var: String, reason: String },
    /// Two variables that differ only in case set the same key.
    #[error("{key} is set by both {first} and {second}")]
    DuplicateEnv {
        key: String,
        first: String,
        second: String,
    },
    /// Should not happen: the checked values did not combine into a configuration.
    #[error("configuration could not be assembled: {0}")]
    Internal(String),
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ConfigError {
    /// The dotted key the problem is about, when it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::InvalidValue { key, .. }
            | ConfigError::MissingValue { key, .. }
            | ConfigError::DuplicateEnv { key, .. } => Some(key),
            ConfigError::FileNotFound { .. }
            | ConfigError::FileUnreadable { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::BadEnvName { .. }
            | ConfigError::Internal(_) => None,
        }
    }
}

/// Every problem found in one load, in the order found. Displays one line per problem.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(super) fn new(errors: Vec<ConfigError>) -> Self {
        Self(errors)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a returned `Err`; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_key_and_origin() {
        let e = ConfigError::UnknownKey {
            key: "smtp.lisen".into(),
            origin: Origin::File {
                path: "verteiler.toml".into(),
                line: Some(3),
            },
        };
        assert_eq!(
            e.to_string(),
            r#"unknown key "smtp.lisen" in verteiler.toml:3"#
        );
        let e = ConfigError::InvalidValue {
            key: "smtp.listen".into(),
            origin: Origin::Env {
                var: "VERTEILER_SMTP__LISTEN".into(),
            },
            message: "bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid value for smtp.listen from VERTEILER_SMTP__LISTEN: bad"
        );
    }

    #[test]
    fn errors_display_one_line_each() {
        let errors = ConfigErrors::new(vec![
            ConfigError::FileNotFound {
                path: "a.toml".into(),
            },
            ConfigError::Syntax {
                path: "b.toml".into(),
                line: Some(7),
                message: "expected `=`".into(),
            },
        ]);
        assert_eq!(
            errors.to_string(),
            "config file a.toml does not exist\nTOML syntax error in b.toml:7: expected `=`"
        );
    }
}
