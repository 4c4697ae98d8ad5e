//! The differential test's generator: seeded random rows for a table of many types, in
//! canonical, boundary and odd spellings (PostgreSQL refuses some of them: both sides must
//! then refuse the row), written as CSV the way PostgreSQL reads it.

use rand::rngs::StdRng;
use rand::Rng;

/// Columns with a binary encoder only: loaded with COPY BINARY / binary parameters when
/// every value of a chunk is canonical, as text otherwise.
pub const BINARY_DDL: &str = "id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,6), \
    n72 numeric(7,2), f4 float4, f8 float8, b bool, t text, vc varchar(50), c5 char(5), \
    u uuid, d date, ts timestamp, ts3 timestamp(3), tstz timestamptz, tm time, iv interval, \
    j json, jb jsonb, by bytea";
/// The same plus types converted only by the server: COPY text format and text parameters.
pub const OTHER_DDL: &str = "id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,6), \
    n72 numeric(7,2), f4 float4, f8 float8, b bool, t text, vc varchar(50), c5 char(5), \
    u uuid, d date, ts timestamp, ts3 timestamp(3), tstz timestamptz, tm time, iv interval, \
    j json, jb jsonb, by bytea, e mood, arr int4[], ta text[], va varchar(5)[], \
    na numeric(7,2)[], ip inet, net cidr, m money, tt timetz, bt bit(3)";

/// The enum the text-format table uses.
pub const MOOD: &str = "CREATE TYPE mood AS ENUM ('happy', 'sad', 'so so', 'ünï \"q\"')";

/// The column names of `ddl`, in order.
pub fn header(ddl: &str) -> Vec<&str> {
    ddl.split(", ")
        .map(|d| d.split_whitespace().next().unwrap())
        .collect()
}

fn pick<'a>(rng: &mut StdRng, v: &[&'a str]) -> &'a str {
    v[rng.gen_range(0..v.len())]
}

/// Spaces around a value whose type's input function trims them.
fn pad(v: String, rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => format!(" {v}"),
        1 => format!("{v}  "),
        2 => format!("\t{v} "),
        _ => v,
    }
}

fn int_text(x: i64, rng: &mut StdRng) -> String {
    let s = match rng.gen_range(0..6) {
        0 if x >= 0 => format!("+{x}"),
        1 if x >= 0 => format!("00{x}"),
        _ => x.to_string(),
    };
    pad(s, rng)
}

fn int_in(rng: &mut StdRng, min: i64, max: i64) -> i64 {
    match rng.gen_range(0..10) {
        0 => min,
        1 => max,
        2 => 0,
        _ => rng.gen_range(min..=max),
    }
}

const PIECES: &[&str] = &[
    "a",
    "Z",
    "9",
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    " ",
    "  ",
    "\t",
    "\\",
    "\\N",
    "\\.",
    "é",
    "日本語",
    "😀",
    "👩‍👩‍👧",
    "NA",
    "na",
    "'",
    ";",
    "|",
    "{",
    "}",
    "\u{200B}",
    "\u{FEFF}",
    "ﷺ",
    "e\u{301}",
    "null",
    "NULL",
    "#",
    "x\u{7f}y",
    "\u{b}",
    "\u{c}",
];

fn nasty(rng: &mut StdRng, max_pieces: usize) -> String {
    let n = rng.gen_range(0..=max_pieces);
    (0..n).map(|_| pick(rng, PIECES)).collect()
}

fn long_text(rng: &mut StdRng) -> String {
    let mut s = String::with_capacity(110_000);
    while s.len() < 100_000 + rng.gen_range(0..10_000) {
        s.push_str(&nasty(rng, 8));
        s.push_str("lorem ipsum dolor sit amet ");
    }
    s
}

fn numeric_text(rng: &mut StdRng) -> String {
    let s = match rng.gen_range(0..12) {
        0 => "NaN".to_string(),
        1 => format!("{}e{}", rng.gen_range(-999..999), rng.gen_range(-3..6)),
        2 => format!(".{}", rng.gen_range(0..99_999_999u64)),
        3 => format!("{}.", rng.gen_range(0..99_999u64)),
        4 => "-0.0000005".to_string(),
        _ => decimal(rng, 14, 9),
    };
    pad(s, rng)
}

/// A signed decimal of up to `int_digits` integer and `frac_digits - 1` fraction digits.
fn decimal(rng: &mut StdRng, int_digits: u32, frac_digits: usize) -> String {
    let digits = rng.gen_range(1..int_digits);
    let int = rng.gen_range(0..10u64.pow(digits));
    let frac_len = rng.gen_range(0..frac_digits);
    let frac: String = (0..frac_len)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect();
    let sign = pick(rng, &["", "-", "+"]);
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// numeric(7,2): five integer digits at most, often more fraction digits than the scale
/// (rounded by the server before the precision check).
fn numeric72_text(rng: &mut StdRng) -> String {
    let s = match rng.gen_range(0..8) {
        0 => format!("99999.99{}", rng.gen_range(0..10)),
        1 => format!(
            "-{}.{:03}",
            rng.gen_range(0..100_000),
            rng.gen_range(0..1000)
        ),
        _ => decimal(rng, 6, 5),
    };
    pad(s, rng)
}

fn float_text(rng: &mut StdRng, single: bool) -> String {
    let s = match rng.gen_range(0..12) {
        0 => pick(rng, &["NaN", "Infinity", "-Infinity", "inf", "-inf", "nan"]).to_string(),
        1 if single => "1e-40".to_string(),
        1 => "1e-310".to_string(),
        2 => pick(rng, &["0", "-0", ".5", "5.", "+1.5", "1E5", "0.1"]).to_string(),
        3 if single => format!("{:e}", rng.gen::<f32>() * 1e30),
        3 => format!("{:e}", rng.gen::<f64>() * 1e300),
        _ if single => (rng.gen_range(-1e6f32..1e6)).to_string(),
        _ => (rng.gen_range(-1e12f64..1e12)).to_string(),
    };
    pad(s, rng)
}

fn uuid_text(rng: &mut StdRng) -> String {
    let u = uuid::Uuid::from_bytes(rng.gen());
    match rng.gen_range(0..4) {
        0 => u.hyphenated().to_string().to_uppercase(),
        1 => u.braced().to_string(),
        2 => u.simple().to_string(),
        _ => u.hyphenated().to_string(),
    }
}

fn date_parts(rng: &mut StdRng) -> (i32, u32, u32) {
    let y = match rng.gen_range(0..6) {
        0 => rng.gen_range(1..1000),
        1 => rng.gen_range(10_000..20_000),
        _ => rng.gen_range(1900..2100),
    };
    let m = rng.gen_range(1..=12);
    let dim = match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (y, m, rng.gen_range(1..=dim))
}

const MONTHS: [&str; 12] = [
    "Jan", "February", "mar", "APR", "May", "June", "Jul", "August", "Sept", "oct", "Nov",
    "December",
];

/// The date spelled in one of the forms PostgreSQL reads under `DateStyle 'ISO, MDY'`.
fn spelled_date(rng: &mut StdRng, y: i32, m: u32, d: u32) -> String {
    let name = MONTHS[m as usize - 1];
    match rng.gen_range(0..7) {
        0 => format!("{y:04}{m:02}{d:02}"),
        1 => format!("{m}/{d}/{y:04}"),
        2 => format!("{name} {d} {y:04}"),
        3 => format!("{name} {d}, {y:04}"),
        4 => format!("{d} {name} {y:04}"),
        5 => format!("{d:02}-{name}-{y:04}"),
        _ => format!("{y:04}-{name}-{d:02}"),
    }
}

fn date_text(rng: &mut StdRng) -> String {
    let (y, m, d) = date_parts(rng);
    let s = match rng.gen_range(0..14) {
        10..=12 => spelled_date(rng, y, m, d),
        13 => format!("{y:04}-{m:02}-{d:02} {}", clock_text(rng)),
        0 => pick(rng, &["infinity", "-infinity", "epoch"]).to_string(),
        1 => format!("{y:04}/{m}/{d}"),
        2 if y < 4000 => format!("{y:04}-{m:02}-{d:02} BC"),
        _ => format!("{y:04}-{m:02}-{d:02}"),
    };
    pad(s, rng)
}

fn clock_text(rng: &mut StdRng) -> String {
    clock(rng, true)
}

/// A clock time; `ampm` allows the 12-hour spelling (not in intervals).
fn clock(rng: &mut StdRng, ampm: bool) -> String {
    if rng.gen_range(0..20) == 0 {
        return "24:00:00".to_string();
    }
    let (h, mi, s) = (
        rng.gen_range(0..24),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
    );
    match rng.gen_range(0..7) {
        5 if ampm => {
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            let ampm = pick(rng, &["AM", "am", "PM", "pm"]);
            format!("{h12}:{mi:02}:{s:02} {ampm}")
        }
        0 => format!("{h:02}:{mi:02}"),
        1 => format!("{h}:{mi:02}:{s:02}"),
        _ => {
            let digits = rng.gen_range(0..10);
            let frac: String = (0..digits)
                .map(|_| char::from(b'0' + rng.gen_range(0..10)))
                .collect();
            if frac.is_empty() {
                format!("{h:02}:{mi:02}:{s:02}")
            } else {
                format!("{h:02}:{mi:02}:{s:02}.{frac}")
            }
        }
    }
}

/// Zones after a timestamp: offsets, POSIX zones, abbreviations and IANA names.
const ZONES: &[&str] = &[
    "",
    "Z",
    "+02",
    "-05:30",
    "+0530",
    " UTC",
    "+00:00",
    "-11",
    " GMT",
    " PST",
    " Europe/Paris",
    " EST5EDT",
    " America/New_York",
    "+14:59",
    " UTC+3",
];

fn timestamp_text(rng: &mut StdRng, tz: bool) -> String {
    let (y, m, d) = date_parts(rng);
    let sep = pick(rng, &[" ", "T", "  "]);
    let zone = if tz || rng.gen_range(0..6) == 0 {
        pick(rng, ZONES)
    } else {
        ""
    };
    let s = match rng.gen_range(0..12) {
        0 => pick(rng, &["infinity", "-infinity", "epoch"]).to_string(),
        1 => format!("{y:04}-{m:02}-{d:02}"),
        2 | 3 => format!("{} {}{zone}", spelled_date(rng, y, m, d), clock(rng, false)),
        _ => {
            let t = clock_text(rng);
            // A zone after AM/PM needs a space.
            let gap = if t.ends_with(['m', 'M']) && !zone.starts_with(' ') {
                " "
            } else {
                ""
            };
            format!("{y:04}-{m:02}-{d:02}{sep}{t}{gap}{zone}")
        }
    };
    pad(s, rng)
}

fn interval_text(rng: &mut StdRng) -> String {
    let n = |rng: &mut StdRng| rng.gen_range(-100..1000);
    let s = match rng.gen_range(0..9) {
        0 => format!(
            "{} years {} mons {} days {}",
            n(rng),
            n(rng),
            n(rng),
            clock(rng, false)
        ),
        1 => format!("@ {} hours {} minutes ago", n(rng), n(rng)),
        2 => format!("{}-{}", rng.gen_range(0..100), rng.gen_range(0..12)),
        3 => format!(
            "P{}Y{}M{}DT{}H{}M{}S",
            rng.gen_range(0..50),
            rng.gen_range(0..12),
            rng.gen_range(0..30),
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        ),
        4 => format!("{}.{} days", n(rng), rng.gen_range(0..10)),
        5 => format!("{} weeks", n(rng)),
        6 => format!("-1 day +{}", clock(rng, false)),
        7 => format!("PT{}.{}S", rng.gen_range(0..100), rng.gen_range(0..1000)),
        _ => clock(rng, false),
    };
    // ISO 8601 intervals allow no surrounding spaces.
    if s.starts_with('P') {
        s
    } else {
        pad(s, rng)
    }
}

fn json_value(rng: &mut StdRng, depth: u32) -> serde_json::Value {
    use serde_json::Value;
    match rng.gen_range(0..if depth > 2 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => serde_json::json!(rng.gen_range(-1e9f64..1e9)),
        3 => Value::String(nasty(rng, 5)),
        4 | 5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.gen_range(0..4))
                .map(|_| (nasty(rng, 2), json_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn json_text(rng: &mut StdRng) -> String {
    let v = json_value(rng, 0);
    match rng.gen_range(0..4) {
        0 => serde_json::to_string_pretty(&v).unwrap(),
        1 => format!(" {} ", serde_json::to_string(&v).unwrap()),
        _ => serde_json::to_string(&v).unwrap(),
    }
}

fn bytea_text(rng: &mut StdRng, long: bool) -> String {
    let n = if long { 60_000 } else { rng.gen_range(0..20) };
    let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
    match rng.gen_range(0..4) {
        0 if !long => {
            // The escape format: printable bytes as they are, the rest as \ooo.
            let mut s = String::new();
            for b in bytes {
                match b {
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7e => s.push(b as char),
                    _ => s.push_str(&format!("\\{b:03o}")),
                }
            }
            s
        }
        1 => format!("\\x{}", hex::encode_upper(&bytes)),
        2 if !long => {
            let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("\\x{}", pairs.join(" "))
        }
        _ => format!("\\x{}", hex::encode(&bytes)),
    }
}

fn array_text(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => "{}".to_string(),
        1 => format!("{{NULL,{}}}", rng.gen_range(-9..9)),
        2 => format!("{{{{1,{}}},{{3,4}}}}", rng.gen::<i32>()),
        3 => format!(" {{ {} , \"{}\" }} ", rng.gen::<i16>(), rng.gen::<i16>()),
        _ => {
            let k = rng.gen_range(1..6);
            let items: Vec<String> = (0..k).map(|_| rng.gen::<i32>().to_string()).collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

/// An array element: quoted (with backslash escapes) where it must be, and at random.
fn array_elem(s: &str, rng: &mut StdRng) -> String {
    let must = s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.contains(['{', '}', ',', '"', '\\'])
        || s.chars().any(|c| c.is_ascii_whitespace() || c == '\u{b}');
    if must || rng.gen_range(0..4) == 0 {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn list(rng: &mut StdRng, elem: impl Fn(&mut StdRng) -> String) -> String {
    let n = rng.gen_range(0..5);
    let items: Vec<String> = (0..n)
        .map(|_| match rng.gen_range(0..8) {
            0 => "NULL".to_string(),
            _ => elem(rng),
        })
        .collect();
    let inner = items.join(",");
    match rng.gen_range(0..6) {
        // Nested: the same list twice makes a rectangular two-dimensional array.
        0 if n > 0 => format!("{{{{{inner}}},{{{inner}}}}}"),
        _ => format!("{{{inner}}}"),
    }
}

fn text_array(rng: &mut StdRng) -> String {
    list(rng, |rng| {
        let s = nasty(rng, 3);
        array_elem(&s, rng)
    })
}

fn varchar5_array(rng: &mut StdRng) -> String {
    list(rng, |rng| {
        let s: String = nasty(rng, 3).chars().take(5).collect();
        array_elem(&s, rng)
    })
}

fn numeric72_array(rng: &mut StdRng) -> String {
    list(rng, |rng| decimal(rng, 6, 4))
}

fn inet_text(rng: &mut StdRng, cidr: bool) -> String {
    if rng.gen_range(0..3) == 0 {
        let groups: Vec<String> = (0..8)
            .map(|_| format!("{:x}", rng.gen_range(0..0x10000u32)))
            .collect();
        let bits = rng.gen_range(0..=128u32);
        let addr: std::net::Ipv6Addr = groups.join(":").parse().unwrap();
        let addr = if cidr {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            std::net::Ipv6Addr::from(u128::from(addr) & mask)
        } else {
            addr
        };
        return format!("{addr}/{bits}");
    }
    let a: u32 = rng.gen();
    let bits = rng.gen_range(0..=32u32);
    let a = if cidr {
        a & u32::MAX.checked_shl(32 - bits).unwrap_or(0)
    } else {
        a
    };
    let ip = std::net::Ipv4Addr::from(a);
    match rng.gen_range(0..3) {
        0 if !cidr => ip.to_string(),
        _ => format!("{ip}/{bits}"),
    }
}

fn money_text(rng: &mut StdRng) -> String {
    let units = rng.gen_range(0..10_000_000i64);
    let cents = rng.gen_range(0..100);
    let sign = pick(rng, &["", "-"]);
    match rng.gen_range(0..4) {
        0 => format!("{sign}${units}.{cents:02}"),
        1 => {
            let s = units.to_string();
            let mut grouped = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            format!("{sign}${grouped}.{cents:02}")
        }
        _ => format!("{sign}{units}.{cents:02}"),
    }
}

fn timetz_text(rng: &mut StdRng) -> String {
    let zone = pick(rng, &["", "+02", "-05:30", "Z", " UTC", "+0530", "-11"]);
    let t = clock(rng, false);
    pad(format!("{t}{zone}"), rng)
}

/// Odd, boundary and refused spellings per column: the classes of issue 11 and their
/// neighbours. A row takes one for a few of its columns.
fn odd(column: &str) -> &'static [&'static str] {
    match column {
        "i2" | "i4" => &[
            "\u{b}5",
            "5\u{b}",
            "\u{c}-7\u{c}",
            "\u{b}+12\u{b}",
            "+0",
            "-0",
            "32767",
            "-32768",
            "32768",
            "-32769",
            "2147483647",
            "-2147483648",
            "2147483648",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "- 5",
            "+-1",
            "1e3",
            "12 3",
            "0000000000000000000000012",
            "١٢",
            "",
            "  ",
        ],
        "n" => &[
            "0e1073741823",
            "1e1073741823",
            "0e-1073741823",
            "99999999999999.9999995",
            "99999999999999.9999994",
            "1.0000005",
            "-1.0000005",
            "NaN",
            " nan ",
            "Infinity",
            "-inf",
            "1e3",
            "1E+3",
            ".5e-2",
            "5.e2",
            "0x1F",
            "1_000",
            "\u{b}1.5\u{b}",
            "00000000000000000000000000000000000001.5",
            "1.5e",
            "e5",
            ".",
            "-",
            "1e-7",
        ],
        "n72" => &[
            "99999.994",
            "99999.995",
            "-99999.995",
            "12345.675",
            "12345.665",
            "0.005",
            "-0.005",
            "0.0049",
            "99999.99",
            "100000",
            "1e4",
            "9.9999e4",
            "99999.9949999999",
            "0.000",
            "-0",
            "NaN",
            "\u{b}1.25",
        ],
        "f4" => &[
            "3.4028235e38",
            "3.4028236e38",
            "3.5e38",
            "1e-45",
            "1e-46",
            "1.17549435e-38",
            "1.1754942e-38",
            "0x1p3",
            "0x1.8p1",
            "-0x1p-2",
            "16777217",
            "1e-40",
            "\u{b}1.5",
            "1.5\u{b}",
            "infinity",
            "-INF",
            "+nan",
            "1e",
            "1.5f",
            "1,5",
        ],
        "f8" => &[
            "0x1p3",
            "0X1P-1074",
            "-0x1.fffffffffffffp1023",
            "1e-400",
            "4.9e-324",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "1e309",
            "\u{b}3.14\u{b}",
            "\u{c}-0\u{c}",
            "Infinity",
            "+Infinity",
            "-nan",
            "1e0400",
            "0.1e-310",
            "1d5",
            "1.5e+",
            ".",
            "0x",
            "123456789012345678901234567890123456789012345",
        ],
        "b" => &[
            "tr",
            "tru",
            "of",
            "o",
            "ye",
            "n",
            "\u{b}yes\u{b}",
            "On",
            "oFf",
            "2",
            "truee",
            "f ",
            " t",
            "",
        ],
        "vc" => &[
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx   ",
            "éééééééééééééééééééééééééééééééééééééééééééééééééé",
            "ééééééééééééééééééééééééééééééééééééééééééééééééééé",
        ],
        "c5" => &["abcdef", "abcde   ", "ab", "ééééé", "éééééé", "     ", ""],
        "u" => &[
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        ],
        "d" => &[
            "Feb 10 100000",
            "600000-01-01",
            "5874897-12-31",
            "5874898-01-01",
            "4713-11-24 BC",
            "4714-11-24 BC",
            "2024 01 31",
            "2024.01.31",
            "2024-001",
            "2024-366",
            "Wed Jan 31 2024",
            "040506",
            "240131",
            "1/31/24",
            "01/02/2024",
            "31/01/2024",
            "1/2/03",
            "J2451545",
            "epoch",
            "infinity",
            "-infinity",
            "2024-Jan-31",
            "31-Jan-2024",
            "2024-01-31T12:00",
            "2024-02-29",
            "2023-02-29",
            "0000-01-01",
            "0001-01-01 BC",
            "2024-13-01",
            "2024/01/31",
            "20240131",
            "2024-1-5",
            "5 Sept. 2024",
            "allballs",
            "2024-01-31 00:00:00.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "2024-01-31                                                                                                                                                                              ",
        ],
        "ts" | "ts3" => &[
            "600000-01-01 00:00",
            "294276-12-31 23:59:59.999999",
            "294277-01-01 00:00",
            "4714-11-24 00:00:00 BC",
            "4714-11-23 23:59:59 BC",
            "2024-Jan-31T12:00",
            "20240131T123456",
            "20240131 123456",
            "2024-01-31t12:00",
            "2024-01-31 01:00 PM-08",
            "2024-01-31 11:30 a.m.",
            "2024-01-31 11:30 am",
            "2024-01-31 12:00:00.1234565",
            "2024-01-31 12:00:00.9999995",
            "2024-01-31 12:00:00.1235",
            "2024-01-31 12:00:00.9995",
            "2024-12-31 23:59:59.9995",
            "2024-01-31 23:59:60",
            "2024-01-31 24:00",
            "2024-01-31 24:00:01",
            "Wed Jan 31 12:00:00 2024",
            "Wed Jan 31 12:00:00 2024 PST",
            "J2451545 12:00",
            "epoch",
            "1/31/24 10:00",
            "01/02/2024 10:00",
            "2024-01-31 12:00 Europe/Paris",
            "2024-01-31 12:00+02",
            "2024.01.31 12:00",
            "2024-001 12:00",
            "040506 12:00",
            "2024-01-31 12:00:00.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        ],
        "tstz" => &[
            "2024-01-31 12:34:56 PST",
            "2024-01-31 12:34:56 Europe/Paris",
            "2024-01-31 12:34:56 EST5EDT",
            "2024-01-31 12:34:56 America/New_York",
            "2024-07-01 12:00",
            "2024-03-10 02:30",
            "2024-11-03 01:30",
            "2024-03-31 02:30 Europe/Paris",
            "2024-01-31 12:00 UTC+3",
            "2024-01-31 12:00 GMT-5",
            "2024-01-31 12:00+14:59",
            "2024-01-31 12:00-15:59:59",
            "2024-01-31 12:00+16",
            "2024-01-31 12:00 XYZ",
            "2024-01-31 12:00 MSK",
            "1900-01-01 12:00 Europe/Amsterdam",
            "2024-01-31 12:00 z",
            "2024-01-31 12:00 +0",
            "2024-01-31 12:00:00.5+05:30:15",
            "294276-12-31 23:59:59+00",
            "294276-12-31 23:59:59-01",
            "4714-11-24 00:00:00+00 BC",
            "4714-11-24 00:00:00+01 BC",
            "Wed Jan 31 12:00:00 2024 EST",
            "2024-01-31 12:00 PST8PDT",
            "2024-01-31 01:00 PM-08",
            "01/02/2024 10:00+01",
            "J2451545 12:00Z",
            "epoch",
        ],
        "tm" => &[
            "01:00 PM-08",
            "11:30 a.m.",
            "11:30 p.m.",
            "T12:34:56",
            "040506",
            "123456",
            "allballs",
            "24:00:00",
            "24:00:00.000001",
            "23:59:60",
            "23:59:59.9999995",
            "12:34:56 PST",
            "12:34:56 Europe/Paris",
            "1:2:3",
            "12:60",
            "12 PM",
            "12:00:00.5 AM",
            "13:00 PM",
            "00:00 AM",
            "12.34.56",
            "2024-01-31 12:00",
            "z",
            "",
        ],
        "iv" => &[
            "1d2h",
            "1 d 2 h",
            "1h30m",
            "P0001-02-03T04:05:06",
            "P1Y2M3DT4H5M6S",
            "P1.5Y",
            "PT36H",
            "P1W2D",
            "P-1D",
            "PT",
            "P",
            "1 2:03:04",
            "-1 2:03:04",
            "1-2",
            "1-2 3 4:05:06",
            "+1-2 -3 +4:05:06",
            "@ 1 day ago",
            "1 week 2 days",
            "178000000 years",
            "2147483647 days",
            "2147483648 days",
            "1 millennium",
            "10 centuries",
            "3 decades",
            "1.5 months",
            "0.5 weeks",
            "1 day 02:00",
            "-00:00:01.5",
            "1:2:3.4567891",
            "100",
            "1.5",
            "01:02",
            "1 mon -1 day",
            "-1 year -2 mons +3 days -04:05:06",
            "1 hour ago",
            "2 hours 30 minutes",
        ],
        "j" => &[
            "{\"a\":1",
            "[1,2,]",
            "1e400",
            "-0",
            "\"\\ud800\"",
            "\"\\u0000\"",
            "{\"a\":1,\"a\":2}",
            " null ",
            "nul",
            "'x'",
            "\u{b}1",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        ],
        "jb" => &[
            "1e400",
            "\"\\u0000\"",
            "[1e-1000000]",
            "[1e1000000]",
            "{\"b\":1,\"a\":2,\"a\":3}",
            "\"\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "-0.0",
            "1E2",
        ],
        "by" => &[
            "\\x0\u{b}1",
            "\\x01\u{c}",
            "\\x0 1",
            "\\x01 02",
            "\\x 01\n02 ",
            "\\x01\u{b}02",
            "\\X01",
            "\\x0G",
            "\\x012",
            "\\001\\377",
            "\\400",
            "\\\\",
            "a\\b",
            "\\",
            "\\x",
            "\\xDEADbeef",
            "\\01",
            "é\\351",
        ],
        "e" => &["Happy", " happy", "happy ", "", "so so", "ünï \"q\""],
        "arr" => &[
            "{}",
            "{NULL,1}",
            "{null, 2}",
            "{{1,2},{3,4}}",
            "{{1,2},{3}}",
            "{1,\"2\"}",
            "[0:1]={1,2}",
            "[1:2][1:1]={{1},{2}}",
            "{ 1 , 2 }",
            "{1,,2}",
            "{\"NULL\"}",
            "{2147483648}",
            "{1 2}",
            "1,2",
            "{{}}",
            " {1} ",
            "{\u{b}1}",
        ],
        "ta" => &[
            "{\"a,b\",\"c\\\"d\",NULL,\"NULL\",\"\"}",
            "{a b,c}",
            "{\"\\\\\"}",
            "{{a,b},{c,d}}",
            "{ spaced , x }",
            "{é,😀}",
            "{a,{b}}",
            "{\"a\"b}",
            "{a\\,b}",
            "{NULL}",
            "{\"\"}",
            "{ \"q\" }",
            "{{a},{b,c}}",
            "{a,b",
        ],
        "va" => &[
            "{abcdef}",
            "{abc  }",
            "{\"abcde   \"}",
            "{abcde,fghijk}",
            "{ééééé}",
            "{éééééé}",
        ],
        "na" => &["{99999.995}", "{1.005,2.5}", "{99999.994}", "{NaN}", "{1e5}"],
        "ip" => &[
            "192.168.0.1",
            "192.168.0.1/24",
            "::1",
            "2001:db8::/32",
            "1.2.3.256",
            "192.168.1",
            "::ffff:1.2.3.4",
            " 1.2.3.4",
            "fe80::1%eth0",
            "1.2.3.4/33",
            "0.0.0.0/0",
            "10/8",
        ],
        "net" => &[
            "10.0.0.0/8",
            "10.1.0.0/8",
            "192.168",
            "2001:db8::/32",
            "128.0.0.0/1",
            "10",
            "1.2.3.4",
            "::/0",
        ],
        "m" => &[
            "12.34",
            "$1,234.56",
            "-$5.00",
            "($5.00)",
            "1e3",
            "92233720368547758.07",
            "92233720368547758.08",
            "-92233720368547758.08",
            "12.345",
            "12.355",
            "€5",
            "$ 5",
            "5$",
            "1,2,3",
        ],
        "tt" => &[
            "10:00",
            "10:00+02",
            "10:00 PST",
            "10:00 America/New_York",
            "24:00:00+00",
            "01:00 PM-08",
            "allballs",
            "10:00:00.5-03:30",
            "10:00+15:59",
            "10:00+16",
            "10:00 z",
            "10:00 UTC",
            "040506+02",
        ],
        "bt" => &["101", "1", "1010", "10 1", "abc", "000", ""],
        _ => &[],
    }
}

/// One row of values (`None` is NULL), in the column order of `header`.
pub fn row(rng: &mut StdRng, header: &[&str], id: usize, long: bool) -> Vec<Option<String>> {
    // Most rows are spelled as exports spell them; some take odd spellings in a few
    // columns, so a file holds both fast-path chunks and chunks for the server's parser.
    let odd_cols: Vec<usize> = match rng.gen_range(0..3) {
        0 => (0..rng.gen_range(1..=3))
            .map(|_| rng.gen_range(1..header.len()))
            .collect(),
        _ => Vec::new(),
    };
    let mut v: Vec<Option<String>> = Vec::with_capacity(header.len());
    for (i, col) in header.iter().enumerate() {
        let odd = odd(col);
        let s = if odd_cols.contains(&i) && !odd.is_empty() {
            pick(rng, odd).to_string()
        } else {
            value(rng, col, id, long)
        };
        v.push(Some(s));
    }
    // NULLs anywhere but in the key.
    for f in v.iter_mut().skip(1) {
        if rng.gen_range(0..10) == 0 {
            *f = None;
        }
    }
    v
}

/// A common spelling of a value for `column`.
fn value(rng: &mut StdRng, column: &str, id: usize, long: bool) -> String {
    match column {
        "id" => int_text(id as i64, rng),
        "i2" => int_text(int_in(rng, i16::MIN as i64, i16::MAX as i64), rng),
        "i4" => int_text(int_in(rng, i32::MIN as i64, i32::MAX as i64), rng),
        "n" => numeric_text(rng),
        "n72" => numeric72_text(rng),
        "f4" => float_text(rng, true),
        "f8" => float_text(rng, false),
        "b" => pad(
            pick(
                rng,
                &[
                    "t", "f", "TRUE", "false", "yes", "No", "on", "OFF", "1", "0", "y",
                ],
            )
            .into(),
            rng,
        ),
        "t" if long => long_text(rng),
        "t" => nasty(rng, 12),
        "vc" => {
            let s: String = nasty(rng, 20).chars().take(50).collect();
            if rng.gen_range(0..5) == 0 {
                // Spaces past the limit are cut silently, as SQL says.
                format!("{s}{}   ", "x".repeat(50 - s.chars().count()))
            } else {
                s
            }
        }
        "c5" => nasty(rng, 3).chars().take(5).collect(),
        "u" => uuid_text(rng),
        "d" => date_text(rng),
        "ts" | "ts3" => timestamp_text(rng, false),
        "tstz" => timestamp_text(rng, true),
        "tm" => pad(clock_text(rng), rng),
        "iv" => interval_text(rng),
        "j" if long => {
            let big: Vec<String> = (0..1500).map(|_| json_text(rng)).collect();
            format!("[{}]", big.join(","))
        }
        "j" | "jb" => json_text(rng),
        "by" => bytea_text(rng, long),
        "e" => pick(rng, &["happy", "sad", "so so", "ünï \"q\""]).to_string(),
        "arr" => array_text(rng),
        "ta" => text_array(rng),
        "va" => varchar5_array(rng),
        "na" => numeric72_array(rng),
        "ip" => inet_text(rng, false),
        "net" => inet_text(rng, true),
        "m" => money_text(rng),
        "tt" => timetz_text(rng),
        "bt" => (0..3).map(|_| pick(rng, &["0", "1"])).collect(),
        other => panic!("no generator for column {other}"),
    }
}

/// Writes `rows` as PostgreSQL CSV: NULL as the bare NULL string, quotes where needed
/// and at random elsewhere, sometimes only around part of a field.
pub fn write_csv(
    rng: &mut StdRng,
    header: &[&str],
    rows: &[Vec<Option<String>>],
    null: &str,
    eol: &str,
) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&header.join(","));
    out.push_str(eol);
    for r in rows {
        for (i, f) in r.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match f {
                None => out.push_str(null),
                Some(v) => {
                    let must = v.is_empty() && null.is_empty()
                        || v == null
                        || v.contains([',', '"', '\n', '\r']);
                    let q = v.replace('"', "\"\"");
                    if must || rng.gen_range(0..4) == 0 {
                        if rng.gen_range(0..4) == 0 && !v.is_empty() && v.is_char_boundary(1) {
                            // Quotes may open in the middle of a field.
                            let (a, b) = q.split_at(1);
                            if matches!(a, "\"" | "," | "\r" | "\n") {
                                out.push_str(&format!("\"{q}\""));
                            } else {
                                out.push_str(&format!("{a}\"{b}\""));
                            }
                        } else {
                            out.push_str(&format!("\"{q}\""));
                        }
                    } else {
                        out.push_str(v);
                    }
                }
            }
        }
        out.push_str(eol);
    }
    out.into_bytes()
}
