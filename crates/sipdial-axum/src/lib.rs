//! sipdial-axum (placeholder, being written).
