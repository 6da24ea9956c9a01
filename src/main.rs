use clap::Parser;
use std::process::ExitCode;
use verteiler::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    pin_malloc_mmap_threshold();
    let cli = Cli::parse();
    if !matches!(cli.command, verteiler::cli::Command::Serve(_)) {
        restore_default_sigpipe();
    }
    verteiler::init_tracing(cli.log_json);
    match verteiler::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            // One line per cause, outermost first: what failed, then why.
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Lets `verteiler audience list | head` end quietly, as every Unix tool does, instead of
/// failing on a closed pipe. Not for `serve`: there a peer closing its socket must never end
/// the process, and Rust's default (SIGPIPE ignored) is right.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread is spawned; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Keeps glibc from raising its mmap threshold after the first large free. Each argon2 check
/// allocates 19 MiB; with the dynamic threshold those blocks move into per-thread heaps and
/// stay there, one per blocking thread that ever checked a password (280 MB after twenty
/// clients logged in). With a fixed threshold they are mapped and returned to the system.
fn pin_malloc_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread is spawned.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
