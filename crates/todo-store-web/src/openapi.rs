//! The OpenAPI 3.1 document, generated from the handlers and wire types
//! themselves, so it cannot drift from what the service does. Served at
//! `/openapi.json`.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, RefOr, Response, ResponseBuilder,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{problem, routes, wire};

/// The service's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "todo-store-web", description = "A user's tasks over HTTP, for Better Auth tokens."),
    paths(
        routes::tasks::list, routes::tasks::create, routes::tasks::get, routes::tasks::patch,
        routes::tasks::complete, routes::tasks::reopen, routes::tasks::delete,
        routes::tasks::bulk_delete,
        routes::history::task_history, routes::history::sync_token, routes::history::changes,
        routes::account::get, routes::account::patch, routes::account::delete,
        routes::health::healthz, routes::health::readyz,
    ),
    components(schemas(
        problem::Problem,
        wire::task::TaskBody, wire::task::StatusBody, wire::task::CreateTaskBody,
        wire::task::PatchTaskBody, wire::task::TaskPage, wire::task::BulkDeleteBody,
        wire::task::DeletedCount, wire::task::StatusParam, wire::task::SortParam,
        wire::task::OrderParam,
        wire::history::HistoryBody, wire::history::ChangeBody, wire::history::SyncTokenBody,
        wire::history::ChangesBody,
        wire::account::AccountBody, wire::account::PatchAccountBody,
    )),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "tasks", description = "The caller's tasks"),
        (name = "history", description = "Task history and the change feed"),
        (name = "account", description = "The caller's own account"),
        (name = "health", description = "Probes"),
    ),
)]
pub struct ApiDoc;

/// The answers any operation may give besides its own, documented on each:
/// 400 (a malformed request) and 503 (the database out of reach, or out of
/// time) everywhere; 401, 403 and 409 (the token refused, a first sight
/// refused or its email taken) on every authenticated route; 413 and 415
/// where there is a body.
#[derive(Debug)]
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(problem(description)));
                };
                add("400", "A malformed request");
                add(
                    "422",
                    "A value the library refuses (the problem's `field` names it)",
                );
                add(
                    "503",
                    "The database is out of reach, or the request ran out of time",
                );
                if secured {
                    add("401", "A missing or invalid bearer token");
                    add("403", "A valid token this service refuses");
                    add("409", "A new user whose email is linked to another account");
                }
                if has_body {
                    add("413", "A body over the limit");
                    add("415", "A body that is not application/json");
                }
            }
        }
    }
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            problem::PROBLEM_JSON,
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "Problem",
            )))),
        )
        .build()
}

/// Declares the `bearer` scheme the routes name: a Better Auth JWT.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
