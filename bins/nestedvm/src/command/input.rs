//! Input given as a file, or as `-` for stdin, and hex text read that way.

use crate::UsageError;
use nestedvm::parse::parse_hex;
use std::io::Read;

/// The text of the file at `path`, or of stdin when `path` is `-`; errors name `what`.
pub fn read_text(what: &str, path: &str) -> Result<String, UsageError> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("{what}: stdin: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| UsageError(format!("{what}: {e}")))
}

/// Hex text from a file or stdin: white space may stand anywhere (line breaks, grouping), so
/// all of it is dropped before the digits are parsed and counted.
pub fn hex_text(what: &str, text: &str) -> Result<Vec<u8>, UsageError> {
    let digits: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Ok(parse_hex(what, &digits)?)
}
