//! `chat`: the terminal chat client. See `chat --help`.

use std::process::ExitCode;

use clap::Parser;

use chat::client::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" that print to stdout and succeed.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("chat: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(chat::client::main(cli));
    // Do not wait for blocking work (such as a name lookup) that nobody needs.
    runtime.shutdown_background();
    code
}
