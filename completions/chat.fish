complete -c chat -l address -d 'Host name or IP address of the chat server' -r
complete -c chat -l port -d 'TCP port of the chat server (1-65535)' -r
complete -c chat -l color -d 'When to use colours in rich mode. NO_COLOR in the environment means never' -r -f -a "auto\t'Colour when the output is a terminal and NO_COLOR is not set'
always\t'Always colour in rich mode'
never\t'Never colour'"
complete -c chat -l history-file -d 'Where to keep the history of typed lines [default: chat/history.txt in the platform\'s data directory]' -r -F
complete -c chat -l plain -d 'Plain line-oriented output: exactly the assignment\'s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb"'
complete -c chat -l local -d 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits'
complete -c chat -l no-history -d 'Neither read nor write a history file'
complete -c chat -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chat -s V -l version -d 'Print version'
