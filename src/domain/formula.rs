//! Per-funnel metric formulas.
//!
//! A formula is an expression over the numbers of a deal — `target_value`, `probability`, `weighted_value`,
//! `line_count`, `quantity`, `days_open`, `days_since_contact`, and `custom.<key>`, the value of an opportunity
//! custom field of type number or money (0 where the opportunity has none, as `quantity` is 0 without lines) — with `+ - * /`, parentheses, comparisons
//! (`> < >= <= = <> !=`), `and`, `or`, `not`, and the functions `min(a, b, …)`, `max(a, b, …)`, `round(x)`,
//! `round(x, digits)` and `if(condition, a, b)`.
//!
//! Parsing is done by `sqlparser` (generic SQL dialect, one expression); this module then allows only the small
//! subset above, checks that every node is a number or a condition where it has to be, and evaluates the tree
//! with exact decimals. Every rejection carries the 1-based line and column of what is wrong.

mod check;
mod eval;
mod parts;

use check::{Checker, Kind};
use eval::number;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};
use sqlparser::ast::Expr;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

/// The inputs of a formula, all exact decimals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub target_value: Decimal,
    pub probability: Decimal,
    pub weighted_value: Decimal,
    pub line_count: Decimal,
    pub quantity: Decimal,
    pub days_open: Decimal,
    pub days_since_contact: Decimal,
    /// The number and money custom values by key (`custom.<key>`); a key that is not here reads as 0.
    pub custom: BTreeMap<String, Decimal>,
}

impl Inputs {
    /// These inputs with the custom values `custom`.
    pub fn with_custom(self, custom: BTreeMap<String, Decimal>) -> Self {
        Self { custom, ..self }
    }

    /// The value of custom variable `custom.<key>`: 0 when the opportunity has no value.
    fn custom(&self, key: &str) -> Decimal {
        self.custom.get(key).copied().unwrap_or(Decimal::ZERO)
    }

    /// The value of a variable given by its lowercase name.
    fn get(&self, name: &str) -> Option<Decimal> {
        match name {
            "target_value" => Some(self.target_value),
            "probability" => Some(self.probability),
            "weighted_value" => Some(self.weighted_value),
            "line_count" => Some(self.line_count),
            "quantity" => Some(self.quantity),
            "days_open" => Some(self.days_open),
            "days_since_contact" => Some(self.days_since_contact),
            _ => None,
        }
    }
}

/// The variable names a formula may use (for documentation/OpenAPI).
pub const VARIABLES: [&str; 7] = [
    "target_value",
    "probability",
    "weighted_value",
    "line_count",
    "quantity",
    "days_open",
    "days_since_contact",
];

/// The functions: min, max, round, if.
pub const FUNCTIONS: [&str; 4] = ["min", "max", "round", "if"];

/// The longest formula accepted, in characters.
pub const MAX_LENGTH: usize = 1000;

/// The largest number of digits `round(x, digits)` accepts.
const MAX_ROUND_DIGITS: u32 = 10;

/// The number of decimals of every result.
const RESULT_DECIMALS: u32 = 2;

/// A checked formula.
///
/// Cloning is cheap (the parsed tree is shared and never changes), and `Debug` shows the source text only.
#[derive(Clone)]
pub struct Formula {
    /// The text as it was given.
    source: String,
    /// The parsed expression; checked by [`Formula::parse`], with variable and function names in lowercase.
    expr: Arc<Expr>,
    /// The `custom.<key>` variables it names, in source order.
    custom: Arc<[CustomVariable]>,
}

/// A `custom.<key>` variable of a formula and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomVariable {
    /// The custom field's key.
    pub key: String,
    pub line: u64,
    pub column: u64,
}

/// What a custom field is to a formula that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomKind {
    /// A number or money field: a variable.
    Number,
    /// A field of another type.
    Other,
}

impl fmt::Debug for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Formula")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why a formula was rejected: a message and the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct FormulaError {
    pub message: String,
    pub line: u64,
    pub column: u64,
}

impl FormulaError {
    fn at(location: Location, message: impl Into<String>) -> Self {
        FormulaError {
            message: message.into(),
            line: location.line,
            column: location.column,
        }
    }
}

impl Formula {
    /// Parses and type-checks; every rejection names its position.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        if text.trim().is_empty() {
            return Err(FormulaError::at(Location::new(1, 1), "the formula is empty"));
        }
        if let Some((index, _)) = text.char_indices().nth(MAX_LENGTH) {
            return Err(FormulaError::at(
                end_of(&text[..index]),
                format!("the formula is longer than {MAX_LENGTH} characters"),
            ));
        }
        let dialect = GenericDialect {};
        let mut parser = Parser::new(&dialect)
            .try_with_sql(text)
            .map_err(|e| parser_error(text, &e))?;
        let mut expr = parser.parse_expr().map_err(|e| parser_error(text, &e))?;
        let next = parser.peek_token_ref();
        if next.token != Token::EOF {
            let at = if next.span.start.line > 0 {
                next.span.start
            } else {
                end_of(text)
            };
            return Err(FormulaError::at(at, format!("unexpected {}", next.token)));
        }
        let checker = Checker::new(text);
        let kind = checker.check(&mut expr, Location::new(1, 1))?;
        if kind != Kind::Number {
            return Err(FormulaError::at(
                checker.first_at(Location::new(1, 1)),
                format!("the formula must give a number, not {}", kind.describe()),
            ));
        }
        Ok(Formula {
            source: text.to_owned(),
            expr: Arc::new(expr),
            custom: checker.custom_variables().into(),
        })
    }

    /// The `custom.<key>` variables the formula names, in source order.
    pub fn custom_variables(&self) -> &[CustomVariable] {
        &self.custom
    }

    /// Checks the `custom.<key>` variables against the opportunity custom fields: `field(key)`
    /// tells what the field of that key is, `None` when there is none. The first variable that
    /// names no field or a field that is no number or money is the error, at its position.
    pub fn check_custom(&self, field: impl Fn(&str) -> Option<CustomKind>) -> Result<(), FormulaError> {
        for variable in self.custom.iter() {
            let problem = match field(&variable.key) {
                Some(CustomKind::Number) => continue,
                Some(CustomKind::Other) => "is no number or money field: only those are formula variables",
                None => "names no opportunity custom field",
            };
            return Err(FormulaError {
                message: format!("custom.{} {problem}", variable.key),
                line: variable.line,
                column: variable.column,
            });
        }
        Ok(())
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with exact decimals; the result is rounded once, half away from zero, to 2 decimals.
    /// `None` when the result is undefined (division by zero, overflow).
    ///
    /// `if`, `and` and `or` evaluate only what they need, so `if(quantity > 0, target_value / quantity, 0)` is
    /// defined when `quantity` is zero.
    pub fn evaluate(&self, inputs: &Inputs) -> Option<Decimal> {
        let value = number(&self.expr, inputs)?;
        let mut rounded = value.round_dp_with_strategy(RESULT_DECIMALS, RoundingStrategy::MidpointAwayFromZero);
        if rounded.is_zero() {
            rounded.set_sign_positive(true);
        }
        // Always show 2 decimals (`5000.00`), as far as a Decimal's 28 to 29 digits leave room for them.
        if rounded.scale() < RESULT_DECIMALS {
            rounded.rescale(RESULT_DECIMALS);
        }
        Some(rounded)
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The position just after the last character of `text`.
fn end_of(text: &str) -> Location {
    let mut location = Location::new(1, 1);
    for c in text.chars() {
        if c == '\n' {
            location.line += 1;
            location.column = 1;
        } else {
            location.column += 1;
        }
    }
    location
}

/// Turns a sqlparser error ("sql parser error: MESSAGE at Line: L, Column: C") into a [`FormulaError`].
fn parser_error(text: &str, error: &ParserError) -> FormulaError {
    let full = match error {
        ParserError::RecursionLimitExceeded => {
            return FormulaError::at(end_of(text), "the formula is nested too deeply");
        }
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => message.as_str(),
    };
    let full = full.strip_prefix("sql parser error: ").unwrap_or(full);
    if let Some((message, position)) = full.rsplit_once(" at Line: ")
        && let Some((line, column)) = position.split_once(", Column: ")
        && let (Ok(line), Ok(column)) = (line.trim().parse::<u64>(), column.trim().parse::<u64>())
        && line > 0
        && column > 0
    {
        return FormulaError::at(Location::new(line, column), message);
    }
    FormulaError::at(end_of(text), full)
}

#[cfg(test)]
mod tests;
