//! The scalingModifiers formula language: the subset of expr-lang that KEDA users write.
//!
//! Numbers, trigger names, `+ - * / %`, unary `-` and `!`, comparisons, `&& ||` (also
//! `and or not`), the ternary `c ? a : b`, nil coalescing `a ?? b`, `nil`, `true`/`false`,
//! parentheses, and the functions `max`, `min`, `abs`, `ceil`, `floor`, `round`, `count`
//! (number of non-nil arguments) and `float`/`int`. A trigger whose fallback is active under
//! `fallback.behavior: scalingModifiers` is `nil`; arithmetic on `nil` yields `nil`.

use std::collections::BTreeMap;

/// A value during evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FValue {
    Num(f64),
    Bool(bool),
    Nil,
}

/// A parse or evaluation error, with the character position in the formula.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("formula `{formula}`: {message} at position {pos}")]
pub struct FormulaError {
    pub formula: String,
    pub pos: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Question,
    Colon,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Num(f64),
    Bool(bool),
    Nil,
    Var(String),
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// A parsed formula.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    source: String,
    expr: Expr,
}

const OPS: [&str; 16] = [
    "??", "&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", "**",
];

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, FormulaError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let e = |pos: usize, m: &str| FormulaError {
        formula: src.to_string(),
        pos,
        message: m.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                i += 1;
                if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let v = text
                .parse::<f64>()
                .map_err(|_| e(start, &format!("bad number `{text}`")))?;
            out.push((Tok::Num(v), start));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = match word.as_str() {
                "and" => Tok::Op("&&"),
                "or" => Tok::Op("||"),
                "not" => Tok::Op("!"),
                _ => Tok::Ident(word),
            };
            out.push((tok, start));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if let Some(op) = OPS.iter().find(|o| o.len() == 2 && **o == two) {
            out.push((Tok::Op(op), start));
            i += 2;
            continue;
        }
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '?' => Tok::Question,
            ':' => Tok::Colon,
            _ => match OPS.iter().find(|o| o.len() == 1 && o.starts_with(c)) {
                Some(op) => Tok::Op(op),
                None => return Err(e(start, &format!("unexpected character `{c}`"))),
            },
        };
        out.push((tok, start));
        i += 1;
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, m: &str) -> FormulaError {
        let pos = self
            .toks
            .get(self.i)
            .map(|t| t.1)
            .unwrap_or(self.src.chars().count());
        FormulaError {
            formula: self.src.to_string(),
            pos,
            message: m.to_string(),
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ternary(&mut self) -> Result<Expr, FormulaError> {
        let cond = self.binary(0)?;
        if self.eat(&Tok::Question) {
            let a = self.ternary()?;
            if !self.eat(&Tok::Colon) {
                return Err(self.err("expected `:` in a ternary"));
            }
            let b = self.ternary()?;
            return Ok(Expr::Ternary(Box::new(cond), Box::new(a), Box::new(b)));
        }
        Ok(cond)
    }
    fn prec(op: &str) -> Option<u8> {
        Some(match op {
            "??" => 1,
            "||" => 2,
            "&&" => 3,
            "==" | "!=" => 4,
            "<" | "<=" | ">" | ">=" => 5,
            "+" | "-" => 6,
            "*" | "/" | "%" => 7,
            "**" => 8,
            _ => return None,
        })
    }
    fn binary(&mut self, min: u8) -> Result<Expr, FormulaError> {
        let mut lhs = self.unary()?;
        while let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            let Some(p) = Self::prec(op) else { break };
            if p < min {
                break;
            }
            self.i += 1;
            // `**` is right-associative, everything else left.
            let rhs = self.binary(if op == "**" { p } else { p + 1 })?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    fn unary(&mut self) -> Result<Expr, FormulaError> {
        match self.peek() {
            Some(Tok::Op("-")) => {
                self.i += 1;
                Ok(Expr::Unary("-", Box::new(self.unary()?)))
            }
            Some(Tok::Op("+")) => {
                self.i += 1;
                self.unary()
            }
            Some(Tok::Op("!")) => {
                self.i += 1;
                Ok(Expr::Unary("!", Box::new(self.unary()?)))
            }
            _ => self.primary(),
        }
    }
    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let Some((tok, _)) = self.toks.get(self.i).cloned() else {
            return Err(self.err("unexpected end of formula"));
        };
        self.i += 1;
        match tok {
            Tok::Num(v) => Ok(Expr::Num(v)),
            Tok::LParen => {
                let e = self.ternary()?;
                if !self.eat(&Tok::RParen) {
                    return Err(self.err("expected `)`"));
                }
                Ok(e)
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "nil" => Ok(Expr::Nil),
                _ if self.eat(&Tok::LParen) => {
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            args.push(self.ternary()?);
                            if self.eat(&Tok::RParen) {
                                break;
                            }
                            if !self.eat(&Tok::Comma) {
                                return Err(self.err("expected `,` or `)` in a call"));
                            }
                        }
                    }
                    const FUNCS: [&str; 9] = [
                        "max", "min", "abs", "ceil", "floor", "round", "count", "float", "int",
                    ];
                    if !FUNCS.contains(&name.as_str()) {
                        self.i -= 1;
                        return Err(self.err(&format!(
                            "unknown function `{name}` (known: {})",
                            FUNCS.join(", ")
                        )));
                    }
                    Ok(Expr::Call(name, args))
                }
                _ => Ok(Expr::Var(name)),
            },
            _ => {
                self.i -= 1;
                Err(self.err("expected a number, a trigger name, or `(`"))
            }
        }
    }
}

impl Formula {
    /// Parse a formula; the error names the position.
    pub fn parse(src: &str) -> Result<Formula, FormulaError> {
        let toks = tokenize(src)?;
        let mut p = Parser { src, toks, i: 0 };
        let expr = p.ternary()?;
        if p.i != p.toks.len() {
            return Err(p.err("unexpected token after the end of the expression"));
        }
        Ok(Formula {
            source: src.to_string(),
            expr,
        })
    }

    /// The formula as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names of the variables the formula reads.
    pub fn variables(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Var(v) if !out.contains(v) => out.push(v.clone()),
                Expr::Unary(_, a) => walk(a, out),
                Expr::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out)
                }
                Expr::Ternary(a, b, c) => {
                    walk(a, out);
                    walk(b, out);
                    walk(c, out)
                }
                Expr::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// Evaluate with trigger values (`None` = nil). An unknown variable is an error.
    pub fn eval(&self, vars: &BTreeMap<String, Option<f64>>) -> Result<FValue, FormulaError> {
        self.eval_expr(&self.expr, vars)
    }

    fn fail(&self, m: String) -> FormulaError {
        FormulaError {
            formula: self.source.clone(),
            pos: 0,
            message: m,
        }
    }

    fn num(&self, v: FValue) -> Result<Option<f64>, FormulaError> {
        match v {
            FValue::Num(x) => Ok(Some(x)),
            FValue::Nil => Ok(None),
            FValue::Bool(_) => Err(self.fail("a boolean where a number is needed".into())),
        }
    }

    fn truthy(&self, v: FValue) -> Result<bool, FormulaError> {
        match v {
            FValue::Bool(b) => Ok(b),
            FValue::Nil => Ok(false),
            FValue::Num(_) => Err(self.fail("a number where a condition is needed".into())),
        }
    }

    fn eval_expr(
        &self,
        e: &Expr,
        vars: &BTreeMap<String, Option<f64>>,
    ) -> Result<FValue, FormulaError> {
        let n = |x: Option<f64>| x.map(FValue::Num).unwrap_or(FValue::Nil);
        Ok(match e {
            Expr::Num(v) => FValue::Num(*v),
            Expr::Bool(b) => FValue::Bool(*b),
            Expr::Nil => FValue::Nil,
            Expr::Var(name) => match vars.get(name) {
                Some(v) => n(*v),
                None => return Err(self.fail(format!("unknown trigger name `{name}`"))),
            },
            Expr::Unary("-", a) => n(self.num(self.eval_expr(a, vars)?)?.map(|x| -x)),
            Expr::Unary(_, a) => FValue::Bool(!self.truthy(self.eval_expr(a, vars)?)?),
            Expr::Ternary(c, a, b) => {
                if self.truthy(self.eval_expr(c, vars)?)? {
                    self.eval_expr(a, vars)?
                } else {
                    self.eval_expr(b, vars)?
                }
            }
            Expr::Binary(op, a, b) => {
                let av = self.eval_expr(a, vars)?;
                match *op {
                    "??" => {
                        if av == FValue::Nil {
                            self.eval_expr(b, vars)?
                        } else {
                            av
                        }
                    }
                    "&&" => {
                        FValue::Bool(self.truthy(av)? && self.truthy(self.eval_expr(b, vars)?)?)
                    }
                    "||" => {
                        FValue::Bool(self.truthy(av)? || self.truthy(self.eval_expr(b, vars)?)?)
                    }
                    "==" | "!=" => {
                        let bv = self.eval_expr(b, vars)?;
                        let eq = av == bv;
                        FValue::Bool(if *op == "==" { eq } else { !eq })
                    }
                    _ => {
                        let bv = self.eval_expr(b, vars)?;
                        let (Some(x), Some(y)) = (self.num(av)?, self.num(bv)?) else {
                            return Ok(if matches!(*op, "<" | "<=" | ">" | ">=") {
                                FValue::Bool(false)
                            } else {
                                FValue::Nil
                            });
                        };
                        match *op {
                            "+" => FValue::Num(x + y),
                            "-" => FValue::Num(x - y),
                            "*" => FValue::Num(x * y),
                            "/" => FValue::Num(x / y),
                            "%" => FValue::Num(x % y),
                            "**" => FValue::Num(x.powf(y)),
                            "<" => FValue::Bool(x < y),
                            "<=" => FValue::Bool(x <= y),
                            ">" => FValue::Bool(x > y),
                            _ => FValue::Bool(x >= y),
                        }
                    }
                }
            }
            Expr::Call(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.eval_expr(a, vars))
                    .collect::<Result<Vec<_>, _>>()?;
                let nums = vals
                    .iter()
                    .map(|v| self.num(*v))
                    .collect::<Result<Vec<_>, _>>()?;
                let one = |g: fn(f64) -> f64| -> Result<FValue, FormulaError> {
                    if nums.len() != 1 {
                        return Err(
                            self.fail(format!("`{f}` takes one argument, got {}", nums.len()))
                        );
                    }
                    Ok(n(nums[0].map(g)))
                };
                match f.as_str() {
                    "max" | "min" => {
                        if nums.is_empty() {
                            return Err(self.fail(format!("`{f}` needs at least one argument")));
                        }
                        if nums.iter().any(|x| x.is_none()) {
                            FValue::Nil
                        } else {
                            let it = nums.iter().map(|x| x.unwrap());
                            FValue::Num(if f == "max" {
                                it.fold(f64::NEG_INFINITY, f64::max)
                            } else {
                                it.fold(f64::INFINITY, f64::min)
                            })
                        }
                    }
                    "count" => FValue::Num(nums.iter().filter(|x| x.is_some()).count() as f64),
                    "abs" => one(f64::abs)?,
                    "ceil" => one(f64::ceil)?,
                    "floor" => one(f64::floor)?,
                    "round" => one(f64::round)?,
                    "int" => one(f64::trunc)?,
                    _ => one(|x| x)?,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
        v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    }

    #[test]
    fn arithmetic_precedence_and_functions() {
        let f = Formula::parse("(a + b) / 2").unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", Some(10.0)), ("b", Some(6.0))]))
                .unwrap(),
            FValue::Num(8.0)
        );
        let f = Formula::parse("a + b * 2 - max(a, 3) ").unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", Some(1.0)), ("b", Some(2.0))]))
                .unwrap(),
            FValue::Num(2.0)
        );
        let f = Formula::parse("a > 5 ? a : 0").unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", Some(4.0))])).unwrap(),
            FValue::Num(0.0)
        );
        assert_eq!(
            Formula::parse("2 ** 3 ** 2")
                .unwrap()
                .eval(&vars(&[]))
                .unwrap(),
            FValue::Num(512.0)
        );
    }

    #[test]
    fn nil_coalescing_routes_around_missing_triggers() {
        let f = Formula::parse("(a ?? 0) + (b ?? 100)").unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", Some(3.0)), ("b", None)])).unwrap(),
            FValue::Num(103.0)
        );
        let g = Formula::parse("a + b").unwrap();
        assert_eq!(
            g.eval(&vars(&[("a", Some(3.0)), ("b", None)])).unwrap(),
            FValue::Nil
        );
        assert_eq!(
            Formula::parse("count(a, b)")
                .unwrap()
                .eval(&vars(&[("a", Some(3.0)), ("b", None)]))
                .unwrap(),
            FValue::Num(1.0)
        );
    }

    #[test]
    fn errors_name_the_position() {
        let e = Formula::parse("a + * b").unwrap_err();
        assert_eq!(e.pos, 4);
        let e = Formula::parse("foo(a)").unwrap_err();
        assert!(e.message.contains("unknown function"), "{e}");
        let e = Formula::parse("(a + b").unwrap_err();
        assert!(e.message.contains("expected `)`"));
        let f = Formula::parse("a + c").unwrap();
        assert!(
            f.eval(&vars(&[("a", Some(1.0))]))
                .unwrap_err()
                .message
                .contains("`c`")
        );
        assert_eq!(f.variables(), vec!["a".to_string(), "c".to_string()]);
    }
}
