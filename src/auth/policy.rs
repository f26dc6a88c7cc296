//! Who may do what. Every authorization decision, on the server and in the navigation,
//! comes from here.

use super::model::{Role, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Users, roles, security settings, the outbox and the audit log.
    Administer,
    /// See contacts, companies and their timelines, and add notes and calls to them.
    ViewCustomers,
    /// Create contacts and companies (and edit the ones one owns).
    CreateCustomers,
    /// See what deals are worth: values, totals, forecasts and the pipeline report.
    /// Support agents see deals without their values.
    ViewDealValues,
    /// Post behavioural events (`POST /api/v1/events`) with a personal API token: they
    /// move lead scores, which is sales work. Site write keys are not users and need none.
    PostEvents,
}

impl Role {
    pub fn can(self, permission: Permission) -> bool {
        match permission {
            Permission::Administer => self == Role::Admin,
            Permission::ViewCustomers => true,
            Permission::CreateCustomers | Permission::ViewDealValues | Permission::PostEvents => {
                matches!(self, Role::Admin | Role::Sales)
            }
        }
    }
}

/// What a user may do to one customer record (a contact, a company or a deal), given its
/// owner.
/// Admins may do everything; a sales rep edits and archives what they own; support agents
/// read and add notes only; only admins delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRights {
    pub edit: bool,
    pub delete: bool,
    pub add_notes: bool,
}

pub fn record_rights(user: &User, owner_id: Option<i64>) -> RecordRights {
    let owns = owner_id == Some(user.id);
    RecordRights {
        edit: user.role == Role::Admin || (user.role == Role::Sales && owns),
        delete: user.role == Role::Admin,
        add_notes: true,
    }
}

/// A permission a handler requires, named as a type so that the extractor
/// `Authorized<R>` states it in the handler's signature.
pub trait Requirement {
    const PERMISSION: Permission;
}

#[derive(Debug)]
pub struct Administer;

impl Requirement for Administer {
    const PERMISSION: Permission = Permission::Administer;
}

#[derive(Debug)]
pub struct ViewCustomers;

impl Requirement for ViewCustomers {
    const PERMISSION: Permission = Permission::ViewCustomers;
}

#[derive(Debug)]
pub struct CreateCustomers;

impl Requirement for CreateCustomers {
    const PERMISSION: Permission = Permission::CreateCustomers;
}

#[derive(Debug)]
pub struct ViewDealValues;

impl Requirement for ViewDealValues {
    const PERMISSION: Permission = Permission::ViewDealValues;
}

/// What a user may do to one task. Everyone works (edits, completes, reopens) the tasks
/// assigned to them and the ones they created; admins work every task. A task linked to a
/// customer record is seen by everyone who sees that record (on the record's page); a task
/// linked to nothing is seen only by those who work it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskRights {
    pub see: bool,
    pub work: bool,
}

pub fn task_rights(
    user: &User,
    assignee_id: i64,
    created_by: Option<i64>,
    linked_to_record: bool,
) -> TaskRights {
    let work = user.role == Role::Admin || assignee_id == user.id || created_by == Some(user.id);
    TaskRights {
        see: work || linked_to_record,
        work,
    }
}

/// Whether the task list may show everyone's tasks, not only one's own.
pub fn sees_everyones_tasks(user: &User) -> bool {
    user.role == Role::Admin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_administer() {
        assert!(Role::Admin.can(Permission::Administer));
        assert!(!Role::Sales.can(Permission::Administer));
        assert!(!Role::Support.can(Permission::Administer));
    }

    #[test]
    fn support_agents_never_see_deal_values() {
        assert!(Role::Admin.can(Permission::ViewDealValues));
        assert!(Role::Sales.can(Permission::ViewDealValues));
        assert!(!Role::Support.can(Permission::ViewDealValues));
    }

    #[test]
    fn admins_and_sales_reps_post_events_support_agents_do_not() {
        assert!(Role::Admin.can(Permission::PostEvents));
        assert!(Role::Sales.can(Permission::PostEvents));
        assert!(!Role::Support.can(Permission::PostEvents));
    }
}
