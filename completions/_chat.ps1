
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
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'Host name or IP address of the chat server')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'TCP port of the chat server (1-65535)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in rich mode. NO_COLOR in the environment means never')
            [CompletionResult]::new('--history-file', '--history-file', [CompletionResultType]::ParameterName, 'Where to keep the history of typed lines [default: chat/history.txt in the platform''s data directory]')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, 'Plain line-oriented output: exactly the assignment''s lines, no prompt, no colour. Used automatically when standard input or output is not a terminal, or TERM is "dumb"')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'If no server is listening on the address and port, start one inside this client (bots included). It stops when this client quits')
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
