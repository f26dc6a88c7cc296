//! Which column of a file feeds which field: guessed from the header row (case, spaces,
//! underscores and dashes do not matter; common synonyms are known), corrected by the user.

use std::collections::HashSet;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Contacts,
    Companies,
    Leads,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Contacts => "contacts",
            Kind::Companies => "companies",
            Kind::Leads => "leads",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "contacts" => Some(Kind::Contacts),
            "companies" => Some(Kind::Companies),
            "leads" => Some(Kind::Leads),
            _ => None,
        }
    }

    /// The fields a column may be mapped to, in the order the page offers them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::Contacts => &[
                Field::FirstName,
                Field::LastName,
                Field::FullName,
                Field::Email,
                Field::Phone,
                Field::Company,
                Field::JobTitle,
                Field::Owner,
                Field::Tags,
                Field::Stage,
                Field::Address,
                Field::Description,
            ],
            Kind::Companies => &[
                Field::Name,
                Field::Domain,
                Field::Industry,
                Field::Employees,
                Field::Phone,
                Field::Address,
                Field::Owner,
                Field::Tags,
            ],
            Kind::Leads => &[
                Field::FirstName,
                Field::LastName,
                Field::FullName,
                Field::Email,
                Field::Phone,
                Field::Company,
                Field::JobTitle,
                Field::Employees,
                Field::Industry,
                Field::Country,
                Field::Website,
                Field::Tags,
                Field::Status,
                Field::Owner,
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    FirstName,
    LastName,
    FullName,
    Email,
    Phone,
    Company,
    JobTitle,
    Owner,
    Tags,
    Stage,
    Address,
    Description,
    Name,
    Domain,
    Industry,
    Employees,
    Country,
    Website,
    Status,
}

const ALL: [Field; 19] = [
    Field::FirstName,
    Field::LastName,
    Field::FullName,
    Field::Email,
    Field::Phone,
    Field::Company,
    Field::JobTitle,
    Field::Owner,
    Field::Tags,
    Field::Stage,
    Field::Address,
    Field::Description,
    Field::Name,
    Field::Domain,
    Field::Industry,
    Field::Employees,
    Field::Country,
    Field::Website,
    Field::Status,
];

impl Field {
    pub fn key(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::FullName => "full_name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Company => "company",
            Field::JobTitle => "job_title",
            Field::Owner => "owner",
            Field::Tags => "tags",
            Field::Stage => "lifecycle_stage",
            Field::Address => "address",
            Field::Description => "description",
            Field::Name => "name",
            Field::Domain => "domain",
            Field::Industry => "industry",
            Field::Employees => "employee_count",
            Field::Country => "country",
            Field::Website => "website",
            Field::Status => "status",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::FirstName => "First name",
            Field::LastName => "Last name",
            Field::FullName => "Full name (split into first and last)",
            Field::Email => "Email",
            Field::Phone => "Phone",
            Field::Company => "Company (by name; created if new)",
            Field::JobTitle => "Job title",
            Field::Owner => "Owner (a user's email)",
            Field::Tags => "Tags",
            Field::Stage => "Lifecycle stage",
            Field::Address => "Address",
            Field::Description => "Description",
            Field::Name => "Name",
            Field::Domain => "Web domain",
            Field::Industry => "Industry",
            Field::Employees => "Employees",
            Field::Country => "Country",
            Field::Website => "Website",
            Field::Status => "Status (new, contacted, qualified, unqualified)",
        }
    }

    /// The label on the mapping page of a file of `kind`.
    pub fn label_in(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Field::Company, Kind::Leads) => "Company name",
            (Field::Employees, Kind::Leads) => "Company size (employees)",
            _ => self.label(),
        }
    }

    /// The field with this key, if `kind` has it.
    pub fn parse(kind: Kind, key: &str) -> Option<Self> {
        ALL.into_iter()
            .find(|field| field.key() == key)
            .filter(|field| kind.fields().contains(field))
    }

    /// Header spellings that mean this field, normalised (see `normalise`).
    fn synonyms(self, kind: Kind) -> &'static [&'static str] {
        match (self, kind) {
            (Field::FirstName, _) => &["firstname", "givenname", "forename", "first"],
            (Field::LastName, _) => &["lastname", "surname", "familyname", "last"],
            (Field::FullName, _) => &["name", "fullname", "contactname", "contact"],
            (Field::Email, _) => &[
                "email",
                "emailaddress",
                "emails",
                "mail",
                "primaryemail",
                "workemail",
            ],
            (Field::Phone, _) => &[
                "phone",
                "phonenumber",
                "phones",
                "mobile",
                "mobilephone",
                "mobilenumber",
                "telephone",
                "tel",
                "cell",
                "workphone",
            ],
            (Field::Company, Kind::Leads) => &[
                "company",
                "companyname",
                "organization",
                "organisation",
                "account",
                "accountname",
                "employer",
            ],
            (Field::Company, _) => &[
                "company",
                "companyname",
                "organization",
                "organisation",
                "account",
                "employer",
            ],
            (Field::JobTitle, _) => &["title", "jobtitle", "position", "role"],
            (Field::Owner, _) => &["owner", "owneremail", "contactowner", "assignedto"],
            (Field::Tags, _) => &["tags", "tag", "labels"],
            (Field::Stage, _) => &["lifecyclestage", "stage", "lifecycle"],
            (Field::Address, _) => &["address", "streetaddress", "postaladdress"],
            (Field::Description, _) => &["description", "notes", "note", "comments", "about"],
            (Field::Name, _) => &[
                "name",
                "companyname",
                "company",
                "organization",
                "organisation",
                "account",
            ],
            (Field::Domain, _) => &[
                "domain",
                "webdomain",
                "website",
                "web",
                "url",
                "site",
                "companydomain",
                "companydomainname",
            ],
            (Field::Industry, _) => &["industry", "sector"],
            (Field::Country, _) => &["country", "countryregion", "countrycode", "nation"],
            (Field::Website, _) => &[
                "website",
                "web",
                "url",
                "site",
                "domain",
                "companywebsite",
                "websiteurl",
            ],
            (Field::Status, _) => &["status", "leadstatus"],
            (Field::Employees, _) => &[
                "employees",
                "size",
                "employeecount",
                "numberofemployees",
                "companysize",
                "headcount",
            ],
        }
    }
}

/// "E-mail Address" → "emailaddress": lowercase letters and digits only.
pub fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field each header maps to, `None` for "ignore". A field is given to one column only
/// (the first that names it).
pub fn auto_map(kind: Kind, headers: &[String]) -> Vec<Option<Field>> {
    let mut taken = HashSet::new();
    headers
        .iter()
        .map(|header| {
            let name = normalise(header);
            let field =
                kind.fields().iter().copied().find(|field| {
                    !taken.contains(field) && field.synonyms(kind).contains(&&*name)
                })?;
            taken.insert(field);
            Some(field)
        })
        .collect()
}

/// A mapping the import can run with: no field twice, and the fields a record needs.
pub fn check(kind: Kind, mapping: &[Option<Field>]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for field in mapping.iter().flatten() {
        if !seen.insert(*field) {
            return Err(format!(
                "\"{}\" is chosen for two columns; choose it for one only.",
                field.label()
            ));
        }
    }
    let has = |field| seen.contains(&field);
    match kind {
        Kind::Contacts
            if !(has(Field::FirstName) || has(Field::LastName) || has(Field::FullName)) =>
        {
            Err("Choose a column for First name, Last name or Full name.".to_owned())
        }
        Kind::Companies if !has(Field::Name) => Err("Choose a column for Name.".to_owned()),
        Kind::Leads
            if !(has(Field::FirstName)
                || has(Field::LastName)
                || has(Field::FullName)
                || has(Field::Email)) =>
        {
            Err("Choose a column for First name, Last name, Full name or Email.".to_owned())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn contact_headers_are_mapped_whatever_their_spelling() {
        let mapping = auto_map(
            Kind::Contacts,
            &headers(&[
                "Given name",
                "last_name",
                "E-mail",
                "Mobile",
                "Organization",
                "Job Title",
                "Owner",
                "Tags",
                "Stage",
                "Notes",
                "Favourite colour",
            ]),
        );
        assert_eq!(
            mapping,
            vec![
                Some(Field::FirstName),
                Some(Field::LastName),
                Some(Field::Email),
                Some(Field::Phone),
                Some(Field::Company),
                Some(Field::JobTitle),
                Some(Field::Owner),
                Some(Field::Tags),
                Some(Field::Stage),
                Some(Field::Description),
                None,
            ]
        );
        assert_eq!(check(Kind::Contacts, &mapping), Ok(()));
    }

    #[test]
    fn company_headers_are_mapped_and_a_field_goes_to_one_column() {
        let mapping = auto_map(
            Kind::Companies,
            &headers(&["Company Name", "Website", "Size", "Name", "EMAIL ADDRESS"]),
        );
        assert_eq!(
            mapping,
            vec![
                Some(Field::Name),
                Some(Field::Domain),
                Some(Field::Employees),
                None,
                None
            ]
        );
    }

    #[test]
    fn lead_headers_are_mapped_to_lead_fields() {
        let mapping = auto_map(
            Kind::Leads,
            &headers(&[
                "First Name",
                "Last Name",
                "Email",
                "Company",
                "Company size",
                "Industry",
                "Country",
                "Website",
                "Lead status",
                "Domain",
            ]),
        );
        assert_eq!(
            mapping,
            vec![
                Some(Field::FirstName),
                Some(Field::LastName),
                Some(Field::Email),
                Some(Field::Company),
                Some(Field::Employees),
                Some(Field::Industry),
                Some(Field::Country),
                Some(Field::Website),
                Some(Field::Status),
                None,
            ]
        );
        assert_eq!(check(Kind::Leads, &[Some(Field::Email)]), Ok(()));
        assert!(check(Kind::Leads, &[Some(Field::Company)]).is_err());
        assert_eq!(Field::parse(Kind::Contacts, "status"), None);
    }

    #[test]
    fn a_mapping_without_a_name_or_with_a_field_twice_is_refused() {
        assert!(check(Kind::Contacts, &[Some(Field::Email)]).is_err());
        assert!(check(Kind::Companies, &[Some(Field::Domain)]).is_err());
        assert!(
            check(
                Kind::Contacts,
                &[Some(Field::FirstName), Some(Field::FirstName)]
            )
            .is_err()
        );
        assert_eq!(Field::parse(Kind::Companies, "email"), None);
        assert_eq!(Field::parse(Kind::Contacts, "email"), Some(Field::Email));
    }
}
