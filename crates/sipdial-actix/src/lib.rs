//! sipdial-actix (placeholder, being written).
