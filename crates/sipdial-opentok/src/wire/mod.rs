//! What goes over the wire (docs/platform-api.md §2, §4, §5): each operation planned as
//! a request (method, path, body) and each answer parsed into core types.
//!
//! Planning is pure, so the exact bodies the platform receives are testable without a
//! server, and the transport never needs to know what an operation means. The request
//! shape the transport sends is in `request`, the plan of each operation in `plan`,
//! and the reading of the platform's answers in `answer`.

mod answer;
mod plan;
mod request;

pub(crate) use answer::{parse_call, parse_connections, parse_session, parse_streams};
pub(crate) use plan::{
    check_location, create_session, dial, dial_path, force_mute, hang_up, list_connections,
    list_streams, play_dtmf,
};
pub(crate) use request::{Body, Operation, Planned};
