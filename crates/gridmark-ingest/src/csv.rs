//! A small RFC 4180 splitter: separators, quoted fields with doubled quotes, and (for whole
//! texts) line breaks inside quotes. Fields come back as borrowed bytes when they can.

use std::borrow::Cow;

/// The separator a header line uses: the most frequent of `,` `;` tab `|` outside quotes.
pub fn detect_separator(header: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let seps = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = seps.iter().position(|&s| s == b) {
            counts[i] += 1;
        }
    }
    let best = (0..4).max_by_key(|&i| (counts[i], 4 - i)).unwrap_or(0);
    if counts[best] == 0 { b',' } else { seps[best] }
}

/// The separator and column names of a header line (quotes removed by the splitter).
pub fn header_fields(
    path: &std::path::Path,
    header: &[u8],
) -> Result<(u8, Vec<String>), crate::IngestError> {
    let sep = detect_separator(header);
    let mut fields = Vec::new();
    split_line(header, sep, &mut fields).map_err(|reason| crate::IngestError::Line {
        path: path.into(),
        line: 1,
        reason,
    })?;
    Ok((
        sep,
        fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
    ))
}

/// Splits one line into fields. Errors say what is wrong with the quoting.
pub fn split_line<'a>(line: &'a [u8], sep: u8, out: &mut Vec<Cow<'a, [u8]>>) -> Result<(), String> {
    out.clear();
    // One pass for unquoted lines (nearly all): cut at separators, watch for quotes.
    let mut start = 0;
    let mut quoted = false;
    for (i, &b) in line.iter().enumerate() {
        if b == sep {
            out.push(Cow::Borrowed(&line[start..i]));
            start = i + 1;
        } else if b == b'"' {
            quoted = true;
            break;
        }
    }
    if !quoted {
        out.push(Cow::Borrowed(&line[start..]));
        return Ok(());
    }
    out.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let mut field = Vec::new();
            i += 1;
            loop {
                match line.get(i) {
                    None => return Err("a quoted field is not closed".into()),
                    Some(b'"') if line.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        field.push(b);
                        i += 1;
                    }
                }
            }
            out.push(Cow::Owned(field));
            match line.get(i) {
                None => return Ok(()),
                Some(&b) if b == sep => i += 1,
                Some(_) => return Err("text after a closing quote".into()),
            }
        } else {
            let end = line[i..]
                .iter()
                .position(|&b| b == sep)
                .map_or(line.len(), |p| i + p);
            out.push(Cow::Borrowed(&line[i..end]));
            if end == line.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

/// Cuts a whole text into records, letting quoted fields span lines. Yields the line number
/// the record starts on and the record's bytes (without the final line break).
pub fn records(text: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let mut pos = 0;
    let mut line = 1u64;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let start = pos;
        let start_line = line;
        let mut quoted = false;
        while pos < text.len() {
            match text[pos] {
                b'"' => quoted = !quoted,
                b'\n' => {
                    line += 1;
                    if !quoted {
                        break;
                    }
                }
                _ => {}
            }
            pos += 1;
        }
        let mut rec = &text[start..pos.min(text.len())];
        pos += 1;
        if let Some(r) = rec.strip_suffix(b"\r") {
            rec = r;
        }
        Some((start_line, rec))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, sep: u8) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        split_line(s.as_bytes(), sep, &mut out)?;
        Ok(out
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect())
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split("a,\"b,c\",\"d\"\"e\",", b',').unwrap(),
            ["a", "b,c", "d\"e", ""]
        );
        assert_eq!(split("\"\";\"MT_001\"", b';').unwrap(), ["", "MT_001"]);
        assert!(split("a,\"b", b',').is_err());
        assert!(split("a,\"b\"x", b',').is_err());
    }

    #[test]
    fn detects_separators() {
        assert_eq!(detect_separator(b"\"\";\"MT_001\";\"MT_002\""), b';');
        assert_eq!(detect_separator(b"meter_id,ts,kwh"), b',');
        assert_eq!(detect_separator(b"a\tb\tc"), b'\t');
        assert_eq!(detect_separator(b"single"), b',');
    }

    #[test]
    fn records_may_span_lines_inside_quotes() {
        let text = b"id,text\r\n1,\"two\nlines\"\n2,plain\n";
        let recs: Vec<(u64, String)> = records(text)
            .map(|(n, r)| (n, String::from_utf8_lossy(r).into_owned()))
            .collect();
        assert_eq!(
            recs,
            vec![
                (1, "id,text".into()),
                (2, "1,\"two\nlines\"".into()),
                (4, "2,plain".into())
            ]
        );
    }
}
