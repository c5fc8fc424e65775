//! nestedvm-jit
