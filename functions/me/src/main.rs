//! `GET /api/me`: see [`trailport::api::me`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("me", trailport::api::me)
}
