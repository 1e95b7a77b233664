//! `GET /api/events`: see [`trailport::api::events`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("events", trailport::api::events)
}
