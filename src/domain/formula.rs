//! Per-funnel metric formulas.
//!
//! A formula is an expression over the numbers of a deal — `target_value`, `probability`, `weighted_value`,
//! `line_count`, `quantity`, `days_open`, `days_since_contact` — with `+ - * /`, parentheses, comparisons
//! (`> < >= <= = <> !=`), `and`, `or`, `not`, and the functions `min(a, b, …)`, `max(a, b, …)`, `round(x)`,
//! `round(x, digits)` and `if(condition, a, b)`.
//!
//! Parsing is done by `sqlparser` (generic SQL dialect, one expression); this module then allows only the small
//! subset above, checks that every node is a number or a condition where it has to be, and evaluates the tree
//! with exact decimals. Every rejection carries the 1-based line and column of what is wrong.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};
use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectNamePart, Spanned,
    UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, Tokenizer};

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
}

impl Inputs {
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
        })
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

/// `location`, or the start of the text when sqlparser has no position (an empty span).
fn known(location: Location) -> Location {
    if location.line > 0 {
        location
    } else {
        Location::new(1, 1)
    }
}

/// A numeric literal as a decimal; `None` when it is out of range.
fn literal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// What a node gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Condition,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Condition => "a comparison",
        }
    }
}

/// What a binary operator takes and gives.
fn binary_kinds(op: &BinaryOperator) -> Option<(Kind, Kind)> {
    match op {
        BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply | BinaryOperator::Divide => {
            Some((Kind::Number, Kind::Number))
        }
        BinaryOperator::Gt
        | BinaryOperator::Lt
        | BinaryOperator::GtEq
        | BinaryOperator::LtEq
        | BinaryOperator::Eq
        | BinaryOperator::NotEq => Some((Kind::Number, Kind::Condition)),
        BinaryOperator::And | BinaryOperator::Or => Some((Kind::Condition, Kind::Condition)),
        _ => None,
    }
}

/// Shortens a piece of source for a message.
fn excerpt(text: String) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text,
    }
}

/// Checks a parsed expression against the formula language and finds the positions of its errors.
///
/// Positions come from the leaves' spans and from the source's tokens: each node is checked together with `from`, a
/// position at or before its first token and after every token of what precedes it, so that the node starts at the
/// first token at or after `from`. sqlparser's `Spanned::span()` is not used on compound nodes: it recurses through
/// the whole subtree, and a 1000-character chain such as `1+1+…+1` is deep enough to overflow a small stack.
struct Checker {
    /// The source's tokens, without whitespace and comments, with where they start.
    tokens: Vec<(Token, Location)>,
}

impl Checker {
    fn new(text: &str) -> Self {
        let dialect = GenericDialect {};
        let tokens = Tokenizer::new(&dialect, text)
            .tokenize_with_location()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| (t.token, t.span.start))
            .collect();
        Checker { tokens }
    }

    /// The tokens that start at or after `from` (the tokens are in source order).
    fn tokens_from(&self, from: Location) -> &[(Token, Location)] {
        let first = self.tokens.partition_point(|(_, at)| *at < from);
        self.tokens.get(first..).unwrap_or_default()
    }

    /// The start of the first token at or after `from` (`from` itself if there is none).
    fn first_at(&self, from: Location) -> Location {
        self.tokens_from(from).first().map_or(from, |(_, at)| *at)
    }

    /// The start of the first token after the one that starts at `at` (`at` itself if there is none).
    fn next_after(&self, at: Location) -> Location {
        self.tokens_from(at)
            .iter()
            .map(|(_, start)| *start)
            .find(|start| *start > at)
            .unwrap_or(at)
    }

    /// The start of the first token at or after `end` that is not a closing parenthesis: the operator or comma that
    /// follows an operand ending at `end` (sqlparser's ends leave out closing parentheses).
    fn separator_after(&self, end: Location) -> Location {
        self.tokens_from(end)
            .iter()
            .find(|(token, _)| *token != Token::RParen)
            .map_or(end, |(_, at)| *at)
    }

    /// Checks `expr`, which starts at the first token at or after `from`, lowercases its names, and tells what it
    /// gives.
    fn check(&self, expr: &mut Expr, from: Location) -> Result<Kind, FormulaError> {
        let start = self.first_at(from);
        match expr {
            Expr::Value(value) => match &value.value {
                Value::Number(digits, false) => match literal(digits) {
                    Some(_) => Ok(Kind::Number),
                    None => Err(FormulaError::at(
                        value.span.start,
                        format!("the number {digits} is out of range"),
                    )),
                },
                Value::SingleQuotedString(_)
                | Value::DoubleQuotedString(_)
                | Value::NationalStringLiteral(_)
                | Value::EscapedStringLiteral(_)
                | Value::UnicodeStringLiteral(_)
                | Value::DollarQuotedString(_) => Err(FormulaError::at(
                    value.span.start,
                    format!(
                        "text {} is not allowed: a formula works on numbers",
                        excerpt(value.value.to_string())
                    ),
                )),
                Value::Boolean(_) => Err(FormulaError::at(
                    value.span.start,
                    format!("{} is not allowed: write a comparison", value.value),
                )),
                other => Err(FormulaError::at(
                    value.span.start,
                    format!("the value {} is not allowed", excerpt(other.to_string())),
                )),
            },
            Expr::Identifier(ident) => {
                variable(ident)?;
                Ok(Kind::Number)
            }
            Expr::CompoundIdentifier(idents) => {
                let name = idents.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(".");
                Err(FormulaError::at(
                    start,
                    format!(
                        "the name {} is not allowed; the variables are {}",
                        excerpt(name),
                        VARIABLES.join(", ")
                    ),
                ))
            }
            Expr::Nested(inner) => self.check(inner, self.next_after(start)),
            Expr::UnaryOp { op, expr: operand } => {
                let (takes, gives) = match op {
                    UnaryOperator::Plus | UnaryOperator::Minus => (Kind::Number, Kind::Number),
                    UnaryOperator::Not => (Kind::Condition, Kind::Condition),
                    other => return Err(FormulaError::at(start, format!("the operator {other} is not allowed"))),
                };
                self.expect(operand, self.next_after(start), takes)?;
                Ok(gives)
            }
            Expr::BinaryOp { .. } => self.chain(expr, start),
            Expr::Function(function) => self.function(function, start),
            Expr::Case { .. } => Err(FormulaError::at(start, "CASE is not allowed; use if(condition, a, b)")),
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                Err(FormulaError::at(start, "subqueries are not allowed"))
            }
            other => Err(FormulaError::at(
                start,
                match construct(other) {
                    Some((name, hint)) => format!("{name} is not allowed in a formula{hint}"),
                    None => format!("{} is not allowed in a formula", excerpt(other.to_string())),
                },
            )),
        }
    }

    /// Checks `expr`, which starts at the first token at or after `from`, and requires it to give `kind`.
    fn expect(&self, expr: &mut Expr, from: Location, kind: Kind) -> Result<(), FormulaError> {
        let got = self.check(expr, from)?;
        if got == kind {
            Ok(())
        } else {
            Err(FormulaError::at(
                self.first_at(from),
                format!("expected {}, found {}", kind.describe(), got.describe()),
            ))
        }
    }

    /// Checks a chain of binary operations such as `a + b - c`, which starts at `start`. The chain is a left-deep
    /// tree; its left edge is walked in a loop, so that long chains need no deep recursion.
    fn chain(&self, expr: &mut Expr, start: Location) -> Result<Kind, FormulaError> {
        let mut rights = Vec::new();
        let mut node = expr;
        while let Expr::BinaryOp { left, op, right } = node {
            rights.push((&*op, &mut **right));
            node = left;
        }
        let mut kind = self.check(node, start)?;
        let mut end = end(node);
        for (op, right) in rights.into_iter().rev() {
            let at = self.separator_after(end);
            let Some((takes, gives)) = binary_kinds(op) else {
                return Err(FormulaError::at(
                    at,
                    format!("the operator {op} is not allowed; use + - * /, comparisons, and, or"),
                ));
            };
            if kind != takes {
                return Err(FormulaError::at(
                    start,
                    format!("expected {}, found {}", takes.describe(), kind.describe()),
                ));
            }
            self.expect(right, self.next_after(at), takes)?;
            end = self::end(right);
            kind = gives;
        }
        Ok(kind)
    }

    /// Checks a call of one of the [`FUNCTIONS`], which starts at `start`, and lowercases its name.
    fn function(&self, function: &mut Function, start: Location) -> Result<Kind, FormulaError> {
        let ident = match function.name.0.as_mut_slice() {
            [ObjectNamePart::Identifier(ident)] if ident.quote_style.is_none() => ident,
            _ => {
                return Err(FormulaError::at(
                    start,
                    format!(
                        "unknown function {}; the functions are {}",
                        excerpt(function.name.to_string()),
                        FUNCTIONS.join(", ")
                    ),
                ));
            }
        };
        let at = known(ident.span.start);
        let name = ident.value.to_ascii_lowercase();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(FormulaError::at(
                at,
                format!(
                    "unknown function {}; the functions are {}",
                    excerpt(ident.value.clone()),
                    FUNCTIONS.join(", ")
                ),
            ));
        }
        ident.value.clone_from(&name);
        let extra = if function.uses_odbc_syntax {
            Some("the {fn …} syntax")
        } else if !matches!(function.parameters, FunctionArguments::None) {
            Some("a second argument list")
        } else if function.filter.is_some() {
            Some("FILTER")
        } else if function.null_treatment.is_some() {
            Some("IGNORE/RESPECT NULLS")
        } else if function.over.is_some() {
            Some("OVER")
        } else if !function.within_group.is_empty() {
            Some("WITHIN GROUP")
        } else {
            None
        };
        if let Some(extra) = extra {
            return Err(FormulaError::at(
                at,
                format!("{extra} is not allowed in a call of {name}"),
            ));
        }
        let list = match &mut function.args {
            FunctionArguments::List(list) => list,
            FunctionArguments::None | FunctionArguments::Subquery(_) => {
                return Err(FormulaError::at(
                    at,
                    format!("{name} must be called with arguments in parentheses"),
                ));
            }
        };
        if list.duplicate_treatment.is_some() {
            return Err(FormulaError::at(
                at,
                format!("DISTINCT/ALL is not allowed in a call of {name}"),
            ));
        }
        if !list.clauses.is_empty() {
            return Err(FormulaError::at(
                at,
                format!("clauses such as ORDER BY are not allowed in a call of {name}"),
            ));
        }
        let mut args = Vec::with_capacity(list.args.len());
        for arg in &mut list.args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => args.push(expr),
                FunctionArg::Named { name: arg_name, .. } => {
                    return Err(FormulaError::at(
                        arg_name.span.start,
                        format!("named arguments are not allowed in a call of {name}"),
                    ));
                }
                _ => {
                    return Err(FormulaError::at(
                        at,
                        format!("only plain arguments are allowed in a call of {name}"),
                    ));
                }
            }
        }
        let count = args.len();
        let fits = match name.as_str() {
            "min" | "max" => count >= 2,
            "round" => count == 1 || count == 2,
            _ => count == 3,
        };
        if !fits {
            let wanted = match name.as_str() {
                "min" | "max" => "at least 2 arguments",
                "round" => "1 or 2 arguments: round(x) or round(x, digits)",
                _ => "3 arguments: if(condition, a, b)",
            };
            return Err(FormulaError::at(at, format!("{name} takes {wanted}, found {count}")));
        }
        // The first argument starts after the opening parenthesis, each further one after the comma that ends the one
        // before it.
        let mut from = self.next_after(self.next_after(at));
        for (index, arg) in args.into_iter().enumerate() {
            match (name.as_str(), index) {
                ("if", 0) => {
                    let kind = self.check(arg, from)?;
                    if kind != Kind::Condition {
                        return Err(FormulaError::at(
                            self.first_at(from),
                            format!("the condition of if must be a comparison, not {}", kind.describe()),
                        ));
                    }
                }
                ("round", 1) => {
                    if round_digits(arg).is_none() {
                        return Err(FormulaError::at(
                            self.first_at(from),
                            format!("the digits of round must be a whole number from 0 to {MAX_ROUND_DIGITS}"),
                        ));
                    }
                }
                _ => self.expect(arg, from, Kind::Number)?,
            }
            from = self.next_after(self.separator_after(end(arg)));
        }
        Ok(Kind::Number)
    }
}

/// The name of a construct that is not allowed and a hint, for its message (`None`: show the expression itself).
fn construct(expr: &Expr) -> Option<(&'static str, &'static str)> {
    Some(match expr {
        Expr::IsNull(_) | Expr::IsNotNull(_) => ("IS NULL", ""),
        Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_) => ("IS TRUE/FALSE/UNKNOWN", ""),
        Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..) => ("IS DISTINCT FROM", ""),
        Expr::InList { .. } | Expr::InUnnest { .. } => ("IN", "; use comparisons joined with or"),
        Expr::Between { .. } => ("BETWEEN", "; use two comparisons joined with and"),
        Expr::Like { .. } | Expr::ILike { .. } | Expr::SimilarTo { .. } | Expr::RLike { .. } => ("LIKE", ""),
        Expr::AnyOp { .. } | Expr::AllOp { .. } => ("ANY/ALL", ""),
        Expr::Cast { .. } | Expr::Convert { .. } | Expr::TypedString(_) => ("a type conversion", ""),
        Expr::Ceil { .. } | Expr::Floor { .. } => ("CEIL/FLOOR", "; use round(x) or round(x, digits)"),
        Expr::Extract { .. } | Expr::AtTimeZone { .. } | Expr::Interval(_) => ("date arithmetic", ""),
        Expr::Position { .. } | Expr::Substring { .. } | Expr::Trim { .. } | Expr::Overlay { .. } => {
            ("a text function", "")
        }
        Expr::Collate { .. } => ("COLLATE", ""),
        Expr::Tuple(_) => ("a list of values", ""),
        Expr::Array(_) => ("an array", ""),
        Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => ("*", ""),
        _ => return None,
    })
}

/// Checks that `ident` names a variable, and lowercases it.
fn variable(ident: &mut Ident) -> Result<(), FormulaError> {
    if ident.quote_style.is_some() {
        return Err(FormulaError::at(
            ident.span.start,
            format!("the quoted name {ident} is not allowed; write the variable without quotes"),
        ));
    }
    let name = ident.value.to_ascii_lowercase();
    if !VARIABLES.contains(&name.as_str()) {
        return Err(FormulaError::at(
            ident.span.start,
            format!(
                "unknown variable {}; the variables are {}",
                excerpt(ident.value.clone()),
                VARIABLES.join(", ")
            ),
        ));
    }
    ident.value = name;
    Ok(())
}

/// Where a checked expression ends (exclusive), leaving out closing parentheses; found by walking its right edge in a
/// loop.
fn end(expr: &Expr) -> Location {
    let mut expr = expr;
    loop {
        expr = match expr {
            Expr::BinaryOp { right, .. } => right,
            Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => inner,
            Expr::Function(function) => match plain_args(function).and_then(|args| args.last().copied()) {
                Some(last) => last,
                None => return known(function.name.span().end),
            },
            Expr::Value(value) => return known(value.span.end),
            Expr::Identifier(ident) => return known(ident.span.end),
            other => return known(other.span().end),
        };
    }
}

/// The digits of `round(x, digits)`: an integer literal from 0 to [`MAX_ROUND_DIGITS`].
fn round_digits(expr: &Expr) -> Option<u32> {
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
fn plain_args(function: &Function) -> Option<Vec<&Expr>> {
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

/// Evaluates a checked numeric expression; `None` when it is undefined.
///
/// A chain such as `a + b - c * d` is a left-deep tree: its left edge is walked in a loop, so that long chains need
/// no deep recursion.
fn number(expr: &Expr, inputs: &Inputs) -> Option<Decimal> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A formula's result as text (so the scale shows), or its error.
    fn eval(text: &str, inputs: &Inputs) -> Result<Option<String>, FormulaError> {
        Formula::parse(text).map(|f| f.evaluate(inputs).map(|d| d.to_string()))
    }

    fn eval0(text: &str) -> Result<Option<String>, FormulaError> {
        eval(text, &Inputs::default())
    }

    fn ok(text: &str) -> Result<Option<String>, FormulaError> {
        Ok(Some(text.to_owned()))
    }

    /// The line and column of a rejection, or `None` when the formula is accepted.
    fn position(text: &str) -> Option<(u64, u64)> {
        Formula::parse(text).err().map(|e| (e.line, e.column))
    }

    fn message(text: &str) -> String {
        Formula::parse(text).err().map(|e| e.message).unwrap_or_default()
    }

    fn deal() -> Inputs {
        Inputs {
            target_value: Decimal::new(10_000_000, 2),
            probability: Decimal::new(5, 0),
            weighted_value: Decimal::new(500_000, 2),
            line_count: Decimal::new(3, 0),
            quantity: Decimal::new(12, 0),
            days_open: Decimal::new(40, 0),
            days_since_contact: Decimal::new(7, 0),
        }
    }

    #[test]
    fn weighted_value_from_probability() {
        let formula = "target_value * probability / 100";
        assert_eq!(eval(formula, &deal()), ok("5000.00"));
        let likely = Inputs {
            probability: Decimal::new(75, 0),
            ..deal()
        };
        assert_eq!(eval(formula, &likely), ok("75000.00"));
        assert_eq!(
            Formula::parse(formula).map(|f| f.evaluate(&likely)),
            Ok(Some(Decimal::new(7_500_000, 2)))
        );
    }

    #[test]
    fn if_takes_either_branch() {
        let formula = "if(days_since_contact > 14, 0, weighted_value)";
        assert_eq!(eval(formula, &deal()), ok("5000.00"));
        let stale = Inputs {
            days_since_contact: Decimal::new(15, 0),
            ..deal()
        };
        assert_eq!(eval(formula, &stale), ok("0.00"));
        let boundary = Inputs {
            days_since_contact: Decimal::new(14, 0),
            ..deal()
        };
        assert_eq!(eval(formula, &boundary), ok("5000.00"));
    }

    #[test]
    fn if_evaluates_only_the_branch_taken() {
        let formula = "if(quantity > 0, target_value / quantity, 0)";
        let none = Inputs {
            quantity: Decimal::ZERO,
            ..deal()
        };
        assert_eq!(eval(formula, &none), ok("0.00"));
        assert_eq!(eval(formula, &deal()), ok("8333.33"));
    }

    #[test]
    fn round_with_digits_and_without() {
        assert_eq!(eval("round(target_value / 3, 2)", &deal()), ok("33333.33"));
        assert_eq!(eval("round(target_value / 3)", &deal()), ok("33333.00"));
        assert_eq!(eval("round(2.5)", &Inputs::default()), ok("3.00"));
        assert_eq!(eval("round(-2.5)", &Inputs::default()), ok("-3.00"));
        assert_eq!(eval("round(1.23456, 4)", &Inputs::default()), ok("1.23"));
        assert_eq!(eval("round(1.005, 2) * 1000", &Inputs::default()), ok("1010.00"));
        assert_eq!(eval("round(1234.5, 0)", &Inputs::default()), ok("1235.00"));
    }

    #[test]
    fn min_and_max_with_three_arguments() {
        assert_eq!(eval("min(target_value, weighted_value, 1000)", &deal()), ok("1000.00"));
        assert_eq!(
            eval("max(target_value, weighted_value, 1000)", &deal()),
            ok("100000.00")
        );
        assert_eq!(eval("min(3, -1.5, 2)", &Inputs::default()), ok("-1.50"));
        assert_eq!(eval("MAX(days_open, days_since_contact)", &deal()), ok("40.00"));
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(eval0("0.1 + 0.2"), ok("0.30"));
        assert_eq!(
            Formula::parse("0.1 + 0.2").map(|f| f.evaluate(&Inputs::default())),
            Ok(Some(Decimal::new(3, 1)))
        );
        assert_eq!(
            eval0("0.1 + 0.2 = 0.3"),
            Err(FormulaError::at(
                Location::new(1, 1),
                "the formula must give a number, not a comparison"
            ))
        );
        assert_eq!(eval0("if(0.1 + 0.2 = 0.3, 1, 0)"), ok("1.00"));
        assert_eq!(eval0("10 / 3"), ok("3.33"));
        assert_eq!(eval0("2 / 3"), ok("0.67"));
        assert_eq!(eval0("10 / 3 * 3"), ok("10.00"));
        assert_eq!(eval0("1 - 2 * 3 + 4"), ok("-1.00"));
        assert_eq!(eval0("(1 - 2) * (3 + 4)"), ok("-7.00"));
        assert_eq!(eval0("-(-2) + +3 - -1"), ok("6.00"));
        assert_eq!(eval0("1e3 + .5"), ok("1000.50"));
    }

    #[test]
    fn result_rounds_half_away_from_zero() {
        assert_eq!(eval0("0.125"), ok("0.13"));
        assert_eq!(eval0("-0.125"), ok("-0.13"));
        assert_eq!(eval0("0.135"), ok("0.14"));
        assert_eq!(eval0("0.1249999"), ok("0.12"));
        assert_eq!(eval0("7"), ok("7.00"));
        assert_eq!(eval0("-0"), ok("0.00"));
        assert_eq!(eval0("-0.004"), ok("0.00"));
        assert_eq!(eval0("-0.005"), ok("-0.01"));
        assert_eq!(eval0("1 / 3 * 3"), ok("1.00"));
    }

    #[test]
    fn undefined_results_are_none() {
        assert_eq!(eval0("1 / 0"), Ok(None));
        assert_eq!(eval("target_value / (days_open - 40)", &deal()), Ok(None));
        assert_eq!(eval0("79228162514264337593543950335 * 2"), Ok(None));
        assert_eq!(eval0("79228162514264337593543950335 + 1"), Ok(None));
        assert_eq!(eval0("min(1, 1 / 0)"), Ok(None));
        assert_eq!(eval0("if(1 / 0 > 1, 1, 2)"), Ok(None));
    }

    #[test]
    fn conditions_combine() {
        let formula = "if(days_open > 30 and not (probability >= 50) or quantity = 0, 1, 2)";
        assert_eq!(eval(formula, &deal()), ok("1.00"));
        let young = Inputs {
            days_open: Decimal::new(3, 0),
            ..deal()
        };
        assert_eq!(eval(formula, &young), ok("2.00"));
        assert_eq!(
            eval0("if(1 <> 2, 1, 2) + if(1 != 1, 10, 20) + if(2 <= 2, 100, 200)"),
            ok("121.00")
        );
        // `and` / `or` short-circuit: the undefined side is never evaluated.
        assert_eq!(eval0("if(1 > 2 and 1 / 0 > 1, 1, 2)"), ok("2.00"));
        assert_eq!(eval0("if(1 < 2 or 1 / 0 > 1, 1, 2)"), ok("1.00"));
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(eval("Target_Value * PROBABILITY / 100", &deal()), ok("5000.00"));
        assert_eq!(eval("IF(Days_Open > 1, Round(1.5), 0)", &deal()), ok("2.00"));
    }

    #[test]
    fn source_is_kept() {
        let text = "round(target_value / 3, 2)";
        assert_eq!(Formula::parse(text).map(|f| f.source().to_owned()), Ok(text.to_owned()));
        assert_eq!(Formula::parse(text).map(|f| f.to_string()), Ok(text.to_owned()));
    }

    #[test]
    fn lists_name_the_language() {
        assert_eq!(VARIABLES.len(), 7);
        assert!(FUNCTIONS.iter().all(|f| f.chars().all(|c| c.is_ascii_lowercase())));
        let inputs = deal();
        assert!(VARIABLES.iter().all(|v| inputs.get(v).is_some()));
    }

    #[test]
    fn rejects_unknown_variable() {
        assert_eq!(position("target_valu * 2"), Some((1, 1)));
        assert!(message("target_valu * 2").starts_with("unknown variable target_valu"));
        assert_eq!(position("2 * foo"), Some((1, 5)));
        assert_eq!(position("\"target_value\" * 2"), Some((1, 1)));
        assert_eq!(position("deal.target_value"), Some((1, 1)));
        assert_eq!(position("min(1, 2) + min"), Some((1, 13)));
    }

    #[test]
    fn rejects_unknown_function() {
        assert_eq!(
            Formula::parse("sqrt(target_value)").err(),
            Some(FormulaError::at(
                Location::new(1, 1),
                "unknown function sqrt; the functions are min, max, round, if"
            ))
        );
        assert_eq!(position("1 + abs(2)"), Some((1, 5)));
        assert_eq!(position("x.min(1, 2)"), Some((1, 1)));
        assert_eq!(position("count(*)"), Some((1, 1)));
    }

    #[test]
    fn rejects_wrong_arity() {
        assert_eq!(
            Formula::parse("if(1 > 0, 2)").err(),
            Some(FormulaError::at(
                Location::new(1, 1),
                "if takes 3 arguments: if(condition, a, b), found 2"
            ))
        );
        assert_eq!(position("min(1)"), Some((1, 1)));
        assert_eq!(position("1 + max()"), Some((1, 5)));
        assert_eq!(position("round(1, 2, 3)"), Some((1, 1)));
        assert_eq!(position("round(1, 11)"), Some((1, 10)));
        assert_eq!(position("round(1, 1.5)"), Some((1, 10)));
        assert_eq!(position("round(1, days_open)"), Some((1, 10)));
        assert_eq!(position("round(1, -1)"), Some((1, 10)));
        assert_eq!(position("round(1, 10)"), None);
    }

    #[test]
    fn rejects_call_clauses() {
        assert_eq!(position("min(distinct 1, 2)"), Some((1, 1)));
        assert_eq!(position("max(1, 2) over ()"), Some((1, 1)));
        assert_eq!(position("min(1, 2) filter (where 1 > 0)"), Some((1, 1)));
    }

    #[test]
    fn rejects_type_errors() {
        assert_eq!(
            Formula::parse("if(target_value, 1, 2)").err(),
            Some(FormulaError::at(
                Location::new(1, 4),
                "the condition of if must be a comparison, not a number"
            ))
        );
        assert_eq!(
            Formula::parse("target_value > 3").err(),
            Some(FormulaError::at(
                Location::new(1, 1),
                "the formula must give a number, not a comparison"
            ))
        );
        assert_eq!(
            Formula::parse("(1 > 0) + 2").err(),
            Some(FormulaError::at(
                Location::new(1, 1),
                "expected a number, found a comparison"
            ))
        );
        assert_eq!(position("2 + (1 > 0)"), Some((1, 5)));
        assert_eq!(position("if(1 > 0, 1 > 0, 2)"), Some((1, 11)));
        assert_eq!(position("if(1 > 0, 1, 2 = 2)"), Some((1, 14)));
        assert_eq!(position("min(1, 2 < 3)"), Some((1, 8)));
        assert_eq!(position("if(1 and 2 > 0, 1, 2)"), Some((1, 4)));
        assert_eq!(position("if(not 1, 1, 2)"), Some((1, 8)));
        assert_eq!(position("-(1 > 0)"), Some((1, 2)));
        assert_eq!(position("if((1 > 0) = (2 > 0), 1, 2)"), Some((1, 4)));
        assert_eq!(position("not 1 > 0"), Some((1, 1)));
    }

    #[test]
    fn rejects_syntax_errors() {
        assert_eq!(
            Formula::parse("target_value * * 2").err(),
            Some(FormulaError::at(
                Location::new(1, 16),
                "Expected: an expression, found: *"
            ))
        );
        assert_eq!(position("a + )"), Some((1, 5)));
        assert_eq!(
            Formula::parse("min(1, 2").err(),
            Some(FormulaError::at(Location::new(1, 9), "Expected: ), found: EOF"))
        );
        assert_eq!(position("min(1,\n  2"), Some((2, 4)));
        assert_eq!(position("1 +\n  * 2"), Some((2, 3)));
        assert_eq!(position("1 + -- a comment"), Some((1, 17)));
        assert_eq!(position("target_value @ 2"), Some((1, 14)));
        assert_eq!(position("1 +\r\n * 2"), Some((2, 2)));
        assert_eq!(position("1e100"), Some((1, 1)));
    }

    #[test]
    fn rejects_trailing_tokens() {
        assert_eq!(
            Formula::parse("target_value weighted_value").err(),
            Some(FormulaError::at(Location::new(1, 14), "unexpected weighted_value"))
        );
        assert_eq!(
            Formula::parse("1; drop table x").err(),
            Some(FormulaError::at(Location::new(1, 2), "unexpected ;"))
        );
        assert_eq!(position("1 )"), Some((1, 3)));
        assert_eq!(position("1_000"), Some((1, 2)));
    }

    #[test]
    fn rejects_strings_and_other_values() {
        assert_eq!(
            Formula::parse("'x'").err(),
            Some(FormulaError::at(
                Location::new(1, 1),
                "text 'x' is not allowed: a formula works on numbers"
            ))
        );
        assert_eq!(position("1 + 'x'"), Some((1, 5)));
        assert_eq!(position("'x"), Some((1, 1)));
        assert_eq!(position("if(true, 1, 2)"), Some((1, 4)));
        assert_eq!(position("null"), Some((1, 1)));
        assert_eq!(position("1 + ?"), Some((1, 5)));
        assert_eq!(position("123456789012345678901234567890"), Some((1, 1)));
    }

    #[test]
    fn rejects_other_operators_and_expressions() {
        assert_eq!(
            Formula::parse("target_value % 2").err(),
            Some(FormulaError::at(
                Location::new(1, 14),
                "the operator % is not allowed; use + - * /, comparisons, and, or"
            ))
        );
        assert_eq!(position("(target_value)  % 2"), Some((1, 17)));
        assert_eq!(position("min(1, 2) || 2"), Some((1, 11)));
        assert_eq!(position("1 + ~2"), Some((1, 5)));
        assert_eq!(position("case when 1 > 0 then 1 else 2 end"), Some((1, 1)));
        assert_eq!(position("2 * (select 1)"), Some((1, 5)));
        assert_eq!(position("target_value is null"), Some((1, 1)));
        assert_eq!(position("if(days_open between 1 and 2, 1, 2)"), Some((1, 4)));
        assert_eq!(position("cast(1 as int)"), Some((1, 1)));
        assert_eq!(position("1 + exists(select 1)"), Some((1, 5)));
        assert_eq!(position("1 + [target_value]"), Some((1, 5)));
        assert_eq!(position("1 + interval '1 day'"), Some((1, 5)));
        assert_eq!(position("target_value × 2"), Some((1, 14)));
    }

    #[test]
    fn rejects_empty_and_long_text() {
        assert_eq!(
            Formula::parse("").err(),
            Some(FormulaError::at(Location::new(1, 1), "the formula is empty"))
        );
        assert_eq!(position("  \n\t "), Some((1, 1)));
        let longest = format!("1{}", " + 1".repeat((MAX_LENGTH - 1) / 4));
        assert!(longest.len() <= MAX_LENGTH);
        assert_eq!(eval0(&longest), ok(&format!("{}.00", (MAX_LENGTH - 1) / 4 + 1)));
        let dense = format!("1{}", "+1".repeat((MAX_LENGTH - 1) / 2));
        assert_eq!(dense.chars().count(), MAX_LENGTH - 1);
        assert_eq!(eval0(&dense), ok("500.00"));
        let too_long = "1".repeat(MAX_LENGTH + 1);
        assert_eq!(position(&too_long), Some((1, 1001)));
        assert!(message(&too_long).contains("longer than 1000"));
    }

    #[test]
    fn rejects_deep_nesting() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(message(&deep), "the formula is nested too deeply");
    }

    #[test]
    fn long_chains_need_little_stack() {
        let chain = format!("1{}", "+1".repeat(470));
        let texts = [
            format!("1{}", "+1".repeat((MAX_LENGTH - 1) / 2)),
            format!("1{}", "*1".repeat((MAX_LENGTH - 1) / 2)),
            format!("if(1 > 0{}, 1, 2)", " or 1 > 0".repeat(90)),
            format!("min(({chain}), 2)"),
            format!("({chain}) is null"),
            format!("1 + ({chain}) * (1 > 0)"),
        ];
        let results = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn_scoped(scope, || {
                    texts
                        .iter()
                        .map(|text| {
                            Formula::parse(text)
                                .map(|f| f.clone().evaluate(&Inputs::default()).map(|d| d.to_string()))
                                .map_err(|e| (e.line, e.column))
                        })
                        .collect::<Vec<_>>()
                })
                .ok()
                .and_then(|handle| handle.join().ok())
        });
        assert_eq!(
            results,
            Some(vec![
                Ok(Some("500.00".to_owned())),
                Ok(Some("1.00".to_owned())),
                Ok(Some("1.00".to_owned())),
                Ok(Some("2.00".to_owned())),
                Err((1, 1)),
                Err((1, "1 + (".len() as u64 + chain.len() as u64 + ") * ".len() as u64 + 1)),
            ])
        );
    }

    #[test]
    fn debug_shows_the_source() {
        assert_eq!(
            Formula::parse("1 + 2").map(|f| format!("{f:?}")),
            Ok(r#"Formula { source: "1 + 2", .. }"#.to_owned())
        );
    }

    #[test]
    fn positions_follow_parentheses_lines_and_arguments() {
        assert_eq!(position("if(1 > 0,\n   target_value,\n   (1 > 0))"), Some((3, 4)));
        assert_eq!(position("min(1, (2), ((3)), (4 > 1))"), Some((1, 20)));
        assert_eq!(position("max(1, /* two */ 2, -- three\n 'x')"), Some((2, 2)));
        assert_eq!(position("round(target_value, (2))"), Some((1, 21)));
        assert_eq!(position("1 + cast(days_open as int)"), Some((1, 5)));
        assert_eq!(position("1 + floor(days_open)"), Some((1, 5)));
        assert_eq!(position("((1 > 0)) * 2"), Some((1, 1)));
        assert_eq!(position("2 * ((1 > 0))"), Some((1, 5)));
        assert_eq!(position("2 * - (1 > 0)"), Some((1, 7)));
        assert_eq!(position("if(not (1 + 2), 1, 2)"), Some((1, 8)));
    }

    #[test]
    fn error_displays_its_position() {
        let error = FormulaError::at(Location::new(2, 7), "expected a number, found a comparison");
        assert_eq!(
            error.to_string(),
            "expected a number, found a comparison at line 2, column 7"
        );
    }
}
