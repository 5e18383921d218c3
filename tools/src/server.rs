//! The MCP server handler: the selected catalog tools in an rmcp
//! `ToolRouter`, built once at start-up, served over whatever transport the
//! binary picks.
//!
//! Tool failures become `isError` results whose structured content is
//! `{"error": {"code", "message", "hint"}}`; JSON-RPC errors are kept for
//! requests that cannot be routed: an unknown or disabled tool is -32602
//! naming it (cut to 100 characters) with the closest served names, an
//! unknown method -32601; every echoed input is cut ([`clip`]). Tools,
//! prompts and resources are declared; ontoref has no prompts or resources
//! (yet), so their lists are empty and reading one is "not found". Clients
//! that list prompts and resources whatever the capabilities say (several
//! IDE assistants do) then get an answer instead of an error.
//! Completions are not declared and answer "method not found".
//! A transport that authenticates requests (HTTP) hands the server a
//! [`CallerFn`] with [`OntorefServer::with_caller`]; a call it finds a
//! caller for runs as that actor, or as none ([`crate::actor`]), never as
//! the actor the process was started with. The server itself knows no
//! transport.
//! Each request runs in a tracing span carrying the tool name; its duration
//! is logged when it ends.

use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    CompleteRequestParams, CompleteResult, CustomRequest, CustomResult, ErrorCode,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ResultType,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tracing::Instrument;

use crate::actor::as_actor;
use crate::catalog::{CatalogTool, InvokeFn};
use crate::engine::Engine;
use crate::error::{clip, clip_to};
use crate::suggest::{closest, quote_list};

/// How a server finds who made a request, from the request's rmcp
/// extensions: `None` when the request carries no caller (the call runs as
/// the engine's configured actor), `Some(actor)` when a transport
/// authenticated it (`Some(None)`: as no actor).
pub type CallerFn = fn(&rmcp::model::Extensions) -> Option<Option<String>>;

/// The MCP server: an engine plus the tools selected for it.
#[derive(Clone)]
pub struct OntorefServer {
    engine: Arc<Engine>,
    router: Arc<ToolRouter<OntorefServer>>,
    /// What the server tells a model about itself, from the toolsets served.
    instructions: Arc<str>,
    /// How to find a request's caller, when a transport authenticates.
    caller: Option<CallerFn>,
}

impl std::fmt::Debug for OntorefServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OntorefServer")
            .field("tools", &self.router.list_all().len())
            .finish()
    }
}

impl OntorefServer {
    /// A server exposing `tools` over `engine`.
    pub fn new(engine: Arc<Engine>, tools: &[&'static CatalogTool]) -> Self {
        let mut router = ToolRouter::new();
        for tool in tools {
            let invoke = tool.invoke;
            router.add_route(ToolRoute::new_dyn(tool.tool().clone(), move |ctx| {
                Box::pin(run(invoke, ctx))
            }));
        }
        OntorefServer {
            engine,
            router: Arc::new(router),
            instructions: crate::toolset::instructions(tools.iter().map(|t| t.toolset)).into(),
            caller: None,
        }
    }

    /// This server, running each call as the caller `caller` finds in the
    /// request (set by transports that authenticate requests).
    pub fn with_caller(self, caller: CallerFn) -> Self {
        OntorefServer {
            caller: Some(caller),
            ..self
        }
    }

    /// The engine served.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The `instructions` sent at `initialize`: when to reach for ontoref
    /// and one line per toolset served.
    pub fn instructions(&self) -> &str {
        &self.instructions
    }

    /// The tool definitions served, sorted by name.
    pub fn tools(&self) -> Vec<Tool> {
        self.router.list_all()
    }

    /// The JSON-RPC error for a `tools/call` naming a tool this server does
    /// not serve (unknown, or left out by the selection flags): -32602, the
    /// name cut to 100 characters, and the closest served names.
    pub fn unknown_tool(&self, name: &str) -> ErrorData {
        let shown = clip_to(name, UNKNOWN_TOOL_ECHO_CHARS);
        let served = self.router.list_all();
        let near = closest(name, served.iter().map(|t| t.name.as_ref()), 2);
        let suggestion = if near.is_empty() {
            "; `tools/list` names the tools this server offers".to_owned()
        } else {
            format!("; did you mean {}?", quote_list(&near))
        };
        ErrorData::invalid_params(
            format!("no tool named `{shown}` is served here{suggestion}"),
            Some(serde_json::json!({ "name": shown, "closest": near })),
        )
    }
}

/// How much of an unknown tool's name its error quotes.
const UNKNOWN_TOOL_ECHO_CHARS: usize = 100;

async fn run(
    invoke: InvokeFn,
    ctx: ToolCallContext<'_, OntorefServer>,
) -> Result<CallToolResponse, ErrorData> {
    let args = ctx
        .arguments
        .map(serde_json::Value::Object)
        .unwrap_or_default();
    let result = match invoke(&ctx.service.engine, args).await {
        Ok(value) => CallToolResult::structured(value),
        Err(err) => {
            tracing::debug!(code = err.code(), "tool failed");
            CallToolResult::structured_error(err.to_json())
        }
    };
    Ok(CallToolResponse::Complete(result))
}

/// Whether the request speaks the stateless 2026-07-28 revision or later.
fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

fn cache_hints(context: &RequestContext<RoleServer>) -> (Option<u64>, Option<CacheScope>) {
    let modern = is_modern(context);
    (modern.then_some(0), modern.then_some(CacheScope::Public))
}

impl ServerHandler for OntorefServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("ontoref", env!("CARGO_PKG_VERSION")).with_title("ontoref"),
        )
        .with_instructions(self.instructions.to_string())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.router.get(&request.name).is_none() {
            return Err(self.unknown_tool(&request.name));
        }
        let span = tracing::info_span!("tools/call", tool = %request.name);
        async move {
            let started = Instant::now();
            // Over HTTP the request runs as the actor its token names, or as
            // nobody: never as the actor the server process was started with.
            let caller = self.caller.and_then(|find| find(&context.extensions));
            let ctx = ToolCallContext::new(self, request, context);
            let result = match caller {
                Some(actor) => as_actor(actor, self.router.call(ctx)).await,
                None => self.router.call(ctx).await,
            };
            let is_error = match &result {
                Ok(CallToolResponse::Complete(r)) => r.is_error.unwrap_or(false),
                _ => true,
            };
            tracing::info!(
                duration_us = started.elapsed().as_micros() as u64,
                is_error,
                "request done"
            );
            result
        }
        .instrument(span)
        .await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let span = tracing::info_span!("tools/list");
        let _enter = span.enter();
        let started = Instant::now();
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let result = ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools: self.router.list_all(),
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        };
        tracing::info!(
            duration_us = started.elapsed().as_micros() as u64,
            "request done"
        );
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.router.get(name).cloned()
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let (ttl_ms, cache_scope) = cache_hints(&context);
        Ok(ListPromptsResult {
            result_type: Some(ResultType::COMPLETE),
            prompts: Vec::new(),
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let name = clip(&request.name);
        Err(ErrorData::invalid_params(
            format!("no prompt named `{name}`: this server has no prompts"),
            Some(serde_json::json!({ "name": name })),
        ))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let (ttl_ms, cache_scope) = cache_hints(&context);
        Ok(ListResourcesResult {
            result_type: Some(ResultType::COMPLETE),
            resources: Vec::new(),
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let (ttl_ms, cache_scope) = cache_hints(&context);
        Ok(ListResourceTemplatesResult {
            result_type: Some(ResultType::COMPLETE),
            resource_templates: Vec::new(),
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = clip(&request.uri);
        let message = format!("no resource `{uri}`: this server has no resources");
        let data = Some(serde_json::json!({ "uri": uri }));
        // 2026-07-28 (SEP-2164) reports an unknown resource as invalid
        // params; earlier revisions as -32002 "resource not found".
        Err(if is_modern(&context) {
            ErrorData::invalid_params(message, data)
        } else {
            ErrorData::resource_not_found(message, data)
        })
    }

    async fn complete(
        &self,
        _request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        Err(ErrorData::method_not_found::<CompleteRequestMethod>())
    }

    /// Any method rmcp does not know: -32601 naming it, cut (rmcp's default
    /// echoes the whole method name).
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let method = clip(&request.method);
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("unknown method `{method}`"),
            Some(serde_json::json!({ "method": method })),
        ))
    }
}
