//! Evaluating a checked formula with exact decimals; `None` where the result is undefined (a
//! division by zero).

use super::Inputs;
use super::parts::{literal, plain_args, round_digits};
use rust_decimal::{Decimal, RoundingStrategy};
use sqlparser::ast::{BinaryOperator, Expr, Function, ObjectNamePart, UnaryOperator, Value};

/// Evaluates a checked numeric expression; `None` when it is undefined.
///
/// A chain such as `a + b - c * d` is a left-deep tree: its left edge is walked in a loop, so that long chains need
/// no deep recursion.
pub(super) fn number(expr: &Expr, inputs: &Inputs) -> Option<Decimal> {
    let mut rights = Vec::new();
    let mut node = expr;
    while let Expr::BinaryOp { left, op, right } = node {
        rights.push((op, right));
        node = left;
    }
    let mut value = operand(node, inputs)?;
    for (op, right) in rights.into_iter().rev() {
        let right = number(right, inputs)?;
        value = match op {
            BinaryOperator::Plus => value.checked_add(right),
            BinaryOperator::Minus => value.checked_sub(right),
            BinaryOperator::Multiply => value.checked_mul(right),
            BinaryOperator::Divide => value.checked_div(right),
            _ => None,
        }?;
    }
    Some(value)
}

/// Evaluates a checked numeric expression that is not a binary operation.
fn operand(expr: &Expr, inputs: &Inputs) -> Option<Decimal> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Number(digits, false) => literal(digits),
            _ => None,
        },
        Expr::Identifier(ident) => inputs.get(&ident.value),
        Expr::CompoundIdentifier(idents) => idents.get(1).map(|key| inputs.custom(&key.value)),
        Expr::Nested(inner) => number(inner, inputs),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => number(expr, inputs),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => number(expr, inputs).map(|x| -x),
        Expr::Function(function) => call(function, inputs),
        _ => None,
    }
}

/// Evaluates a checked call of one of the [`FUNCTIONS`].
fn call(function: &Function, inputs: &Inputs) -> Option<Decimal> {
    let [ObjectNamePart::Identifier(name)] = function.name.0.as_slice() else {
        return None;
    };
    let args = plain_args(function)?;
    match (name.value.as_str(), args.as_slice()) {
        ("min", [first, rest @ ..]) => rest
            .iter()
            .try_fold(number(first, inputs)?, |acc, arg| Some(acc.min(number(arg, inputs)?))),
        ("max", [first, rest @ ..]) => rest
            .iter()
            .try_fold(number(first, inputs)?, |acc, arg| Some(acc.max(number(arg, inputs)?))),
        ("round", [x]) => Some(number(x, inputs)?.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)),
        ("round", [x, digits]) => {
            let digits = round_digits(digits)?;
            Some(number(x, inputs)?.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero))
        }
        ("if", [c, then, otherwise]) => {
            if condition(c, inputs)? {
                number(then, inputs)
            } else {
                number(otherwise, inputs)
            }
        }
        _ => None,
    }
}

/// Evaluates a checked condition; `None` when it is undefined. `and` and `or` evaluate their right side only when
/// it decides the result; a chain of them is walked in a loop, like [`number`] does.
fn condition(expr: &Expr, inputs: &Inputs) -> Option<bool> {
    let mut rights = Vec::new();
    let mut node = expr;
    while let Expr::BinaryOp {
        left,
        op: op @ (BinaryOperator::And | BinaryOperator::Or),
        right,
    } = node
    {
        rights.push((op, right));
        node = left;
    }
    let mut value = comparison(node, inputs)?;
    for (op, right) in rights.into_iter().rev() {
        let decided = match op {
            BinaryOperator::And => !value,
            _ => value,
        };
        if !decided {
            value = condition(right, inputs)?;
        }
    }
    Some(value)
}

/// Evaluates a checked condition that is not `and` or `or`.
fn comparison(expr: &Expr, inputs: &Inputs) -> Option<bool> {
    match expr {
        Expr::Nested(inner) => condition(inner, inputs),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => condition(expr, inputs).map(|c| !c),
        Expr::BinaryOp { left, op, right } => {
            let (a, b) = (number(left, inputs)?, number(right, inputs)?);
            match op {
                BinaryOperator::Gt => Some(a > b),
                BinaryOperator::Lt => Some(a < b),
                BinaryOperator::GtEq => Some(a >= b),
                BinaryOperator::LtEq => Some(a <= b),
                BinaryOperator::Eq => Some(a == b),
                BinaryOperator::NotEq => Some(a != b),
                _ => None,
            }
        }
        _ => None,
    }
}
