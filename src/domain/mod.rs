//! Pure rules with no I/O.

pub mod contact;
pub mod formula;
pub mod money;
pub mod opportunity;
pub mod pipeline;
pub mod quote;
