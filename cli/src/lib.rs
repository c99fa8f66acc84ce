//! rtctl's library part: the scenario language (parser, runner, expectations), shared by the
//! `rtctl` binary, the fuzz targets (`fuzz/`) and the suites that write generated scenarios
//! as `.scenario` files.

pub mod scenario;
