
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'chat' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'chat'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'chat' {
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'Host name or IP address of the chat server [default: 127.0.0.1]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'TCP port of the chat server, 1-65535 [default: 5378]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Log in as NAME without asking (if the server refuses it, the client asks for another)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file instead of chat/config.toml in the platform''s config directory (usually ~/.config/chat/config.toml)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in rich mode [default: auto]. NO_COLOR in the environment means never')
            [CompletionResult]::new('--history-file', '--history-file', [CompletionResultType]::ParameterName, 'Keep the history of typed lines in this one file [default: one file per server and name in the platform''s data directory]')
            [CompletionResult]::new('--edit-mode', '--edit-mode', [CompletionResultType]::ParameterName, 'Rich mode''s editing keys [default: emacs]')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, 'Plain line-oriented output: exactly the assignment''s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb" or unset. Plain mode uses only --address, --port, --name and --local')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits, and the others are told; a client started with --local then takes over')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Rich mode: put the local time, [HH:MM], before each line')
            [CompletionResult]::new('--bell', '--bell', [CompletionResultType]::ParameterName, 'Rich mode: ring the terminal bell when a message arrives')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Rich mode: append every line shown, with the date and time, to a log file per server and name in the platform''s data directory')
            [CompletionResult]::new('--no-history', '--no-history', [CompletionResultType]::ParameterName, 'Neither read nor write a history file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
