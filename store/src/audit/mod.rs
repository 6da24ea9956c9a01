//! The hash-chained audit log, searching it, the story of one send ("who sent this, who
//! approved it, to how many"), and the copy ids that tie a delivered copy back to its send.

pub(crate) mod log;
pub(crate) mod provenance;
pub(crate) mod search;
pub(crate) mod who_sent;
