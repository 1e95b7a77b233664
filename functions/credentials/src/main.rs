//! `POST /api/credentials`: see [`trailport::api::credentials`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("credentials", trailport::api::credentials)
}
