
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
            cand --address 'Host name or IP address of the chat server'
            cand --port 'TCP port of the chat server (1-65535)'
            cand --color 'When to use colours in rich mode. NO_COLOR in the environment means never'
            cand --history-file 'Where to keep the history of typed lines [default: chat/history.txt in the platform''s data directory]'
            cand --plain 'Plain line-oriented output: exactly the assignment''s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb"'
            cand --local 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits'
            cand --no-history 'Neither read nor write a history file'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
