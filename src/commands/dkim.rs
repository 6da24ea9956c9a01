//! `verteiler dkim generate`, and the signer `serve` builds from `[delivery.dkim]` (or, for
//! the demo, from a key it makes once in the data directory).

use crate::cli::{DkimAlgorithmArg, DkimGenerateArgs};
use crate::config::{Config, LoadedConfig};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use verteiler_gateway::delivery::dkim::{
    generate_key, write_key_file, DkimAlgorithm, DkimSigner, DnsRecord, KeyFile,
};

/// The signing domain: `delivery.dkim.domain`, else the list domain.
fn signing_domain(config: &Config) -> &str {
    config
        .delivery
        .dkim
        .domain
        .as_deref()
        .unwrap_or(&config.organisation.list_domain)
}

pub fn generate(config: &Config, args: &DkimGenerateArgs) -> anyhow::Result<ExitCode> {
    let algorithm = match args.algorithm {
        DkimAlgorithmArg::Rsa => DkimAlgorithm::Rsa,
        DkimAlgorithmArg::Ed25519 => DkimAlgorithm::Ed25519,
    };
    let domain = args.domain.as_deref().unwrap_or(signing_domain(config));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("dkim-{}.pem", args.selector)));
    // Refuse before the (slow) RSA generation, and again atomically when writing.
    if out.exists() {
        anyhow::bail!(
            "{} already exists; refusing to overwrite a key (move it away or choose --out)",
            out.display()
        );
    }
    let key = generate_key(algorithm, &args.selector, domain)?;
    write_key_file(&out, &key.pem)?;
    let prefix = match algorithm {
        DkimAlgorithm::Rsa => "rsa",
        DkimAlgorithm::Ed25519 => "ed25519",
    };
    let absolute = std::path::absolute(&out).unwrap_or(out.clone());
    println!(
        "wrote the {algorithm} private key to {} (mode 0600)",
        out.display()
    );
    println!();
    println!("1. Publish this DNS TXT record:");
    println!("   name:  {}", key.record.name);
    println!("   value: {}", key.record.value);
    println!("   zone file:");
    println!("   {}", key.record.zone_line());
    println!();
    println!("2. Then add to the configuration (or set the environment variables):");
    println!("   [delivery.dkim]");
    if args.domain.is_some() || config.delivery.dkim.domain.is_some() {
        println!("   domain = \"{domain}\"");
    }
    println!("   {prefix}_selector = \"{}\"", args.selector);
    println!("   {prefix}_key_file = \"{}\"", absolute.display());
    println!();
    let upper = prefix.to_ascii_uppercase();
    if args.domain.is_some() || config.delivery.dkim.domain.is_some() {
        println!("   VERTEILER_DELIVERY__DKIM__DOMAIN={domain}");
    }
    println!(
        "   VERTEILER_DELIVERY__DKIM__{upper}_SELECTOR={}",
        args.selector
    );
    println!(
        "   VERTEILER_DELIVERY__DKIM__{upper}_KEY_FILE={}",
        absolute.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Selector and file name of the key the demo makes for itself.
const DEMO_SELECTOR: &str = "verteiler-demo";
const DEMO_KEY_FILE: &str = "dkim/verteiler-demo-ed25519.pem";

/// The signer for `serve`, its keys announced with their DNS records on stdout. Without keys
/// copies go out unsigned (and a warning says so).
pub fn signer(loaded: &LoadedConfig, demo: bool) -> anyhow::Result<Option<Arc<DkimSigner>>> {
    let Some(signer) = load_signer(loaded, demo)? else {
        tracing::warn!(
            event = "delivery.unsigned",
            "no DKIM key configured (delivery.dkim): copies go out unsigned"
        );
        return Ok(None);
    };
    for (algorithm, selector, record) in signer.records() {
        println!(
            "verteiler: DKIM signing with the {algorithm} key {selector} (d={}); DNS: {}",
            signer.domain(),
            txt_line(record)
        );
    }
    Ok(Some(Arc::new(signer)))
}

/// Every configured key read from its file, each failure naming its config key and file;
/// `serve` calls it at start and on SIGHUP. Without keys, `None`, except in the demo, which
/// makes an Ed25519 key once next to its outbox and reuses it on later starts (unless
/// `delivery.dkim.demo_key = false`).
pub fn load_signer(loaded: &LoadedConfig, demo: bool) -> anyhow::Result<Option<DkimSigner>> {
    let config = &loaded.config;
    let dkim = &config.delivery.dkim;
    let domain = signing_domain(config);
    let mut signer = DkimSigner::new(domain).with_context(|| {
        format!(
            "delivery.dkim.domain ({})",
            loaded.origin("delivery.dkim.domain")
        )
    })?;
    let configured = [
        (
            DkimAlgorithm::Rsa,
            &dkim.rsa_selector,
            &dkim.rsa_key_file,
            "delivery.dkim.rsa_key_file",
        ),
        (
            DkimAlgorithm::Ed25519,
            &dkim.ed25519_selector,
            &dkim.ed25519_key_file,
            "delivery.dkim.ed25519_key_file",
        ),
    ];
    for (algorithm, selector, path, key) in configured {
        // The config validation already required a selector with every key file.
        if let (Some(selector), Some(path)) = (selector, path) {
            signer
                .add_key_file(&KeyFile {
                    algorithm,
                    selector: selector.clone(),
                    path: path.clone(),
                })
                .with_context(|| format!("loading the DKIM key {key} ({})", loaded.origin(key)))?;
        }
    }
    if signer.is_empty() {
        if !(demo && dkim.demo_key) {
            return Ok(None);
        }
        let data_dir = config
            .delivery
            .outbox_dir
            .parent()
            .unwrap_or(Path::new("."));
        let path = data_dir.join(DEMO_KEY_FILE);
        ensure_demo_key(&path, domain)?;
        signer
            .add_key_file(&KeyFile {
                algorithm: DkimAlgorithm::Ed25519,
                selector: DEMO_SELECTOR.into(),
                path: path.clone(),
            })
            .with_context(|| format!("loading the demo DKIM key {}", path.display()))?;
    }
    Ok(Some(signer))
}

fn txt_line(record: &DnsRecord) -> String {
    format!("{} TXT \"{}\"", record.name, record.value)
}

/// Makes the demo key unless it exists (a key from an earlier start is kept, so copies from
/// both starts verify against the same record).
fn ensure_demo_key(path: &Path, domain: &str) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory {}", dir.display()))?;
    }
    let key = generate_key(DkimAlgorithm::Ed25519, DEMO_SELECTOR, domain)?;
    write_key_file(path, &key.pem)?;
    Ok(())
}
