//! The `baler` command line: parses the arguments and hands each verb to its command, which calls the library.
//! Errors are reported with their cause chain and a non-zero exit status.

mod args;
mod commands;

use args::{Cli, Command};
use clap::Parser;

fn main() {
    // a reader that goes away (`baler info F | head`) ends the process quietly, as for other Unix tools, instead
    // of a panic in println!
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::NewProject(args) => commands::new_project(args),
        Command::Train(args) => commands::train(args),
        Command::Compress(args) => commands::compress(args),
        Command::Decompress(args) => commands::decompress(args),
        Command::Evaluate(args) => commands::evaluate(args),
        Command::Quantize(args) => commands::quantize(args),
        Command::Hls(args) => commands::hls(args),
        Command::Firmware(args) => commands::firmware(args),
        Command::Bench(args) => commands::bench(args),
        Command::Manifest(args) => commands::manifest(args),
        Command::Info(args) => commands::info(args),
        Command::Demo(args) => commands::demo(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
