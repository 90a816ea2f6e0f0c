
use builtin;
use str;

set edit:completion:arg-completer[chat] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'chat'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'chat'= {
            cand --address 'Host name or IP address of the chat server [default: 127.0.0.1]'
            cand --port 'TCP port of the chat server, 1-65535 [default: 5378]'
            cand --name 'Log in as NAME without asking (if the server refuses it, the client asks for another)'
            cand --config 'Read settings from this TOML file instead of chat/config.toml in the platform''s config directory (usually ~/.config/chat/config.toml)'
            cand --color 'When to use colours in rich mode [default: auto]. NO_COLOR in the environment means never'
            cand --history-file 'Keep the history of typed lines in this one file [default: one file per server and name in the platform''s data directory]'
            cand --edit-mode 'Rich mode''s editing keys [default: emacs]'
            cand --plain 'Plain line-oriented output: exactly the assignment''s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb" or unset. Plain mode uses only --address, --port, --name and --local'
            cand --local 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits, and the others are told; a client started with --local then takes over'
            cand --timestamps 'Rich mode: put the local time, [HH:MM], before each line'
            cand --bell 'Rich mode: ring the terminal bell when a message arrives'
            cand --log 'Rich mode: append every line shown, with the date and time, to a log file per server and name in the platform''s data directory'
            cand --no-history 'Neither read nor write a history file'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
