//! `POST /api/register`: see [`trailport::api::register`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("register", trailport::api::register)
}
