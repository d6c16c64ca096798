//! The OpenAPI 3.1 document, generated from the handlers and wire types
//! themselves, so it cannot drift from what the service does. Served at
//! `/openapi.json`.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
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
    modifiers(&BearerAuth),
    tags(
        (name = "tasks", description = "The caller's tasks"),
        (name = "history", description = "Task history and the change feed"),
        (name = "account", description = "The caller's own account"),
        (name = "health", description = "Probes"),
    ),
)]
pub struct ApiDoc;

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
