# PowerShell completion for cco
# Load it with:  cco completion powershell | Out-String | Invoke-Expression
# or add that line to your $PROFILE.

Register-ArgumentCompleter -Native -CommandName cco, cco.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $elements = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '' -and $elements.Count -gt 0) {
        $elements = @($elements | Select-Object -First ($elements.Count - 1))
    }
    if ($wordToComplete.StartsWith('-')) {
        $elements += $wordToComplete
    }
    $program = $commandAst.CommandElements[0].ToString()
    & $program @elements --generate-bash-completion 2>$null |
        Where-Object { $_ -like "$wordToComplete*" } |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
