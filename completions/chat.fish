complete -c chat -l address -d 'Host name or IP address of the chat server [default: 127.0.0.1]' -r
complete -c chat -l port -d 'TCP port of the chat server, 1-65535 [default: 5378]' -r
complete -c chat -l name -d 'Log in as NAME without asking (if the server refuses it, the client asks for another)' -r
complete -c chat -l config -d 'Read settings from this TOML file instead of chat/config.toml in the platform\'s config directory (usually ~/.config/chat/config.toml)' -r -F
complete -c chat -l color -d 'When to use colours in rich mode [default: auto]. NO_COLOR in the environment means never' -r -f -a "auto\t'Colour unless NO_COLOR is set'
always\t'Always colour in rich mode'
never\t'Never colour'"
complete -c chat -l history-file -d 'Keep the history of typed lines in this one file [default: one file per server and name in the platform\'s data directory]' -r -F
complete -c chat -l edit-mode -d 'Rich mode\'s editing keys [default: emacs]' -r -f -a "emacs\t'Emacs keys (Ctrl-A, Ctrl-E, Alt-B, ...)'
vi\t'Vi keys: Esc for command mode'"
complete -c chat -l plain -d 'Plain line-oriented output: exactly the assignment\'s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb" or unset. Plain mode uses only --address, --port, --name and --local'
complete -c chat -l local -d 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits, and the others are told; a client started with --local then takes over'
complete -c chat -l timestamps -d 'Rich mode: put the local time, [HH:MM], before each line'
complete -c chat -l bell -d 'Rich mode: ring the terminal bell when a message arrives'
complete -c chat -l log -d 'Rich mode: append every line shown, with the date and time, to a log file per server and name in the platform\'s data directory'
complete -c chat -l no-history -d 'Neither read nor write a history file'
complete -c chat -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chat -s V -l version -d 'Print version'
