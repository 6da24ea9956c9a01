//! What a transport answers for one message. Its own module because the transport choice
//! (`transport`) and the transports themselves (`relay`, `mx`, `smtp_failure`) all name it:
//! with it here they depend on it, not on each other.

/// The result of handing one message to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Worth another attempt later (4xx, connection or disk trouble).
    Temporary(String),
    /// Will never work (5xx): the delivery fails at once.
    Permanent(String),
}
