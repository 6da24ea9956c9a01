//! SMTP submission and delivery workers.
//!
//! Empty at the foundation stage: the SMTP gateway issue adds `smtp/`, the delivery issue adds
//! `queue/` and `outbound/`. It depends on `store` and `policies`, never on `portal`.
