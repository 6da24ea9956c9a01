//! The postal list of a send: the members it reaches by letter, and who may download it.

pub(crate) mod access;
pub(crate) mod list;
