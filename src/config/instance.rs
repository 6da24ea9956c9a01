//! `[instance]`: the name this process's claims carry in the database. Several `serve`
//! processes on one PostgreSQL database each need their own; a process that starts again
//! under its name takes back at once what its killed predecessor had claimed and not
//! finished.

use serde::{Deserialize, Serialize};

/// `[instance]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceConfig {
    /// Unset: the host's name, so one process per host needs no setting.
    pub name: Option<String>,
}

impl InstanceConfig {
    /// The configured name, else the host's, else `verteiler`.
    pub fn name(&self) -> String {
        if let Some(name) = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return name.to_string();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "verteiler".to_string())
    }

    /// Why a configured name cannot serve as one.
    pub fn check(&self) -> Result<(), String> {
        match self.name.as_deref() {
            Some(name) if name.trim().is_empty() => {
                Err("is empty: leave it out to use the host's name".into())
            }
            Some(name) if name.len() > 64 || name.chars().any(|c| c.is_control()) => Err(format!(
                "{name:?} must be at most 64 characters, without control characters"
            )),
            _ => Ok(()),
        }
    }
}
