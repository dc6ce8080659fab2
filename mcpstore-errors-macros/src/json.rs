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
                out.push('-');
                self::number(&number, out)?;
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
            out.push_str(int.base10_digits());
            return Some(());
        }
    }
    if let Ok(float) = syn::parse_str::<syn::LitFloat>(&text) {
        if float.suffix().is_empty() {
            let digits = float.base10_digits();
            let value: f64 = digits.parse().ok()?;
            if value.is_finite() {
                out.push_str(digits);
                return Some(());
            }
        }
    }
    None
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
