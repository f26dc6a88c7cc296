//! Who may do what. Every authorization decision, on the server and in the navigation,
//! comes from here.

use super::model::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Users, roles, security settings, the outbox and the audit log.
    Administer,
}

impl Role {
    pub fn can(self, permission: Permission) -> bool {
        match permission {
            Permission::Administer => self == Role::Admin,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_administer() {
        assert!(Role::Admin.can(Permission::Administer));
        assert!(!Role::Sales.can(Permission::Administer));
        assert!(!Role::Support.can(Permission::Administer));
    }
}
