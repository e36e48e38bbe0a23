//! The header of a `.npy` file, read the way `numpy.load` reads it.
//!
//! Why not `ndarray_npy::npy::header::Header::from_reader`: it refuses headers that numpy reads —
//! Python-2 long integers (`'shape': (3L, 32L, 32L)`), a dictionary spread over several lines or
//! carrying a comment, `u'...'` strings, a header without its final newline — and its parser
//! errors are multi-line pest traces. numpy (`numpy/lib/_format_impl.py`, `_read_array_header`)
//! decodes the header as latin-1 (format 1.0 and 2.0) or UTF-8 (3.0), evaluates it with
//! `ast.literal_eval`, retries with the `L` suffixes removed for 1.0 and 2.0 (`_filter_header`),
//! then requires exactly the keys `descr`, `fortran_order` and `shape`. This module does the same:
//! it reads the prelude (magic, version, length), rewrites the Python syntax `py_literal` lacks
//! into the syntax it parses ([`normalise`]), parses the literal with `py_literal` and checks the
//! dictionary ([`interpret`]). Every error is one line.

use py_literal::Value as PyValue;
use std::io::Read;
use thiserror::Error;

/// `\x93NUMPY`, the first 6 bytes of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy's `_MAX_HEADER_SIZE`: `numpy.load` refuses longer headers unless `allow_pickle=True`.
pub const MAX_HEADER_CHARS: usize = 10_000;

/// Longest piece of header text quoted in an error message.
const QUOTE_CHARS: usize = 100;

/// Why a `.npy` header was refused. Each message is one line.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeaderError {
    /// The file does not start with `\x93NUMPY`.
    #[error("the magic string is not \\x93NUMPY")]
    Magic,
    /// A format version numpy never wrote (it writes 1.0, 2.0 and 3.0).
    #[error("unknown version number: {major}.{minor} (numpy writes 1.0, 2.0 and 3.0)")]
    Version {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The file ends inside the prelude or the header.
    #[error("the file ends inside the header ({needed} bytes of header, {available} in the file)")]
    Truncated {
        /// Bytes the prelude and header need.
        needed: u64,
        /// Bytes in the file.
        available: u64,
    },
    /// Longer than numpy reads by default: the length in characters, or in bytes when the
    /// header could not even hold few enough characters (more than 4 bytes per character).
    #[error("the header is {0} long; numpy.load refuses more than {MAX_HEADER_CHARS} characters")]
    TooLong(String),
    /// A format-3.0 header that is not UTF-8.
    #[error("a format 3.0 header must be UTF-8")]
    NotUtf8,
    /// The text is not a Python literal.
    #[error("cannot parse the header dictionary{where_}: {text}")]
    Syntax {
        /// ` at column N` when the parser says where, else empty.
        where_: String,
        /// The header text, escaped and shortened.
        text: String,
    },
    /// A Python-2 long integer in a format-3.0 header, which numpy refuses too.
    #[error("Python-2 long integers (3L) are only read in format 1.0 and 2.0 headers, as numpy reads them: {0}")]
    LongInVersion3(String),
    /// The literal is not a dictionary.
    #[error("the header is not a dictionary: {0}")]
    NotDict(String),
    /// Keys other than exactly `descr`, `fortran_order` and `shape`.
    #[error(
        "the header has the keys [{0}]; numpy needs exactly 'descr', 'fortran_order' and 'shape'"
    )]
    Keys(String),
    /// `fortran_order` is not `True` or `False`.
    #[error("fortran_order is not True or False: {0}")]
    FortranOrder(String),
    /// `shape` is not a tuple of non-negative integers that fit in memory addresses.
    #[error("shape is not a tuple of non-negative integers: {0}")]
    Shape(String),
}

/// The three entries of a header dictionary.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderDict {
    /// `descr`: a type string such as `<i2`, or a list for structured arrays.
    pub descr: PyValue,
    /// `fortran_order`.
    pub fortran_order: bool,
    /// `shape`, in elements.
    pub shape: Vec<usize>,
}

/// A header as read from a file: its version, the dictionary and where the payload starts.
#[derive(Clone, Debug, PartialEq)]
pub struct RawHeader {
    /// Format version (major, minor): (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    /// The parsed dictionary.
    pub dict: HeaderDict,
    /// Bytes before the payload: prelude plus header.
    pub data_offset: u64,
}

/// Reads the prelude and header of a `.npy` file of `file_len` bytes from its start.
/// The header length is checked against `file_len` before anything is allocated.
pub fn read<R: Read>(reader: &mut R, file_len: u64) -> Result<RawHeader, ReadError> {
    let truncated = |needed: u64| HeaderError::Truncated {
        needed,
        available: file_len,
    };
    let mut prelude = Vec::with_capacity(8);
    reader.by_ref().take(8).read_to_end(&mut prelude)?;
    if !MAGIC.starts_with(prelude.get(..6).unwrap_or(&prelude)) {
        return Err(HeaderError::Magic.into());
    }
    let (Some(&major), Some(&minor)) = (prelude.get(6), prelude.get(7)) else {
        return Err(truncated(10).into());
    };
    let version = (major, minor);
    let len_bytes = match version {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (major, minor) => return Err(HeaderError::Version { major, minor }.into()),
    };
    let mut len = [0u8; 4];
    let (len_field, _) = len.split_at_mut(len_bytes);
    read_exact_or(reader, len_field, || truncated(8 + len_bytes as u64))?;
    let header_len = u64::from(u32::from_le_bytes(len));
    let data_offset = 8 + len_bytes as u64 + header_len;
    if data_offset > file_len {
        return Err(truncated(data_offset).into());
    }
    // UTF-8 takes at most 4 bytes a character: a longer header is refused before it is read.
    if header_len > 4 * MAX_HEADER_CHARS as u64 {
        return Err(HeaderError::TooLong(format!("{header_len} bytes")).into());
    }
    let mut bytes = vec![0u8; header_len as usize];
    read_exact_or(reader, &mut bytes, || truncated(data_offset))?;
    let text = decode(&bytes, version)?;
    Ok(RawHeader {
        version,
        dict: parse(&text, version)?,
        data_offset,
    })
}

/// What [`read`] can fail with: the file, or its header.
#[derive(Debug, Error)]
pub enum ReadError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The header is refused.
    #[error("not a valid .npy header: {0}")]
    Header(#[from] HeaderError),
}

fn read_exact_or<R: Read>(
    reader: &mut R,
    buf: &mut [u8],
    short: impl FnOnce() -> HeaderError,
) -> Result<(), ReadError> {
    match reader.read_exact(buf) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(short().into()),
        other => Ok(other?),
    }
}

/// The header text as numpy decodes it: latin-1 for 1.0 and 2.0, UTF-8 for 3.0.
fn decode(bytes: &[u8], version: (u8, u8)) -> Result<String, HeaderError> {
    let text = match version {
        (3, _) => String::from_utf8(bytes.to_vec()).map_err(|_| HeaderError::NotUtf8)?,
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let chars = text.chars().count();
    if chars > MAX_HEADER_CHARS {
        return Err(HeaderError::TooLong(format!("{chars} characters")));
    }
    Ok(text)
}

/// Parses header text as `numpy.load` does for a file of format `version`.
pub fn parse(text: &str, version: (u8, u8)) -> Result<HeaderDict, HeaderError> {
    let long_suffix = version < (3, 0);
    let value: PyValue =
        normalise(text, long_suffix)
            .parse()
            .map_err(|e: py_literal::ParseError| {
                if !long_suffix && normalise(text, true) != normalise(text, false) {
                    HeaderError::LongInVersion3(quote(text))
                } else {
                    syntax_error(&e, text)
                }
            })?;
    interpret(value)
}

/// Rewrites the Python syntax `ast.literal_eval` accepts but `py_literal` does not into the syntax
/// it does, outside string literals only: line breaks and backslash continuations become spaces
/// (the dictionary's braces join lines in Python), comments are dropped, the `u`/`U` prefix of
/// Python-2 unicode strings is dropped and, when `long_suffix`, the `L` after an integer
/// (`3L`, as Python 2 wrote longs; numpy's `_filter_header`) is dropped.
pub fn normalise(text: &str, long_suffix: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev_ident = i
            .checked_sub(1)
            .and_then(|p| chars.get(p))
            .is_some_and(|&p| is_ident(p));
        match c {
            '\'' | '"' => i = copy_string(&chars, i, &mut out),
            'u' | 'U' if !prev_ident && matches!(chars.get(i + 1), Some('\'' | '"')) => i += 1,
            '#' => {
                while chars.get(i).is_some_and(|&c| c != '\n' && c != '\r') {
                    i += 1;
                }
            }
            '\\' if matches!(chars.get(i + 1), Some('\n' | '\r')) => {
                out.push(' ');
                let crlf = chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n');
                i += if crlf { 3 } else { 2 };
            }
            '\n' | '\r' => {
                out.push(' ');
                i += 1;
            }
            c if c.is_ascii_digit() && !prev_ident => {
                let end = number_end(&chars, i);
                out.extend(chars.get(i..end).unwrap_or_default());
                i = end;
                if long_suffix {
                    let mut j = i;
                    while matches!(chars.get(j), Some(' ' | '\t' | '\x0c')) {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'L') && !chars.get(j + 1).is_some_and(|&c| is_ident(c))
                    {
                        out.extend(chars.get(i..j).unwrap_or_default());
                        i = j + 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Copies the string literal starting at `chars[start]` (a quote) to `out`, escapes included;
/// returns the index after its closing quote (or the end of the text if it is not closed).
fn copy_string(chars: &[char], start: usize, out: &mut String) -> usize {
    let Some(&quote) = chars.get(start) else {
        return chars.len();
    };
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let delimiter = if triple { 3 } else { 1 };
    let closes = |i: usize| (i..i + delimiter).all(|k| chars.get(k) == Some(&quote));
    let mut i = start + delimiter;
    while let Some(&c) = chars.get(i).filter(|_| !closes(i)) {
        i += if c == '\\' { 2 } else { 1 };
    }
    let end = (i + delimiter).min(chars.len());
    out.extend(chars.get(start..end).unwrap_or_default());
    end
}

/// The end of the number token starting at `chars[start]` (a digit), as Python tokenises it:
/// `0x`/`0o`/`0b` integers, or decimal digits with an optional fraction, exponent and `j`.
fn number_end(chars: &[char], start: usize) -> usize {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let run = |mut i: usize, ok: &dyn Fn(char) -> bool| {
        while ok(at(i)) || (at(i) == '_' && ok(at(i + 1))) {
            i += 1;
        }
        i
    };
    let radix = match (at(start), at(start + 1).to_ascii_lowercase()) {
        ('0', 'x') => Some(16),
        ('0', 'o') => Some(8),
        ('0', 'b') => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        return run(start + 2, &|c: char| c.is_digit(radix));
    }
    let digit = |c: char| c.is_ascii_digit();
    let mut i = run(start, &digit);
    if at(i) == '.' {
        i = run(i + 1, &digit);
    }
    if matches!(at(i), 'e' | 'E') {
        let sign = usize::from(matches!(at(i + 1), '+' | '-'));
        if digit(at(i + 1 + sign)) {
            i = run(i + 1 + sign, &digit);
        }
    }
    if matches!(at(i), 'j' | 'J') {
        i += 1;
    }
    i
}

/// Checks the dictionary as numpy does: exactly the three keys, a bool, a tuple of integers.
pub fn interpret(value: PyValue) -> Result<HeaderDict, HeaderError> {
    let PyValue::Dict(pairs) = value else {
        return Err(HeaderError::NotDict(shorten(&value.to_string())));
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    let mut unexpected = false;
    // Later duplicates win, as in a Python dict literal.
    for (key, value) in &pairs {
        match key {
            PyValue::String(k) if k == "descr" => descr = Some(value),
            PyValue::String(k) if k == "fortran_order" => fortran_order = Some(value),
            PyValue::String(k) if k == "shape" => shape = Some(value),
            _ => unexpected = true,
        }
    }
    let (Some(descr), Some(fortran_order), Some(shape), false) =
        (descr, fortran_order, shape, unexpected)
    else {
        let mut keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_string()).collect();
        keys.sort();
        keys.dedup();
        return Err(HeaderError::Keys(shorten(&keys.join(", "))));
    };
    let fortran_order = match fortran_order {
        PyValue::Boolean(b) => *b,
        other => return Err(HeaderError::FortranOrder(shorten(&other.to_string()))),
    };
    Ok(HeaderDict {
        descr: descr.clone(),
        fortran_order,
        shape: parse_shape(shape)?,
    })
}

fn parse_shape(value: &PyValue) -> Result<Vec<usize>, HeaderError> {
    let bad = || HeaderError::Shape(shorten(&value.to_string()));
    let PyValue::Tuple(dims) = value else {
        return Err(bad());
    };
    dims.iter()
        .map(|d| match d {
            PyValue::Integer(n) => usize::try_from(n)
                .ok()
                .filter(|&n| n <= isize::MAX as usize),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(bad)
}

/// A one-line syntax error: where the parser stopped, when it says so. The column counts
/// characters of the text after [`normalise`] (the same as the file's unless `L` suffixes or
/// comments were removed before it).
fn syntax_error(e: &py_literal::ParseError, text: &str) -> HeaderError {
    // pest's trace starts " --> LINE:COLUMN" and continues over several lines.
    let column = e
        .to_string()
        .split("-->")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pos| pos.split(':').nth(1).map(str::to_owned));
    HeaderError::Syntax {
        where_: column
            .map(|c| format!(" at column {c}"))
            .unwrap_or_default(),
        text: quote(text),
    }
}

/// The header text as a one-line, shortened quotation, control characters escaped.
fn quote(text: &str) -> String {
    let trimmed = text.trim_end_matches([' ', '\n']);
    format!("\"{}\"", shorten(trimmed))
}

/// At most [`QUOTE_CHARS`] characters, with `...` when cut; control characters (line breaks,
/// NUL...) escaped so the message stays on one line.
fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_CHARS {
            out.push_str("...");
            break;
        }
        match c.is_control() {
            true => out.extend(c.escape_debug()),
            false => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: (u8, u8) = (1, 0);
    const V3: (u8, u8) = (3, 0);

    fn int16_3x2() -> HeaderDict {
        HeaderDict {
            descr: PyValue::String("<i2".into()),
            fortran_order: false,
            shape: vec![3, 2],
        }
    }

    #[test]
    fn what_numpy_writes() {
        let text = "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), }          \n";
        assert_eq!(parse(text, V1), Ok(int16_3x2()));
        assert_eq!(parse(text, V3), Ok(int16_3x2()));
    }

    #[test]
    fn python_2_long_integers_in_versions_1_and_2() {
        for text in [
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3 L, 0x2L), }",
        ] {
            assert_eq!(parse(text, V1), Ok(int16_3x2()), "{text}");
            assert_eq!(parse(text, (2, 0)), Ok(int16_3x2()), "{text}");
            let err = parse(text, V3).unwrap_err().to_string();
            assert!(err.contains("only read in format 1.0 and 2.0"), "{err}");
        }
        // numpy removes only an `L` token right after a number: not `l`, not inside strings.
        let lower = "{'descr': '<i2', 'fortran_order': False, 'shape': (3l, 2), }";
        assert!(parse(lower, V1).is_err());
        assert_eq!(normalise("{'a 3L': 3L}", true), "{'a 3L': 3}");
        assert_eq!(normalise("(3Lx, 3 L)", true), "(3Lx, 3 )");
    }

    #[test]
    fn any_key_order_quotes_and_spacing() {
        for text in [
            "{\"shape\": (3, 2), \"descr\": \"<i2\", \"fortran_order\": False}",
            "{'fortran_order':False,'shape':(3,2),'descr':'<i2'}",
            "  {'descr':\t'<i2',\x0c'fortran_order': False, 'shape': (3, 2,),}\t \n",
            "{'descr': '<i2',\n 'fortran_order': False,\r\n 'shape': (3,\n 2)}",
            "{u'descr': u'<i2', 'fortran_order': False, 'shape': (+3, 2)}  # written by hand\n",
            "{'descr': '<i2', \\\n'fortran_order': False, 'shape': (0x3, 0b10)}",
            "{'descr': '<f8', 'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}",
        ] {
            assert_eq!(parse(text, V1), Ok(int16_3x2()), "{text:?}");
        }
    }

    #[test]
    fn strings_are_copied_untouched() {
        let text = r#"{'a\'#': "x\"\n", '''L3''': u"u'"}"#;
        assert_eq!(
            normalise(text, true),
            r#"{'a\'#': "x\"\n", '''L3''': "u'"}"#
        );
        assert_eq!(number_end(&['1', '_', '0', 'e', '-', '3', 'j'], 0), 7);
        assert_eq!(number_end(&['1', 'e', 'x'], 0), 1);
    }

    #[test]
    fn refusals_are_one_line_and_say_why() {
        let cases = [
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)",
                "cannot parse the header dictionary at column",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2),,}",
                "cannot parse",
            ),
            ("[1, 2]", "not a dictionary: [1, 2]"),
            ("{'descr': '<i2', 'shape': (3,)}", "keys ['descr', 'shape']"),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), 'x': 1}",
                "keys ['descr', 'fortran_order', 'shape', 'x']",
            ),
            (
                "{'descr': '<i2', 'fortran_order': 0, 'shape': (3,)}",
                "fortran_order is not True or False: 0",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': [3]}",
                "shape is not a tuple",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (-1,)}",
                "shape is not a tuple",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (True,)}",
                "shape is not a tuple",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                "shape is not a tuple",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3,)}\0",
                "cannot parse",
            ),
        ];
        for (text, needle) in cases {
            let err = parse(text, V1).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{text:?}: {err}");
        }
        let long = format!("{{'descr': '<i2', 'x': '{}'", "a".repeat(500));
        let err = parse(&long, V1).unwrap_err().to_string();
        assert!(err.len() < 200 && err.ends_with("...\""), "{err}");
    }

    #[test]
    fn prelude_errors() {
        let read_bytes = |b: &[u8]| read(&mut &b[..], b.len() as u64).unwrap_err().to_string();
        assert!(read_bytes(b"\x93NUMP").contains("ends inside the header"));
        assert!(read_bytes(b"NUMPY!\x01\x00\x00\x00").contains("magic"));
        assert!(read_bytes(b"\x93NUMPY\x09\x00\x00\x00").contains("unknown version number: 9.0"));
        // A length far beyond the file is refused before anything is allocated.
        assert!(read_bytes(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}").contains("4294967307 bytes"));
        let mut big = b"\x93NUMPY\x02\x00".to_vec();
        let dict = format!(
            "{{'descr': '<i2', 'x': '{}'}}\n",
            "a".repeat(MAX_HEADER_CHARS)
        );
        big.extend((dict.len() as u32).to_le_bytes());
        big.extend(dict.as_bytes());
        assert!(read_bytes(&big).contains("characters long; numpy.load refuses more than 10000"));
        let mut huge = b"\x93NUMPY\x02\x00\x00\x00\x01\x00".to_vec();
        huge.resize(0x10000 + 12, b' ');
        assert!(read_bytes(&huge).contains("is 65536 bytes long"));
        let mut v3 = b"\x93NUMPY\x03\x00\x02\x00\x00\x00".to_vec();
        v3.extend(b"\xff\n");
        assert!(read_bytes(&v3).contains("must be UTF-8"));
    }

    #[test]
    fn latin1_and_utf8_as_numpy_decodes() {
        assert_eq!(decode(b"\xe9", V1).unwrap(), "é");
        assert_eq!(decode("é".as_bytes(), V3).unwrap(), "é");
    }
}
