//! `verteiler held release`: an organisation admin releases sends the circuit breaker holds,
//! one or all, through the store's operation (the same one the admin page calls).

use super::held::actor;
use std::process::ExitCode;
use verteiler_policies::{format_count, Lang};
use verteiler_store::{ApprovalSettings, BreakerRelease, Store};

pub async fn release(
    store: &Store,
    settings: &ApprovalSettings,
    send_id: Option<i64>,
    admin: &str,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let admin = match actor(store, admin).await? {
        Ok(a) => a,
        Err(e) => return refused(&e),
    };
    if !store.is_admin(admin.member_id).await? {
        return refused(&format!(
            "{} is not an admin of the organisation: only an admin releases what the circuit breaker holds",
            admin.label
        ));
    }
    let outcomes = match send_id {
        Some(id) => vec![(id, store.release_breaker_hold(id, &admin, settings).await?)],
        None => store.release_all_breaker_holds(&admin, settings).await?,
    };
    if outcomes.is_empty() {
        println!("no send is held by the circuit breaker");
    }
    let mut all_done = true;
    for (id, outcome) in outcomes {
        let (ok, line) = describe(id, outcome, lang);
        all_done &= ok;
        if ok {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }
    Ok(if all_done {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether the outcome is what releasing asked for, and the line that says it.
fn describe(id: i64, outcome: BreakerRelease, lang: Lang) -> (bool, String) {
    let texts = |reasons: &[verteiler_policies::Reason]| {
        reasons
            .iter()
            .map(|r| format!("\n  {}", r.text(lang)))
            .collect::<String>()
    };
    match outcome {
        BreakerRelease::Released {
            release_at,
            recipients,
        } => (
            true,
            format!(
                "send {id} released: {} recipients; delivery starts {} (cancel before: verteiler send cancel {id})",
                format_count(recipients, lang),
                super::audit::utc(release_at)
            ),
        ),
        BreakerRelease::StillHeld {
            approvals_needed,
            reasons,
        } => (
            true,
            format!(
                "send {id}: circuit breaker lifted; it still waits for {approvals_needed} approval(s), and its approvers are asked:{}",
                texts(&reasons)
            ),
        ),
        BreakerRelease::Rejected { reasons } => (
            false,
            format!(
                "send {id}: decided again, it is refused now and the sender is told:{}",
                texts(&reasons)
            ),
        ),
        BreakerRelease::NotAdmin => (
            false,
            format!("send {id}: only an admin of the organisation may release it"),
        ),
        BreakerRelease::NotBreakerHold => (
            false,
            format!("send {id} is not held by the circuit breaker: it waits for its approvers (`verteiler held show {id}`)"),
        ),
        BreakerRelease::NotHeld { state } => (
            false,
            format!("send {id} is not held (it is {state}); nothing was released"),
        ),
        BreakerRelease::NotFound => (false, format!("no send has the id {id}")),
        BreakerRelease::Undecidable => (
            false,
            format!("send {id} has no stored message figures to decide again with; it cannot be released, only sent again"),
        ),
    }
}

fn refused(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::FAILURE)
}
