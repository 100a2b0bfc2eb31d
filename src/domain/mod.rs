//! Pure rules with no I/O.

pub mod activity;
pub mod bank;
pub mod contact;
pub mod custom;
pub mod formula;
pub mod money;
pub mod opportunity;
pub mod pipeline;
pub mod quota;
pub mod quote;
pub mod rate;
mod text_enum;
pub mod violation;

pub(crate) use text_enum::text_enum;
pub use violation::Violation;
