//! Room names: the host-facing handle for "the session of this meeting".

use crate::ValidationError;
use crate::macros::validated_string;

/// Longest room name.
pub const MAX_ROOM_LEN: usize = 64;

fn check_room(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || value.len() > MAX_ROOM_LEN {
        return Err(ValidationError::new(
            "room",
            format!("must be 1 to {MAX_ROOM_LEN} characters"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ValidationError::new(
            "room",
            "may only contain ASCII letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(())
}

validated_string!(
    /// A room name (1 to 64 of `[A-Za-z0-9_.-]`): each room maps to one routed session.
    Room,
    check_room
);

impl Default for Room {
    fn default() -> Self {
        Room("default".to_owned())
    }
}
