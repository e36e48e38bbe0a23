//! `.npy` headers: pastis-bridge reads what `numpy.load` reads (issue #16, item 3), checked against
//! numpy itself in the test venv, and refuses the rest in one line naming the file. A property
//! test checks that key order, quotes, spacing and Python-2 `L` suffixes never change the spec.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use pastis_bridge::model::{ArraySpec, DType};
use pastis_bridge::npy::header::{parse, HeaderDict};
use pastis_bridge::npy::{read_header, read_npy};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 12 bytes of payload: int16 (3, 2) = [[1, 0], [1, 0], [256, 1]], or 12 booleans.
const PAYLOAD: [u8; 12] = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0];

/// A `.npy` file: prelude of `version`, the header bytes as given, padded with spaces and a
/// newline to 64 bytes when `pad`, then `payload`.
fn npy_bytes(version: u8, header: &[u8], pad: bool, payload: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut header = header.to_vec();
    if pad {
        let padlen = (64 - (prefix + header.len() + 1) % 64) % 64;
        header.extend(std::iter::repeat_n(b' ', padlen));
        header.push(b'\n');
    }
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    match version {
        1 => out.extend((header.len() as u16).to_le_bytes()),
        _ => out.extend((header.len() as u32).to_le_bytes()),
    }
    out.extend(header);
    out.extend(payload);
    out
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
}

fn case(name: &'static str, version: u8, header: &str) -> Case {
    Case {
        name,
        bytes: npy_bytes(version, header.as_bytes(), true, &PAYLOAD),
    }
}

const I16: &str = "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), }";

/// Headers numpy reads; pastis-bridge must read them to the same array.
fn accepted() -> Vec<Case> {
    let mut cases = vec![
        case("numpy 2.x", 1, I16),
        case("format 2.0", 2, I16),
        case("format 3.0", 3, I16),
        case(
            "Python 2 longs",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
        ),
        case(
            "Python 2 longs 2.0",
            2,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
        ),
        case(
            "longs spaced, hex",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3 L, 0x2L), }",
        ),
        case(
            "double quotes, key order",
            1,
            "{\"shape\": (3, 2), \"fortran_order\": False, \"descr\": \"<i2\"}",
        ),
        case(
            "no spaces, trailing commas",
            1,
            "{'fortran_order':False,'descr':'<i2','shape':(3,2,),}",
        ),
        case(
            "tabs and form feeds",
            1,
            "\t{'descr':\t'<i2',\x0c'fortran_order': False, 'shape': (3, 2)}\t",
        ),
        case(
            "line breaks",
            1,
            "{'descr': '<i2',\n 'fortran_order': False,\r\n 'shape': (3,\r 2)}",
        ),
        case(
            "leading line break",
            1,
            "\n{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "comment",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}  # by hand",
        ),
        case(
            "continuation",
            1,
            "{'descr': '<i2', \\\n'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "unicode prefix",
            1,
            "{u'descr': u'<i2', u'fortran_order': False, u'shape': (3, 2)}",
        ),
        case(
            "duplicate key",
            1,
            "{'descr': '<f8', 'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "signs",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (+3, 2)}",
        ),
        case(
            "underscores",
            1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1_2,)}",
        ),
        case(
            "descr without byte order",
            1,
            "{'descr': 'i2', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "descr character code",
            1,
            "{'descr': '<h', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "descr big-endian code",
            1,
            "{'descr': '>h', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "descr name",
            1,
            "{'descr': 'int16', 'fortran_order': True, 'shape': (3, 2)}",
        ),
        case(
            "bool code",
            1,
            "{'descr': '?', 'fortran_order': False, 'shape': (12,)}",
        ),
        case(
            "3.0 utf-8 comment",
            3,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}  # données",
        ),
    ];
    cases.push(Case {
        name: "no final newline",
        bytes: npy_bytes(
            1,
            b"{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}",
            false,
            &PAYLOAD,
        ),
    });
    cases.push(Case {
        name: "latin-1 comment",
        bytes: npy_bytes(
            1,
            b"{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)} # \xe9",
            true,
            &PAYLOAD,
        ),
    });
    cases
}

/// Headers numpy refuses too; pastis-bridge must refuse them in one line naming the file.
fn refused() -> Vec<Case> {
    vec![
        case(
            "longs in 3.0",
            3,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
        ),
        case(
            "lower-case l",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3l, 2l), }",
        ),
        case(
            "unterminated",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)",
        ),
        case(
            "double comma",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2),,}",
        ),
        case("missing key", 1, "{'descr': '<i2', 'shape': (3, 2)}"),
        case(
            "extra key",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), 'x': 1}",
        ),
        case(
            "not a dict",
            1,
            "[('descr', '<i2'), ('fortran_order', False), ('shape', (3, 2))]",
        ),
        case(
            "fortran_order 0",
            1,
            "{'descr': '<i2', 'fortran_order': 0, 'shape': (3, 2)}",
        ),
        case(
            "shape list",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': [3, 2]}",
        ),
        case(
            "shape bool",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (True, 12)}",
        ),
        case(
            "shape negative",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (-3, -2)}",
        ),
        case(
            "nul byte",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}\0",
        ),
        case(
            "descr with space",
            1,
            "{'descr': '<i2 ', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "descr byte order on a name",
            1,
            "{'descr': '<int16', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case("version 4.0", 4, I16),
    ]
}

/// Files numpy reads and pastis-bridge refuses, on purpose (docs/cli.md says why).
fn refused_on_purpose() -> Vec<Case> {
    vec![
        // The size of C `long` depends on the platform that wrote the file.
        Case {
            name: "descr C long",
            bytes: npy_bytes(
                1,
                b"{'descr': 'l', 'fortran_order': False, 'shape': (3,)}",
                true,
                &[PAYLOAD, PAYLOAD].concat(),
            ),
        },
        // Python expressions beyond literals and the syntax above.
        case(
            "concatenated strings",
            1,
            "{'descr': '<' 'i2', 'fortran_order': False, 'shape': (3, 2)}",
        ),
        case(
            "parenthesised value",
            1,
            "{'descr': '<i2', 'fortran_order': (False), 'shape': (3, 2)}",
        ),
        // numpy ignores bytes after the payload; they mean a damaged or mislabelled file.
        Case {
            name: "trailing bytes",
            bytes: npy_bytes(1, I16.as_bytes(), true, &[PAYLOAD, PAYLOAD].concat()),
        },
    ]
}

/// Writes each case as `DIR/NN.npy`; runs numpy.load on all of them at once.
fn numpy_verdicts(dir: &Path, cases: &[Case]) -> Vec<(PathBuf, Value)> {
    let paths: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = dir.join(format!("{i:02}.npy"));
            std::fs::write(&path, &c.bytes).unwrap();
            path
        })
        .collect();
    let args: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let out = common::run_python("npy_load.py", &args);
    let verdicts: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), cases.len(), "{out}");
    paths.into_iter().zip(verdicts).collect()
}

/// Our one-line refusal, naming the file.
fn assert_refused(path: &Path, name: &str) {
    let err = read_npy(path).unwrap_err().to_string();
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(err.contains(file), "{name}: {err}");
    assert!(!err.contains('\n'), "{name}: not one line: {err}");
}

#[test]
fn reads_every_header_numpy_reads_to_the_same_array() {
    let dir = tempfile::tempdir().unwrap();
    let cases = accepted();
    for ((path, numpy), case) in numpy_verdicts(dir.path(), &cases).iter().zip(&cases) {
        assert_eq!(
            numpy["ok"], true,
            "{}: numpy refuses it: {numpy}",
            case.name
        );
        let ours = read_npy(path).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(ours.dtype().npy_descr(), numpy["dtype"], "{}", case.name);
        let shape: Vec<usize> = serde_json::from_value(numpy["shape"].clone()).unwrap();
        assert_eq!(ours.shape(), shape.as_slice(), "{}", case.name);
        let hex: String = ours.le_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, numpy["hex"], "{}", case.name);
    }
}

#[test]
fn refuses_in_one_line_what_numpy_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let cases = refused();
    for ((path, numpy), case) in numpy_verdicts(dir.path(), &cases).iter().zip(&cases) {
        assert_eq!(numpy["ok"], false, "{}: numpy reads it: {numpy}", case.name);
        assert_refused(path, case.name);
    }
}

#[test]
fn known_differences_from_numpy_stay_known() {
    // If numpy stops reading one of these, or pastis-bridge starts, update docs/cli.md.
    let dir = tempfile::tempdir().unwrap();
    let cases = refused_on_purpose();
    for ((path, numpy), case) in numpy_verdicts(dir.path(), &cases).iter().zip(&cases) {
        assert_eq!(
            numpy["ok"], true,
            "{}: numpy refuses it: {numpy}",
            case.name
        );
        assert_refused(path, case.name);
    }
}

/// One header entry as text: `key: value`, with the key's quote and spacing chosen.
fn entry(key: &str, value: String, quote: char, unicode: bool, space: &str) -> String {
    let u = if unicode { "u" } else { "" };
    format!("{u}{quote}{key}{quote}{space}:{space}{value}")
}

/// A shape literal with optional `L` suffixes (one flag per axis) and spacing.
fn shape_text(shape: &[usize], longs: &[bool], space: &str) -> String {
    let dims: Vec<String> = shape
        .iter()
        .zip(longs.iter().chain(std::iter::repeat(&false)))
        .map(|(d, &l)| format!("{d}{}", if l { "L" } else { "" }))
        .collect();
    match dims.len() {
        1 => format!("({},{space})", dims[0]),
        _ => format!("({})", dims.join(&format!(",{space}"))),
    }
}

fn spacing() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["", " ", "  ", "\t", "\n", " \r\n "]).prop_map(String::from)
}

/// 300 cases; failing cases are kept in the committed proptest-regressions/npy_headers.txt.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/npy_headers.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Key order, quotes, spacing, `u` prefixes, trailing commas, `L` suffixes (format 1.0 and
    /// 2.0) and the format version never change what a header says; `L` in 3.0 is refused.
    #[test]
    fn header_spelling_never_changes_the_spec(
        dtype in proptest::sample::select(DType::ALL.to_vec()),
        shape in proptest::collection::vec(0usize..300, 0..5),
        fortran in any::<bool>(),
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
        quotes in proptest::collection::vec(prop_oneof![Just('\''), Just('"')], 4),
        unicode in proptest::collection::vec(any::<bool>(), 4),
        longs in proptest::collection::vec(any::<bool>(), 5),
        spaces in proptest::collection::vec(spacing(), 4),
        trailing_comma in any::<bool>(),
        version in 1u8..=3,
    ) {
        let descr = format!("{q}{}{q}", dtype.npy_descr(), q = quotes[3]);
        let descr = if unicode[3] { format!("u{descr}") } else { descr };
        let fortran_text = if fortran { "True" } else { "False" }.to_string();
        let entries = [
            entry("descr", descr, quotes[0], unicode[0], &spaces[0]),
            entry("fortran_order", fortran_text, quotes[1], unicode[1], &spaces[1]),
            entry("shape", shape_text(&shape, &longs, &spaces[2]), quotes[2], unicode[2], &spaces[2]),
        ];
        let body: Vec<&str> = order.iter().map(|&i| entries[i].as_str()).collect();
        let sep = format!(",{}", spaces[3]);
        let text = format!(
            "{{{}{}{}}}",
            spaces[3],
            body.join(&sep),
            if trailing_comma { sep.as_str() } else { "" }
        );
        let want = HeaderDict {
            descr: py_literal::Value::String(dtype.npy_descr().into()),
            fortran_order: fortran,
            shape: shape.clone(),
        };
        let has_long = !shape.is_empty() && longs.iter().take(shape.len()).any(|&l| l);
        let got = parse(&text, (version, 0));
        if version == 3 && has_long {
            prop_assert!(got.is_err(), "{:?}", text);
        } else {
            prop_assert_eq!(got, Ok(want), "{:?}", text);
            // And through a file, as the readers see it.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("p.npy");
            std::fs::write(&path, npy_bytes(version, text.as_bytes(), true, &[])).unwrap();
            let header = read_header(&path).unwrap();
            prop_assert_eq!(header.spec, ArraySpec { dtype, shape: shape.clone() });
            prop_assert_eq!(header.fortran_order, fortran);
            prop_assert_eq!(header.version, (version, 0));
        }
    }
}
