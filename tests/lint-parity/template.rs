//! Lint-parity corpus. Every `//@ATTR` line is replaced by one line of attributes (or a comment).
#![allow(clippy::missing_errors_doc)] // keep the pedantic noise down: f17 re-enables it
#![warn(clippy::never_loop)] // deny by default: a warning keeps the lint pass comparable
use std::collections::{HashMap, LinkedList};

use mcpstore_errors::McpStoreError;
#[allow(unused_imports)] use mcpstore_errors::{collect_errors, fallback, retry};

#[must_use]
fn must_use_helper() -> u32 {
    1
}

fn fallible(n: u32) -> Result<u32, McpStoreError> {
    if n > 100 { Err(McpStoreError::connection("too big")) } else { Ok(n) }
}

//@ATTR
pub fn f01_needless_mut_local() -> Result<u32, McpStoreError> {
    let mut x = 1;
    Ok(x)
}

//@ATTR
pub fn f02_needless_mut_param(mut n: u32) -> Result<u32, McpStoreError> {
    Ok(n)
}

//@ATTR
pub fn f03_unused_local() -> Result<u32, McpStoreError> {
    let unused = 5;
    Ok(1)
}

//@ATTR
pub fn f04_unused_param(n: u32, s: String) -> Result<u32, McpStoreError> {
    Ok(1)
}

//@ATTR
#[allow(unused_variables)]
pub fn f05_allow_below(n: u32) -> Result<u32, McpStoreError> {
    let local = 3;
    Ok(1)
}

#[allow(unused_variables)]
//@ATTR
pub fn f06_allow_above(n: u32) -> Result<u32, McpStoreError> {
    let local = 3;
    Ok(1)
}

//@ATTR
pub fn f07_underscore_params(_n: u32, _: u32, #[allow(unused_variables)] m: u32) -> Result<u32, McpStoreError> {
    Ok(1)
}

//@ATTR
pub fn f08_unused_must_use() -> Result<u32, McpStoreError> {
    must_use_helper();
    fallible(1);
    1 + 1;
    Ok(1)
}

//@ATTR
pub fn f09_unreachable() -> Result<u32, McpStoreError> {
    return Ok(1);
    let y = 2;
    Ok(y)
}

//@ATTR
pub fn f10_let_block(y: u32) -> Result<u32, McpStoreError> {
    let x = { y };
    Ok(x)
}

//@ATTR
pub fn f11_one_expression(n: u32) -> Result<u32, McpStoreError> {
    Ok(n + 1)
}

//@ATTR
pub fn f12_question_mark(n: u32) -> Result<u32, McpStoreError> {
    let v = fallible(n)?;
    if let Err(e) = fallible(v) {
        return Err(e);
    }
    Ok(fallible(v)?)
}

//@ATTR
pub fn f13_needless_return(n: u32) -> Result<u32, McpStoreError> {
    let m = n * 2;
    return Ok(m);
}

//@ATTR
pub fn f14_let_and_return(n: u32) -> Result<u32, McpStoreError> {
    let r = Ok(n);
    r
}

//@ATTR
pub fn f15_clones(name: &str, n: u32) -> Result<usize, McpStoreError> {
    let owned = name.to_string();
    let again = owned.clone();
    let copy = n.clone();
    Ok(again.len() + copy as usize)
}

//@ATTR
pub fn f16_pass_by_value(v: Vec<u32>, s: String, m: HashMap<u32, u32>) -> Result<usize, McpStoreError> {
    Ok(v.len() + s.len() + m.len())
}

/// Documented, without an errors section.
#[warn(clippy::missing_errors_doc)]
//@ATTR
pub fn f17_missing_errors_doc(n: u32) -> Result<u32, McpStoreError> {
    fallible(n)
}

//@ATTR
pub fn f18_casts(n: u64, f: f64) -> Result<u8, McpStoreError> {
    let small = n as u8;
    let i = f as i32;
    Ok(small.wrapping_add(i as u8))
}

//@ATTR
fn f19_unnecessary_wraps(n: u32) -> Result<u32, McpStoreError> {
    Ok(n + 1)
}

//@ATTR
pub fn f20_shadowing(n: u32) -> Result<u32, McpStoreError> {
    let x = n;
    let x = 7;
    let n = x + 1;
    Ok(n)
}

//@ATTR
pub fn f21_nested_dead_items() -> Result<u32, McpStoreError> {
    fn inner_unused() -> u32 {
        3
    }
    struct InnerUnused;
    const INNER_UNUSED: u32 = 4;
    enum InnerEnum { Used, Unused }
    let e = InnerEnum::Used;
    Ok(matches!(e, InnerEnum::Used) as u32)
}

//@ATTR
pub fn f22_unused_braces_parens(n: u32) -> Result<u32, McpStoreError> {
    let a = (n + 1);
    if (a > 3) {
        return { Ok(a) };
    }
    while (false) {}
    Ok({ a })
}

//@ATTR
pub fn f23_labels(n: u32) -> Result<u32, McpStoreError> {
    let mut total = 0;
    'outer: for i in 0..n {
        'unused: for j in 0..n {
            if j > i {
                continue 'outer;
            }
            total += j;
        }
    }
    'never: loop {
        break 'never;
    }
    'a: for _ in 0..3 {
        if total > 5 {
            total -= 1;
        } else {
            continue 'a;
        }
    }
    Ok(total)
}

//@ATTR
pub fn f24_unused_assignment_import() -> Result<u32, McpStoreError> {
    use std::collections::BTreeMap;
    let mut x = 1;
    x = 2;
    let _unused_underscore = 5;
    Ok(x)
}

//@ATTR
pub fn f25_misc_rustc(n: u32) -> Result<u32, McpStoreError> {
    let BadLocal = n;
    let r = unsafe { BadLocal + 1 };
    n;
    while true {
        break;
    }
    Ok(r)
}

//@ATTR
pub fn f26_clippy_style(n: u32, v: &Vec<u32>, b: &Box<u32>, s: &String) -> Result<u32, McpStoreError> {
    let u = ();
    let c = (|| n + 1)();
    let x;
    x = c + **b;
    Ok(x + v.len() as u32 + s.len() as u32 + match u { () => 0 })
}

//@ATTR
pub fn f27_needless_lifetimes<'a, 'b, T>(s: &'a str, t: &'b u32) -> Result<usize, McpStoreError> {
    Ok(s.len() + *t as usize)
}

//@ATTR
pub fn f28_trivially_copy(n: &u32, _flag: bool) -> Result<u32, McpStoreError> {
    Ok(*n + u32::from(_flag))
}

//@ATTR
pub fn f29_manual_let_else(o: Option<u32>) -> Result<u32, McpStoreError> {
    let v = match o {
        Some(v) => v,
        None => return Err(McpStoreError::connection("none")),
    };
    let w = if let Some(w) = o { w } else { return Ok(0) };
    let y = 1;
    fn after_statement() {}
    Ok(v + w + y)
}

//@ATTR
pub fn f30_signature_types(n: u32) -> Result<Option<Option<(Vec<Vec<Box<(u32, Vec<Option<String>>)>>>, LinkedList<u32>, Box<Vec<u32>>)>>, McpStoreError> {
    Ok(if n > 0 { None } else { Some(None) })
}

//@ATTR
#[allow(clippy::too_many_arguments)]
pub fn f31_many_args_allowed(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> Result<u8, McpStoreError> {
    Ok(a ^ b ^ c ^ d ^ e ^ f ^ g ^ h)
}

//@ATTR
pub fn f32_many_args(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> Result<u8, McpStoreError> {
    Ok(a ^ b ^ c ^ d ^ e ^ f ^ g ^ h)
}

//@ATTR
#[must_use]
pub fn f33_double_must_use(n: u32) -> Result<u32, McpStoreError> {
    let o: Option<u32> = Some(n);
    Ok(o.unwrap())
}

//@ATTR
#[allow(non_snake_case)]
pub fn F34_BadName(BadParam: u32) -> Result<u32, McpStoreError> {
    Ok(BadParam)
}

//@ATTR
pub fn F35_BadNameWarned(BadParam: u32) -> Result<u32, McpStoreError> {
    Ok(BadParam)
}

//@ATTR
fn f36_private_dead(mut n: u32) -> Result<u32, McpStoreError> {
    Ok(n)
}

//@ATTR
pub fn f37_closures(n: u32) -> Result<u32, McpStoreError> {
    let f = |unused_arg: u32| n;
    let mut g = |x: u32| x + 1;
    Ok(f(1) + g(2))
}

//@ATTR
pub fn f38_tuple_pattern_param((a, b): (u32, u32), mut _c: u32) -> Result<u32, McpStoreError> {
    Ok(a)
}

#[derive(Debug, Clone, Default)]
pub struct Svc {
    pub name: String,
    pub count: u32,
}

pub trait Named {
    fn describe(&self, prefix: &str) -> Result<String, McpStoreError>;
}

impl Named for Svc {
    //@ATTR
    fn describe(&self, prefix: &str) -> Result<String, McpStoreError> {
        let mut out = self.name.clone();
        Ok(out)
    }
}

impl Svc {
    //@ATTR
    pub fn m01_ref_unused_self(&self, n: u32) -> Result<u32, McpStoreError> {
        let mut k = n;
        Ok(k)
    }

    //@ATTR
    pub fn m02_ref_mut_self(&mut self, unused: u32) -> Result<u32, McpStoreError> {
        let mut total = self.count;
        return Ok(total);
    }

    //@ATTR
    pub fn m03_by_value(mut self, n: u32) -> Result<String, McpStoreError> {
        let r = Ok(self.name);
        r
    }

    //@ATTR
    pub fn m04_ref_self_uses(&self) -> Result<usize, McpStoreError> {
        let len = self.name.len();
        return Ok(len);
        let dead = 1;
        Ok(dead)
    }

    //@ATTR
    pub async fn m05_async_ref(&self, unused: u32) -> Result<u32, McpStoreError> {
        let mut c = self.count;
        Ok(c)
    }

    //@ATTR
    pub async fn m06_async_mut(&mut self) -> Result<u32, McpStoreError> {
        self.count += 1;
        let r = Ok(self.count);
        r
    }
}

//@ATTR
pub async fn a01_needless_mut(mut n: u32) -> Result<u32, McpStoreError> {
    let mut x = n;
    Ok(x)
}

//@ATTR
pub async fn a02_unused(n: u32) -> Result<u32, McpStoreError> {
    let unused = 3;
    Ok(1)
}

//@ATTR
pub async fn a03_unreachable() -> Result<u32, McpStoreError> {
    return Ok(1);
    let y = 2;
    Ok(y)
}

//@ATTR
pub async fn a04_needless_return_let_and_return(n: u32) -> Result<u32, McpStoreError> {
    if n > 3 {
        let r = Ok(n);
        return r;
    }
    return Ok(n * 2);
}

//@ATTR
pub async fn a05_question_mark(n: u32) -> Result<u32, McpStoreError> {
    let v = fallible(n)?;
    Ok(fallible(v)?)
}

//@ATTR
pub async fn a06_with_await(n: u32) -> Result<u32, McpStoreError> {
    let v = a05_question_mark(n).await?;
    a02_unused(v).await;
    Ok(v)
}

//@ATTR
pub async fn a07_pass_by_value(v: Vec<u32>, s: String) -> Result<usize, McpStoreError> {
    let copy = s.clone();
    Ok(v.len() + copy.len())
}

//@ATTR
async fn a08_private_unused_async_wraps(n: u32) -> Result<u32, McpStoreError> {
    Ok(n)
}

//@ATTR
pub async fn a09_nested_dead_and_braces(n: u32) -> Result<u32, McpStoreError> {
    fn inner_dead() {}
    let x = (n);
    'l: loop {
        break;
    }
    Ok({ x })
}

/// Uses the private functions, so that only `f36_private_dead` is dead.
pub fn drive() {
    let _ = f19_unnecessary_wraps(1);
    let _ = a08_private_unused_async_wraps(1);
    f01_needless_mut_local();
    f33_double_must_use(1);
    a01_needless_mut(1);
}
