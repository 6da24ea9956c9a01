//! Personal data kept no longer than needed: the key that fingerprints addresses in the log,
//! retention and purging, and what is kept of refused messages.

pub(crate) mod key;
pub(crate) mod raw_kept;
pub(crate) mod retention;
