//! @mentions in notes: "@ada" (an email's local part) or "@ada@example.com" (a whole
//! email) names a teammate, who gets one email per note.

use std::collections::BTreeSet;

use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::schema::users;
use crate::email::{Mailer, SystemMessage};
use crate::error::AppError;

/// The lowercased handles mentioned in `body`: each `@` that starts a word, followed by the
/// characters of an email address, without trailing punctuation.
pub fn handles(body: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut previous: Option<char> = None;
    for (index, c) in body.char_indices() {
        let starts_word = previous.is_none_or(|before| !is_handle_char(before));
        previous = Some(c);
        if c != '@' || !starts_word {
            continue;
        }
        let rest = &body[index + 1..];
        let end = rest
            .char_indices()
            .find(|(_, c)| !is_handle_char(*c))
            .map_or(rest.len(), |(at, _)| at);
        let handle = rest[..end].trim_end_matches(['.', '-', '@']);
        if !handle.is_empty() && !handle.starts_with('@') {
            found.insert(handle.to_lowercase());
        }
    }
    found
}

fn is_handle_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@' | '\'')
}

/// A teammate to tell about a mention.
#[derive(Debug, Clone, Queryable)]
pub struct Mentioned {
    pub id: i64,
    pub email: String,
    pub display_name: String,
}

/// The active users other than `author_id` whom `body` mentions, each once.
pub fn mentioned_users(conn: &mut Conn, body: &str, author_id: i64) -> QueryResult<Vec<Mentioned>> {
    let handles = handles(body);
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let teammates: Vec<Mentioned> = users::table
        .filter(users::active.eq(true))
        .filter(users::id.ne(author_id))
        .select((users::id, users::email, users::display_name))
        .order(users::id)
        .load(conn)?;
    Ok(teammates
        .into_iter()
        .filter(|user| {
            let email = user.email.to_lowercase();
            let local = email.split('@').next().unwrap_or_default();
            handles
                .iter()
                .any(|handle| *handle == email || handle == local)
        })
        .collect())
}

#[derive(Template)]
#[template(path = "email/messages/mention.txt")]
pub struct MentionEmail<'a> {
    pub name: &'a str,
    pub author: &'a str,
    pub record: &'a str,
    pub excerpt: &'a str,
    pub link: &'a str,
}

impl SystemMessage for MentionEmail<'_> {
    fn subject(&self) -> String {
        format!("{} mentioned you on {}", self.author, self.record)
    }
}

/// At most this many characters of the note go into the email.
const EXCERPT_CHARS: usize = 1000;

/// Queues one email to every teammate `body` mentions, in the caller's transaction.
/// Returns how many were queued.
pub fn notify(
    conn: &mut Conn,
    now: NaiveDateTime,
    mailer: &Mailer,
    author: (i64, &str),
    record: &str,
    record_path: &str,
    body: &str,
) -> Result<usize, AppError> {
    let mentioned = mentioned_users(conn, body, author.0)?;
    let excerpt = match body.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    };
    // A subject is one line, whatever the record's name holds.
    let record: String = record.chars().filter(|c| !c.is_control()).collect();
    let link = mailer.link(&format!("{record_path}#timeline"));
    for user in &mentioned {
        let message = MentionEmail {
            name: &user.display_name,
            author: author.1,
            record: &record,
            excerpt: &excerpt,
            link: &link,
        };
        mailer.queue_message(conn, now, &user.email, &message)?;
    }
    Ok(mentioned.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(body: &str) -> Vec<String> {
        handles(body).into_iter().collect()
    }

    #[test]
    fn handles_are_local_parts_or_whole_emails_that_start_a_word() {
        assert_eq!(
            found("Thanks @Ada, and @bob@example.com."),
            ["ada", "bob@example.com"]
        );
        assert_eq!(found("(@grace.hopper) @ada @ada"), ["ada", "grace.hopper"]);
        assert!(found("mail ada@example.com or @ or @@x or a@b").is_empty());
    }
}
