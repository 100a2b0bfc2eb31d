//! Checking a parsed formula: only the allowed subset, every node a number or a condition where
//! it has to be, each rejection with its line and column.

use std::cell::RefCell;

use super::parts::{literal, plain_args, round_digits};
use super::{CustomVariable, FUNCTIONS, FormulaError, MAX_ROUND_DIGITS, VARIABLES};

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectNamePart, Spanned,
    UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// `location`, or the start of the text when sqlparser has no position (an empty span).
fn known(location: Location) -> Location {
    if location.line > 0 {
        location
    } else {
        Location::new(1, 1)
    }
}

/// What a node gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Number,
    Condition,
}

impl Kind {
    pub(super) fn describe(self) -> &'static str {
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
pub(super) struct Checker {
    /// The source's tokens, without whitespace and comments, with where they start.
    tokens: Vec<(Token, Location)>,
    /// The `custom.<key>` variables met so far.
    custom: RefCell<Vec<CustomVariable>>,
}

impl Checker {
    pub(super) fn new(text: &str) -> Self {
        let dialect = GenericDialect {};
        let tokens = Tokenizer::new(&dialect, text)
            .tokenize_with_location()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| (t.token, t.span.start))
            .collect();
        Checker {
            tokens,
            custom: RefCell::new(Vec::new()),
        }
    }

    /// The `custom.<key>` variables the checked expression names, in source order.
    pub(super) fn custom_variables(&self) -> Vec<CustomVariable> {
        let mut found = self.custom.borrow().clone();
        found.sort_by_key(|v| (v.line, v.column));
        found
    }

    /// The tokens that start at or after `from` (the tokens are in source order).
    fn tokens_from(&self, from: Location) -> &[(Token, Location)] {
        let first = self.tokens.partition_point(|(_, at)| *at < from);
        self.tokens.get(first..).unwrap_or_default()
    }

    /// The start of the first token at or after `from` (`from` itself if there is none).
    pub(super) fn first_at(&self, from: Location) -> Location {
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
    pub(super) fn check(&self, expr: &mut Expr, from: Location) -> Result<Kind, FormulaError> {
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
            Expr::CompoundIdentifier(idents) if is_custom(idents) => {
                for ident in idents.iter_mut() {
                    ident.value = ident.value.to_ascii_lowercase();
                }
                let key = idents.get(1).map(|i| i.value.clone()).unwrap_or_default();
                self.custom.borrow_mut().push(CustomVariable {
                    key,
                    line: start.line,
                    column: start.column,
                });
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

/// Whether `idents` is `custom.<key>` (unquoted, a key of the custom field pattern).
pub(super) fn is_custom(idents: &[Ident]) -> bool {
    match idents {
        [custom, key] => {
            custom.quote_style.is_none()
                && key.quote_style.is_none()
                && custom.value.eq_ignore_ascii_case("custom")
                && crate::domain::custom::valid_key(&key.value.to_ascii_lowercase())
        }
        _ => false,
    }
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
            Expr::CompoundIdentifier(idents) => {
                return known(idents.last().map_or(Location::new(0, 0), |i| i.span.end));
            }
            other => return known(other.span().end),
        };
    }
}
