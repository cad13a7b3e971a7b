//! sipdial-opentok (placeholder, being written).
