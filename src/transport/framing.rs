//! The rules a JSON-RPC message from a client must pass before it reaches
//! the rmcp service, on every transport whose bytes we frame ourselves
//! (stdio lines, legacy SSE `POST /message` bodies, Streamable HTTP `POST
//! /mcp` bodies).
//!
//! rmcp's own framing skips an unparseable line without a word (the client
//! waits forever), answers a known method with malformed params as an
//! unknown method (its untagged request enum falls through to a custom
//! request), and loses a response when two requests in flight share an id.
//! [`classify_line`] is the one pure function that decides, for one line:
//!
//! | the line | answer |
//! |---|---|
//! | not JSON | -32700, `id: null` |
//! | longer than [`MAX_LINE_BYTES`] | -32700, `id: null` (the framer discards it up to its newline) |
//! | JSON but not a JSON-RPC message | -32600 with its id when it has a usable one, else `null` |
//! | a string id over [`MAX_ID_BYTES`], or an id neither string nor integer | -32600, `id: null` |
//! | a request whose id is in flight | -32600 "duplicate request id" (the first is answered normally) |
//! | a known method with malformed params | -32602 with the id |
//! | an unknown method, or one 2026-07-28 removed in a 2026-07-28 request | -32601 with the id |
//!
//! Notifications and responses that do not parse are dropped (JSON-RPC
//! never answers them); blank lines are ignored. Every echoed value is cut
//! ([`clip`]). Each error's `data` carries a stable kebab-case `code` and a
//! `hint`.

// rmcp still answers the legacy methods (logging/setLevel,
// resources/subscribe), so their params are checked like the others.
#![allow(deprecated)]

use std::collections::HashSet;

use ontoref_tools::codes::{ErrorCodes, variant};
use ontoref_tools::error::clip;
use rmcp::model::{
    CallToolRequest, CallToolRequestMethod, CancelTaskMethod, CancelTaskRequest,
    ClientJsonRpcMessage, ClientRequest, CompleteRequest, CompleteRequestMethod, ConstString,
    DiscoverRequest, DiscoverRequestMethod, ErrorCode, ErrorData, GetPromptRequest,
    GetPromptRequestMethod, GetSkillRequest, GetSkillRequestMethod, GetTaskMethod, GetTaskRequest,
    InitializeRequest, InitializeResultMethod, ListPromptsRequest, ListPromptsRequestMethod,
    ListResourceTemplatesRequest, ListResourceTemplatesRequestMethod, ListResourcesRequest,
    ListResourcesRequestMethod, ListSkillsRequest, ListSkillsRequestMethod, ListToolsRequest,
    ListToolsRequestMethod, PingRequest, PingRequestMethod, ReadResourceDirectoryRequest,
    ReadResourceDirectoryRequestMethod, ReadResourceRequest, ReadResourceRequestMethod,
    ServerJsonRpcMessage, SetLevelRequest, SetLevelRequestMethod, SubscribeRequest,
    SubscribeRequestMethod, SubscriptionsListenRequest, SubscriptionsListenRequestMethod,
    UnsubscribeRequest, UnsubscribeRequestMethod, UpdateTaskMethod, UpdateTaskRequest,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The request id types [`classify_line`] works with, re-exported so a fuzz
/// target needs no rmcp dependency of its own.
pub use rmcp::model::{NumberOrString, RequestId};

/// Longest line (or message body) accepted, of the order of the HTTP body
/// limit; longer lines are discarded and answered -32700.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Longest string request id accepted: a longer one cannot be echoed
/// without breaking the response budget, so it is answered with `id: null`.
pub const MAX_ID_BYTES: usize = 200;

/// What to do with one line.
// Consumed at once by its caller; boxing the message would only add an
// allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Classified {
    /// Hand it to the service. A request's id is now in flight.
    Message(ClientJsonRpcMessage),
    /// Answer with this error; nothing reaches the service.
    Reject(Rejection),
    /// Nothing to do, and nothing to answer: a blank line, or a malformed
    /// notification or response (JSON-RPC never answers those). The reason
    /// is for the logs.
    Ignore(&'static str),
}

/// A message refused before it reached the service, and the id to answer.
#[derive(Debug)]
pub struct Rejection {
    /// The request's id when it has a usable one (`null` in the answer otherwise).
    pub id: Option<RequestId>,
    /// Why.
    pub error: FramingError,
}

/// Why a line was refused.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// Not JSON at all (-32700).
    #[error("the message is not JSON: {0}")]
    NotJson(String),
    /// Longer than [`MAX_LINE_BYTES`] (-32700).
    #[error("the message is longer than {max} bytes; it was discarded")]
    TooLong {
        /// The bound.
        max: usize,
    },
    /// JSON, but not a JSON-RPC 2.0 message a client may send (-32600).
    #[error("not a JSON-RPC 2.0 message: {0}")]
    NotAMessage(String),
    /// A string id longer than [`MAX_ID_BYTES`] (-32600, `id: null`).
    #[error("the request id is {len} bytes long, more than the {max} accepted")]
    IdTooLong {
        /// Its length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A request whose id is already in flight (-32600).
    #[error("duplicate request id {id}: a request with this id is still in flight")]
    DuplicateId {
        /// The id, as JSON.
        id: String,
    },
    /// A known method with params it cannot take (-32602).
    #[error("invalid params for `{method}`: {detail}")]
    InvalidParams {
        /// The method.
        method: String,
        /// What is wrong, as the parser says it (cut).
        detail: String,
    },
    /// A method this server does not know (-32601).
    #[error("unknown method `{method}`")]
    UnknownMethod {
        /// The method (cut).
        method: String,
    },
}

impl ErrorCodes for FramingError {
    const VARIANTS: usize = 7;

    fn examples() -> Vec<Self> {
        vec![
            FramingError::NotJson("expected value at line 1 column 1".into()),
            FramingError::TooLong {
                max: MAX_LINE_BYTES,
            },
            FramingError::NotAMessage("missing field `jsonrpc`".into()),
            FramingError::IdTooLong {
                len: 4096,
                max: MAX_ID_BYTES,
            },
            FramingError::DuplicateId { id: "1".into() },
            FramingError::InvalidParams {
                method: "tools/call".into(),
                detail: "missing field `name`".into(),
            },
            FramingError::UnknownMethod {
                method: "tools/frobnicate".into(),
            },
        ]
    }

    fn variant_index(&self) -> usize {
        const N: usize = FramingError::VARIANTS;
        match self {
            FramingError::NotJson(_) => variant::<0, N>(),
            FramingError::TooLong { .. } => variant::<1, N>(),
            FramingError::NotAMessage(_) => variant::<2, N>(),
            FramingError::IdTooLong { .. } => variant::<3, N>(),
            FramingError::DuplicateId { .. } => variant::<4, N>(),
            FramingError::InvalidParams { .. } => variant::<5, N>(),
            FramingError::UnknownMethod { .. } => variant::<6, N>(),
        }
    }

    fn error_code(&self) -> &'static str {
        self.code()
    }

    fn error_hint(&self) -> String {
        self.hint().to_owned()
    }
}

impl FramingError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            FramingError::NotJson(_) => "parse-error",
            FramingError::TooLong { .. } => "message-too-long",
            FramingError::NotAMessage(_) => "invalid-message",
            FramingError::IdTooLong { .. } => "request-id-too-long",
            FramingError::DuplicateId { .. } => "duplicate-request-id",
            FramingError::InvalidParams { .. } => "invalid-request-params",
            FramingError::UnknownMethod { .. } => "method-not-found",
        }
    }

    /// How to recover.
    pub fn hint(&self) -> &'static str {
        match self {
            FramingError::NotJson(_) => {
                "send one JSON-RPC 2.0 object per line (stdio) or per request body (HTTP)"
            }
            FramingError::TooLong { .. } => "send smaller messages",
            FramingError::NotAMessage(_) => {
                "send a JSON object with \"jsonrpc\": \"2.0\" and a string `method` (a request \
                 also has a string or integer `id`); batches are not part of MCP"
            }
            FramingError::IdTooLong { .. } => {
                "use short request ids (an integer or a short string)"
            }
            FramingError::DuplicateId { .. } => {
                "give every request its own id; wait for the answer before reusing one"
            }
            FramingError::InvalidParams { .. } => {
                "check the params against the MCP schema for this method"
            }
            FramingError::UnknownMethod { .. } => {
                "see the MCP specification for the methods a server answers"
            }
        }
    }

    /// The JSON-RPC error code.
    pub fn json_rpc_code(&self) -> ErrorCode {
        match self {
            FramingError::NotJson(_) | FramingError::TooLong { .. } => ErrorCode::PARSE_ERROR,
            FramingError::NotAMessage(_)
            | FramingError::IdTooLong { .. }
            | FramingError::DuplicateId { .. } => ErrorCode::INVALID_REQUEST,
            FramingError::InvalidParams { .. } => ErrorCode::INVALID_PARAMS,
            FramingError::UnknownMethod { .. } => ErrorCode::METHOD_NOT_FOUND,
        }
    }
}

impl Rejection {
    /// The JSON-RPC error object, with `data: {code, hint}`.
    pub fn error_data(&self) -> ErrorData {
        ErrorData::new(
            self.error.json_rpc_code(),
            self.error.to_string(),
            Some(serde_json::json!({
                "code": self.error.code(),
                "hint": self.error.hint(),
            })),
        )
    }

    /// The answer to send: a JSON-RPC error with the request's id or `null`.
    pub fn to_message(&self) -> ServerJsonRpcMessage {
        ServerJsonRpcMessage::error(self.error_data(), self.id.clone())
    }
}

fn reject(id: Option<RequestId>, error: FramingError) -> Classified {
    Classified::Reject(Rejection { id, error })
}

/// `value` as the typed request `T`. The request is built here, once: handing
/// rmcp the typed value spares it its untagged parse, which tries the
/// request types one by one (most of a small call's parsing time).
fn parse_as<T: DeserializeOwned + Into<ClientRequest>>(
    value: &Value,
) -> Result<ClientRequest, serde_json::Error> {
    T::deserialize(value).map(Into::into)
}

type Check = fn(&Value) -> Result<ClientRequest, serde_json::Error>;

macro_rules! known_requests {
    ($($method:ty => $request:ty),* $(,)?) => {
        /// Every request method rmcp's server side knows, with the check of
        /// its typed params.
        const KNOWN_REQUESTS: &[(&str, Check)] = &[
            $((<$method as ConstString>::VALUE, parse_as::<$request> as Check),)*
        ];
    };
}

known_requests! {
    PingRequestMethod => PingRequest,
    InitializeResultMethod => InitializeRequest,
    DiscoverRequestMethod => DiscoverRequest,
    CompleteRequestMethod => CompleteRequest,
    SetLevelRequestMethod => SetLevelRequest,
    GetPromptRequestMethod => GetPromptRequest,
    ListPromptsRequestMethod => ListPromptsRequest,
    ListResourcesRequestMethod => ListResourcesRequest,
    ListResourceTemplatesRequestMethod => ListResourceTemplatesRequest,
    ReadResourceRequestMethod => ReadResourceRequest,
    SubscriptionsListenRequestMethod => SubscriptionsListenRequest,
    SubscribeRequestMethod => SubscribeRequest,
    UnsubscribeRequestMethod => UnsubscribeRequest,
    CallToolRequestMethod => CallToolRequest,
    ListToolsRequestMethod => ListToolsRequest,
    GetTaskMethod => GetTaskRequest,
    UpdateTaskMethod => UpdateTaskRequest,
    CancelTaskMethod => CancelTaskRequest,
    ListSkillsRequestMethod => ListSkillsRequest,
    GetSkillRequestMethod => GetSkillRequest,
    ReadResourceDirectoryRequestMethod => ReadResourceDirectoryRequest,
}

/// Methods the 2026-07-28 revision removed: a request of that revision
/// (per-request `_meta` protocol version) naming one is an unknown method.
pub const REMOVED_IN_2026: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// The first stateless revision, which carries its version in each request.
const STATELESS_REVISION: &str = "2026-07-28";

/// Whether a request speaks the stateless revision (or a later one): its
/// `params._meta` names the protocol version.
fn is_stateless(object: &Map<String, Value>) -> bool {
    object
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
        .and_then(Value::as_str)
        .is_some_and(|v| v >= STATELESS_REVISION)
}

/// A request id as JSON text, for messages (cut).
fn shown_id(id: &RequestId) -> String {
    match id {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => format!("\"{}\"", clip(s)),
    }
}

/// The id of a message: `Ok(None)` when absent, `Err` when unusable.
fn message_id(object: &Map<String, Value>) -> Result<Option<RequestId>, FramingError> {
    match object.get("id") {
        None => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_ID_BYTES => Err(FramingError::IdTooLong {
            len: s.len(),
            max: MAX_ID_BYTES,
        }),
        Some(Value::String(s)) => Ok(Some(NumberOrString::String(s.as_str().into()))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Ok(Some(NumberOrString::Number(n))),
            None => Err(FramingError::NotAMessage(
                "`id` must be a string or an integer (within 64 bits)".to_owned(),
            )),
        },
        Some(Value::Null) => Err(FramingError::NotAMessage(
            "`id` is null; a request's id is a string or an integer".to_owned(),
        )),
        Some(_) => Err(FramingError::NotAMessage(
            "`id` must be a string or an integer".to_owned(),
        )),
    }
}

/// What [`check_line`] found: the kind of a message that passes, or what to
/// do instead.
#[derive(Debug)]
pub enum Checked {
    /// A request with this id (now in flight once recorded).
    Request(RequestId),
    /// A notification; for `notifications/cancelled`, the id it cancels.
    Notification(Option<RequestId>),
    /// A response or error to a request of ours.
    Response,
    /// Answer with this error; nothing reaches the service.
    Reject(Rejection),
    /// Nothing to do, and nothing to answer (see [`Classified::Ignore`]).
    Ignore(&'static str),
}

/// [`check_line`]'s verdict and the parsed message, for [`classify_line`].
enum Inspected {
    /// A request, typed (boxed: it is far larger than the other variants).
    Request(RequestId, Box<ClientRequest>),
    /// A notification or response, to be typed by the caller.
    Pass(Checked, Value),
    Stop(Checked),
}

/// The id a `notifications/cancelled` names.
fn cancelled_id(object: &Map<String, Value>) -> Option<RequestId> {
    if object.get("method").and_then(Value::as_str) != Some("notifications/cancelled") {
        return None;
    }
    match object.get("params")?.get("requestId")? {
        Value::String(s) => Some(NumberOrString::String(s.as_str().into())),
        Value::Number(n) => n.as_i64().map(NumberOrString::Number),
        _ => None,
    }
}

fn stop(id: Option<RequestId>, error: FramingError) -> Inspected {
    Inspected::Stop(Checked::Reject(Rejection { id, error }))
}

/// Every rule but the final typed parse of a notification or response.
fn inspect(line: &[u8], in_flight: &HashSet<RequestId>) -> Inspected {
    if line.len() > MAX_LINE_BYTES {
        return stop(
            None,
            FramingError::TooLong {
                max: MAX_LINE_BYTES,
            },
        );
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Inspected::Stop(Checked::Ignore("blank line"));
    }
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(e) => return stop(None, FramingError::NotJson(clip(&e.to_string()))),
    };
    let object = match &value {
        Value::Object(object) => object,
        other => {
            let what = match other {
                Value::Array(_) => "a JSON array (batches are not part of MCP)",
                Value::String(_) => "a JSON string",
                Value::Number(_) => "a JSON number",
                Value::Bool(_) => "a JSON boolean",
                Value::Null => "JSON null",
                Value::Object(_) => "an object",
            };
            return stop(
                None,
                FramingError::NotAMessage(format!("the message is {what}, not an object")),
            );
        }
    };
    let has_method = object.contains_key("method");
    if !has_method && (object.contains_key("result") || object.contains_key("error")) {
        // A response to a request of ours: never answered, only passed on.
        return Inspected::Pass(Checked::Response, value);
    }
    let id = match message_id(object) {
        Ok(id) => id,
        Err(error) => return stop(None, error),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return stop(
            id,
            FramingError::NotAMessage("`jsonrpc` must be \"2.0\"".to_owned()),
        );
    }
    let method = match object.get("method") {
        Some(Value::String(m)) => m.as_str(),
        Some(_) => {
            return stop(
                id,
                FramingError::NotAMessage("`method` must be a string".to_owned()),
            );
        }
        None => {
            return stop(
                id,
                FramingError::NotAMessage(
                    "it has no `method` (nor `result` or `error`)".to_owned(),
                ),
            );
        }
    };
    let Some(id) = id else {
        let cancels = cancelled_id(object);
        return Inspected::Pass(Checked::Notification(cancels), value);
    };
    if in_flight.contains(&id) {
        return stop(
            Some(id.clone()),
            FramingError::DuplicateId { id: shown_id(&id) },
        );
    }
    let removed = REMOVED_IN_2026.contains(&method) && is_stateless(object);
    let known = KNOWN_REQUESTS.iter().find(|(known, _)| *known == method);
    let Some((_, check)) = known.filter(|_| !removed) else {
        return stop(
            Some(id),
            FramingError::UnknownMethod {
                method: clip(method),
            },
        );
    };
    // The typed request ignores `jsonrpc` and `id`: parse the whole object,
    // by reference.
    match check(&value) {
        Ok(request) => Inspected::Request(id, Box::new(request)),
        Err(e) => stop(
            Some(id),
            FramingError::InvalidParams {
                method: clip(method),
                detail: clip(&e.to_string()),
            },
        ),
    }
}

/// Checks one line (or message body) against every rule, without building
/// the typed message: what the HTTP gate needs, since rmcp parses the body
/// itself. Notifications and responses pass unparsed (rmcp drops a
/// malformed one).
pub fn check_line(line: &[u8], in_flight: &HashSet<RequestId>) -> Checked {
    match inspect(line, in_flight) {
        Inspected::Request(id, _) => Checked::Request(id),
        Inspected::Pass(checked, _) | Inspected::Stop(checked) => checked,
    }
}

/// Decides what to do with one line (or message body) from a client, given
/// the ids of its requests still in flight. Pure: the caller records a
/// forwarded request's id, and sends a rejection's answer.
pub fn classify_line(line: &[u8], in_flight: &HashSet<RequestId>) -> Classified {
    let (checked, value) = match inspect(line, in_flight) {
        Inspected::Request(id, request) => {
            return Classified::Message(ClientJsonRpcMessage::request(*request, id));
        }
        Inspected::Pass(checked, value) => (checked, value),
        Inspected::Stop(Checked::Reject(rejection)) => return Classified::Reject(rejection),
        Inspected::Stop(Checked::Ignore(why)) => return Classified::Ignore(why),
        Inspected::Stop(_) => return Classified::Ignore("nothing to do"),
    };
    match (
        checked,
        serde_json::from_value::<ClientJsonRpcMessage>(value),
    ) {
        (_, Ok(message)) => Classified::Message(message),
        (Checked::Request(id), Err(e)) => {
            reject(Some(id), FramingError::NotAMessage(clip(&e.to_string())))
        }
        (Checked::Notification(_), Err(_)) => Classified::Ignore("a malformed notification"),
        (_, Err(_)) => Classified::Ignore("a malformed response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify(line: &str) -> Classified {
        classify_line(line.as_bytes(), &HashSet::new())
    }

    /// The JSON answer of a rejection.
    fn answer(c: Classified) -> Value {
        match c {
            Classified::Reject(r) => serde_json::to_value(r.to_message()).unwrap(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_line_that_is_not_json_is_a_parse_error_with_a_null_id() {
        for line in ["this is not json", "{\"jsonrpc\":", "\u{0}", "{]"] {
            let a = answer(classify(line));
            assert_eq!(a["id"], Value::Null, "{line}: {a}");
            assert_eq!(a["error"]["code"], -32700, "{line}");
            assert_eq!(a["error"]["data"]["code"], "parse-error");
            assert_eq!(a["jsonrpc"], "2.0");
        }
    }

    #[test]
    fn json_that_is_not_a_message_is_invalid_request() {
        for (line, id) in [
            ("[]", Value::Null),
            (
                "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
                Value::Null,
            ),
            ("42", Value::Null),
            ("{}", Value::Null),
            ("{\"jsonrpc\":\"2.0\"}", Value::Null),
            (
                "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}",
                json!(7),
            ),
            ("{\"id\":\"a\",\"method\":\"ping\"}", json!("a")),
            ("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":5}", json!(3)),
            ("{\"jsonrpc\":\"2.0\",\"id\":3}", json!(3)),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
                Value::Null,
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
                Value::Null,
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
                Value::Null,
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551615,\"method\":\"ping\"}",
                Value::Null,
            ),
        ] {
            let a = answer(classify(line));
            assert_eq!(a["error"]["code"], -32600, "{line}: {a}");
            assert_eq!(a["id"], id, "{line}: {a}");
            assert_eq!(a["error"]["data"]["code"], "invalid-message", "{line}");
        }
    }

    #[test]
    fn malformed_params_of_a_known_method_are_invalid_params() {
        for line in [
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":5}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":42}}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"initialize","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"resources/read"}"#,
        ] {
            let a = answer(classify(line));
            assert_eq!(a["error"]["code"], -32602, "{line}: {a}");
            assert_eq!(a["id"], "x", "{line}");
            assert_eq!(a["error"]["data"]["code"], "invalid-request-params");
        }
    }

    #[test]
    fn an_unknown_method_is_method_not_found_with_its_name_cut() {
        let a = answer(classify(
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/frobnicate","params":{}}"#,
        ));
        assert_eq!(a["error"]["code"], -32601);
        assert_eq!(a["id"], 9);
        assert!(
            a["error"]["message"]
                .as_str()
                .unwrap()
                .contains("tools/frobnicate")
        );
        let long = format!(
            r#"{{"jsonrpc":"2.0","id":9,"method":"{}"}}"#,
            "m".repeat(1 << 20)
        );
        let a = answer(classify(&long));
        assert!(a.to_string().len() < 2000, "{}", a.to_string().len());
    }

    #[test]
    fn methods_removed_in_2026_are_unknown_to_a_2026_request() {
        let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#;
        for method in REMOVED_IN_2026 {
            let modern =
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{{meta}}}}}"#);
            let a = answer(classify(&modern));
            assert_eq!(a["error"]["code"], -32601, "{method}: {a}");
        }
        // The same methods from an earlier revision are checked as usual.
        let legacy = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        assert_eq!(answer(classify(legacy))["error"]["code"], -32602);
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(matches!(classify(ping), Classified::Message(_)));
    }

    #[test]
    fn long_ids_are_refused_without_echoing_them() {
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":"{}","method":"ping"}}"#,
            "i".repeat(MAX_ID_BYTES + 1)
        );
        let a = answer(classify(&line));
        assert_eq!(a["error"]["code"], -32600);
        assert_eq!(a["id"], Value::Null);
        assert_eq!(a["error"]["data"]["code"], "request-id-too-long");
        let ok = format!(
            r#"{{"jsonrpc":"2.0","id":"{}","method":"ping"}}"#,
            "i".repeat(MAX_ID_BYTES)
        );
        assert!(matches!(classify(&ok), Classified::Message(_)));
    }

    #[test]
    fn a_duplicate_in_flight_id_is_refused() {
        let mut in_flight = HashSet::new();
        in_flight.insert(NumberOrString::Number(4));
        in_flight.insert(NumberOrString::String("a".into()));
        for (line, id) in [
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#,
                json!(4),
            ),
            (r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#, json!("a")),
        ] {
            let a = answer(classify_line(line.as_bytes(), &in_flight));
            assert_eq!(a["error"]["code"], -32600, "{a}");
            assert_eq!(a["id"], id);
            assert_eq!(a["error"]["data"]["code"], "duplicate-request-id");
        }
        // Another id, or a notification, passes.
        let other = r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#;
        assert!(matches!(
            classify_line(other.as_bytes(), &in_flight),
            Classified::Message(_)
        ));
    }

    #[test]
    fn good_messages_pass_and_bad_notifications_are_dropped() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"a":1}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":"r1","result":{}}"#,
            "  {\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}\r",
        ] {
            assert!(
                matches!(classify(line), Classified::Message(_)),
                "{line}: {:?}",
                classify(line)
            );
        }
        for line in [
            "",
            "   \r",
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":5}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":5,"error":5}"#,
        ] {
            assert!(
                matches!(classify(line), Classified::Ignore(_)),
                "{line}: {:?}",
                classify(line)
            );
        }
    }

    #[test]
    fn check_line_agrees_with_classify_line() {
        let mut in_flight = HashSet::new();
        in_flight.insert(NumberOrString::Number(4));
        for line in [
            "nope",
            "[]",
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":5}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"no/such"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"r","result":{}}"#,
            "",
        ] {
            let classified = classify_line(line.as_bytes(), &in_flight);
            let checked = check_line(line.as_bytes(), &in_flight);
            let agree = match (&classified, &checked) {
                (Classified::Reject(a), Checked::Reject(b)) => {
                    a.error.code() == b.error.code() && a.id == b.id
                }
                (Classified::Ignore(_), Checked::Ignore(_)) => true,
                (Classified::Message(ClientJsonRpcMessage::Request(r)), Checked::Request(id)) => {
                    &r.id == id
                }
                (
                    Classified::Message(ClientJsonRpcMessage::Notification(_)),
                    Checked::Notification(_),
                ) => true,
                (Classified::Message(ClientJsonRpcMessage::Response(_)), Checked::Response) => true,
                _ => false,
            };
            assert!(agree, "{line}: {classified:?} vs {checked:?}");
        }
        let cancel =
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4}}"#;
        assert!(matches!(
            check_line(cancel.as_bytes(), &in_flight),
            Checked::Notification(Some(NumberOrString::Number(4)))
        ));
    }

    #[test]
    fn too_long_lines_are_parse_errors() {
        let line = vec![b' '; MAX_LINE_BYTES + 1];
        let a = answer(classify_line(&line, &HashSet::new()));
        assert_eq!(a["error"]["code"], -32700);
        assert_eq!(a["error"]["data"]["code"], "message-too-long");
    }

    #[test]
    fn every_answer_is_small_whatever_the_input() {
        let huge = "\u{1F600}".repeat(300_000);
        for line in [
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":{huge:?}x}}}}"#
            ),
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":7,"x":"{huge}"}}}}"#
            ),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{huge}"}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":"{huge}"}}"#),
            huge.clone(),
        ] {
            match classify(&line) {
                Classified::Reject(r) => {
                    let text = serde_json::to_string(&r.to_message()).unwrap();
                    assert!(text.len() < 4096, "{}", text.len());
                }
                Classified::Message(_) | Classified::Ignore(_) => {}
            }
        }
    }
}
