//! Users and the validated values a user record is made of.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::db::schema::users;

#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Role {
    Admin,
    Sales,
    Support,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Sales, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Sales => "sales",
            Role::Support => "support",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Sales => "Sales",
            Role::Support => "Support",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "admin" => Ok(Role::Admin),
            "sales" => Ok(Role::Sales),
            "support" => Ok(Role::Support),
            _ => Err("Choose admin, sales or support.".to_owned()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<DB> FromSql<Text, DB> for Role
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let value = String::from_sql(bytes)?;
        Role::parse(&value).map_err(|_| format!("unknown role '{value}'").into())
    }
}

impl<DB> ToSql<Text, DB> for Role
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

/// A user as the rest of the app sees one: no password hash or TOTP secret, so it can be
/// logged and rendered without leaking a credential.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub time_zone: String,
    #[diesel(select_expression = users::totp_secret.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::totp_secret>)]
    pub second_factor_enabled: bool,
    #[diesel(select_expression = users::password_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::password_hash>)]
    pub has_password: bool,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub created_at: NaiveDateTime,
    pub version: i32,
}

impl User {
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The user's initials, for the avatar in the navigation bar.
    pub fn initials(&self) -> String {
        self.display_name
            .split_whitespace()
            .filter_map(|word| word.chars().next())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Trims and lowercases, then checks the address is one an email can be sent to.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("Enter an email address.".to_owned());
        }
        if value.len() > 254 || lettre::Address::from_str(&value).is_err() {
            return Err("Enter a valid email address, like name@example.com.".to_owned());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Enter a name.".to_owned());
        }
        if value.chars().count() > 100 {
            return Err("Keep the name to 100 characters or fewer.".to_owned());
        }
        if value.chars().any(char::is_control) {
            return Err("The name cannot contain control characters.".to_owned());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| "Choose a time zone from the list.".to_owned())
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// Every IANA time zone name, for the profile's select list.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_trimmed_and_lowercased() {
        let email = EmailAddress::parse("  Ada@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_email_addresses_are_refused() {
        for raw in ["", "ada", "ada@", "@example.com", "a b@example.com"] {
            assert!(
                EmailAddress::parse(raw).is_err(),
                "{raw:?} should be refused"
            );
        }
    }

    #[test]
    fn display_names_are_bounded() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert_eq!(
            DisplayName::parse(" Ada ").map(|n| n.0),
            Ok("Ada".to_owned())
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }
}
