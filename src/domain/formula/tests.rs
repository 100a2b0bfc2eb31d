use std::collections::BTreeMap;

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
        custom: BTreeMap::new(),
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

#[test]
fn custom_number_fields_are_variables() {
    let formula = Formula::parse("weighted_value + custom.trade_in_value / Custom.Leasing_Months").ok();
    let variables: Vec<(String, u64, u64)> = formula
        .iter()
        .flat_map(|f| f.custom_variables())
        .map(|v| (v.key.clone(), v.line, v.column))
        .collect();
    assert_eq!(
        variables,
        [
            ("trade_in_value".to_owned(), 1, 18),
            ("leasing_months".to_owned(), 1, 42)
        ]
    );
    let inputs = deal().with_custom(BTreeMap::from([
        ("trade_in_value".to_owned(), Decimal::new(1_200_000, 2)),
        ("leasing_months".to_owned(), Decimal::new(36, 0)),
    ]));
    // 5000 + 12000 / 36 = 5333.333… → 5333.33
    assert_eq!(
        formula.as_ref().and_then(|f| f.evaluate(&inputs)),
        Some(Decimal::new(533_333, 2))
    );
    // A missing value reads as 0: 5000 + 0 / 36; a division by a missing value has no result.
    let partial = deal().with_custom(BTreeMap::from([("leasing_months".to_owned(), Decimal::new(36, 0))]));
    assert_eq!(
        formula.as_ref().and_then(|f| f.evaluate(&partial)),
        Some(Decimal::new(500_000, 2))
    );
    assert_eq!(formula.as_ref().and_then(|f| f.evaluate(&deal())), None);
}

#[test]
fn custom_variables_are_checked_against_the_fields() {
    let formula = Formula::parse("1 + custom.a * custom.b").ok();
    let kinds = |key: &str| match key {
        "a" => Some(CustomKind::Number),
        "b" => Some(CustomKind::Other),
        _ => None,
    };
    let error = formula.as_ref().map(|f| f.check_custom(kinds));
    assert_eq!(
        error.and_then(Result::err).map(|e| (e.message, e.line, e.column)),
        Some((
            "custom.b is no number or money field: only those are formula variables".to_owned(),
            1,
            16
        ))
    );
    let unknown = Formula::parse("custom.zz").ok().map(|f| f.check_custom(kinds));
    assert_eq!(
        unknown.and_then(Result::err).map(|e| e.message),
        Some("custom.zz names no opportunity custom field".to_owned())
    );
    assert_eq!(position("custom.a.b"), Some((1, 1)));
    assert_eq!(position("other.a"), Some((1, 1)));
}
