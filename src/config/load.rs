//! Loading: layer the sources, check every leaf on its own, assemble, validate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::check::assemble;
use super::errors::{ConfigError, ConfigErrors, Origin};
use super::layers::Layers;
use super::{Config, ENV_CONFIG_FILE};

/// A loaded configuration and where its values came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    /// The TOML file that was read, if any.
    pub file: Option<PathBuf>,
    origins: BTreeMap<String, Origin>,
}

impl LoadedConfig {
    /// Where the value of a dotted key came from (`Origin::Default` when nothing set it).
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// Every key set by the file or the environment, with its origin, sorted by key.
    pub fn origins(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.origins.iter().map(|(k, o)| (k.as_str(), o))
    }
}

impl Config {
    /// Defaults → `file` (if given) → `VERTEILER_SECTION__KEY` variables from `env`.
    ///
    /// `file` is the `--config` argument; pass [`Config::default_path`] when there is none.
    /// A named file that does not exist is an error. All problems are returned together.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<LoadedConfig, ConfigErrors> {
        let mut errors = Vec::new();
        let mut layers = Layers::default();
        if let Some(path) = file {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    if let Err(e) = layers.add_file(path, &text) {
                        errors.push(e);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    errors.push(ConfigError::FileNotFound {
                        path: path.to_path_buf(),
                    });
                }
                Err(cause) => errors.push(ConfigError::FileUnreadable {
                    path: path.to_path_buf(),
                    cause,
                }),
            }
        }
        errors.extend(layers.add_env(env));
        let (config, origins) = assemble(layers.into_leaves(), &mut errors);
        if errors.is_empty() {
            Ok(LoadedConfig {
                config,
                file: file.map(Path::to_path_buf),
                origins,
            })
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// What `main` calls: the file from `cli_path`, else `VERTEILER_CONFIG`, else
    /// `./verteiler.toml` if present; overrides from the process environment.
    pub fn load_from_environment(cli_path: Option<&Path>) -> Result<LoadedConfig, ConfigErrors> {
        let file = cli_path
            .map(Path::to_path_buf)
            .or_else(|| {
                std::env::var_os(ENV_CONFIG_FILE)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(Config::default_path);
        let env = std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        });
        Config::load(file.as_deref(), env)
    }

    /// Parses a TOML document on its own (no environment), e.g. for tests.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let mut layers = Layers::default();
        if let Err(e) = layers.add_file(Path::new("<string>"), text) {
            errors.push(e);
        }
        let (config, _) = assemble(layers.into_leaves(), &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RelayTls, Transport};
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A file in the temp directory, unique per test and process.
    fn write_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verteiler-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn messages(result: Result<LoadedConfig, ConfigErrors>) -> Vec<String> {
        match result {
            Ok(loaded) => panic!("expected errors, got {:?}", loaded.config),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn no_file_and_no_env_gives_defaults() {
        let loaded = Config::load(None, env(&[("HOME", "/root")])).unwrap();
        assert_eq!(loaded.config, Config::default());
        assert_eq!(loaded.file, None);
        assert_eq!(loaded.origin("smtp.listen"), Origin::Default);
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }

    #[test]
    fn file_overrides_defaults() {
        let path = write_file(
            "overrides.toml",
            "[smtp]\nlisten = \"0.0.0.0:25\"\nmax_recipients = 50\n\n\
             [delivery]\ntransport = \"mx\"\n\n[limits]\nimport_max_change_percent = 25\n",
        );
        let loaded = Config::load(Some(&path), Vec::new()).unwrap();
        let c = &loaded.config;
        assert_eq!(c.smtp.listen, "0.0.0.0:25".parse().unwrap());
        assert_eq!(c.smtp.max_recipients, 50);
        assert_eq!(c.delivery.transport, Transport::Mx);
        assert_eq!(c.limits.import_max_change_percent, 25.0);
        assert_eq!(c.http, Config::default().http);
        assert_eq!(loaded.file.as_deref(), Some(path.as_path()));
        assert_eq!(
            loaded.origin("smtp.max_recipients"),
            Origin::File {
                path: path.clone(),
                line: Some(3)
            }
        );
    }

    #[test]
    fn env_overrides_file() {
        let path = write_file("env-over-file.toml", "[smtp]\nlisten = \"0.0.0.0:25\"\n");
        let loaded = Config::load(
            Some(&path),
            env(&[("VERTEILER_SMTP__LISTEN", "127.0.0.1:2626")]),
        )
        .unwrap();
        assert_eq!(loaded.config.smtp.listen, "127.0.0.1:2626".parse().unwrap());
        assert_eq!(
            loaded.origin("smtp.listen"),
            Origin::Env {
                var: "VERTEILER_SMTP__LISTEN".into()
            }
        );
    }

    #[test]
    fn nested_env_reaches_relay_settings() {
        let loaded = Config::load(
            None,
            env(&[
                ("VERTEILER_DELIVERY__TRANSPORT", "relay"),
                ("VERTEILER_DELIVERY__RELAY__HOST", "smtp.example.org"),
                ("VERTEILER_DELIVERY__RELAY__PORT", "465"),
                ("VERTEILER_DELIVERY__RELAY__TLS", "implicit"),
                ("verteiler_delivery__relay__username", "list"),
            ]),
        )
        .unwrap();
        let relay = &loaded.config.delivery.relay;
        assert_eq!(loaded.config.delivery.transport, Transport::Relay);
        assert_eq!(relay.host, "smtp.example.org");
        assert_eq!(relay.port, 465);
        assert_eq!(relay.tls, RelayTls::Implicit);
        assert_eq!(relay.username.as_deref(), Some("list"));
    }

    #[test]
    fn number_like_env_values_work_for_string_and_number_keys() {
        let loaded = Config::load(
            None,
            env(&[
                ("VERTEILER_SMTP__HOSTNAME", "12345"),
                ("VERTEILER_ORGANISATION__NAME", "2024"),
                ("VERTEILER_DELIVERY__RELAY__USERNAME", "true"),
                ("VERTEILER_DELIVERY__RELAY__PASSWORD", "123456"),
                ("VERTEILER_DATABASE__MAX_CONNECTIONS", "16"),
                ("VERTEILER_LIMITS__IMPORT_MAX_CHANGE_PERCENT", "2.5"),
                ("VERTEILER_DATABASE__URL", "postgres://u:1@db/verteiler"),
            ]),
        )
        .unwrap();
        let c = &loaded.config;
        assert_eq!(c.smtp.hostname, "12345");
        assert_eq!(c.organisation.name, "2024");
        assert_eq!(c.delivery.relay.username.as_deref(), Some("true"));
        let password = c.delivery.relay.password.as_ref().unwrap();
        assert_eq!(password.expose_secret(), "123456");
        assert_eq!(c.database.max_connections, 16);
        assert_eq!(c.limits.import_max_change_percent, 2.5);
        assert_eq!(c.database.url, "postgres://u:1@db/verteiler");
    }

    #[test]
    fn unknown_key_in_file_names_the_file_and_line() {
        let path = write_file("unknown.toml", "[smtp]\nhostname = \"mx\"\nlisen = \"x\"\n");
        let errors = messages(Config::load(Some(&path), Vec::new()));
        assert_eq!(
            errors,
            [format!(
                "unknown key \"smtp.lisen\" in {}:3",
                path.display()
            )]
        );
    }

    #[test]
    fn unknown_key_in_env_names_the_variable() {
        let errors = messages(Config::load(
            None,
            env(&[("VERTEILER_SMTP__LISEN", "x"), ("VERTEILER_FOO__BAR", "1")]),
        ));
        assert_eq!(
            errors,
            [
                r#"unknown key "foo" from VERTEILER_FOO__BAR"#,
                r#"unknown key "smtp.lisen" from VERTEILER_SMTP__LISEN"#,
            ]
        );
    }

    #[test]
    fn invalid_socket_address_names_key_variable_and_example() {
        let errors = messages(Config::load(
            None,
            env(&[("VERTEILER_SMTP__LISTEN", "nonsense")]),
        ));
        assert_eq!(
            errors,
            [
                r#"invalid value for smtp.listen from VERTEILER_SMTP__LISTEN: "nonsense" is not a socket address like 127.0.0.1:2525"#
            ]
        );
        let errors = messages(Config::load(
            None,
            env(&[("VERTEILER_HTTP__LISTEN", "8080")]),
        ));
        assert!(
            errors[0].contains(r#""8080" is not a socket address"#),
            "{errors:?}"
        );
    }

    #[test]
    fn the_inbound_listener_is_off_by_default_and_a_bad_address_is_named() {
        let loaded = Config::load(None, Vec::new()).unwrap();
        assert_eq!(loaded.config.smtp.inbound_listen, None);
        let errors = messages(Config::load(
            None,
            env(&[("VERTEILER_SMTP__INBOUND_LISTEN", "25")]),
        ));
        assert_eq!(
            errors,
            [
                r#"invalid value for smtp.inbound_listen from VERTEILER_SMTP__INBOUND_LISTEN: "25" is not a socket address like 127.0.0.1:2525"#
            ]
        );
        let loaded =
            Config::load(None, env(&[("VERTEILER_SMTP__INBOUND_LISTEN", "[::]:25")])).unwrap();
        assert_eq!(
            loaded.config.smtp.inbound_listen,
            Some("[::]:25".parse().unwrap())
        );
    }

    #[test]
    fn two_listeners_on_one_port_name_the_later_key() {
        let path = write_file(
            "clash.toml",
            "[smtp]\nlisten = \"0.0.0.0:25\"\ninbound_listen = \"127.0.0.1:25\"\n",
        );
        let errors = messages(Config::load(Some(&path), Vec::new()));
        assert_eq!(
            errors,
            [format!(
                "invalid value for smtp.inbound_listen in {}:3: 127.0.0.1:25 is the port of smtp.listen; give each listener its own port",
                path.display()
            )]
        );
        // Port 0 lets the system choose: never a clash.
        let path = write_file(
            "port-zero.toml",
            "[smtp]\nlisten = \"127.0.0.1:0\"\ninbound_listen = \"127.0.0.1:0\"\n",
        );
        assert!(Config::load(Some(&path), Vec::new()).is_ok());
    }

    #[test]
    fn relay_without_host_is_reported_with_the_reason() {
        let path = write_file("relay.toml", "[delivery]\ntransport = \"relay\"\n");
        let errors = messages(Config::load(Some(&path), Vec::new()));
        assert_eq!(
            errors,
            [format!(
                "missing value for delivery.relay.host: required when delivery.transport = \"relay\" (in {}:2)",
                path.display()
            )]
        );
    }

    #[test]
    fn every_problem_is_reported_together() {
        let path = write_file(
            "many.toml",
            "[database]\nurl = \"mysql://x\"\nmax_connections = \"many\"\n\n\
             [smtp]\nlisen = \"0.0.0.0:25\"\nlisten = \"nonsense\"\n\n\
             [delivery]\ntransport = \"relay\"\nworkers = 0\n\n\
             [bogus]\na = 1\nb = 2\n\n\
             [organisation]\ndefault_region = \"de\"\ndefault_language = \"fr\"\n",
        );
        let errors = messages(Config::load(
            Some(&path),
            env(&[
                ("VERTEILER_LIMITS__SENDS_PER_SENDER_PER_DAY", "-1"),
                ("VERTEILER_HTTP__PORT", "80"),
                ("VERTEILER_SMTP____X", "1"),
            ]),
        ));
        let file = path.display().to_string();
        let expected = [
            format!("invalid value for database.max_connections in {file}:3:"),
            format!("unknown key \"smtp.lisen\" in {file}:6"),
            format!("invalid value for smtp.listen in {file}:7:"),
            format!("unknown key \"bogus\" in {file}:14"),
            format!("invalid value for organisation.default_language in {file}:19:"),
            "invalid value for limits.sends_per_sender_per_day from VERTEILER_LIMITS__SENDS_PER_SENDER_PER_DAY:".into(),
            "unknown key \"http.port\" from VERTEILER_HTTP__PORT".into(),
            "environment variable VERTEILER_SMTP____X does not name a config key".into(),
            format!("invalid value for database.url in {file}:2:"),
            format!("invalid value for delivery.workers in {file}:11:"),
            "missing value for delivery.relay.host".into(),
            format!("invalid value for organisation.default_region in {file}:18:"),
        ];
        for want in &expected {
            assert!(
                errors.iter().any(|e| e.starts_with(want.as_str())),
                "{want:?} not in {errors:#?}"
            );
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    }

    #[test]
    fn syntax_error_names_file_and_line_and_env_is_still_checked() {
        let path = write_file("syntax.toml", "[smtp]\nlisten = \"x\n");
        let errors = messages(Config::load(
            Some(&path),
            env(&[("VERTEILER_SMTP__LISEN", "x")]),
        ));
        assert_eq!(errors.len(), 2, "{errors:?}");
        let prefix = format!("TOML syntax error in {}:2: ", path.display());
        assert!(errors[0].starts_with(&prefix), "{errors:?}");
        assert!(errors[1].contains("smtp.lisen"), "{errors:?}");
    }

    #[test]
    fn explicit_missing_file_is_an_error_naming_it() {
        let path = std::env::temp_dir().join("verteiler-config-does-not-exist.toml");
        let errors = messages(Config::load(Some(&path), Vec::new()));
        assert_eq!(
            errors,
            [format!("config file {} does not exist", path.display())]
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_rendered_output() {
        let path = write_file(
            "secret.toml",
            "[delivery.relay]\nusername = \"u\"\npassword = \"hunter2-file\"\n",
        );
        let loaded = Config::load(
            Some(&path),
            env(&[("VERTEILER_DELIVERY__RELAY__PASSWORD", "hunter2-env")]),
        )
        .unwrap();
        let password = loaded.config.delivery.relay.password.as_ref().unwrap();
        assert_eq!(password.expose_secret(), "hunter2-env");
        let debug = format!("{loaded:?}");
        let rendered = loaded.config.render_effective();
        for text in [&debug, &rendered] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(rendered.contains("password = \"<redacted>\""), "{rendered}");
    }

    #[test]
    fn from_toml_str_reports_unknown_keys() {
        let errors = Config::from_toml_str("[http]\nlistn = \"x\"\n").unwrap_err();
        assert_eq!(
            errors.to_string(),
            "unknown key \"http.listn\" in <string>:2"
        );
    }
}
