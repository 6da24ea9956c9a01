//! Texts: the monthly budgets, delivery receipts and STOP replies.

pub(crate) mod budgets;
pub(crate) mod opt_out;
pub(crate) mod receipts;
