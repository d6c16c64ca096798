//! [`BlockingAsync`]: the async store behind the sync repository traits, so
//! that the scenarios written against `TaskRepo` (the isolation tests, the
//! model-based random test) run against the async store unchanged.

use todo_store::{
    AsyncStore, Changes, HistoryPage, HistoryQuery, NewTask, NewUser, OnMissingSubject,
    OperatorRepo, Owner, Page, Password, Result, Store, StoreConfig, SyncToken, Task, TaskFilter,
    TaskId, TaskPatch, TaskQuery, TaskRepo, TaskStatus, User, UserId, UserPatch, UserRepo,
    VersionCheck,
};
use tokio::runtime::{Builder, Runtime};

/// Every [`TaskRepo`] and [`UserRepo`] call goes to an [`AsyncStore`], run
/// to completion on a runtime of its own; only the operator path
/// (`operator_owner`, which the async store does not offer) goes to a sync
/// [`Store`] on the same database.
#[derive(Debug)]
pub struct BlockingAsync {
    runtime: Runtime,
    store: AsyncStore,
    accounts: Store,
}

impl BlockingAsync {
    /// Both stores on `config`'s database.
    ///
    /// # Panics
    /// If either store cannot connect.
    pub fn connect(config: &StoreConfig) -> Self {
        let runtime = Builder::new_current_thread().enable_all().build().unwrap();
        let store = runtime.block_on(AsyncStore::connect(config)).unwrap();
        Self {
            runtime,
            store,
            accounts: Store::connect(config).unwrap(),
        }
    }
}

impl TaskRepo for BlockingAsync {
    fn create_task(&mut self, owner: &Owner, new: NewTask) -> Result<Task> {
        self.runtime.block_on(self.store.create_task(owner, new))
    }

    fn create_tasks(&mut self, owner: &Owner, tasks: Vec<NewTask>) -> Result<Vec<Task>> {
        self.runtime.block_on(self.store.create_tasks(owner, tasks))
    }

    fn get_task(&mut self, owner: &Owner, id: TaskId) -> Result<Task> {
        self.runtime.block_on(self.store.get_task(owner, id))
    }

    fn list_tasks(&mut self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>> {
        self.runtime.block_on(self.store.list_tasks(owner, query))
    }

    fn count_tasks(&mut self, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
        self.runtime.block_on(self.store.count_tasks(owner, filter))
    }

    fn update_task(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task> {
        self.runtime
            .block_on(self.store.update_task(owner, id, patch, check))
    }

    fn set_task_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task> {
        self.runtime
            .block_on(self.store.set_task_status(owner, id, status, check))
    }

    fn delete_task(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<()> {
        self.runtime
            .block_on(self.store.delete_task(owner, id, check))
    }

    fn delete_tasks(&mut self, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
        self.runtime.block_on(self.store.delete_tasks(owner, ids))
    }

    fn task_history(
        &mut self,
        owner: &Owner,
        id: TaskId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        self.runtime
            .block_on(self.store.task_history(owner, id, query))
    }

    fn sync_token(&mut self, owner: &Owner) -> Result<SyncToken> {
        self.runtime.block_on(self.store.sync_token(owner))
    }

    fn changes_since(&mut self, owner: &Owner, token: &SyncToken, limit: u32) -> Result<Changes> {
        self.runtime
            .block_on(self.store.changes_since(owner, token, limit))
    }
}

impl UserRepo for BlockingAsync {
    fn create_user(&mut self, new: NewUser) -> Result<User> {
        self.runtime.block_on(self.store.create_user(new))
    }

    fn get_user(&mut self, id: UserId) -> Result<User> {
        self.runtime.block_on(self.store.get_user(id))
    }

    fn find_user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        self.runtime.block_on(self.store.find_user_by_email(email))
    }

    fn list_users(&mut self, limit: u32, after: Option<UserId>) -> Result<Vec<User>> {
        self.runtime.block_on(self.store.list_users(limit, after))
    }

    fn authenticate(&mut self, email: &str, password: &Password) -> Result<Owner> {
        self.runtime
            .block_on(self.store.authenticate(email, password))
    }

    fn owner_for_subject(
        &mut self,
        subject: &str,
        on_missing: OnMissingSubject,
    ) -> Result<(User, Owner)> {
        self.runtime
            .block_on(self.store.owner_for_subject(subject, on_missing))
    }

    fn update_profile(&mut self, owner: &Owner, patch: UserPatch) -> Result<User> {
        self.runtime
            .block_on(self.store.update_profile(owner, patch))
    }

    fn change_password(&mut self, owner: &Owner, password: &Password) -> Result<()> {
        self.runtime
            .block_on(self.store.change_password(owner, password))
    }

    fn delete_user(&mut self, owner: &Owner) -> Result<()> {
        self.runtime.block_on(self.store.delete_user(owner))
    }
}

impl OperatorRepo for BlockingAsync {
    fn operator_owner(&mut self, email: &str) -> Result<Owner> {
        self.accounts.operator_owner(email)
    }
}
