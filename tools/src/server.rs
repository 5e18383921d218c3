//! The MCP server handler: the thin adapter between rmcp and the domain.
//! The selected catalog tools sit in an rmcp `ToolRouter`, built once at
//! start-up, served over whatever transport the binary picks.
//!
//! Tool failures become `isError` results whose structured content is
//! `{"error": {"code", "message", "hint"}}`; JSON-RPC errors are kept for
//! requests that cannot be routed: an unknown or disabled tool is -32602
//! naming it (cut to 100 characters) with the closest served names, an
//! unknown method -32601; every echoed input is cut ([`clip`]).
//!
//! Resources, prompts and completions are declared and served from the
//! domain modules, whose values this module only translates into rmcp's:
//! [`crate::resources`] (the templates `ontoref://<kind>/{id}`, the paged
//! listing, each record read as Markdown with its file's modification time
//! as `lastModified`), [`crate::prompts`] (`ondaod`, `adr-draft`,
//! `run-mode`, `explain-path`) and [`crate::complete`] (ids, mode ids and
//! artifact paths ranked for what was typed). A kind of resource or a
//! prompt is served with its toolset. An unknown resource is "resource not
//! found" (-32002) before 2026-07-28 and invalid params (-32602) from it
//! on, with the URI and the closest ids (or the templates) in `data`; an
//! unknown prompt, a missing or unknown argument, a completion for
//! something not served: -32602 with a clear message; a project that fails
//! to load: -32603 with the error's code and hint in `data`. Lists and
//! reads carry `ttlMs: 0` and `cacheScope: public` for 2026-07-28 peers
//! (the files may change at any time; nothing served depends on the
//! caller).
//!
//! With the modes toolset, every mode that resolves is also a skill (the
//! Skills extension, SEP-2640): [`crate::skills`] renders them, and this
//! module declares the extension and serves `skills/list`, `skills/get`
//! and `resources/read` of `skill://` URIs.
//!
//! Served by an engine that watches its files ([`Engine::watch`]), the
//! server declares `resources.subscribe` and `resources.listChanged` and
//! serves `resources/subscribe`, `resources/unsubscribe` and
//! `subscriptions/listen` through [`crate::subscribe`]; otherwise none of
//! them. Each MCP session has its own subscriptions
//! ([`OntorefServer::session`]).
//!
//! A transport that authenticates requests (HTTP) hands the server a
//! [`CallerFn`] with [`OntorefServer::with_caller`]; a call it finds a
//! caller for runs as that actor, or as none ([`crate::actor`]), never as
//! the actor the process was started with. The server itself knows no
//! transport.
//! Each request runs in a tracing span carrying the tool name; its duration
//! is logged when it ends.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    Annotations, CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult,
    CompleteRequestParams, CompleteResult, CompletionInfo, CustomRequest, CustomResult, ErrorCode,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, GetSkillRequestMethod,
    GetSkillRequestParams, GetSkillResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListSkillsRequestMethod, ListSkillsResult,
    ListToolsResult, MetaObject, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Reference, Resource, ResourceContents, ResourceTemplate, ResultType, Role, ServerCapabilities,
    ServerConfig, SkillFrontmatter, SkillResource, SkillResources, Tool,
};
use rmcp::model::{
    SubscribeRequestMethod, SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestMethod,
    UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tracing::Instrument;

use crate::actor::as_actor;
use crate::catalog::{CatalogTool, InvokeFn};
use crate::complete::Completion;
use crate::engine::Engine;
use crate::error::{clip, clip_to};
use crate::prompts::{PromptDef, PromptError};
use crate::resources::{MIME_TYPE, ResourceError, ResourceKind};
use crate::skills::{SkillError, is_skill_uri};
use crate::subscribe::Session;
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
    /// The tools served, sorted by name. Their MCP definitions (schemas)
    /// are built on first use: `initialize` and a first call need none of
    /// them (see [`crate::catalog::prepare_definitions`]).
    tools: Arc<[&'static CatalogTool]>,
    /// What the server tells a model about itself, from the toolsets served.
    instructions: Arc<str>,
    /// How to find a request's caller, when a transport authenticates.
    caller: Option<CallerFn>,
    /// The kinds of resource served: those of the toolsets served.
    kinds: Arc<[ResourceKind]>,
    /// The prompts served: those of the toolsets served.
    prompts: Arc<[&'static PromptDef]>,
    /// This session's resource subscriptions (a fresh one per
    /// [`OntorefServer::session`]).
    session: Arc<Session>,
    /// The skills served, when the toolset of modes is.
    skills: Option<Arc<crate::skills::Served>>,
}

impl std::fmt::Debug for OntorefServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OntorefServer")
            .field("tools", &self.tools.len())
            .finish()
    }
}

impl OntorefServer {
    /// A server exposing `tools` over `engine`.
    pub fn new(engine: Arc<Engine>, tools: &[&'static CatalogTool]) -> Self {
        let mut served = tools.to_vec();
        served.sort_by(|a, b| a.name().cmp(b.name()));
        served.dedup_by(|a, b| a.name() == b.name());
        let toolsets = || tools.iter().map(|t| t.toolset);
        let skills = crate::skills::Served::new(tools).map(Arc::new);
        OntorefServer {
            engine,
            tools: served.into(),
            instructions: crate::toolset::instructions(toolsets()).into(),
            caller: None,
            kinds: crate::resources::served_kinds(toolsets()).into(),
            prompts: crate::prompts::served_prompts(toolsets()).into(),
            session: Arc::new(Session::new(skills.clone())),
            skills,
        }
    }

    /// This server for a new MCP session: the same engine and tools, its
    /// own resource subscriptions. Transports call it once per session.
    pub fn session(&self) -> Self {
        OntorefServer {
            session: Arc::new(Session::new(self.skills.clone())),
            ..self.clone()
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
        self.tools.iter().map(|t| t.tool().clone()).collect()
    }

    /// How many tools are served.
    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }

    /// The served tool named `name`.
    fn served(&self, name: &str) -> Option<&'static CatalogTool> {
        self.tools
            .binary_search_by(|t| t.name().cmp(name))
            .ok()
            .and_then(|i| self.tools.get(i).copied())
    }

    /// The JSON-RPC error for a `tools/call` naming a tool this server does
    /// not serve (unknown, or left out by the selection flags): -32602, the
    /// name cut to 100 characters, and the closest served names.
    pub fn unknown_tool(&self, name: &str) -> ErrorData {
        let shown = clip_to(name, UNKNOWN_TOOL_ECHO_CHARS);
        let near = closest(name, self.tools.iter().map(|t| t.name()), 2);
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

/// The `_meta` key of a read resource's last modification time (RFC 3339):
/// the contents of a read have no `annotations` in either protocol era.
pub const LAST_MODIFIED_META: &str = "lastModified";

/// A domain error as a JSON-RPC error: `invalid` says whether the request
/// was at fault (then `not_found`, -32002 before 2026-07-28, or -32602),
/// else -32603, logged as a warning. `data` carries the code, the hint and `extra`.
fn rpc_error(
    modern: bool,
    invalid: bool,
    resource_not_found: bool,
    message: String,
    code: &str,
    hint: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) -> ErrorData {
    if !invalid {
        // Not the caller's doing: the project failed to load, or a bug.
        tracing::warn!(code, "request failed: {message}");
    }
    let mut data = serde_json::Map::new();
    data.insert("code".into(), code.into());
    data.insert("hint".into(), hint.into());
    data.extend(extra);
    let message = format!("{message}; {hint}");
    let data = Some(serde_json::Value::Object(data));
    match (invalid, resource_not_found && !modern) {
        // 2026-07-28 (SEP-2164) reports an unknown resource as invalid
        // params; earlier revisions as -32002 "resource not found".
        (true, true) => ErrorData::resource_not_found(message, data),
        (true, false) => ErrorData::invalid_params(message, data),
        (false, _) => ErrorData::internal_error(message, data),
    }
}

/// A resource error as a JSON-RPC error, with the URI and the closest ids
/// or the templates in `data`. `reading`: from `resources/read`, where an
/// unknown resource is "resource not found" before 2026-07-28.
fn resource_error(e: &ResourceError, modern: bool, reading: bool) -> ErrorData {
    let mut extra = serde_json::Map::new();
    match e {
        ResourceError::UnknownUri { uri, templates } => {
            extra.insert("uri".into(), uri.as_str().into());
            extra.insert("templates".into(), templates.clone().into());
        }
        ResourceError::NotFound { uri, closest, .. } => {
            extra.insert("uri".into(), uri.as_str().into());
            extra.insert("closest".into(), closest.clone().into());
        }
        ResourceError::UnknownArgument { argument, .. } => {
            extra.insert("argument".into(), argument.as_str().into());
        }
        _ => {}
    }
    rpc_error(
        modern,
        e.is_caller_fault(),
        reading && e.is_not_found(),
        e.to_string(),
        e.code(),
        &e.hint(),
        extra,
    )
}

/// A prompt error as a JSON-RPC error: -32602 when the request was at
/// fault (with the closest names or values in `data`), else -32603.
fn prompt_error(e: &PromptError) -> ErrorData {
    let mut extra = serde_json::Map::new();
    if !e.closest().is_empty() {
        extra.insert("closest".into(), e.closest().to_vec().into());
    }
    rpc_error(
        false,
        e.is_invalid_request(),
        false,
        e.to_string(),
        e.code(),
        &e.hint(),
        extra,
    )
}

/// A completion as rmcp's (at most 100 values; the total and whether any
/// were left out).
fn completion_info(c: Completion) -> CompletionInfo {
    let mut info = CompletionInfo::default();
    info.total = Some(u32::try_from(c.total).unwrap_or(u32::MAX));
    info.has_more = Some(c.has_more);
    info.values = c.values;
    info
}

/// A prompt's arguments as strings (other JSON values as their JSON).
fn string_arguments(
    arguments: Option<rmcp::model::JsonObject>,
) -> std::collections::BTreeMap<String, String> {
    arguments
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

async fn run(
    invoke: InvokeFn,
    engine: &Engine,
    arguments: Option<rmcp::model::JsonObject>,
) -> CallToolResponse {
    let args = arguments.map(serde_json::Value::Object).unwrap_or_default();
    let result = match invoke(engine, args).await {
        Ok(value) => CallToolResult::structured(value),
        Err(err) => {
            tracing::debug!(code = err.code(), "tool failed");
            CallToolResult::structured_error(err.to_json())
        }
    };
    CallToolResponse::Complete(result)
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
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .enable_completions()
            .enable_skills_if(self.skills.is_some());
        // Subscriptions and list changes only from an engine that watches.
        let capabilities = if self.engine.changes().is_some() && !self.kinds.is_empty() {
            capabilities
                .enable_resources_subscribe()
                .enable_resources_list_changed()
        } else {
            capabilities
        };
        ServerConfig::new(capabilities.build())
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
        let Some(tool) = self.served(&request.name) else {
            return Err(self.unknown_tool(&request.name));
        };
        let span = tracing::info_span!("tools/call", tool = %request.name);
        async move {
            let started = Instant::now();
            // Over HTTP the request runs as the actor its token names, or as
            // nobody: never as the actor the server process was started with.
            let caller = self.caller.and_then(|find| find(&context.extensions));
            let call = run(tool.invoke, &self.engine, request.arguments);
            let result = match caller {
                Some(actor) => as_actor(actor, call).await,
                None => call.await,
            };
            let is_error = match &result {
                CallToolResponse::Complete(r) => r.is_error.unwrap_or(false),
                _ => true,
            };
            tracing::info!(
                duration_us = started.elapsed().as_micros() as u64,
                is_error,
                "request done"
            );
            Ok(result)
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
            tools: self.tools(),
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
        self.served(name).map(|t| t.tool().clone())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let prompts = self
            .prompts
            .iter()
            .map(|p| {
                let arguments = p
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.name)
                            .with_title(a.title)
                            .with_description(a.description)
                            .with_required(a.required)
                    })
                    .collect();
                Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
            })
            .collect();
        Ok(ListPromptsResult {
            result_type: Some(ResultType::COMPLETE),
            prompts,
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
        let span = tracing::info_span!("prompts/get", prompt = %clip_to(&request.name, 100));
        async move {
            let started = Instant::now();
            let arguments = string_arguments(request.arguments);
            let built =
                crate::prompts::get(&self.engine, &self.prompts, &request.name, &arguments).await;
            tracing::info!(
                duration_us = started.elapsed().as_micros() as u64,
                is_error = built.is_err(),
                "request done"
            );
            let text = built.map_err(|e| prompt_error(&e))?;
            let messages = text
                .messages
                .into_iter()
                .map(|m| PromptMessage::new_text(Role::User, m))
                .collect();
            Ok(GetPromptResponse::Complete(
                GetPromptResult::new(messages).with_description(text.description),
            ))
        }
        .instrument(span)
        .await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let cursor = request.and_then(|r| r.cursor);
        let page = crate::resources::list(&self.engine, &self.kinds, cursor.as_deref())
            .await
            .map_err(|e| resource_error(&e, is_modern(&context), false))?;
        if !is_modern(&context) && self.engine.changes().is_some() {
            self.session.listed(&self.engine, &self.kinds).await;
        }
        let resources = page
            .resources
            .into_iter()
            .map(|r| {
                let mut resource = Resource::new(r.uri, r.name)
                    .with_title(r.title)
                    .with_description(r.kind.title())
                    .with_mime_type(MIME_TYPE);
                if let Some(at) = r.last_modified {
                    let mut annotations = Annotations::default();
                    annotations.last_modified = Some(at);
                    resource = resource.with_annotations(annotations);
                }
                resource
            })
            .collect();
        Ok(ListResourcesResult {
            result_type: Some(ResultType::COMPLETE),
            resources,
            meta: None,
            next_cursor: page.next_cursor,
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
        let resource_templates = crate::resources::templates(&self.engine, &self.kinds)
            .into_iter()
            .map(|t| {
                ResourceTemplate::new(t.uri_template, t.name)
                    .with_title(t.title)
                    .with_description(t.description)
                    .with_mime_type(MIME_TYPE)
            })
            .collect();
        Ok(ListResourceTemplatesResult {
            result_type: Some(ResultType::COMPLETE),
            resource_templates,
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
        let span = tracing::info_span!("resources/read", uri = %clip_to(&request.uri, 100));
        async move {
            if let Some(served) = self
                .skills
                .as_deref()
                .filter(|_| is_skill_uri(&request.uri))
            {
                return read_skill(&self.engine, served, &request.uri, &context).await;
            }
            let started = Instant::now();
            let read = crate::resources::read(&self.engine, &self.kinds, &request.uri).await;
            tracing::info!(
                duration_us = started.elapsed().as_micros() as u64,
                is_error = read.is_err(),
                "request done"
            );
            let resource = read.map_err(|e| resource_error(&e, is_modern(&context), true))?;
            let mut contents =
                ResourceContents::text(resource.markdown, resource.uri).with_mime_type(MIME_TYPE);
            if let Some(at) = resource.last_modified {
                let mut meta = MetaObject::new();
                meta.insert(LAST_MODIFIED_META.into(), at.into());
                contents = contents.with_meta(meta);
            }
            let mut result = ReadResourceResult::new(vec![contents]);
            (result.ttl_ms, result.cache_scope) = cache_hints(&context);
            Ok(ReadResourceResponse::Complete(result))
        }
        .instrument(span)
        .await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let argument = &request.argument;
        let completion = match &request.r#ref {
            Reference::Resource(r) => crate::resources::complete_id(
                &self.engine,
                &self.kinds,
                &r.uri,
                &argument.name,
                &argument.value,
            )
            .await
            .map_err(|e| resource_error(&e, is_modern(&context), false))?,
            Reference::Prompt(p) => crate::prompts::complete_argument(
                &self.engine,
                &self.prompts,
                &p.name,
                &argument.name,
                &argument.value,
            )
            .await
            .map_err(|e| prompt_error(&e))?,
            other => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "completion for a `{}` reference is not supported; ontoref completes \
                         `ref/resource` and `ref/prompt`",
                        other.reference_type()
                    ),
                    None,
                ));
            }
        };
        Ok(CompleteResult::new(completion_info(completion)))
    }

    /// A legacy session is ready: its notifier starts (list changes, and
    /// updates of what it subscribes to).
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        tracing::debug!("client initialized");
        self.session.start(&self.engine, &self.kinds, context.peer);
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if self.engine.changes().is_none() || self.kinds.is_empty() {
            return Err(ErrorData::method_not_found::<SubscribeRequestMethod>());
        }
        self.session
            .subscribe(&self.engine, &self.kinds, &request.uri)
            .await
            .map_err(|e| resource_error(&e, false, false))?;
        // A client that subscribes before `initialized` still hears.
        self.session.start(&self.engine, &self.kinds, context.peer);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if self.engine.changes().is_none() || self.kinds.is_empty() {
            return Err(ErrorData::method_not_found::<UnsubscribeRequestMethod>());
        }
        self.session.unsubscribe(&request.uri).await;
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        if self.kinds.is_empty() {
            return None;
        }
        crate::subscribe::accepted(&self.engine, &self.kinds, self.skills.as_deref(), requested)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        crate::subscribe::listen(&self.engine, &self.kinds, self.skills.clone(), context).await
    }

    /// `skills/list` (SEP-2640): one page of the skills served, each with
    /// its one file's digest and size; -32601 when no skill is served.
    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        let Some(served) = self.skills.as_deref() else {
            return Err(ErrorData::method_not_found::<ListSkillsRequestMethod>());
        };
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let cursor = request.and_then(|r| r.cursor);
        let page = crate::skills::list(&self.engine, served, cursor.as_deref())
            .await
            .map_err(|e| skill_error(&e, is_modern(&context), false))?;
        Ok(ListSkillsResult {
            result_type: Some(ResultType::COMPLETE),
            skills: page.skills.iter().map(wire_skill).collect(),
            meta: None,
            next_cursor: page.next_cursor,
            ttl_ms,
            cache_scope,
        })
    }

    /// `skills/get` (SEP-2640): the skill at a `SKILL.md` URI, rendered
    /// now; an unknown one is -32602 with the closest skill URIs.
    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        let Some(served) = self.skills.as_deref() else {
            return Err(ErrorData::method_not_found::<GetSkillRequestMethod>());
        };
        let skill = crate::skills::get(&self.engine, served, &request.uri)
            .await
            .map_err(|e| skill_error(&e, is_modern(&context), false))?;
        let mut result = GetSkillResult::new(wire_skill(&skill));
        (result.ttl_ms, result.cache_scope) = cache_hints(&context);
        Ok(result)
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

/// Declares the skills extension (SEP-2640, without directory reads: a
/// skill is its one `SKILL.md`) when skills are served.
trait EnableSkillsIf {
    fn enable_skills_if(self, served: bool) -> Self;
}

impl<S> EnableSkillsIf for rmcp::model::ServerCapabilitiesBuilder<S> {
    fn enable_skills_if(self, served: bool) -> Self {
        if served { self.enable_skills() } else { self }
    }
}

/// A skill as rmcp's entry: its front matter and its one file, the
/// `SKILL.md`, with the digest and size of the bytes `resources/read`
/// returns.
fn wire_skill(skill: &crate::skills::Skill) -> rmcp::model::Skill {
    rmcp::model::Skill::new(
        skill.uri.clone(),
        SkillFrontmatter::new(skill.name.clone(), skill.description.clone()),
        SkillResources::Files(vec![SkillResource::new(
            skill.uri.clone(),
            skill.digest.clone(),
            skill.size(),
        )]),
    )
}

/// A skill error as a JSON-RPC error, with the URI and the closest skill
/// URIs in `data`. `reading`: from `resources/read`, where an unknown
/// resource is "resource not found" before 2026-07-28 (`skills/get` says
/// -32602 in every era).
fn skill_error(e: &SkillError, modern: bool, reading: bool) -> ErrorData {
    let mut extra = serde_json::Map::new();
    if let SkillError::NotFound { uri, closest } = e {
        extra.insert("uri".into(), uri.as_str().into());
        extra.insert("closest".into(), closest.clone().into());
    }
    rpc_error(
        modern,
        e.is_caller_fault(),
        reading && e.is_not_found(),
        e.to_string(),
        e.code(),
        &e.hint(),
        extra,
    )
}

/// `resources/read` of a skill's `SKILL.md`: its Markdown, the very bytes
/// its digest covers.
async fn read_skill(
    engine: &Engine,
    served: &crate::skills::Served,
    uri: &str,
    context: &RequestContext<RoleServer>,
) -> Result<ReadResourceResponse, ErrorData> {
    let started = Instant::now();
    let got = crate::skills::get(engine, served, uri).await;
    tracing::info!(
        duration_us = started.elapsed().as_micros() as u64,
        is_error = got.is_err(),
        "request done"
    );
    let skill = got.map_err(|e| skill_error(&e, is_modern(context), true))?;
    let contents =
        ResourceContents::text(skill.markdown, skill.uri).with_mime_type(crate::skills::MIME_TYPE);
    let mut result = ReadResourceResult::new(vec![contents]);
    (result.ttl_ms, result.cache_scope) = cache_hints(context);
    Ok(ReadResourceResponse::Complete(result))
}
