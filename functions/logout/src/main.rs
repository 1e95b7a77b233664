//! `POST /api/logout`: see [`trailport::api::logout`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("logout", trailport::api::logout)
}
