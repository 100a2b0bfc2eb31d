//! Entry point: parse the command line, set up logging, run.

fn main() -> std::process::ExitCode {
    let cli = salesfunnel::cli::Cli::parse_with_environment();
    if let Err(message) = salesfunnel::logging::init() {
        eprintln!("salesfunnel: {message}");
        return std::process::ExitCode::FAILURE;
    }
    match salesfunnel::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("salesfunnel: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
