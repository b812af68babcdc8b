//! Finding the code in what a person pasted. People paste what they were sent: a code in
//! quotes (`'Q…'`, as a shell example shows it), after a label ("my code: Q…"), broken over
//! lines by a terminal or a mail client, with spaces, with `> ` quote marks in front. The
//! code is one run of code characters; this finds the run that decodes.

use super::{decode, json, MAX_INPUT};

/// Most word starts looked at, and most words joined into one code (a code broken over
/// lines of 20 columns is still fewer than 40 pieces).
const MAX_STARTS: usize = 200;
const MAX_PIECES: usize = 64;

/// The code inside `text`: the first run of code characters that decodes (quotes, a label
/// in front, line breaks and spaces inside left out). When nothing decodes, the likeliest
/// run (the longest that starts like a code), so that decoding it says what is wrong with
/// it; with no such run, the trimmed text. Browser JSON is returned as it is (from its
/// first `{` to its last `}` when there is text around it).
pub fn find_code(text: &str) -> String {
    if text.len() > MAX_INPUT {
        // Too long to be a code with a few words around it: let decode say so.
        return text.to_string();
    }
    let t = text.trim();
    if t.is_empty() || json::looks_like(t) {
        return t.to_string();
    }
    let json_part = match (t.find('{'), t.rfind('}')) {
        (Some(a), Some(b)) if a < b => Some(&t[a..=b]),
        _ => None,
    };
    if let Some(j) = json_part {
        if decode(j).is_ok() {
            return j.to_string();
        }
    }
    let words: Vec<Word> = t.split_whitespace().map(Word::of).collect();
    let mut best: Option<((bool, usize), String)> = None;
    let mut starts = 0;
    for i in 0..words.len() {
        if !words[i].starts_like_a_code() {
            continue;
        }
        starts += 1;
        if starts > MAX_STARTS {
            break;
        }
        // The run from word i: code-character words, skipping bare punctuation ("> "),
        // ending at a closing quote or any other word.
        let mut pieces: Vec<&str> = Vec::new();
        for w in &words[i..] {
            if w.body.is_empty() && !w.closes {
                continue;
            }
            if w.body.is_empty() || !w.is_code_chars() || pieces.len() == MAX_PIECES {
                break;
            }
            pieces.push(w.body);
            if w.closes {
                break;
            }
        }
        for n in (1..=pieces.len()).rev() {
            let joined = pieces[..n].concat();
            if decode(&joined).is_ok() {
                return joined;
            }
        }
        // The likeliest when nothing decodes: a run that starts with an upper-case code
        // letter (as every code does) before one that starts with a word, then the longest.
        let whole = pieces.concat();
        let score = (whole.starts_with(['Q', 'Z']), whole.len());
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, whole));
        }
    }
    match (best, json_part) {
        (Some((_, b)), _) => b,
        (None, Some(j)) => j.to_string(),
        (None, None) => t.to_string(),
    }
}

/// One whitespace-separated word of a paste, with its quotes and label cut off.
struct Word<'a> {
    body: &'a str,
    /// A closing quote (or sentence end) came after the body: a code ends here.
    closes: bool,
}

const OPENERS: &[char] = &['\'', '"', '`', '‘', '“', '«', '<', '(', '[', '>', '|'];
const CLOSERS: &[char] = &[
    '\'', '"', '`', '’', '”', '»', '>', ')', ']', '.', ',', ';', ':', '!', '?',
];
const QUOTES: &[char] = &['\'', '"', '`', '’', '”', '»'];

impl<'a> Word<'a> {
    fn of(raw: &'a str) -> Word<'a> {
        // "code:Q…" / "code=Q…": the part after the label (code characters hold neither).
        let after_label = raw.rsplit([':', '=']).next().unwrap_or(raw);
        let body = after_label.trim_start_matches(OPENERS);
        let trimmed = body.trim_end_matches(CLOSERS);
        let tail = &body[trimmed.len()..];
        Word {
            body: trimmed,
            closes: tail.contains(QUOTES) || (trimmed.is_empty() && raw.contains(QUOTES)),
        }
    }

    fn starts_like_a_code(&self) -> bool {
        self.body.starts_with(['Q', 'q', 'Z']) && self.is_code_chars()
    }

    /// Characters of a compact (base32) or baseline (base64url) code.
    fn is_code_chars(&self) -> bool {
        self.body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::qrchat_offer;
    use super::super::{decode, encode, DecodeError, Format};
    use super::*;

    fn code(format: Format) -> String {
        let offer = qrchat_offer(&[("192.168.1.5".parse().unwrap(), 50000)]);
        encode(&offer, format).unwrap()
    }

    #[test]
    fn a_bare_code_is_itself() {
        for f in [Format::Compact, Format::Baseline, Format::Json] {
            let c = code(f);
            assert_eq!(find_code(&c), c);
            assert_eq!(find_code(&format!("  {c}\n")), c);
        }
    }

    #[test]
    fn quotes_labels_and_line_breaks_are_left_out() {
        for f in [Format::Compact, Format::Baseline] {
            let c = code(f);
            let (a, b) = c.split_at(c.len() / 2);
            let (b, d) = b.split_at(b.len() / 2);
            let cases = [
                format!("'{c}'"),
                format!("\"{c}\""),
                format!("`{c}`"),
                format!("“{c}”"),
                format!("my code: {c}"),
                format!("my code:{c}"),
                format!("Zoe's code is {c}. Thanks!"),
                format!("here it is:\n\n    {c}\n\nbye"),
                format!("{a}\n{b}\n{d}"),
                format!("{a} {b} {d}"),
                format!("> {a}\n> {b}\n> {d}"),
                format!("qrchat answer '{a}\n{b}{d}'"),
                format!("code: '{a}\r\n{b}\r\n{d}' (from Bob)"),
            ];
            for paste in cases {
                assert_eq!(find_code(&paste), c, "in {paste:?}");
                assert!(decode(&find_code(&paste)).is_ok());
            }
        }
    }

    #[test]
    fn browser_json_with_text_around_it_is_found() {
        let c = code(Format::Json);
        assert_eq!(find_code(&format!("offer: {c} (from the page)")), c);
        assert_eq!(find_code(&format!("join({c});")), format!("join({c});"));
    }

    #[test]
    fn a_damaged_code_keeps_its_own_error() {
        let c = code(Format::Compact);
        let cut = &c[..c.len() - 10];
        let found = find_code(&format!("my code: '{cut}'"));
        assert_eq!(found, cut);
        assert!(matches!(
            decode(&found),
            Err(DecodeError::Damaged { .. } | DecodeError::BadEncoding { .. })
        ));
        // A word before it that starts like a code does not take its place.
        assert_eq!(find_code(&format!("qrchat answer '{cut}'")), cut);
        // No code at all: the text as it is, and decode says it is not a qrchat code.
        assert_eq!(find_code("  hello there "), "hello there");
        assert_eq!(
            decode(&find_code("hello there")),
            Err(DecodeError::NotQrchat)
        );
        assert_eq!(find_code(""), "");
    }

    #[test]
    fn a_huge_paste_is_left_for_decode_to_refuse() {
        let big = "Q".repeat(MAX_INPUT + 1);
        assert!(matches!(
            decode(&find_code(&big)),
            Err(DecodeError::TooLong { .. })
        ));
        // Many words that start like codes: bounded work, no code found.
        let words = "Zebra quick ".repeat(5000);
        assert!(decode(&find_code(&words)).is_err());
    }

    #[test]
    fn answer_format_follows_a_json_offer() {
        use super::super::{answer_format, Encoding};
        assert_eq!(answer_format(Encoding::Json, false), Format::Json);
        assert_eq!(answer_format(Encoding::Compact, false), Format::Auto);
        assert_eq!(answer_format(Encoding::Baseline, false), Format::Auto);
        assert_eq!(answer_format(Encoding::Compact, true), Format::Json);
    }

    #[test]
    fn fingerprint_hex_round_trips_and_refuses_junk() {
        use super::super::{fingerprint_hex, parse_fingerprint_hex};
        let fp: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        let hex = fingerprint_hex(&fp);
        assert_eq!(parse_fingerprint_hex(&hex), Some(fp));
        assert_eq!(parse_fingerprint_hex(&hex.to_lowercase()), Some(fp));
        assert_eq!(parse_fingerprint_hex(&hex[3..]), None, "31 bytes");
        assert_eq!(
            parse_fingerprint_hex(&format!("{hex}:00")),
            None,
            "33 bytes"
        );
        assert_eq!(parse_fingerprint_hex(&hex.replacen("00", "+0", 1)), None);
        assert_eq!(parse_fingerprint_hex(&hex.replacen(":", "", 1)), None);
    }

    #[test]
    fn candidates_are_listed_once_per_address() {
        use super::super::candidates;
        let offer = qrchat_offer(&[
            ("192.168.1.5".parse().unwrap(), 50000),
            ("2001:db8::7".parse().unwrap(), 50001),
        ]);
        assert_eq!(
            candidates(&offer.sdp),
            vec!["192.168.1.5:50000 host", "[2001:db8::7]:50001 host"]
        );
    }
}
