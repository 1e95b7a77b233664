//! `GET /` and `GET /assets/{path}`: see [`trailport::console::handle`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start_static("console", trailport::console::handle)
}
