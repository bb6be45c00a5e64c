//! Splitting an SMPP byte stream into whole PDUs by their `command_length`.

use super::{read_u32, status, SmppError, DEFAULT_MAX_COMMAND_LENGTH, HEADER_LEN};

/// Splits a byte stream into whole PDUs: feed it what the socket gave, take
/// out every complete frame. Partial frames wait for more bytes.
///
/// A `command_length` below 16 or above the maximum leaves no way to find the
/// next frame: the error names its stream offset and is returned again on
/// every later call (answer `generic_nack` and close the connection).
#[derive(Debug, Clone)]
pub struct FrameReader {
    buffer: Vec<u8>,
    /// Index in `buffer` of the first byte not yet returned.
    start: usize,
    /// Stream offset of `buffer[start]`.
    stream_offset: usize,
    max_command_length: u32,
    failed: Option<SmppError>,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_COMMAND_LENGTH)
    }
}

impl FrameReader {
    /// A reader refusing frames longer than `max_command_length` (at least 16).
    pub fn new(max_command_length: u32) -> Self {
        Self {
            buffer: Vec::new(),
            start: 0,
            stream_offset: 0,
            max_command_length: max_command_length.max(HEADER_LEN as u32),
            failed: None,
        }
    }

    pub fn max_command_length(&self) -> u32 {
        self.max_command_length
    }

    /// Bytes received but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Append bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buffer.len() {
            // Most of the buffer is frames already returned: drop them before growing.
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(data);
    }

    /// The next whole frame, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, SmppError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let pending = &self.buffer[self.start..];
        if pending.len() < 4 {
            return Ok(None);
        }
        let length = read_u32(pending, 0);
        if length < HEADER_LEN as u32 || length > self.max_command_length {
            let reason = if length < HEADER_LEN as u32 {
                format!("command_length {length} is shorter than the 16-octet header")
            } else {
                format!(
                    "command_length {length} is above the maximum of {}",
                    self.max_command_length
                )
            };
            let mut error = SmppError::new(status::ESME_RINVCMDLEN, self.stream_offset, reason);
            if pending.len() >= HEADER_LEN {
                error.command_id = Some(read_u32(pending, 4));
                error.sequence_number = Some(read_u32(pending, 12));
            }
            self.failed = Some(error.clone());
            return Err(error);
        }
        let length = length as usize;
        if pending.len() < length {
            return Ok(None);
        }
        let frame_start = self.start;
        self.start += length;
        self.stream_offset += length;
        Ok(Some(&self.buffer[frame_start..frame_start + length]))
    }
}
