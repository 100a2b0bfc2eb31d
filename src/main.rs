//! Entry point: parse the command line, set up logging, run.

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = salesfunnel::cli::Cli::parse_with_environment();
    match salesfunnel::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("salesfunnel: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
