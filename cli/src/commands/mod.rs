//! One module per subcommand.

pub mod backends;
pub mod bundle;
pub mod manage;
pub mod run;
pub mod scenario;
pub mod sweep;
