//! A `context = {..}` written only with literals, as JSON text: such a context is built once,
//! by the runtime parsing the text, instead of by code generated into every function.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The JSON text of `object` (the braces included), when it holds nothing but literals.
pub(crate) fn literal_json(object: &TokenStream) -> Option<String> {
    let mut out = String::new();
    value(&mut object.clone().into_iter().peekable(), &mut out)?;
    Some(out)
}

type Tokens = std::iter::Peekable<proc_macro2::token_stream::IntoIter>;

fn value(tokens: &mut Tokens, out: &mut String) -> Option<()> {
    match tokens.next()? {
        TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
            out.push('{');
            let mut inner = group.stream().into_iter().peekable();
            let mut first = true;
            while inner.peek().is_some() {
                if !first {
                    out.push(',');
                }
                first = false;
                match inner.next()? {
                    TokenTree::Literal(key) => string(&key, out)?,
                    _ => return None,
                }
                punct(&mut inner, ':')?;
                out.push(':');
                value(&mut inner, out)?;
                if inner.peek().is_some() {
                    punct(&mut inner, ',')?;
                }
            }
            out.push('}');
        }
        TokenTree::Group(group) if group.delimiter() == Delimiter::Bracket => {
            out.push('[');
            let mut inner = group.stream().into_iter().peekable();
            let mut first = true;
            while inner.peek().is_some() {
                if !first {
                    out.push(',');
                }
                first = false;
                value(&mut inner, out)?;
                if inner.peek().is_some() {
                    punct(&mut inner, ',')?;
                }
            }
            out.push(']');
        }
        TokenTree::Ident(ident) if ident == "true" || ident == "false" || ident == "null" => {
            out.push_str(&ident.to_string());
        }
        TokenTree::Punct(minus) if minus.as_char() == '-' => match tokens.next()? {
            TokenTree::Literal(number) => {
                let mut digits = String::new();
                self::number(&number, &mut digits)?;
                // `-0` is the integer 0 to `json!`, as to Rust; `-0.0` stays a float.
                if digits != "0" {
                    out.push('-');
                }
                out.push_str(&digits);
            }
            _ => return None,
        },
        TokenTree::Literal(literal) => {
            if string(&literal, out).is_none() {
                number(&literal, out)?;
            }
        }
        _ => return None,
    }
    // A value ends at a comma or at the end of its group.
    match tokens.peek() {
        None => Some(()),
        Some(TokenTree::Punct(p)) if p.as_char() == ',' => Some(()),
        Some(_) => None,
    }
}

fn punct(tokens: &mut Tokens, expected: char) -> Option<()> {
    match tokens.next()? {
        TokenTree::Punct(p) if p.as_char() == expected => Some(()),
        _ => None,
    }
}

fn string(literal: &proc_macro2::Literal, out: &mut String) -> Option<()> {
    let text: syn::LitStr = syn::parse_str(&literal.to_string()).ok()?;
    out.push('"');
    for c in text.value().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    Some(())
}

fn number(literal: &proc_macro2::Literal, out: &mut String) -> Option<()> {
    let text = literal.to_string();
    if let Ok(int) = syn::parse_str::<syn::LitInt>(&text) {
        if int.suffix().is_empty() {
            out.push_str(without_leading_zeros(int.base10_digits()));
            return Some(());
        }
    }
    if let Ok(float) = syn::parse_str::<syn::LitFloat>(&text) {
        if float.suffix().is_empty() {
            let digits = float.base10_digits();
            let value: f64 = digits.parse().ok()?;
            if value.is_finite() {
                json_float(digits, out);
                return Some(());
            }
        }
    }
    None
}

/// `007` is a Rust literal but no JSON number.
fn without_leading_zeros(digits: &str) -> &str {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }
}

/// A Rust float literal's digits (`1.`, `01.5`, `2e3`) as JSON's number grammar spells them
/// (`1.0`, `1.5`, `2e3`): JSON wants a digit after the point and none before a leading zero.
fn json_float(digits: &str, out: &mut String) {
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => digits.split_at(at),
        None => (digits, ""),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    out.push_str(without_leading_zeros(whole));
    match fraction {
        Some("") => out.push_str(".0"),
        Some(fraction) => {
            out.push('.');
            out.push_str(fraction);
        }
        None => {}
    }
    out.push_str(exponent);
}

#[cfg(test)]
mod tests {
    use super::literal_json;
    use quote::quote;

    #[test]
    fn literal_objects_become_json_text() {
        let object = quote!({"operation": "list \"tools\"", "n": -3, "f": 1.5, "ok": true,
            "none": null, "tags": ["a", 2], "nested": {"x\ty": {}}});
        assert_eq!(
            literal_json(&object).as_deref(),
            Some(
                r#"{"operation":"list \"tools\"","n":-3,"f":1.5,"ok":true,"none":null,"tags":["a",2],"nested":{"x\u0009y":{}}}"#
            )
        );
    }

    #[test]
    fn numbers_are_spelled_as_json_spells_them() {
        for (rust, json) in [
            (quote!({"n": 1.}), r#"{"n":1.0}"#),
            (quote!({"n": 007}), r#"{"n":7}"#),
            (quote!({"n": 0}), r#"{"n":0}"#),
            (quote!({"n": 00.5}), r#"{"n":0.5}"#),
            (quote!({"n": 0.0}), r#"{"n":0.0}"#),
            (quote!({"n": 1e5}), r#"{"n":1e5}"#),
            (quote!({"n": 2.5E-3}), r#"{"n":2.5e-3}"#),
            (quote!({"n": 1_000.000_1}), r#"{"n":1000.0001}"#),
            (quote!({"n": 0x1F}), r#"{"n":31}"#),
            (quote!({"n": -1.}), r#"{"n":-1.0}"#),
            (quote!({"n": -0}), r#"{"n":0}"#),
            (quote!({"n": -00}), r#"{"n":0}"#),
            (quote!({"n": -0.0}), r#"{"n":-0.0}"#),
        ] {
            assert_eq!(literal_json(&rust).as_deref(), Some(json), "{rust}");
        }
    }

    #[test]
    fn anything_but_literals_is_left_to_the_call() {
        for object in [
            quote!({"service": service}),
            quote!({"n": 1 + 2}),
            quote!({"n": 1u8}),
            quote!({"v": format!("x")}),
            quote!({key: "v"}),
        ] {
            assert_eq!(literal_json(&object), None, "{object}");
        }
    }
}
