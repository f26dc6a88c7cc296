//! The home page: a greeting and the way to everything the user's role can use.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::policy::Permission;
use crate::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

struct Card {
    title: &'static str,
    text: &'static str,
    href: &'static str,
}

#[derive(Template)]
#[template(path = "home/index.html")]
struct HomePage {
    page: Page,
    first_name: String,
    greeting: &'static str,
    cards: Vec<Card>,
    admin_cards: Vec<Card>,
}

fn greeting(hour: u32) -> &'static str {
    match hour {
        5..=11 => "Good morning",
        12..=17 => "Good afternoon",
        _ => "Good evening",
    }
}

async fn home(
    me: CurrentUser,
    state: web::Data<crate::web::AppState>,
) -> Result<HttpResponse, AppError> {
    use chrono::Timelike;
    let local_hour = state.now().and_utc().with_timezone(&me.user.tz()).hour();
    let cards = vec![
        Card {
            title: "Your profile",
            text: "Your name, time zone, password and where you are signed in.",
            href: "/profile",
        },
        Card {
            title: "Two-step verification",
            text: "Protect your account with a code from an authenticator app.",
            href: "/profile/two-factor",
        },
    ];
    let admin_cards = if me.user.role.can(Permission::Administer) {
        vec![
            Card {
                title: "Users",
                text: "Invite your team, set roles and manage access.",
                href: "/admin/users",
            },
            Card {
                title: "Security settings",
                text: "Require two-step verification for everyone.",
                href: "/admin/settings",
            },
            Card {
                title: "Outbox",
                text: "Every email Rapport sends, and any that failed.",
                href: "/admin/outbox",
            },
            Card {
                title: "Audit log",
                text: "Sign-ins, refused requests and every admin action.",
                href: "/admin/audit",
            },
        ]
    } else {
        Vec::new()
    };
    render(&HomePage {
        page: me.page("Home"),
        first_name: me
            .user
            .display_name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        greeting: greeting(local_hour),
        cards,
        admin_cards,
    })
}
