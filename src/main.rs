use clap::Parser;
use std::process::ExitCode;
use verteiler::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
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
