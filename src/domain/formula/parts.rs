//! Small readings of parsed nodes that checking and evaluating share: literals, the digits of
//! `round`, the plain arguments of a call.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value};

use super::MAX_ROUND_DIGITS;

/// A numeric literal as a decimal; `None` when it is out of range.
pub(super) fn literal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// The digits of `round(x, digits)`: an integer literal from 0 to [`MAX_ROUND_DIGITS`].
pub(super) fn round_digits(expr: &Expr) -> Option<u32> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Number(digits, false) if digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse::<u32>().ok().filter(|d| *d <= MAX_ROUND_DIGITS)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The plain arguments of a function call, as checked by [`Checker::function`].
pub(super) fn plain_args(function: &Function) -> Option<Vec<&Expr>> {
    match &function.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}
