//! Releasing escrowed secrets as bytes leave the process.
//!
//! A reveal puts placeholders in a tool's result and leaves the secrets in
//! the engine's [`SecretEscrow`] (see `ontoref_tools::escrow`), so nothing
//! rmcp or ontoref logs holds a secret. Every transport writer passes its
//! outgoing JSON-RPC messages through here just before writing them: the
//! stdio writer and the legacy SSE stream per message ([`message_bytes`]),
//! Streamable HTTP per event of a response body ([`SseReleaser`]). Only a
//! message holding the placeholder prefix is parsed; in a tool result the
//! placeholders in `structuredContent` are replaced and its text content
//! re-rendered from it (the text is the JSON of the structured content), so
//! a password holding `"` or `\` is escaped right. A placeholder nobody
//! holds any more (expired) goes out as it is: never a secret by mistake.

use bytes::{Bytes, BytesMut};
use ontoref_tools::escrow::{PLACEHOLDER_PREFIX, SecretEscrow};
use rmcp::model::ServerJsonRpcMessage;
use serde_json::Value;
use zeroize::Zeroize;

/// Whether `bytes` may hold a placeholder.
fn holds_placeholder(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, PLACEHOLDER_PREFIX.as_bytes()).is_some()
}

/// The JSON text of `message`, its placeholders released.
pub fn message_bytes(message: &ServerJsonRpcMessage, escrow: Option<&SecretEscrow>) -> Vec<u8> {
    let json = serde_json::to_vec(message).unwrap_or_else(|e| {
        // Every server message is serialisable; report rather than panic.
        tracing::error!(error = %e, "cannot serialise an MCP message");
        b"{}".to_vec()
    });
    release_json(json, escrow)
}

/// One JSON-RPC message's text with its placeholders released; the same
/// bytes when there is no escrow or no placeholder.
pub fn release_json(json: Vec<u8>, escrow: Option<&SecretEscrow>) -> Vec<u8> {
    let Some(escrow) = escrow else { return json };
    if !holds_placeholder(&json) {
        return json;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&json) else {
        return json;
    };
    if release_message(escrow, &mut value) == 0 {
        return json;
    }
    let out = serde_json::to_vec(&value).unwrap_or(json);
    wipe(value);
    out
}

/// Releases the placeholders of one JSON-RPC message in place; returns how
/// many were replaced.
pub fn release_message(escrow: &SecretEscrow, message: &mut Value) -> usize {
    let mut released = 0;
    if let Some(result) = message.get_mut("result").and_then(Value::as_object_mut)
        && let Some(structured) = result.get_mut("structuredContent")
    {
        released = escrow.release_in(structured);
        if released > 0 {
            let rendered = serde_json::to_string(structured).unwrap_or_default();
            if let Some(Value::Array(content)) = result.get_mut("content") {
                for item in content {
                    if let Some(Value::String(text)) = item.get_mut("text")
                        && text.contains(PLACEHOLDER_PREFIX)
                    {
                        text.zeroize();
                        *text = rendered.clone();
                    }
                }
            }
            let mut rendered = rendered;
            rendered.zeroize();
        }
    }
    released + escrow.release_in(message)
}

/// Zeroizes every string of a value that held released secrets.
fn wipe(mut value: Value) {
    fn walk(value: &mut Value) {
        match value {
            Value::String(s) => s.zeroize(),
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
}

/// Releases placeholders in a `text/event-stream` body, event by event, as
/// the chunks come (an event is passed on as soon as it is complete).
#[derive(Debug, Default)]
pub struct SseReleaser {
    pending: BytesMut,
}

/// An event still incomplete after this many bytes is passed on as it is.
const MAX_PENDING_EVENT: usize = 16 * 1024 * 1024;

impl SseReleaser {
    /// Takes the next chunk; returns the bytes ready to go out.
    pub fn push(&mut self, chunk: Bytes, escrow: &SecretEscrow) -> Bytes {
        if self.pending.is_empty() && !holds_placeholder(&chunk) && chunk.ends_with(b"\n\n") {
            // The common case: whole events without placeholders.
            return chunk;
        }
        self.pending.extend_from_slice(&chunk);
        let mut out = BytesMut::new();
        while let Some(end) = memchr::memmem::find(&self.pending, b"\n\n") {
            let event = self.pending.split_to(end + 2);
            out.extend_from_slice(&release_event(&event, escrow));
        }
        if self.pending.len() > MAX_PENDING_EVENT {
            out.extend_from_slice(&self.pending.split());
        }
        out.freeze()
    }

    /// The end of the body: whatever is left.
    pub fn finish(&mut self, escrow: &SecretEscrow) -> Bytes {
        let rest = self.pending.split();
        if rest.is_empty() {
            return Bytes::new();
        }
        Bytes::from(release_event(&rest, escrow))
    }
}

/// One SSE event (ending with a blank line, or the tail of a body) with the
/// JSON of its `data` released.
fn release_event(event: &[u8], escrow: &SecretEscrow) -> Vec<u8> {
    if !holds_placeholder(event) {
        return event.to_vec();
    }
    let text = match std::str::from_utf8(event) {
        Ok(text) => text,
        Err(_) => return event.to_vec(),
    };
    let data: Vec<&str> = text
        .split('\n')
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return event.to_vec();
    }
    let json = data.join("\n").into_bytes();
    let released = release_json(json, Some(escrow));
    let mut out = Vec::with_capacity(event.len() + 64);
    let mut data_written = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        if line.starts_with("data:") {
            if !data_written {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&released);
                data_written = true;
            } else {
                // Folded into the first data line; drop the separator too.
                out.pop();
            }
        } else {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool_result(escrow: &SecretEscrow, password: &str) -> Value {
        let structured = json!({
            "role": "agent",
            "username": escrow.hold("robot"),
            "password": escrow.hold(password),
        });
        json!({"jsonrpc": "2.0", "id": 3, "result": {
            "content": [{"type": "text", "text": structured.to_string()}],
            "structuredContent": structured,
            "isError": false,
        }})
    }

    #[test]
    fn a_tool_result_gets_its_secrets_and_a_matching_text() {
        let escrow = SecretEscrow::default();
        let password = "p\"w\\d \u{1F511}";
        let message = tool_result(&escrow, password);
        let out = release_json(serde_json::to_vec(&message).unwrap(), Some(&escrow));
        let got: Value = serde_json::from_slice(&out).unwrap();
        let structured = &got["result"]["structuredContent"];
        assert_eq!(structured["password"], password);
        assert_eq!(structured["username"], "robot");
        let text = got["result"]["content"][0]["text"].as_str().unwrap();
        assert_eq!(&serde_json::from_str::<Value>(text).unwrap(), structured);
        assert!(escrow.is_empty(), "released once");
        // Released: a replay of the same message carries placeholders only.
        let again = release_json(serde_json::to_vec(&message).unwrap(), Some(&escrow));
        assert!(!String::from_utf8(again).unwrap().contains("p\\\"w"));
    }

    #[test]
    fn without_an_escrow_or_a_placeholder_nothing_changes() {
        let escrow = SecretEscrow::default();
        let message = tool_result(&escrow, "x");
        let bytes = serde_json::to_vec(&message).unwrap();
        assert_eq!(release_json(bytes.clone(), None), bytes);
        let plain = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec();
        assert_eq!(release_json(plain.clone(), Some(&escrow)), plain);
    }

    #[test]
    fn sse_events_are_released_as_they_complete() {
        let escrow = SecretEscrow::default();
        let message = tool_result(&escrow, "s\"ecret");
        let event = format!(
            "id: 0/1\ndata: {}\n\n",
            serde_json::to_string(&message).unwrap()
        );
        let body = format!(":\n\n{event}data:\n\n");
        let mut releaser = SseReleaser::default();
        let mut out = Vec::new();
        // Split mid-placeholder, so no chunk holds a whole one.
        let cut = body.find(PLACEHOLDER_PREFIX).unwrap() + 5;
        let body = Bytes::from(body);
        out.extend_from_slice(&releaser.push(body.slice(..cut), &escrow));
        assert_eq!(out, b":\n\n", "the complete keep-alive goes out at once");
        out.extend_from_slice(&releaser.push(body.slice(cut..), &escrow));
        out.extend_from_slice(&releaser.finish(&escrow));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(":\n\nid: 0/1\ndata: {"), "{text}");
        assert!(text.ends_with("}\n\ndata:\n\n"), "{text}");
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let got: Value = serde_json::from_str(data).unwrap();
        assert_eq!(got["result"]["structuredContent"]["password"], "s\"ecret");
        assert!(!text.contains(PLACEHOLDER_PREFIX));
    }
}
