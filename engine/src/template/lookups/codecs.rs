//! The text encodings the file-reading lookups (`ini`, `csvfile`) take as
//! `encoding=`, decoded strictly as Python's codecs of those names decode:
//! `utf-8`, `utf-8-sig` (a leading BOM dropped), `latin-1` (every byte the
//! character of its number), `ascii`, `cp1252` (Windows' Western European,
//! its five unassigned bytes an error, as in Python), `utf-16` (by its BOM,
//! dropped; little-endian without one), `utf-16-le` and `utf-16-be` (a BOM
//! kept as a character). Written out rather than taken from `encoding_rs`:
//! the WHATWG encodings it implements read `latin-1` as `cp1252` and are
//! lenient where Python's codecs fail.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum CodecError {
    /// Not a known encoding name.
    #[error(
        "encoding {0:?} is not supported (utf-8, utf-8-sig, latin-1, ascii, cp1252, utf-16, \
         utf-16-le and utf-16-be are)"
    )]
    Unknown(String),
    /// Not text in that encoding.
    #[error("is not {0} text")]
    Invalid(String),
}

/// Windows-1252's characters for the bytes 0x80 to 0x9f (`None`: unassigned).
const CP1252_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// `bytes` decoded as Python decodes them with codec `encoding` (its name
/// and aliases, in any case, with `-`, `_` or nothing between the parts).
pub(super) fn decode(bytes: Vec<u8>, encoding: &str) -> Result<String, CodecError> {
    let name: String = (encoding.chars())
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let invalid = || CodecError::Invalid(encoding.to_owned());
    match name.as_str() {
        "utf8" | "u8" => String::from_utf8(bytes).map_err(|_| invalid()),
        "utf8sig" => {
            let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
            String::from_utf8(text.to_vec()).map_err(|_| invalid())
        }
        "latin1" | "latin" | "iso88591" | "l1" => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        "ascii" | "usascii" | "646" if bytes.is_ascii() => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        "ascii" | "usascii" | "646" => Err(invalid()),
        "cp1252" | "windows1252" => bytes
            .iter()
            .map(|&b| cp1252(b).ok_or_else(invalid))
            .collect(),
        "utf16" | "u16" => match bytes.get(..2) {
            Some(b"\xfe\xff") => utf16(&bytes[2..], u16::from_be_bytes).ok_or_else(invalid),
            Some(b"\xff\xfe") => utf16(&bytes[2..], u16::from_le_bytes).ok_or_else(invalid),
            _ => utf16(&bytes, u16::from_le_bytes).ok_or_else(invalid),
        },
        "utf16le" => utf16(&bytes, u16::from_le_bytes).ok_or_else(invalid),
        "utf16be" => utf16(&bytes, u16::from_be_bytes).ok_or_else(invalid),
        _ => Err(CodecError::Unknown(encoding.to_owned())),
    }
}

fn cp1252(byte: u8) -> Option<char> {
    match byte {
        0x80..=0x9f => CP1252_HIGH[usize::from(byte - 0x80)],
        _ => Some(char::from(byte)),
    }
}

/// UTF-16 code units read with `unit` from `bytes`: `None` for an odd
/// length or an unpaired surrogate.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes.chunks(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], encoding: &str) -> Result<String, CodecError> {
        decode(bytes.to_vec(), encoding)
    }

    /// Each expectation is what Python 3's `bytes.decode(encoding)` gives.
    #[test]
    fn bytes_decode_as_pythons_codecs_decode_them() {
        assert_eq!(text(b"\xef\xbb\xbfa", "utf-8-sig").unwrap(), "a");
        assert_eq!(text(b"\xef\xbb\xbfa", "UTF_8").unwrap(), "\u{feff}a");
        assert_eq!(text(b"caf\xe9", "Latin-1").unwrap(), "café");
        assert_eq!(text(b"\x80\x9c", "cp1252").unwrap(), "€œ");
        assert!(text(b"\x81", "windows-1252").is_err());
        assert!(text(b"\xe9", "ascii").is_err());
        assert_eq!(text(b"\xff\xfea\x00", "utf-16").unwrap(), "a");
        assert_eq!(text(b"\xfe\xff\x00a", "utf16").unwrap(), "a");
        assert_eq!(text(b"a\x00", "utf-16").unwrap(), "a");
        assert_eq!(text(b"\xff\xfea\x00", "utf_16_le").unwrap(), "\u{feff}a");
        assert_eq!(text(b"\x00a", "utf-16-be").unwrap(), "a");
        assert!(text(b"a", "utf-16").is_err());
        assert!(matches!(text(b"a", "ebcdic"), Err(CodecError::Unknown(_))));
    }
}
