//! Bytes of a preprocessed unit to the `&str` the instrumenter takes, and back.
//!
//! Preprocessed C is UTF-8 in practice, but old sources carry Latin-1 (or other 8-bit) bytes in
//! string and character literals. Replacing them (`from_utf8_lossy`) would silently change the
//! program, so a unit that is not UTF-8 is read byte-for-char as Latin-1 (every byte maps to the
//! char of the same value) and written back the same way. That round trip is exact as long as the
//! instrumenter only inserts ASCII, which it does; a char above U+00FF on the way back is reported.

/// How a unit was decoded, so that it is encoded back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
}

/// Decodes a preprocessed unit.
pub fn decode(bytes: Vec<u8>) -> (String, Encoding) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, Encoding::Utf8),
        Err(e) => (
            e.into_bytes().iter().map(|&b| char::from(b)).collect(),
            Encoding::Latin1,
        ),
    }
}

/// Encodes instrumented text back; `Err` carries the offending char.
pub fn encode(text: String, enc: Encoding) -> Result<Vec<u8>, char> {
    match enc {
        Encoding::Utf8 => Ok(text.into_bytes()),
        Encoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(c).map_err(|_| c))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_round_trips_exactly() {
        let bytes = b"char *s = \"caf\xe9\";\n".to_vec();
        let (text, enc) = decode(bytes.clone());
        assert_eq!(enc, Encoding::Latin1);
        assert_eq!(encode(text, enc), Ok(bytes));
        assert_eq!(encode("\u{20ac}".into(), Encoding::Latin1), Err('\u{20ac}'));
        assert_eq!(
            decode("caf\u{e9}".into()),
            ("caf\u{e9}".to_string(), Encoding::Utf8)
        );
    }
}
