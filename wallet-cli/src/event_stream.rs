//! Server-Sent Events, the `text/event-stream` format (WHATWG HTML Living Standard §9.2.6,
//! "Interpreting an event stream"): bytes in, events out, no I/O.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; `message` when absent (§9.2.6, dispatch step 4).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream, if any.
    pub id: Option<String>,
}

/// The longest line kept: an issuer's status event is well under this, and a stream that never
/// sends a newline must not grow without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A line (or an event's data) exceeded [`MAX_LINE`].
    #[error("event stream line longer than {MAX_LINE} bytes")]
    LineTooLong,
}

/// An incremental parser: [`Parser::push`] bytes as they arrive, collect the events.
#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// A CR ended the previous chunk: a LF starting the next one belongs to it.
    pending_cr: bool,
}

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, StreamError> {
        let mut events = Vec::new();
        for &b in bytes {
            if std::mem::take(&mut self.pending_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    self.pending_cr = b == b'\r';
                    let line = std::mem::take(&mut self.buffer);
                    if let Some(event) = self.line(&line)? {
                        events.push(event);
                    }
                }
                _ => {
                    if self.buffer.len() >= MAX_LINE {
                        return Err(StreamError::LineTooLong);
                    }
                    self.buffer.push(b);
                }
            }
        }
        Ok(events)
    }

    fn line(&mut self, raw: &[u8]) -> Result<Option<Event>, StreamError> {
        // The stream is UTF-8; invalid sequences become U+FFFD (§9.2.6, "UTF-8 decode").
        let line = String::from_utf8_lossy(raw);
        let line = line.strip_prefix('\u{feff}').unwrap_or(&line);
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None); // a comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.data.len() + value.len() > MAX_LINE {
                    return Err(StreamError::LineTooLong);
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields are ignored
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(Event {
            event: if event.is_empty() {
                "message".into()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_across_chunks_and_line_endings() {
        let mut p = Parser::new();
        let mut all = Vec::new();
        for chunk in [
            &b": keep-alive\r\n"[..],
            b"event: state\r",
            b"\ndata: {\"state\":",
            b"\"in_review\"}\n\n",
            b"data:a\ndata: b\nid: 7\n\n",
            b"event: x\n\n", // no data: nothing dispatched
        ] {
            all.extend(p.push(chunk).unwrap());
        }
        assert_eq!(
            all,
            [
                Event {
                    event: "state".into(),
                    data: r#"{"state":"in_review"}"#.into(),
                    id: None
                },
                Event {
                    event: "message".into(),
                    data: "a\nb".into(),
                    id: Some("7".into())
                },
            ]
        );
    }

    // The WHATWG specification's own examples (§9.2.6): "data" with and without a space.
    #[test]
    fn field_without_colon_and_space_handling() {
        let mut p = Parser::new();
        let events = p.push(b"data\n\ndata:  two spaces\n\n").unwrap();
        assert_eq!(events[0].data, "");
        assert_eq!(events[1].data, " two spaces");
    }

    #[test]
    fn unbounded_line_refused() {
        let mut p = Parser::new();
        assert_eq!(
            p.push(&vec![b'x'; MAX_LINE + 1]),
            Err(StreamError::LineTooLong)
        );
    }
}
