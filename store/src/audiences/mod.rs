//! Lists as the engine sees them: their definitions and policies, who they reach (resolution in
//! batches, who may send to which), leaving by link, and the usual size a send is compared with.

pub(crate) mod definitions;
pub(crate) mod policy_change;
pub(crate) mod resolve;
mod resolve_direct;
pub(crate) mod sendable;
pub(crate) mod unsubscribe;
pub(crate) mod usual_size;
