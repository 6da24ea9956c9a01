//! `/directory`: the membership database's side of the API. It pushes its unit and member
//! exports ([`sync`]: the CLI's and admin page's importer, the same checks and sync safety)
//! and reads back what members changed themselves ([`changes`]). Both need the scope
//! `directory:sync` and an owner who is an organisation admin at the time of the request.

mod body;
mod changes;
mod report;
mod sync;

use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<crate::AppState> {
    OpenApiRouter::new()
        .routes(routes!(sync::put_units))
        .routes(routes!(sync::put_members))
        .routes(routes!(changes::changes))
}
