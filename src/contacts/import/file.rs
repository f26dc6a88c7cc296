//! Reading an uploaded CSV file into a header and rows, refusing what cannot be read
//! (too large, empty, not UTF-8, broken quoting, a header and no rows) with a message that
//! says why. Rows keep their line number so every report can point at them.

use std::fmt;

/// The largest file the web page accepts.
pub const WEB_LIMIT: usize = 10 * 1024 * 1024;
/// The largest file the command line accepts.
pub const CLI_LIMIT: usize = 512 * 1024 * 1024;

/// A parsed CSV file: the header cells and the data rows, blank lines left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line of the file the row starts on (the header is line 1).
    pub line: usize,
    pub cells: Vec<String>,
}

/// Why a whole file was refused. Nothing is imported from such a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    TooLarge { limit: usize },
    Empty,
    NotUtf8 { line: usize },
    BadQuoting { line: usize, why: &'static str },
    HeaderOnly,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::TooLarge { limit } => write!(
                f,
                "The file is larger than the {} MB limit. Split it into smaller files.",
                limit / (1024 * 1024)
            ),
            FileError::Empty => write!(f, "The file is empty."),
            FileError::NotUtf8 { line } => write!(
                f,
                "The file is not UTF-8 text (the first invalid byte is on line {line}). \
                 Save it as \"CSV UTF-8\" and upload it again."
            ),
            FileError::BadQuoting { line, why } => {
                write!(f, "The file has broken quoting on line {line}: {why}.")
            }
            FileError::HeaderOnly => write!(
                f,
                "The file has a header row but no data rows: there is nothing to import."
            ),
        }
    }
}

/// Splits `bytes` into a header and rows. The delimiter is a comma, or a semicolon when the
/// header line has semicolons and no commas (as spreadsheets in some languages save).
pub fn parse(bytes: &[u8], limit: usize) -> Result<Table, FileError> {
    if bytes.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let line = line_at(bytes, err.valid_up_to());
            return Err(FileError::NotUtf8 { line });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if !first_line.contains(',') && first_line.contains(';') {
        b';'
    } else {
        b','
    };
    check_quoting(text, delimiter as char)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    let bytes = text.as_bytes();
    // The csv crate counts blank lines before a record as part of it; count lines here.
    let (mut counted_to, mut line) = (0, 1);
    for record in reader.records() {
        let record = record.map_err(|err| FileError::BadQuoting {
            line: err.position().map_or(1, |p| p.line() as usize),
            why: "the line cannot be read as CSV",
        })?;
        let mut start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(0));
        while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
            start += 1;
        }
        if start > counted_to {
            line += bytes[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
        }
        let cells: Vec<String> = record.iter().map(|cell| cell.trim().to_owned()).collect();
        if headers.is_none() {
            headers = Some(cells);
        } else if cells.iter().any(|cell| !cell.is_empty()) {
            rows.push(Row { line, cells });
        }
    }
    let headers = headers.ok_or(FileError::Empty)?;
    if rows.is_empty() {
        return Err(FileError::HeaderOnly);
    }
    Ok(Table { headers, rows })
}

fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The csv crate reads broken quoting leniently; an import must not guess, so quoting is
/// checked strictly first (RFC 4180: a quote only opens a field, and inside a quoted field
/// only as a doubled quote or the closing one).
fn check_quoting(text: &str, delimiter: char) -> Result<(), FileError> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut line = 1;
    let mut opened_on = 1;
    for c in text.chars() {
        state = match (state, c) {
            (State::FieldStart, '"') => {
                opened_on = line;
                State::Quoted
            }
            (State::Quoted, '"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, '"') => State::Quoted,
            (State::Unquoted, '"') => {
                return Err(FileError::BadQuoting {
                    line,
                    why: "a quote inside a field that does not start with a quote",
                });
            }
            (_, c) if c == delimiter || c == '\n' => State::FieldStart,
            (State::QuoteInQuoted, '\r') => State::QuoteInQuoted,
            (State::QuoteInQuoted, _) => {
                return Err(FileError::BadQuoting {
                    line,
                    why: "text after the closing quote of a field",
                });
            }
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
        };
        if c == '\n' {
            line += 1;
        }
    }
    if state == State::Quoted {
        return Err(FileError::BadQuoting {
            line: opened_on,
            why: "a quoted field is never closed",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_line_numbers_and_quoted_newlines() {
        let table = parse(
            b"Name,Notes\nAda,\"two\nlines\"\n\nGrace,\"said \"\"hi\"\"\"\n",
            WEB_LIMIT,
        )
        .expect("valid");
        assert_eq!(table.headers, vec!["Name", "Notes"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].line, 2);
        assert_eq!(table.rows[0].cells[1], "two\nlines");
        assert_eq!(table.rows[1].line, 5);
        assert_eq!(table.rows[1].cells[1], "said \"hi\"");
    }

    #[test]
    fn a_byte_order_mark_and_semicolons_are_understood() {
        let table =
            parse("\u{feff}Name;Email\nAda;ada@example.com\n".as_bytes(), 100).expect("valid");
        assert_eq!(table.headers, vec!["Name", "Email"]);
        assert_eq!(table.rows[0].cells, vec!["Ada", "ada@example.com"]);
    }

    #[test]
    fn unreadable_files_are_refused_with_the_reason() {
        assert_eq!(parse(b"", 100), Err(FileError::Empty));
        assert_eq!(parse(b" \n\n", 100), Err(FileError::Empty));
        assert_eq!(parse(b"Name,Email\n", 100), Err(FileError::HeaderOnly));
        assert_eq!(
            parse(b"Name\nAda\n", 5),
            Err(FileError::TooLarge { limit: 5 })
        );
        assert_eq!(
            parse(b"Name\nAda\nJos\xe9\n", 100),
            Err(FileError::NotUtf8 { line: 3 })
        );
        assert!(matches!(
            parse(b"Name,Notes\nAda,\"open\nGrace,x\n", 100),
            Err(FileError::BadQuoting { line: 2, .. })
        ));
        assert!(matches!(
            parse(b"Name,Notes\nAda,\"x\"y\n", 100),
            Err(FileError::BadQuoting { line: 2, .. })
        ));
        assert!(matches!(
            parse(b"Name,Notes\nAda,x\nGrace,a\"b\n", 100),
            Err(FileError::BadQuoting { line: 3, .. })
        ));
    }

    #[test]
    fn the_messages_say_what_to_do() {
        assert!(
            FileError::TooLarge { limit: WEB_LIMIT }
                .to_string()
                .contains("10 MB")
        );
        assert!(
            FileError::NotUtf8 { line: 4 }
                .to_string()
                .contains("not UTF-8")
        );
    }
}
