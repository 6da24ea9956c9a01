//! From a released send to messages on the wire: one personal copy per recipient.

pub mod copy;
