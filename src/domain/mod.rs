//! Pure rules with no I/O.

pub mod contact;
