//! The use cases without a socket: a real `App` on SQLite (see `support`), each test naming the
//! requirement it proves.

mod directory;
mod federation;
mod pipeline;
mod second_step;
mod signin;
mod support;
mod tickets;
