//! The selector lexer (Kubernetes' `labels.Lexer`): bytes in, tokens out.

/// A token of the selector syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits `input` into tokens, ending with `EndOfString` (a NUL byte also ends the input,
/// as in Kubernetes' lexer).
pub(super) fn tokens(input: &str) -> Vec<(Token, String)> {
    let b = input.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while is_whitespace(at(pos)) {
            pos += 1;
        }
        let c = at(pos);
        if c == 0 {
            out.push((Token::EndOfString, String::new()));
            return out;
        }
        if is_special(c) {
            // Longest run of special symbols that still forms a token.
            let start = pos;
            let mut last: Option<(Token, usize)> = None;
            while is_special(at(pos)) {
                pos += 1;
                match keyword(&input[start..pos]) {
                    Some(t) => last = Some((t, pos)),
                    None if last.is_some() => break,
                    None => {}
                }
            }
            // Every special symbol is a token on its own, so `last` is set.
            let (token, end) = last.unwrap_or((Token::EndOfString, pos));
            pos = end;
            out.push((token, input[start..end].to_owned()));
        } else {
            let start = pos;
            while {
                let c = at(pos);
                c != 0 && !is_whitespace(c) && !is_special(c)
            } {
                pos += 1;
            }
            let word = &input[start..pos];
            out.push((keyword(word).unwrap_or(Token::Identifier), word.to_owned()));
        }
    }
}
