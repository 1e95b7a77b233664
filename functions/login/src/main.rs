//! `POST /api/login`: see [`trailport::api::login`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("login", trailport::api::login)
}
