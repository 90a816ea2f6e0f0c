//! `chat`: the terminal chat client. See `chat --help`.

use std::process::ExitCode;

use chat::client::Cli;

fn main() -> ExitCode {
    // First of all: the signals that end the client wait until it handles
    // them (`client::run` does so first), instead of ending it by their
    // default action, without its exit status.
    chat::client::hold_signals();
    let cli: Cli = match chat::parse_args() {
        Ok(cli) => cli,
        Err(code) => {
            chat::client::release_signals();
            return code;
        }
    };
    // Where it cannot be set there is nothing to do, and nothing worth a
    // word on the terminal.
    let _ = chat::give_back_large_buffers();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            chat::client::release_signals();
            eprintln!("chat: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(chat::client::run(cli));
    // Do not wait for blocking work (such as a name lookup) that nobody needs.
    runtime.shutdown_background();
    code
}
