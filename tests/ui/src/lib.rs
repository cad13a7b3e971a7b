//! trybuild checks live in tests/.
