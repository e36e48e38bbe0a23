//! The JSON that Python's `json` module writes by default (`allow_nan=True`): standard JSON plus
//! the bare tokens `NaN`, `Infinity` and `-Infinity`. PASTIS' NORM_*_patch.json files may hold
//! them (a band whose statistics were computed over no pixel), and Python and the PASTIS loaders
//! read them.
//!
//! `serde_json` refuses those tokens and its `Value` cannot hold a non-finite number, so in the
//! model they are the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, the encoding the Zarr v3
//! specification uses for non-finite floats (its fill values). Zarr and HDF5 attributes and the
//! GeoTIFF manifest keep those strings; [`to_string_pretty`] writes them back as Python's bare
//! tokens, so a NORM file goes through every format value for value. (A NORM string whose whole
//! text is one of these three words would also come back as a bare token; NORM files hold
//! numbers.)

use serde_json::Value;

/// The three non-finite tokens of Python's JSON.
const TOKENS: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

/// Parses `text` as Python's `json.load` would, non-finite numbers becoming the strings
/// `"NaN"`, `"Infinity"`, `"-Infinity"`.
///
/// # Errors
/// `serde_json`'s error for anything else that is not JSON.
pub fn from_str(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(&quote_tokens(text))
}

/// Pretty JSON of `value`, the strings `"NaN"`, `"Infinity"`, `"-Infinity"` written as Python's
/// bare tokens (object keys excepted).
///
/// # Errors
/// `serde_json`'s serialisation error (none for a `Value`).
pub fn to_string_pretty(value: &Value) -> serde_json::Result<String> {
    Ok(unquote_tokens(&serde_json::to_string_pretty(value)?))
}

/// Quotes the bare non-finite tokens outside strings.
fn quote_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let end = string_end(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if let Some(token) = TOKENS.iter().find(|t| rest.starts_with(**t)) {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Writes the string tokens `"NaN"`... (values, not keys) of serde_json's output bare.
fn unquote_tokens(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if c != '"' {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = string_end(rest);
        let (string, after) = rest.split_at(end);
        let inner = &string[1..string.len().saturating_sub(1)];
        let is_key = after.trim_start().starts_with(':');
        if TOKENS.contains(&inner) && !is_key {
            out.push_str(inner);
        } else {
            out.push_str(string);
        }
        rest = after;
    }
    out
}

/// The length of the JSON string at the start of `s` (which starts with `"`), quotes included;
/// the whole of `s` if it is not closed.
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_tokens_read_and_write_back() {
        let text = r#"{"Fold_1": {"mean": [NaN, 1.5, -Infinity], "std": [Infinity, 0.0]},
                       "note": "NaN in a \"string\" stays", "NaN": -0.0}"#;
        let value = from_str(text).unwrap();
        assert_eq!(value["Fold_1"]["mean"], json!(["NaN", 1.5, "-Infinity"]));
        assert_eq!(value["Fold_1"]["std"][0], json!("Infinity"));
        assert_eq!(value["note"], json!("NaN in a \"string\" stays"));
        let written = to_string_pretty(&value).unwrap();
        assert!(written.contains("NaN,"), "{written}");
        assert!(written.contains("-Infinity\n"), "{written}");
        assert!(written.contains("\"NaN\": -0.0"), "{written}");
        assert_eq!(from_str(&written).unwrap(), value);
    }

    #[test]
    fn other_errors_stay_errors() {
        assert!(from_str("{\"a\": Nan}").is_err());
        assert!(from_str("{\"a\": [1, 2}").is_err());
    }
}
