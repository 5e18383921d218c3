//! Fuzzes the JSON-RPC framing checks every client message passes
//! (`ontoref::transport::framing`: `check_line`, which the HTTP gate uses, and `classify_line`,
//! which stdio and SSE use). The input is split on `\n` into stdio lines, fed in order with the
//! ids of the requests forwarded so far in flight (plus two ids in flight from the start), and
//! the whole input is also checked once as an HTTP body.
//!
//! Checks, beyond "never panics":
//! - the two functions agree: the same refusal (code and id), a request that `check_line` passes
//!   is forwarded by `classify_line` with the same id or refused as `invalid-message`, and
//!   notifications, responses and blank lines are never answered;
//! - a request that passes never reuses an id in flight;
//! - every refusal serializes to a JSON-RPC 2.0 error within the 32 KiB response budget
//!   (`ontoref_tools::paging::RESPONSE_BUDGET`) with a JSON-RPC code matching its kind and the
//!   stable code in `error.data.code`, and echoes only a bounded id: `null`, an integer, or a
//!   string of at most `MAX_ID_BYTES` bytes (`null` for unparseable lines and long ids);
//! - every forwarded message serializes back to JSON.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use ontoref::transport::framing::{
    Checked, Classified, MAX_ID_BYTES, NumberOrString, Rejection, RequestId, check_line,
    classify_line,
};
use ontoref_tools::paging::RESPONSE_BUDGET;
use serde_json::Value;

fn id_json(id: &RequestId) -> Value {
    match id {
        NumberOrString::Number(n) => Value::from(*n),
        NumberOrString::String(s) => Value::from(s.to_string()),
    }
}

fn check_rejection(r: &Rejection) {
    let text = serde_json::to_string(&r.to_message()).expect("a refusal serializes");
    assert!(
        text.len() <= RESPONSE_BUDGET,
        "a {} byte refusal is over the response budget",
        text.len()
    );
    let answer: Value = serde_json::from_str(&text).expect("a refusal is JSON");
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    let code = r.error.code();
    assert_eq!(answer["error"]["data"]["code"], code, "{answer}");
    let expected = match code {
        "parse-error" | "message-too-long" => -32700,
        "invalid-message" | "request-id-too-long" | "duplicate-request-id" => -32600,
        "invalid-request-params" => -32602,
        "method-not-found" => -32601,
        other => panic!("an unknown refusal code {other}"),
    };
    assert_eq!(answer["error"]["code"], expected, "{answer}");
    match &answer["id"] {
        Value::Null => assert!(r.id.is_none(), "{answer}"),
        Value::Number(n) => assert!(n.is_i64(), "{answer}"),
        Value::String(s) => assert!(s.len() <= MAX_ID_BYTES, "an unbounded id echoed"),
        other => panic!("an id that is neither null, integer nor string: {other}"),
    }
    if let Some(id) = &r.id {
        assert_eq!(answer["id"], id_json(id), "the answer names the request");
    }
    if matches!(
        code,
        "parse-error" | "message-too-long" | "request-id-too-long"
    ) {
        assert!(answer["id"].is_null(), "{answer}");
    }
}

/// Checks one line both ways; the id of a forwarded request, to record as in flight.
fn one(line: &[u8], in_flight: &HashSet<RequestId>) -> Option<RequestId> {
    let checked = check_line(line, in_flight);
    let classified = classify_line(line, in_flight);
    match (&checked, &classified) {
        (Checked::Reject(a), Classified::Reject(b)) => {
            assert_eq!(a.error.code(), b.error.code());
            assert_eq!(a.id, b.id);
            check_rejection(b);
            None
        }
        (Checked::Request(id), Classified::Message(message)) => {
            assert!(!in_flight.contains(id), "a duplicate id passed");
            let value = serde_json::to_value(message).expect("a forwarded request serializes");
            assert_eq!(
                value["id"],
                id_json(id),
                "the forwarded request keeps its id"
            );
            Some(id.clone())
        }
        (Checked::Request(id), Classified::Reject(r)) => {
            assert!(!in_flight.contains(id), "a duplicate id passed the check");
            assert_eq!(r.id.as_ref(), Some(id));
            assert_eq!(r.error.code(), "invalid-message");
            check_rejection(r);
            None
        }
        (Checked::Notification(_) | Checked::Response, Classified::Message(message)) => {
            serde_json::to_value(message).expect("a forwarded message serializes");
            None
        }
        (Checked::Notification(_) | Checked::Response, Classified::Ignore(_))
        | (Checked::Ignore(_), Classified::Ignore(_)) => None,
        other => panic!("check_line and classify_line disagree: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut in_flight: HashSet<RequestId> = HashSet::new();
    in_flight.insert(NumberOrString::Number(7));
    in_flight.insert(NumberOrString::String("busy".into()));
    // The whole input as one HTTP body.
    one(data, &in_flight);
    // As stdio lines.
    for line in data.split(|b| *b == b'\n') {
        if let Some(id) = one(line, &in_flight) {
            in_flight.insert(id);
        }
    }
});
