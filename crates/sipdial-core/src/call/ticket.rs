//! The ticket of an admitted dial: the limits hand it out, the store records it with
//! the call and the engine releases it, so it lives below all three.

/// An admitted dial's slot, named so that it can be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTicket(pub String);
