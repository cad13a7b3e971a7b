//! sipdial-testing (placeholder, being written).
